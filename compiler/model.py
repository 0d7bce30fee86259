"""Model stage: frozen, typed entities of a catalog; every one knows where it was written."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

from compiler.diagnostics import Loc
from compiler.expr import ast

T = TypeVar("T")


@dataclass(frozen=True)
class Expression:
    """A PromQL expression as written, its AST, and how to point inside it."""

    text: str
    tree: ast.Expr
    loc: Loc
    # Maps an offset inside `text` to a catalog position; not part of equality.
    locate: Any = field(compare=False, repr=False, default=None)

    def loc_at(self, offset: int) -> Loc:
        return self.locate(offset) if self.locate else self.loc


@dataclass(frozen=True)
class Severity:
    id: str
    priority: int
    meaning: str
    respond_within_ms: int | None
    sla: str
    page: bool
    postmortem: bool
    loc: Loc
    service: str | None = None  # set when a service defines its own level


@dataclass(frozen=True)
class TimeInterval:
    """Named active hours: specs (compiler.time_intervals.Spec), any of which holds."""

    id: str
    specs: tuple[Any, ...]
    loc: Loc
    service: str | None = None


@dataclass(frozen=True)
class Suppression:
    """`suppressed_by`: while alert `alert` (a service/Name id) fires with the same `equal`
    labels, the suppressed alert notifies nobody."""

    alert: str
    loc: Loc
    equal: tuple[str, ...] = ()


@dataclass(frozen=True)
class Escalation:
    """One `escalates_to` rule of a contact: at `level` (None: every paging level), tell contact
    `to` when the alert still fires `after_ms` after its first notification (None: the level's
    respond_within)."""

    to: str
    loc: Loc
    level: str | None = None
    after_ms: int | None = None


@dataclass(frozen=True)
class Contact:
    id: str
    name: str
    loc: Loc
    role: str = ""
    rotation: str = ""
    email: str = ""
    slack: str = ""
    pagerduty: str = ""
    opsgenie: str = ""
    webhook: str = ""
    webhook_secret: bool = False  # the URL is a credential, read from a secret file or variable
    escalates_to: tuple[Escalation, ...] = ()
    notes: str = ""
    service: str | None = None
    receives_alerts: bool = True  # False: reached by people following a procedure, never routed
    # Where `escalates_to` and `webhook` are written, for diagnostics.
    escalates_to_loc: Loc | None = field(default=None, compare=False, repr=False)
    webhook_loc: Loc | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Metric:
    service: str
    name: str
    type: str
    help: str
    loc: Loc
    unit: str = ""
    labels: tuple[str, ...] = ()
    baseline: str = ""
    target: str = ""
    exporter: str = ""
    source_name: str = ""
    datadog: str = ""  # the exact Datadog metric name, when it does not follow targets.datadog
    buckets: tuple[float, ...] = ()  # a histogram's declared bucket upper bounds (le), +Inf aside
    # Labels whose values form a closed list: (label, (value, ...)).
    label_values: tuple[tuple[str, tuple[str, ...]], ...] = ()
    inferred: bool = False  # type guessed by `moncat import` from how expressions read it


@dataclass(frozen=True)
class RecordingDefinition:
    """One rule recording a name: a name may be recorded by several rules, each with its labels."""

    expr: Expression
    loc: Loc
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class RecordingRule:
    service: str
    name: str
    expr: Expression
    help: str
    loc: Loc
    unit: str = ""
    labels: tuple[tuple[str, str], ...] = ()
    baseline: str = ""
    target: str = ""
    source_name: str = ""
    more: tuple[RecordingDefinition, ...] = ()  # further rules recording the same name (`rules:`)

    def definitions(self) -> tuple[RecordingDefinition, ...]:
        """Every rule recording this name, in the catalog's order (`expr` is the first one's)."""
        return (RecordingDefinition(self.expr, self.loc, self.labels), *self.more)


@dataclass(frozen=True)
class Example:
    """Input series for a generated unit test, and what the alert must do on them."""

    fires: bool
    series: tuple[tuple[str, str], ...]
    loc: Loc
    interval_ms: int | None = None
    at_ms: int | None = None
    at_time: str = ""  # a wall-clock `at:` (ISO 8601 with offset): when the example happens
    labels: tuple[tuple[str, str], ...] = ()
    value: float | None = None
    # When the series start meeting the condition (a fires example that turns bad mid-way).
    starts_ms: int | None = None
    # What the queries an annotation runs (`query "..."`) return: (query, ((labels, value), ...)).
    queries: tuple[tuple[str, tuple[tuple[tuple[tuple[str, str], ...], float], ...]], ...] = ()
    comment: str = ""
    # Per series: where its selector (the key) and its values stand, for precise diagnostics.
    series_locs: tuple[tuple[Loc, Loc], ...] = field(default=(), compare=False, repr=False)
    # `datadog_differs`: this example's Datadog verdict differs, as the alert states (True, or
    # this example's own words); where it is written.
    datadog_differs: bool | str = False
    differs_loc: Loc | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class DatadogAlert:
    """An alert's `datadog:` block: a reviewed monitor query replacing the translation (with the
    reason it differs), a warning threshold, and a stated difference from Prometheus."""

    query: str = ""
    reason: str = ""
    warning: float | None = None
    differs: str = ""  # a stated, accepted difference from the Prometheus rule


@dataclass(frozen=True)
class Alert:
    service: str
    name: str
    expr: Expression
    severity: str
    summary: str
    loc: Loc
    for_ms: int = 0
    keep_firing_for_ms: int | None = None
    notify: tuple[str, ...] = ()
    description: str = ""
    condition: str = ""
    procedure: str = ""
    dashboard: str = ""
    labels: tuple[tuple[str, str], ...] = ()
    examples: tuple[Example, ...] = ()
    targets: tuple[str, ...] = ()  # the backends it is compiled for; () means all
    datadog: DatadogAlert | None = None
    active_during: tuple[str, ...] = ()  # time interval ids (the service's when not its own)
    muted_during: tuple[str, ...] = ()
    suppressed_by: tuple[Suppression, ...] = ()
    notifies: bool = True  # False for `notify: []`: a condition alert that tells nobody
    alertname: str = ""    # the Prometheus alert name when several catalog alerts share one
    runbook_url: str = ""  # an external runbook, linked instead of the generated page
    annotations: tuple[tuple[str, str], ...] = ()  # further annotations, as written
    examples_pending: bool = False  # `examples: pending` (imported, still to be written)
    imported: bool = False  # written by `moncat import`, not reviewed yet
    field_locs: dict[str, Loc] = field(default_factory=dict, compare=False, repr=False)
    # Maps (field, offset inside its text) to a catalog position, for template errors.
    locate_text: Any = field(default=None, compare=False, repr=False)

    @property
    def id(self) -> str:
        return f"{self.service}/{self.name}"

    @property
    def rule_name(self) -> str:
        """The name of the Prometheus alerting rule (`alertname`)."""
        return self.alertname or self.name

    def compiled_for(self, target: str) -> bool:
        """Whether the alert goes to backend `target` (its `targets:` list, or all). A condition
        alert (`notify: []`) has no Grafana rule: Grafana folds it into the queries it
        suppresses, having no inhibition."""
        if target == "grafana" and not self.notifies:
            return False
        return not self.targets or target in self.targets

    def at(self, name: str) -> Loc:
        return self.field_locs.get(name, self.loc)

    def at_offset(self, name: str, offset: int) -> Loc:
        """Where character `offset` of text field `name` (summary, description) stands."""
        return self.locate_text(name, offset) if self.locate_text else self.at(name)


@dataclass(frozen=True)
class DatadogOnlyAlert:
    """`kind: datadog-only`: a Datadog monitor with no PromQL equivalent, kept verbatim."""

    service: str
    name: str
    type: str
    query: str
    severity: str
    summary: str
    loc: Loc
    message: str = ""
    thresholds: tuple[tuple[str, float], ...] = ()
    options: dict[str, Any] = field(default_factory=dict, compare=False)
    tags: tuple[str, ...] = ()
    notify: tuple[str, ...] = ()
    description: str = ""
    procedure: str = ""
    runbook_url: str = ""
    field_locs: dict[str, Loc] = field(default_factory=dict, compare=False, repr=False)

    @property
    def id(self) -> str:
        return f"{self.service}/{self.name}"

    def at(self, name: str) -> Loc:
        return self.field_locs.get(name, self.loc)


@dataclass(frozen=True)
class Step:
    text: str
    language: str = ""
    code: str = ""


@dataclass(frozen=True)
class Code:
    code: str
    title: str = ""
    language: str = ""


@dataclass(frozen=True)
class Link:
    title: str
    url: str


@dataclass(frozen=True)
class Procedure:
    service: str
    id: str
    title: str
    loc: Loc
    summary: str = ""
    trigger: str = ""
    notify: tuple[str, ...] = ()
    detection: tuple[Step, ...] = ()
    mitigation: tuple[Step, ...] = ()
    recovery: tuple[Step, ...] = ()
    verification: tuple[Step, ...] = ()
    escalation: tuple[Step, ...] = ()
    queries: tuple[Code, ...] = ()
    links: tuple[Link, ...] = ()
    notify_locs: tuple[Loc, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True)
class Checklist:
    service: str
    id: str
    title: str
    items: tuple[str, ...]
    loc: Loc
    when: str = ""


@dataclass(frozen=True)
class Query:
    expr: Expression
    legend: str = ""


@dataclass(frozen=True)
class Panel:
    title: str
    type: str
    queries: tuple[Query, ...]
    loc: Loc
    unit: str = ""
    description: str = ""
    alerts: tuple[str, ...] = ()
    alert_locs: tuple[Loc, ...] = field(default=(), compare=False, repr=False)
    unit_loc: Loc | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class Dashboard:
    service: str
    id: str
    title: str
    rows: tuple[Row, ...]
    loc: Loc
    description: str = ""
    tags: tuple[str, ...] = ()
    time: str = ""


@dataclass(frozen=True)
class LogEvent:
    event: str
    logger: str = ""
    level: str = ""


@dataclass(frozen=True)
class Logging:
    description: str = ""
    required_fields: tuple[str, ...] = ()
    example: Code | None = None
    events: tuple[LogEvent, ...] = ()


@dataclass(frozen=True)
class Service:
    id: str
    loc: Loc
    title: str = ""
    team: str = ""
    owner: str = ""
    language: str = ""
    description: str = ""
    source: str = ""
    links: tuple[Link, ...] = ()
    metrics: dict[str, Metric] = field(default_factory=dict)
    recording_rules: dict[str, RecordingRule] = field(default_factory=dict)
    alerts: dict[str, Alert] = field(default_factory=dict)
    datadog_only: dict[str, DatadogOnlyAlert] = field(default_factory=dict)
    procedures: dict[str, Procedure] = field(default_factory=dict)
    checklists: dict[str, Checklist] = field(default_factory=dict)
    dashboards: dict[str, Dashboard] = field(default_factory=dict)
    severities: dict[str, Severity] = field(default_factory=dict)
    principles: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    logging: Logging | None = None
    active_during: tuple[str, ...] = ()
    muted_during: tuple[str, ...] = ()
    time_intervals: dict[str, TimeInterval] = field(default_factory=dict)
    # Service level objectives (compiler.slos.model.SLO), each already expanded into the rules,
    # alerts and dashboard above.
    slos: dict[str, Any] = field(default_factory=dict)
    field_locs: dict[str, Loc] = field(default_factory=dict, compare=False, repr=False)

    def severity(self, name: str, shared: dict[str, Severity]) -> Severity | None:
        return self.severities.get(name) or shared.get(name)


@dataclass(frozen=True)
class AlertmanagerSettings:
    """targets.alertmanager: where secret files live and how email leaves."""

    secrets_dir: str = "/etc/alertmanager/secrets"
    url: str = ""  # Alertmanager's UI, for "silence this alert" links; none when empty
    smtp_smarthost: str = "localhost:25"
    smtp_from: str = "alertmanager@localhost"
    smtp_auth_username: str = ""
    smtp_require_tls: bool | None = None


@dataclass(frozen=True)
class GrafanaSettings:
    """targets.grafana: where Grafana is, the data source its alert rules query, and where it
    finds the generated dashboards."""

    url: str = ""  # base URL for links to dashboards; no links when empty
    datasource_uid: str = "prometheus"
    dashboards_path: str = "/etc/grafana/moncat/dashboards"


@dataclass(frozen=True)
class DatadogSettings:
    """targets.datadog: whether to generate Datadog objects, and how the Agent's OpenMetrics check
    names the metrics (namespace, counter suffix, histogram options)."""

    enabled: bool = False
    namespace: str = "{service}"
    counter_suffix: str = ".count"
    histogram_buckets_as_distributions: bool = False
    collect_counters_with_distributions: bool = False
    evaluation_delay_ms: int | None = None
    renotify_interval_ms: int | None = None
    check_interval_ms: int = 15_000
    pending: str = "refuse"  # `for:` on a window condition: refuse | drop
    scrape_labels: tuple[str, ...] = ()  # scrape-time labels the Agent adds as tags
    # Set up outside the catalog, as MC714 names it (`percentiles:<metric>`, `scrape_labels`,
    # `webhook:<contact>`), each with where the catalog says so.
    configured: tuple[tuple[str, Loc], ...] = ()


@dataclass(frozen=True)
class Settings:
    version: int
    loc: Loc
    title: str = ""
    language: str = "en"
    runbooks_base_url: str = ""
    prometheus_version: tuple[int, int] = (2, 42)
    prometheus_url: str = ""  # Prometheus' UI, for links to each alert's query; none when empty
    evaluation_interval_ms: int = 60_000
    query_offset_ms: int | None = None
    external_labels: tuple[tuple[str, str], ...] = ()
    alertmanager_version: tuple[int, int] = (0, 25)
    alertmanager: AlertmanagerSettings = field(default_factory=AlertmanagerSettings)
    grafana: GrafanaSettings = field(default_factory=GrafanaSettings)
    datadog: DatadogSettings = field(default_factory=DatadogSettings)
    incident_response: tuple[Step, ...] = ()
    catch_all: str = ""  # the contact of alerts no catalog route matches; "" for nobody
    outputs: tuple[str, ...] | None = None  # targets.outputs; None: every output
    slos: Any = None  # compiler.slos.model.SloDefaults: `slos:` defaults for every SLO
    field_locs: dict[str, Loc] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class Catalog:
    """The linked catalog: every reference resolved."""

    settings: Settings
    services: tuple[Service, ...]
    contacts: dict[str, Contact]
    severities: dict[str, Severity]
    time_intervals: dict[str, TimeInterval] = field(default_factory=dict)
    # Derived facts (translations, shapes, name maps) computed once per catalog and shared by
    # every target: see `once`. Not part of the catalog's value.
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    def service(self, sid: str) -> Service:
        return self._by_id()[sid]

    def alert(self, aid: str) -> Alert | None:
        """The alert with id `<service>/<name>`."""
        sid, _, name = aid.partition("/")
        service = self._by_id().get(sid)
        return service.alerts.get(name) if service else None

    def _by_id(self) -> dict[str, Service]:
        # Targets ask for a service per alert: a scan of every service each time grew with the
        # square of the catalog.
        return self.once("services by id", lambda: {s.id: s for s in self.services})

    def generates(self, output: str) -> bool:
        """Whether compile writes `output` (targets.outputs; Datadog also needs its settings)."""
        if output == "datadog" and not self.settings.datadog.enabled:
            return False
        return self.settings.outputs is None or output in self.settings.outputs

    def once(self, key: Any, compute: Callable[[], T]) -> T:
        """`compute()`, remembered under `key` for this catalog: targets and pages that need the
        same derived fact (an alert's Datadog query, a panel's thresholds) compute it once."""
        try:
            return self.memo[key]
        except KeyError:
            value = self.memo[key] = compute()
            return value
