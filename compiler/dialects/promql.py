"""PromQL dialect: canonical text for rule files and Grafana targets (the base generator)."""
from __future__ import annotations

from compiler.dialects.base import ErrorLevel, Generator
from compiler.expr import ast


class PromQL(Generator):
    """Everything the AST holds is PromQL, so nothing is overridden."""


def to_promql(node: ast.Expr) -> str:
    return PromQL(ErrorLevel.RAISE).generate(node)
