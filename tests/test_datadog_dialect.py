"""The Datadog dialect as a table: PromQL condition (and `for`) -> the monitor query Datadog gets, or
the construct the dialect refuses (which the catalog reports as MC701). Each group of rows cites
the Datadog documentation its expected form rests on.

Sources, cited below by their short names:
  [api]      Monitor API, "Metric Alert Query" (../shared/schemas/datadog/openapi-v1.yaml, CreateMonitor;
             https://docs.datadoghq.com/api/latest/monitors/#create-a-monitor)
  [ascount]  https://docs.datadoghq.com/monitors/guide/as-count-in-monitor-evaluations/
  [prom]     https://docs.datadoghq.com/integrations/guide/prometheus-metrics/
  [aggr]     https://docs.datadoghq.com/monitors/guide/monitor_aggregators/
  [metric]   https://docs.datadoghq.com/monitors/types/metric/
  [dist]     https://docs.datadoghq.com/metrics/distributions/
  [filter]   https://docs.datadoghq.com/metrics/advanced-filtering/
  [tags]     https://docs.datadoghq.com/getting_started/tagging/
  [change]   https://docs.datadoghq.com/monitors/types/change-alert/
  [nodata]   https://docs.datadoghq.com/monitors/configuration/#no-data
  [arith]    https://docs.datadoghq.com/dashboards/functions/arithmetic/
  [excl]     https://docs.datadoghq.com/dashboards/functions/exclusion/
  [rollup]   https://docs.datadoghq.com/dashboards/functions/rollup/
  [formulas] https://docs.datadoghq.com/dashboards/functions/#formulas
"""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from compiler import pipeline
from compiler.dialects.datadog import Datadog, inline, outer
from compiler.dialects.datadog_monitor import FOR_ON_WINDOW, translate
from compiler.dialects.datadog_names import Naming, naming, series_for
from compiler.expr.parse import parse
from compiler.model import DatadogSettings
from compiler.targets.datadog import querycheck
from conftest import CATALOG

MIN = 60_000
DD = DatadogSettings(enabled=True, histogram_buckets_as_distributions=True,
                     collect_counters_with_distributions=True)
METRICS = (("http_requests_total", "counter", ("code", "method", "route")),
           ("queue_depth", "gauge", ("queue",)),
           ("worker_up", "gauge", ("worker",)),
           ("last_success_timestamp_seconds", "gauge", ("job",)),
           ("latency_seconds", "histogram", ("route",)),
           ("rpc_duration_seconds", "summary", ("method",)),
           ("room_temperature", "gauge", ("Zone",)))
RULES = {
    "app:error_ratio:rate5m": 'sum(rate(http_requests_total{code="500"}[5m])) / sum(rate(http_requests_total[5m]))',
    "app:errors:rate5m": 'sum(rate(http_requests_total{code="500"}[5m]))',
}


def _naming(dd: DatadogSettings) -> Naming:
    series = {k: v for m in METRICS for k, v in series_for(dd, "app", m[0], m[1], "", m[2]).items()}
    return Naming(series, {name: parse(text) for name, text in RULES.items()})


APP = _naming(DD)
BUCKETS = _naming(DatadogSettings(enabled=True))  # histogram buckets as counts, no distribution


@dataclass(frozen=True)
class Refused:
    construct: str


Q = "sum:app.http_requests.count"
E = "sum:app.http_requests.count{code:500}"
ROWS = [
    # --- counters: a monotonic count whose .as_count() points sum to the window's increase;
    # sum(last_w) is time aggregation before arithmetic [ascount]; `.count` names [prom]; [api]
    ("sum(increase(http_requests_total[10m])) > 100", 0, f"sum(last_10m):{Q}{{*}}.as_count() > 100"),
    ("sum(rate(http_requests_total[5m])) > 2", 0, f"sum(last_5m):{Q}{{*}}.as_count() / 300 > 2"),
    ('sum by (route) (rate(http_requests_total{code="500"}[5m])) * 60 > 10', 0,
     f"sum(last_5m):({Q}{{code:500}} by {{route}}.as_count() / 300) * 60 > 10"),
    # a ratio of rates over one window is the ratio of the sums [ascount] (its error-rate example)
    ('sum(rate(http_requests_total{code="500"}[5m])) / sum(rate(http_requests_total[5m])) > 0.05', 0,
     f"sum(last_5m):{E}.as_count() / {Q}{{*}}.as_count() > 0.05"),
    ('sum by (route) (rate(http_requests_total{code="500"}[5m])) / sum by (route) (rate(http_requests_total[5m])) > 0.05',
     0, f"sum(last_5m):{E} by {{route}}.as_count() / {Q}{{*}} by {{route}}.as_count() > 0.05"),
    # recording rules: Datadog has none; the rule's expression stands in its place
    ("app:error_ratio:rate5m > 0.05", 0, f"sum(last_5m):{E}.as_count() / {Q}{{*}}.as_count() > 0.05"),
    ("app:errors:rate5m * 60 > 5", 0, f"sum(last_5m):({E}.as_count() / 300) * 60 > 5"),
    ("sum(increase(http_requests_total[1h])) >= 1", 0, f"sum(last_1h):{Q}{{*}}.as_count() >= 1"),
    # time windows: last_#m (1-10080), last_#h (1-168), last_1d, last_1w [api]
    ("sum(increase(http_requests_total[90m])) > 1", 0, f"sum(last_90m):{Q}{{*}}.as_count() > 1"),
    ("sum(increase(http_requests_total[2d])) > 1", 0, f"sum(last_48h):{Q}{{*}}.as_count() > 1"),
    ("sum(increase(http_requests_total[1d])) > 1", 0, f"sum(last_1d):{Q}{{*}}.as_count() > 1"),
    ("sum(increase(http_requests_total[1w])) > 1", 0, f"sum(last_1w):{Q}{{*}}.as_count() > 1"),
    ("sum(increase(http_requests_total[2w])) > 1", 0, Refused("window")),
    ("sum(increase(http_requests_total[90s])) > 1", 0, Refused("window")),
    # _sum / _count of a histogram are counts too [prom]
    ("sum(rate(latency_seconds_sum[5m])) / sum(rate(latency_seconds_count[5m])) > 0.5", 0,
     "sum(last_5m):sum:app.latency_seconds.sum{*}.as_count() / sum:app.latency_seconds.count{*}.as_count() > 0.5"),
    # what a count cannot say: per-series rates, raw totals, irate, mixed windows, `for`
    ("avg(rate(http_requests_total[5m])) > 1", 0, Refused("avg() of rate()")),
    ("rate(http_requests_total[5m]) > 1", 0, Refused("rate() without sum()")),
    ("sum(http_requests_total) > 5", 0, Refused("raw counter")),
    ("sum(irate(http_requests_total[5m])) > 1", 0, Refused("sum() of irate()")),
    ("sum(increase(http_requests_total[5m])) / sum(increase(http_requests_total[10m])) > 1", 0,
     Refused("several range windows")),
    ("sum(increase(http_requests_total[10m])) > 5", 5 * MIN, Refused(FOR_ON_WINDOW)),
    ("sum(rate(http_requests_total[5m])) / sum(queue_depth) > 1", 0, Refused("counts and gauges together")),

    # --- gauges: `for` is "at all times" over the window, min for above and max for below
    # [aggr]; an evaluation interval (1m) when `for` is 0; space aggregators avg/sum/min/max [api]
    ("max(queue_depth) > 100", 0, "min(last_1m):max:app.queue_depth{*} > 100"),
    ("max(queue_depth) > 100", 10 * MIN, "min(last_10m):max:app.queue_depth{*} > 100"),
    ("min by (queue) (queue_depth) < 1", 15 * MIN, "max(last_15m):min:app.queue_depth{*} by {queue} < 1"),
    ("sum(queue_depth) >= 7", 0, "min(last_1m):sum:app.queue_depth{*} >= 7"),
    ("avg by (queue) (queue_depth) <= 0.5", 2 * MIN, "max(last_2m):avg:app.queue_depth{*} by {queue} <= 0.5"),
    # == and != at all times through abs() [arith]: max|q - c| == 0, min|q - c| > 0
    ("max(worker_up) == 0", 2 * MIN, "max(last_2m):abs(max:app.worker_up{*}) == 0"),
    ("max(worker_up) != 1", 0, "min(last_1m):abs(max:app.worker_up{*} - 1) > 0"),
    # arithmetic between gauges: classic evaluation path, aggregated after the arithmetic [ascount]
    ("sum(queue_depth) / sum(worker_up) > 0.2", 0, "min(last_1m):sum:app.queue_depth{*} / sum:app.worker_up{*} > 0.2"),
    ("-sum(queue_depth) < -5", 0, "max(last_1m):-1 * sum:app.queue_depth{*} < -5"),
    ("abs(sum(queue_depth) - 10) > 5", 0, "min(last_1m):abs(sum:app.queue_depth{*} - 10) > 5"),
    ("clamp_min(sum(queue_depth), 0) > 5", 0, "min(last_1m):clamp_min(sum:app.queue_depth{*}, 0) > 5"),  # [excl]
    ("5 < sum(queue_depth)", 0, "min(last_1m):sum:app.queue_depth{*} > 5"),
    ("26 * 3600 < max(last_success_timestamp_seconds)", 0,
     "min(last_1m):max:app.last_success_timestamp_seconds{*} > 93600"),
    # a summary's quantiles are a `.quantile` gauge [prom]
    ('max(rpc_duration_seconds{quantile="0.99"}) > 1', 0,
     "min(last_1m):max:app.rpc_duration_seconds.quantile{quantile:0.99} > 1"),
    ("count(queue_depth) > 3", 0, Refused("count()")),
    ("topk(3, queue_depth) > 1", 0, Refused("topk()")),
    ("sum without (queue) (queue_depth) > 1", 0, Refused("without")),
    ("queue_depth > 5", 0, Refused("series without aggregation")),
    ("sum by (queue) (queue_depth) / sum(queue_depth) > 0.5", 0, Refused("different groupings")),
    ("sum by (queue) (queue_depth) / on (queue) group_left () sum by (queue) (worker_up) > 1", 0,
     Refused("vector matching")),
    ("sum(queue_depth) % 2 > 0", 0, Refused("`%`")),
    ("sum(queue_depth) > bool 5", 0, Refused("bool")),
    ("sum(queue_depth) > sum(worker_up)", 0, Refused("comparison with a query")),
    ("sum(queue_depth)", 0, Refused("condition without a threshold")),

    # --- tags: `key:value`, `!`, `,`, or NOT/AND/IN, never both styles; prefix, suffix and
    # substring wildcards [filter]; values as Datadog stores them (lowercase, [a-z0-9_-:./]) [tags]
    ('max(queue_depth{queue="emails"}) > 1', 0, "min(last_1m):max:app.queue_depth{queue:emails} > 1"),
    ('max(queue_depth{queue!="emails"}) > 1', 0, "min(last_1m):max:app.queue_depth{!queue:emails} > 1"),
    ('max(queue_depth{queue=~"emails|sms"}) > 1', 0, "min(last_1m):max:app.queue_depth{queue IN (emails,sms)} > 1"),
    ('max(queue_depth{queue!~"emails|sms"}) > 1', 0, "min(last_1m):max:app.queue_depth{queue NOT IN (emails,sms)} > 1"),
    ('max(queue_depth{queue=~"mail.*"}) > 1', 0, "min(last_1m):max:app.queue_depth{queue:mail*} > 1"),
    ('max(queue_depth{queue=~".*mail"}) > 1', 0, "min(last_1m):max:app.queue_depth{queue:*mail} > 1"),
    ('max(queue_depth{queue=~".*mail.*"}) > 1', 0, "min(last_1m):max:app.queue_depth{queue:*mail*} > 1"),
    ('max(queue_depth{queue=~"mail[.]prio.*"}) > 1', 0, "min(last_1m):max:app.queue_depth{queue:mail.prio*} > 1"),
    ('max(queue_depth{queue=~".*"}) > 1', 0, "min(last_1m):max:app.queue_depth{*} > 1"),
    ('sum(increase(http_requests_total{code="500", route=~"a|b"}[5m])) > 1', 0,
     f"sum(last_5m):{Q}{{code:500 AND route IN (a,b)}}.as_count() > 1"),
    ('max(queue_depth{queue=~"mail|sms.*"}) > 1', 0, "min(last_1m):max:app.queue_depth{(queue:mail OR queue:sms*)} > 1"),
    ('sum(rate(http_requests_total{code=~"5.."}[5m])) > 1', 0, Refused("code=~'5..'")),
    ('max(queue_depth{queue="Emails"}) > 1', 0, Refused("queue='Emails'")),
    ('max(queue_depth{queue="a,b}"}) > 1', 0, Refused("queue='a,b}'")),  # no injection into {...}
    ('max(queue_depth{queue=""}) > 1', 0, Refused('queue=""')),
    ('max(queue_depth{queue=~"a.*b"}) > 1', 0, Refused("queue=~'a.*b'")),
    ('max(room_temperature{Zone="a"}) > 1', 0, Refused("label 'Zone'")),

    # --- percentiles of distributions: `percentile(window)` with `pXX:` [metric], computed on
    # every value of the window [dist]; buckets as distributions by the check's option [prom]
    ("histogram_quantile(0.95, sum by (le) (rate(latency_seconds_bucket[5m]))) > 0.3", 0,
     "percentile(last_5m):p95:app.latency_seconds{*} > 0.3"),
    ("histogram_quantile(0.99, sum by (le, route) (rate(latency_seconds_bucket[10m]))) > 1", 0,
     "percentile(last_10m):p99:app.latency_seconds{*} by {route} > 1"),
    ("histogram_quantile(0.999, sum(rate(latency_seconds_bucket[5m])) by (le)) > 2", 0,
     "percentile(last_5m):p99.9:app.latency_seconds{*} > 2"),
    ("histogram_quantile(0.12345, sum by (le) (rate(latency_seconds_bucket[5m]))) > 1", 0,
     Refused("histogram_quantile()")),
    ("histogram_quantile(0.95, sum by (route) (rate(latency_seconds_bucket[5m]))) > 1", 0,
     Refused("histogram_quantile()")),
    ("histogram_quantile(0.95, sum by (le) (rate(latency_seconds_bucket[5m]))) > 0.3", 10 * MIN,
     Refused(FOR_ON_WINDOW)),
    ("histogram_quantile(0.95, sum by (le) (rate(latency_seconds_bucket[5m]))) * 1000 > 300", 0,
     Refused("arithmetic on a percentile")),

    # --- *_over_time under the matching aggregation: that time aggregation [aggr]
    ("max(max_over_time(queue_depth[10m])) > 5", 0, "max(last_10m):max:app.queue_depth{*} > 5"),
    ("avg(avg_over_time(queue_depth[1h])) < 2", 0, "avg(last_1h):avg:app.queue_depth{*} < 2"),
    ("sum by (queue) (avg_over_time(queue_depth[30m])) > 9", 0, "avg(last_30m):sum:app.queue_depth{*} by {queue} > 9"),
    ("min(max_over_time(queue_depth[10m])) > 5", 0, Refused("min() of max_over_time()")),

    # --- offset comparisons as change and pct_change monitors, timeshifts 5m-1d [change], [api]
    ("sum(queue_depth) - sum(queue_depth offset 1h) > 50", 0,
     "change(min(last_1m),1h_ago):sum:app.queue_depth{*} > 50"),
    ("(sum(queue_depth) - sum(queue_depth offset 1d)) / sum(queue_depth offset 1d) * 100 < -30", 10 * MIN,
     "pct_change(max(last_10m),1d_ago):sum:app.queue_depth{*} < -30"),
    ("sum(queue_depth) - sum(queue_depth offset 3h) > 50", 0, Refused("offset")),
    ("sum(queue_depth offset 5m) > 1", 0, Refused("offset")),
    ("sum(increase(http_requests_total[5m])) - sum(increase(http_requests_total[5m] offset 1h)) > 5", 0,
     Refused("change of a window condition")),

    # --- absent(): no-data alerting on a monitor of one group [nodata]
    ("max(worker_up) == 0 or absent(worker_up)", 2 * MIN, "max(last_2m):abs(max:app.worker_up{*}) == 0"),
    ("absent(worker_up)", 0, Refused("absent()")),
    ("max by (worker) (worker_up) == 0 or absent(worker_up)", 0, Refused("absent() with by (...)")),
    ("max(worker_up) == 0 or absent(queue_depth)", 0, Refused("absent()")),

    # --- no Datadog form at all
    ("time() - max(last_success_timestamp_seconds) > 3600", 0, Refused("time()")),
    ("sum(queue_depth) > 1 and sum(worker_up) > 2", 0, Refused("`and`")),
    ("sum(queue_depth) > 1 unless sum(worker_up) > 2", 0, Refused("`unless`")),
    ("sum(queue_depth) > 1 and on () hour() >= 8", 0, Refused("`and`")),
    ("max_over_time(sum(queue_depth)[10m:1m]) > 1", 0, Refused("max_over_time()")),
    ("vector(1) > 0", 0, Refused("vector()")),
    ('app:error_ratio:rate5m{route="/"} > 0.05', 0, Refused("recording rule app:error_ratio:rate5m")),
]


@pytest.mark.parametrize("promql,for_ms,expected", ROWS, ids=[f"{i:02d}" for i in range(len(ROWS))])
def test_promql_translates_to_the_datadog_monitor_query_or_is_refused(promql, for_ms, expected) -> None:
    found, problems = translate(parse(promql), for_ms, APP, MIN)
    if isinstance(expected, Refused):
        assert found is None and expected.construct in [p.construct for p in problems], problems
        assert all(p.message for p in problems)
    else:
        assert not problems and found is not None, problems
        assert found.query == expected
        # Every translated query reads as the documented grammar, threshold included [api].
        parsed = querycheck.parse(found.query)
        assert parsed.threshold == found.threshold and parsed.op == found.op


def test_the_table_covers_more_than_sixty_constructs() -> None:
    assert len(ROWS) >= 60
    assert sum(isinstance(e, Refused) for _, _, e in ROWS) >= 20


def test_absent_becomes_no_data_alerting_and_for_a_full_window() -> None:
    found, _ = translate(parse("max(worker_up) == 0 or absent(worker_up)"), 2 * MIN, APP, MIN)
    assert found.no_data and found.full_window and found.window_ms == 2 * MIN


def test_histogram_quantile_needs_buckets_as_distributions() -> None:
    found, problems = translate(parse("histogram_quantile(0.95, sum by (le) (rate(latency_seconds_bucket[5m]))) > 1"),
                                0, BUCKETS, MIN)
    assert found is None and "histogram_buckets_as_distributions" in problems[0].message


def test_a_histograms_count_is_not_collected_with_distributions_alone() -> None:
    only = _naming(DatadogSettings(enabled=True, histogram_buckets_as_distributions=True))
    found, problems = translate(parse("sum(rate(latency_seconds_count[5m])) > 1"), 0, only, MIN)
    assert found is None and "collect_counters_with_distributions" in problems[0].message


# --- the seed catalog's alerts: translated ones with their query, the others with the construct
# that keeps them from an exact form (each of those carries a reviewed datadog.query override).
SEED = {
    "agentbar/JobTimeout": "sum(last_10m):sum:agentbar.job_timeout.count{*} by {task}.as_count() > 0",
    "agentbar/OutboxFailed": "min(last_1m):sum:agentbar.outbox_failed{*} by {channel} > 0",
    "agentbar/OutboxLatencyHigh": Refused("`or`"),
    "agentbar/OutboxPendingHigh": "min(last_1m):sum:agentbar.outbox_pending{*} > 20",
    "agentbar/PaymentConversionDrop":
        "sum(last_30m):sum:agentbar.payment_paid.count{*}.as_count() / "
        "sum:agentbar.payment_attempt.count{*}.as_count() < 0.8",
    "agentbar/PaymentTotalFailure": Refused("`or`"),
    "agentbar/PendingOrdersAging": "min(last_1m):max:agentbar.orders_pending_aging{older_than:30m} > 20",
    "agentbar/SchedulerDown": "max(last_2m):abs(max:agentbar.scheduler_alive{*}) == 0",
    "agentbar/WebhookInvalidSignatureSpike": Refused("`and`"),
    "agentbar/WebhookNotReceived": Refused("`and`"),
    "agentbar/WebhookProcessingError": "sum(last_5m):sum:agentbar.webhook_processing_error.count{*}.as_count() > 0",
    "agentbar/WorkerDown": Refused("absent() with by (...)"),
    "loyalty/LoyaltyCohortRetentionLow": "max(last_1h):min:loyalty.loyalty_cohort_retention_month3_ratio{*} by {cohort} < 0.4",
    "loyalty/LoyaltyEmailNotificationFailures":
        "min(last_15m):sum:loyalty.loyalty_email_log_24h{template_code:loyalty_*,status:failed} / "
        "sum:loyalty.loyalty_email_log_24h{template_code:loyalty_* AND status IN (bounced,failed,sent)} > 0.01",
    "loyalty/LoyaltyExpirationTaskStale": Refused("time()"),
    "loyalty/LoyaltyGoogleWalletServiceDown": Refused("`and`"),
    "loyalty/LoyaltyHighChurn": "min(last_1h):sum:loyalty.loyalty_at_risk_cards{*} / sum:loyalty.loyalty_active_cards{*} > 0.2",
    "loyalty/LoyaltyLowEnrollment": Refused("`and`"),
    "loyalty/LoyaltyPointsRedemptionRateLow": Refused(FOR_ON_WINDOW),
    "loyalty/LoyaltyRateLimitSpike": Refused(FOR_ON_WINDOW),
    "loyalty/LoyaltyWalletCertificateExpiringSoon": Refused("time()"),
    "loyalty/LoyaltyWalletSyncFailures":
        "min(last_1m):sum:loyalty.loyalty_wallet_sync_last_run_failed_cards{*} / "
        "sum:loyalty.loyalty_wallet_sync_last_run_cards{*} > 0.05",
    "qr-pilot/DuplicateEventRateHigh":
        "sum(last_10m):sum:qr_pilot.duplicate_events.count{*}.as_count() / "
        "sum:qr_pilot.session_events.count{*}.as_count() > 0.01",
    "qr-pilot/OrderCaptureRateDrop": Refused("comparison with a query"),
    "qr-pilot/PaymentMatchRateLow":
        "sum(last_30m):sum:qr_pilot.payments_linked_to_sessions.count{*}.as_count() / "
        "sum:qr_pilot.payments.count{*}.as_count() < 0.85",
    "qr-pilot/ReconciliationIssueSpike": Refused("comparison with a query"),
    "shop/ShopCheckoutFailuresHigh": Refused("`or`"),
    "shop/ShopCouponReservationLeaksIncreasing": Refused("max() of delta()"),
    "shop/ShopHttpLatencyP95High": Refused(FOR_ON_WINDOW),
    "shop/ShopHttpLatencyP99High": Refused(FOR_ON_WINDOW),
    "shop/ShopInvoiceIssueFailures": "sum(last_15m):sum:shop.invoice_issue.count{status:failure}.as_count() > 5",
    "shop/ShopRefundSpike": Refused("comparison with a query"),
    "shop/ShopStuckPaidOrders": "min(last_10m):max:shop.shop_orders_paid_unconfirmed{*} > 0",
    "shop/ShopWebhookFailureRatioHigh":
        "sum(last_10m):sum:shop.webhook_events.count{status:error}.as_count() / "
        "sum:shop.webhook_events.count{status:received}.as_count() > 0.02",
    "shop/ShopWebhookRetriesHigh": "sum(last_10m):sum:shop.webhook_events.count{status:retry}.as_count() > 20",
    "store/StoreCeleryBacklog": "min(last_15m):sum:store.celery_queue_length{job:store-celery} by {queue_name} > 100",
    "store/StoreHigh5xxRate": Refused("status=~'5..'"),
    "store/StorePaymentWebhookFailures": Refused(FOR_ON_WINDOW),
    "store/StoreSupplierSyncFailures": Refused(FOR_ON_WINDOW),
}


@pytest.fixture(scope="module")
def seed():
    result = pipeline.analyse(CATALOG)
    assert result.catalog is not None
    return result.catalog


def test_every_seed_alert_is_in_the_table(seed) -> None:
    assert {a.id for s in seed.services for a in s.alerts.values()} == set(SEED)


@pytest.mark.parametrize("alert_id", sorted(SEED))
def test_seed_alert_translates_or_names_what_keeps_it_from_datadog(seed, alert_id: str) -> None:
    sid, name = alert_id.split("/")
    service = seed.service(sid)
    alert = service.alerts[name]
    found, problems = translate(alert.expr.tree, alert.for_ms, naming(seed, service),
                                seed.settings.evaluation_interval_ms)
    expected = SEED[alert_id]
    if isinstance(expected, Refused):
        assert found is None and expected.construct in [p.construct for p in problems]
        # The catalog carries a reviewed override for it, with the reason it differs.
        assert alert.datadog is not None and alert.datadog.query and alert.datadog.reason
    else:
        assert not problems and found.query == expected
        assert alert.datadog is None or not alert.datadog.query


# --- dashboards: every metric query a named query, the arithmetic a formula [formulas]; a
# dashboard window is Datadog's rollup interval, a fixed one a sliding moving_rollup [rollup]
GRAPHS = [
    ("sum(rate(http_requests_total[$__rate_interval])) * 60", False,
     [f"{Q}{{*}}.as_rate()"], "q1 * 60"),
    ('sum(rate(http_requests_total{code="500"}[$__rate_interval])) / sum(rate(http_requests_total[$__rate_interval]))',
     False, [f"{E}.as_count()", f"{Q}{{*}}.as_count()"], "q1 / q2"),
    ("sum by (route) (increase(http_requests_total[30m]))", False,
     [f"{Q}{{*}} by {{route}}.as_count()"], "moving_rollup(q1, 1800, 'sum')"),
    ("sum(rate(http_requests_total[5m]))", False, [f"{Q}{{*}}.as_count()"], "moving_rollup(q1, 300, 'sum') / 300"),
    ("histogram_quantile(0.95, sum by (le) (rate(latency_seconds_bucket[$__rate_interval])))", False,
     ["p95:app.latency_seconds{*}"], "q1"),
    ("sum(increase(http_requests_total[24h]))", True, [f"{Q}{{*}}.as_count()"], "q1"),
    ("sum by (queue) (queue_depth) - sum by (queue) (worker_up)", False,
     ["sum:app.queue_depth{*} by {queue}", "sum:app.worker_up{*} by {queue}"], "q1 - q2"),
    ("queue_depth", False, ["avg:app.queue_depth{*} by {queue}"], "q1"),
    ("app:error_ratio:rate5m", True, [f"{E}.as_count()", f"{Q}{{*}}.as_count()"], "q1 / q2"),
    ("time() - max(last_success_timestamp_seconds)", False, Refused("time()"), None),
    ("histogram_quantile(0.95, sum by (le) (rate(latency_seconds_bucket[5m])))", False,
     Refused("histogram_quantile() over a fixed window in a panel"), None),
    ("max(max_over_time(queue_depth[1h]))", False, Refused("max_over_time() in a panel"), None),
]


@pytest.mark.parametrize("promql,scalar,queries,formula", GRAPHS)
def test_panel_query_becomes_named_queries_and_a_formula(promql, scalar, queries, formula) -> None:
    gen = Datadog(APP, "graph", scalar=scalar)
    text = outer(gen.generate(inline(parse(promql, variables=True), APP.rules)))
    if isinstance(queries, Refused):
        assert queries.construct in [u.construct for u in gen.unsupported_messages]
        return
    assert not gen.unsupported_messages
    assert [q.query for q in gen.queries] == queries and text == formula


# `time() - ts > N` has no exact form (Datadog queries have no clock), but when ts is the Unix
# time something last happened it is "ts has not changed for N": diff() of the gauge [rate page,
# https://docs.datadoghq.com/dashboards/functions/rate/] never rose in the window. Suggested only.
@pytest.mark.parametrize("promql,suggestion", [
    ("time() - max by (job) (last_success_timestamp_seconds) > 26 * 3600",
     "max(last_26h):diff(max:app.last_success_timestamp_seconds{*} by {job}) <= 0"),
    ("time() - max(last_success_timestamp_seconds) > 600 or absent(last_success_timestamp_seconds)",
     "max(last_10m):diff(max:app.last_success_timestamp_seconds{*}) <= 0"),
    ("max(last_success_timestamp_seconds) - time() < 3600", None),
    ("time() - max(last_success_timestamp_seconds) > 30", None),
])
def test_a_staleness_condition_comes_with_a_suggested_override(promql, suggestion) -> None:
    from compiler.dialects.datadog_monitor import staleness

    assert translate(parse(promql), 0, APP, MIN)[0] is None
    assert staleness(parse(promql), APP) == suggestion
    if suggestion:
        assert querycheck.parse(suggestion).threshold == 0
