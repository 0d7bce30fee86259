"""Entry point for `python -m compiler`: the same as the `moncat` command."""
from compiler.cli import entry

entry()
