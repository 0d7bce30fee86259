"""SLOs in Prometheus: with the default tiers the generated rules are the Google SRE workbook's
multiwindow multi-burn-rate alerts, asserted numerically; SLI rules are shared per window;
thresholds are written without float noise; and the generated promtool tests pass, and fail
when the rules they guard are wrong (threshold too high or too low, no short window)."""
from __future__ import annotations

import re
import resource
import shutil
import subprocess
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from compiler import pipeline, writer
from conftest import OUTPUT
from compiler.durations import parse_ms
from compiler.slos.scenarios import step_ms
from compiler.slos.tiers import DEFAULT_TIERS, Resolved, significant

DAY = 86_400_000
# The workbook's table (chapter 5, "Alerting on SLOs"): long window, short window, burn rate,
# share of a 30-day budget spent in the long window; plus the 1d/2h ticket tier (3x).
WORKBOOK = {
    "page-fast": ("1h", "5m", Decimal("14.4"), Decimal("0.02")),
    "page-slow": ("6h", "30m", Decimal("6"), Decimal("0.05")),
    "ticket-fast": ("1d", "2h", Decimal("3"), Decimal("0.10")),
    "ticket-slow": ("3d", "6h", Decimal("1"), Decimal("0.10")),
}
SETTINGS = textwrap.dedent("""\
    version: 1
    runbooks: {base_url: https://runbooks.example.test}
    targets: {prometheus: {version: "2.42", evaluation_interval: 1m}}
    severities:
      page: {priority: 1, meaning: Now, page: true, respond_within: 15m}
      ticket: {priority: 3, meaning: Today}
    contacts:
      oncall: {name: On-call, email: oncall@example.test}
    slos:
      alerting:
        page-fast: {severity: page}
        page-slow: {severity: page}
        ticket-fast: {severity: ticket}
        ticket-slow: {severity: ticket}
    """)
SERVICE = textwrap.dedent("""\
    service: web
    owner: oncall
    metrics:
      http_requests_total: {type: counter, help: Requests by status code., labels: [code]}
    slos:
      availability:
        objective: OBJECTIVE
        WINDOW
        sli: {events: {bad: 'http_requests_total{code="500"}', total: http_requests_total}}
        procedure: errors
    procedures:
      errors: {title: Errors, mitigation: [Roll back.]}
    """)


def _catalog(root: Path, objective: str = "99.9", window: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "moncat.yaml").write_text(SETTINGS)
    (root / "web.yaml").write_text(SERVICE.replace("OBJECTIVE", objective)
                                   .replace("WINDOW", f"window: {window}" if window else ""))
    return root


def _compile(root: Path):
    result = pipeline.compile_catalog(root)
    assert not result.report.has_errors(), [str(d) for d in result.report.sorted()]
    return result


def _rules(result) -> tuple[dict[str, str], dict[str, dict]]:
    # The SLO's own rule file: one group, its records then its alerts.
    groups = yaml.safe_load(result.files["prometheus/web.slo-availability.rules.yaml"])["groups"]
    assert [g["name"] for g in groups] == ["web.slo.availability"]
    assert "prometheus/web.rules.yaml" not in result.files  # the service has no rules of its own
    records = {r["record"]: r["expr"] for g in groups for r in g["rules"] if "record" in r}
    alerts = {r["alert"]: r for g in groups for r in g["rules"] if "alert" in r}
    return records, alerts


_BURN = re.compile(r"^(slo:\S+:ratio_rate(\S+)) > (\S+) and (slo:\S+:ratio_rate(\S+)) > (\S+)$")


def test_default_tiers_are_the_sre_workbooks_burn_rates_windows_and_thresholds(tmp_path) -> None:
    records, alerts = _rules(_compile(_catalog(tmp_path / "c")))
    budget = 1 - Decimal("99.9") / 100
    seen = set()
    for tier, (long, short, factor, share) in WORKBOOK.items():
        name = "AvailabilityBurnRate" + "".join(p.title() for p in tier.split("-"))
        rule = alerts[name]
        found = _BURN.match(rule["expr"])
        assert found, rule["expr"]
        # Both windows, each compared with factor x (1 - objective).
        assert (found[2], found[5]) == (long, short)
        assert Decimal(found[3]) == Decimal(found[6]) == factor * budget
        assert float(found[3]) == pytest.approx(float(factor) * (1 - 0.999), rel=1e-12)
        # The factor spends the workbook's share of a 30-day budget within the long window.
        assert factor * parse_ms(long) / (30 * DAY) == share
        # The short window is 1/12 of the long one, as the workbook recommends.
        assert parse_ms(short) * 12 == parse_ms(long)
        assert rule["labels"]["severity"] == ("page" if tier.startswith("page") else "ticket")
        assert "for" not in rule  # the short window, not a pending period, keeps it precise
        seen.add(tier)
        # Each window's SLI rule is the error ratio over exactly that window.
        for window in (long, short):
            expr = records[f"slo:web_availability_errors:ratio_rate{window}"]
            assert expr == (f'sum(rate(http_requests_total{{code="500"}}[{window}])) / '
                            f'sum(rate(http_requests_total[{window}]))')
    assert seen == set(WORKBOOK) == {t[0] for t in DEFAULT_TIERS}


def test_sli_rules_are_shared_across_tiers_one_per_window(tmp_path) -> None:
    records, _ = _rules(_compile(_catalog(tmp_path / "c")))
    errors = sorted(n for n in records if "_errors:" in n)
    # 8 windows (1h, 5m, 6h, 30m, 1d, 2h, 3d, 6h shared by two tiers... and the 30d window).
    assert len(errors) == len(set(errors)) == 8
    assert {n.rsplit("ratio_rate", 1)[1] for n in errors} == {"5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"}
    assert records["slo:web_availability_objective:ratio"] == "vector(0.999)"
    assert records["slo:web_availability_error_budget:ratio"] == "vector(0.001)"
    assert records["slo:web_availability_error_budget_remaining:ratio"] == \
        "1 - slo:web_availability_errors:ratio_rate30d / 0.001"
    assert records["slo:web_availability_burn_rate:ratio_rate1h"] == \
        "slo:web_availability_errors:ratio_rate1h / 0.001"


@pytest.mark.parametrize("objective", ["99.9", "99.95", "99.99", "99.5", "97.3", "95"])
def test_thresholds_carry_no_float_noise(tmp_path, objective) -> None:
    result = _compile(_catalog(tmp_path / "c", objective))
    text = result.files["prometheus/web.slo-availability.rules.yaml"].decode()
    budget = (100 - Decimal(objective)) / 100
    numbers = re.findall(r"> ([0-9.eE+-]+)", text)
    assert numbers
    for number in numbers:
        assert re.fullmatch(r"[0-9]+(\.[0-9]+)?", number), number
        assert len(number) < 12, number  # 0.0009999999999999432 would be 21
        assert Decimal(number) / budget in {Decimal("14.4"), 6, 3, 1}


def test_a_28_day_window_scales_the_factors_to_the_same_budget_shares(tmp_path) -> None:
    root = _catalog(tmp_path / "c", window="28d")
    # 28d is not a whole number of 3d windows: the ticket-slow tier has to go (MC802 otherwise).
    (root / "web.yaml").write_text((root / "web.yaml").read_text().replace(
        "procedure: errors\n", "procedure: errors\n    alerting: {ticket-slow: false}\n", 1))
    _, alerts = _rules(_compile(root))
    factors = {n: Decimal(_BURN.match(a["expr"])[3]) / Decimal("0.001") for n, a in alerts.items()
               if "BurnRate" in n}
    assert factors == {"AvailabilityBurnRatePageFast": Decimal("13.44"),
                       "AvailabilityBurnRatePageSlow": Decimal("5.6"),
                       "AvailabilityBurnRateTicketFast": Decimal("2.8")}
    assert significant(Decimal(28) / 30) == Decimal("0.9333")


def test_each_tier_runs_its_tests_at_a_step_of_half_its_short_window() -> None:
    tiers = {tid: Resolved(tid, None, Decimal(1), parse_ms(long), parse_ms(short), 0, "p",
                           Decimal("0.001"), (), {})
             for tid, (long, short, _, _) in WORKBOOK.items()}
    assert {t: step_ms(r) // 1000 for t, r in tiers.items()} == \
        {"page-fast": 150, "page-slow": 900, "ticket-fast": 3600, "ticket-slow": 10800}


# --- the generated tests pass with promtool, and catch wrong rules ---------------------------

def _promtool(directory: Path) -> subprocess.CompletedProcess:
    files = sorted(p.name for p in directory.glob("web.slo-availability.*.tests.yaml"))
    # One per evaluation interval: each scenario runs at the sparsest one that reaches its
    # checks (prometheus_shift.sparse), the SLI-absent alert's at 1m.
    assert "web.slo-availability.1m.tests.yaml" in files and len(files) >= 5, files
    return subprocess.run(["promtool", "test", "rules", *files], cwd=directory, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("slo")
    result = _compile(_catalog(root / "c"))
    out = root / "out"
    writer.write(out, result.files)
    return out / "prometheus"


def test_the_generated_tier_tests_pass_with_promtool(written, promtool) -> None:
    proc = _promtool(written)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    tests = [t for f in written.glob("web.slo-availability.*.tests.yaml")
             for t in yaml.safe_load(f.read_text())["tests"] if "BurnRate" in t["name"]]
    kinds = sorted(re.search(r"#\d+ \((\w+)\):", t["name"])[1] for t in tests)
    assert kinds == ["below"] * 4 + ["fires"] * 4 + ["reset"] * 4


def _mutated(written: Path, tmp: Path, old: str, new: str, count: int = 1) -> Path:
    copy = tmp / "prometheus"
    shutil.copytree(written, copy)
    rules = copy / "web.slo-availability.rules.yaml"
    text = rules.read_text()
    assert text.count(old) == count, old
    rules.write_text(text.replace(old, new))
    return copy


@pytest.mark.parametrize("old, new, alert, failing", [
    # The page-fast threshold 5% higher: the 1.05x burn no longer fires in time.
    ("ratio_rate1h > 0.0144 and slo:web_availability_errors:ratio_rate5m > 0.0144",
     "ratio_rate1h > 0.0152 and slo:web_availability_errors:ratio_rate5m > 0.0152",
     "AvailabilityBurnRatePageFast", "fires"),
    # 10% lower: the 0.95x burn fires (and the 1.05x one fires too early).
    ("ratio_rate6h > 0.006 and slo:web_availability_errors:ratio_rate30m > 0.006",
     "ratio_rate6h > 0.0054 and slo:web_availability_errors:ratio_rate30m > 0.0054",
     "AvailabilityBurnRatePageSlow", "below"),
    # Without its short window the ticket-fast alert stays up after the errors stop.
    (" and slo:web_availability_errors:ratio_rate2h > 0.003", "", "AvailabilityBurnRateTicketFast",
     "reset"),
])
def test_the_generated_tests_fail_when_a_rule_is_wrong(written, tmp_path, promtool, old, new, alert,
                                                       failing) -> None:
    proc = _promtool(_mutated(written, tmp_path, old, new))
    assert proc.returncode != 0
    failed = set(re.findall(r"name: (\w+) [a-z ]+ #\d+ \((fires|below|reset)\):", proc.stdout + proc.stderr))
    assert (alert, failing) in failed, proc.stdout[-3000:]
    assert {name for name, _ in failed} == {alert}  # the other tiers' tests still pass


def test_tiers_merge_defaults_settings_and_the_slo_removing_overriding_and_adding(tmp_path) -> None:
    root = _catalog(tmp_path / "c")
    (root / "moncat.yaml").write_text(SETTINGS.replace(
        "    ticket-slow: {severity: ticket}\n",
        "    ticket-slow: {severity: ticket, for: 30m}\n  absent: {for: 15m, severity: page}\n"))
    (root / "web.yaml").write_text((root / "web.yaml").read_text().replace(
        "procedure: errors\n", "procedure: errors\n"
        "    alerting:\n"
        "      page-slow: false\n"                                    # removed
        "      ticket-fast: {budget_consumed: 20, severity: page}\n"  # a share of 20%, paging
        "      weekly: {factor: 2, long: 2d, short: 4h, severity: ticket}\n", 1))
    _, alerts = _rules(_compile(root))
    burns = {n.removeprefix("AvailabilityBurnRate"): a for n, a in alerts.items() if "BurnRate" in n}
    assert set(burns) == {"PageFast", "TicketFast", "TicketSlow", "Weekly"}
    factor = {n: Decimal(_BURN.match(a["expr"])[3]) / Decimal("0.001") for n, a in burns.items()}
    # 20% of a 30-day budget in 1d is a burn rate of 6; the added tier keeps its factor.
    assert factor == {"PageFast": Decimal("14.4"), "TicketFast": 6, "TicketSlow": 1, "Weekly": 2}
    assert burns["TicketFast"]["labels"]["severity"] == "page"
    assert burns["TicketSlow"]["for"] == "30m" and "for" not in burns["PageFast"]
    assert _BURN.match(burns["Weekly"]["expr"])[2] == "2d"
    absent = alerts["AvailabilitySLIAbsent"]
    assert absent["expr"] == "absent(http_requests_total)"
    assert absent["for"] == "15m" and absent["labels"]["severity"] == "page"


def test_the_seed_slos_tier_tests_stay_within_their_cpu_budget(promtool) -> None:
    """Each SLO's tests read its own rule file (18 rules), at half its short window: the seed's
    six SLOs (66 cases) take 8-16 s of promtool CPU (idle to busy machine: promtool builds a test
    storage per case), measured as CPU so that wall time on a busy machine does not decide; the
    bound catches tier tests at finer steps or longer series than their windows need."""
    files = sorted(p.name for p in (OUTPUT / "prometheus").glob("*.slo-*.tests.yaml"))
    assert len(files) >= 6 * 4
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([promtool, "test", "rules", *files], cwd=OUTPUT / "prometheus",
                          capture_output=True, text=True, timeout=600)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert proc.returncode == 0, proc.stdout[-2000:]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert cpu < 25.0, f"promtool used {cpu:.1f} s of CPU"
