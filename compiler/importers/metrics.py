"""Import stage, metric inference: the metrics imported expressions read, with a type guessed
from how they are read (rate() and friends: counter; `_bucket` under histogram_quantile() or
with `le`: histogram; a `quantile` matcher: summary; else gauge) and the labels they name."""
from __future__ import annotations

from dataclasses import dataclass, field

from compiler.expr import ast
from compiler.expr.templates import label_refs
from compiler.importers.source import Origin
from compiler.link import BUILTIN_METRICS

COUNTER_FUNCS = {"rate", "irate", "increase", "resets"}
WHY = {"counter": "read with rate(), irate(), increase() or resets()",
       "histogram": "its _bucket series is read by histogram_quantile() or with `le`",
       "summary": "read with a `quantile` matcher",
       "gauge": "read as a value (no counter function)"}


@dataclass
class Usage:
    """How the imported expressions read one series name."""

    origin: Origin
    counter: bool = False
    buckets: bool = False
    quantile: bool = False
    labels: set[str] = field(default_factory=set)
    readers: set[str] = field(default_factory=set)  # services whose expressions read it


@dataclass(frozen=True)
class Inferred:
    name: str
    type: str
    labels: tuple[str, ...]
    origin: Origin
    services: tuple[str, ...]

    @property
    def help(self) -> str:
        return f"Inferred by moncat import: {self.type}, {WHY[self.type]}."


def _grouping_labels(node: ast.Expr) -> set[str]:
    if isinstance(node, ast.Aggregation):
        return set(node.grouping)
    if isinstance(node, ast.Binary) and node.matching is not None:
        return set(node.matching.labels) | set(node.matching.include)
    if isinstance(node, ast.Call) and node.func in ("label_replace", "label_join"):
        return {a.value for a in node.args[1:] if isinstance(a, ast.String)
                and a.value and a.value.isidentifier()}
    return set()


class Inference:
    """Collects usages over every imported expression, then decides each metric's type."""

    def __init__(self) -> None:
        self.usage: dict[str, Usage] = {}
        self.recorded: set[str] = set()

    def record(self, name: str) -> None:
        self.recorded.add(name)

    def read(self, tree: ast.Expr, origin: Origin, service: str, texts: tuple[str, ...] = ()) -> None:
        """Note every selector of `tree`; `texts` are annotations whose `$labels.x` the series
        must be able to carry."""
        named = {r.name for t in texts for r in label_refs(t)}
        self._visit(tree, None, False, set(), origin, service, named)

    def _visit(self, node: ast.Expr, func: str | None, quantile: bool, labels: set[str],
               origin: Origin, service: str, named: set[str]) -> None:
        labels = labels | _grouping_labels(node)
        if isinstance(node, ast.Selector):
            if node.metric:
                use = self.usage.setdefault(node.metric, Usage(origin))
                use.counter |= func in COUNTER_FUNCS
                use.buckets |= quantile or any(m.name == "le" for m in node.matchers)
                use.quantile |= any(m.name == "quantile" for m in node.matchers)
                use.labels |= {m.name for m in node.matchers if m.name != "__name__"} | labels | named
                use.readers.add(service)
            return
        if isinstance(node, ast.Call):
            func = node.func
            quantile = quantile or node.func == "histogram_quantile"
        elif not isinstance(node, ast.RangeSelector | ast.Paren):
            # A function reads its argument directly; past an aggregation or an operator the
            # counter has become something else.
            func = None if not isinstance(node, ast.Subquery) else func
        for child in ast.children(node):
            self._visit(child, func, quantile, labels, origin, service, named)

    def metrics(self, known: set[str] = frozenset()) -> dict[str, Inferred]:
        """Metrics to declare, by name: histograms under their base name; series moncat
        already knows (`known`, recorded names, Prometheus' own) are left out."""
        skip = set(known) | self.recorded | BUILTIN_METRICS
        out: dict[str, Inferred] = {}
        hist_bases = {n[: -len("_bucket")] for n, u in self.usage.items()
                      if n.endswith("_bucket") and u.buckets}
        for name in sorted(self.usage):
            use = self.usage[name]
            base = next((name[: -len(s)] for s in ("_bucket", "_sum", "_count")
                         if name.endswith(s) and name[: -len(s)] in hist_bases), None)
            if base is not None:
                merged = [self.usage[base + s] for s in ("_bucket", "_sum", "_count") if base + s in self.usage]
                if base in out or base in skip or name in skip:
                    continue
                labels = set().union(*(u.labels for u in merged)) - {"le"}
                readers = set().union(*(u.readers for u in merged))
                first = min((u.origin for u in merged), key=lambda o: (o.file, o.line))
                out[base] = Inferred(base, "histogram", tuple(sorted(labels)), first, tuple(sorted(readers)))
                continue
            if name in skip:
                continue
            kind = "counter" if use.counter else "summary" if use.quantile else "gauge"
            labels = use.labels - ({"quantile"} if kind == "summary" else set())
            out[name] = Inferred(name, kind, tuple(sorted(labels)), use.origin, tuple(sorted(use.readers)))
        return out
