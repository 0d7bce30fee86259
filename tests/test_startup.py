"""Startup: what `moncat compile` imports, and the cached code of the dataclasses' methods."""
from __future__ import annotations

import dataclasses
import marshal
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from compiler import codecache
from conftest import CATALOG, ROOT

# Needed only by other commands (apply, import; tarfile for diff --base) or by a catalog that
# fails validation (jsonschema explains the errors); Pydantic only by typer's conversion of values
# that compile's options never take (compiler.cli_params); importlib.metadata only by the cache
# (and by Pygments, which the pages' child imports, or this process when it renders the pages).
NOT_FOR_COMPILE = ["requests", "urllib3", "datadog_api_client", "jsonschema", "compiler.apply",
                   "compiler.importers.prometheus", "gojsonnet", "tarfile", "pydantic",
                   "importlib.metadata"]


def test_compile_does_not_import_what_only_other_commands_need(tmp_path: Path) -> None:
    script = textwrap.dedent("""
        import atexit, json, sys
        record, catalog, out = sys.argv[1:4]
        atexit.register(lambda: open(record, "w").write(json.dumps(sorted(sys.modules))))
        from compiler import cli, pipeline
        pipeline._core_free = lambda: True  # its pages in a child, whatever else the machine runs
        sys.argv = ["moncat", "compile", catalog, "--out", out, "--no-cache"]
        cli.main()
    """)
    record = tmp_path / "modules.json"
    proc = subprocess.run([sys.executable, "-c", script, str(record), str(CATALOG), str(tmp_path / "out")],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    modules = set(json.loads(record.read_text()))
    assert "compiler.targets.grafana" in modules  # the record is of a real compile
    assert sorted(modules & set(NOT_FOR_COMPILE)) == []


def test_a_compile_that_forks_nothing_does_not_import_multiprocessing(tmp_path: Path) -> None:
    # A recompile that reuses every service (the cache's common case) starts no child: asking
    # whether it could fork must not cost it the import (10 ms); a first compile forks its pages.
    script = textwrap.dedent("""
        import atexit, json, sys
        record, catalog, out, cache = sys.argv[1:5]
        atexit.register(lambda: open(record, "w").write(json.dumps(sorted(sys.modules))))
        from compiler import cli
        sys.argv = ["moncat", "compile", catalog, "--out", out, "--cache-dir", cache]
        cli.main()
    """)
    record = tmp_path / "modules.json"
    args = [sys.executable, "-c", script, str(record), str(CATALOG), str(tmp_path / "out"), str(tmp_path / "cache")]
    for _ in range(2):
        proc = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert proc.returncode == 0, proc.stderr
    modules = set(json.loads(record.read_text()))
    assert "compiler.parallel" in modules and "compiler.incremental.run" in modules  # a real compile
    assert "unchanged" in proc.stdout  # of the same catalog again, with the cache
    assert "multiprocessing" not in modules


def _make_classes() -> list[type]:
    """Dataclasses of every kind moncat uses: frozen, ordered, defaults, factories, keyword-only."""

    @dataclasses.dataclass(frozen=True)
    class Frozen:
        name: str
        count: int = 0
        tags: tuple[str, ...] = ()

    @dataclasses.dataclass(frozen=True, order=True)
    class Ordered:
        line: int
        column: int = 1

    @dataclasses.dataclass
    class Mutable:
        items: list[int] = dataclasses.field(default_factory=list)
        note: str | None = None

    @dataclasses.dataclass(frozen=True, kw_only=True)
    class KeywordOnly:
        first: str
        second: float = 1.5

    return [Frozen, Ordered, Mutable, KeywordOnly]


METHODS = ["__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__", "__lt__", "__ge__"]


def _methods(classes: list[type]) -> list[tuple[str, str, object, object, object]]:
    out = []
    for cls in classes:
        for name in METHODS:
            method = cls.__dict__.get(name)
            if callable(method) and hasattr(method, "__code__"):
                out.append((cls.__name__, name, method.__code__, method.__annotations__, method.__defaults__))
    return out


# Imported by the process that compiles only after the catalog is linked, when the pages' child
# has forked (from 40 alerts on a first compile): the pages' own (the child imports them) and the
# Grafana dashboards' SDK (this process builds them, the child does not).
AFTER_THE_FORK = ["jinja2", "markdown_it", "pygments", "grafana_foundation_sdk"]


def test_the_pages_child_forks_before_the_page_and_dashboard_libraries_are_imported() -> None:
    script = textwrap.dedent("""
        import json, sys
        from pathlib import Path
        from compiler import cli, pipeline
        seen = []
        pipeline.analyse(Path(sys.argv[1]), linked=lambda catalog: seen.append(sorted(sys.modules)))
        print(json.dumps(seen[0]))
    """)
    proc = subprocess.run([sys.executable, "-c", script, str(CATALOG)], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    modules = {m.split(".")[0] for m in json.loads(proc.stdout)}
    assert "compiler" in modules and "yaml" in modules  # the record is of a real link
    assert sorted(modules & set(AFTER_THE_FORK)) == []


def test_cached_dataclass_methods_are_the_code_dataclasses_compiles(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    plain = _methods(_make_classes())
    with codecache.dataclass_methods():
        first = _methods(_make_classes())
    assert list((tmp_path / "moncat" / "code").glob("dataclasses-*.marshal"))

    def no_compiling(*args: object, **kwargs: object) -> None:
        raise AssertionError("compiled again: the cache was not read")

    monkeypatch.setattr(codecache, "compile", no_compiling, raising=False)
    with codecache.dataclass_methods():
        again = _methods(_make_classes())
    assert len(plain) > 20
    # Same code (bytecode, constants, names), same annotations (real types, not text) and defaults.
    assert first == plain
    assert again == plain
    assert not hasattr(dataclasses, "exec")


def test_a_damaged_dataclass_cache_is_ignored_and_rewritten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with codecache.dataclass_methods():
        _make_classes()
    [path] = (tmp_path / "moncat" / "code").glob("dataclasses-*.marshal")
    path.write_bytes(b"not marshal data")
    with codecache.dataclass_methods():
        classes = _make_classes()
    assert classes[0]("a", 2) == classes[0]("a", 2)
    assert repr(classes[1](3)).endswith("Ordered(line=3, column=1)")
    assert path.read_bytes() != b"not marshal data"


def test_without_a_cache_directory_dataclasses_work_as_usual(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codecache, "user_cache_dir", lambda: None)
    with codecache.dataclass_methods():
        assert not hasattr(dataclasses, "exec")
        assert _methods(_make_classes()) == _methods(_make_classes())


def test_code_that_others_may_write_is_never_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with codecache.dataclass_methods():
        _make_classes()
    [path] = (tmp_path / "moncat" / "code").glob("dataclasses-*.marshal")
    planted = {source: compile("raise SystemExit('planted code ran')", "<string>", "exec")
               for source in marshal.loads(path.read_bytes())}
    path.write_bytes(marshal.dumps(planted))
    path.chmod(0o666)  # a file anyone may write
    with codecache.dataclass_methods():
        frozen = _make_classes()[0]
    assert frozen("a") == frozen("a") and repr(frozen("a")).endswith("Frozen(name='a', count=0, tags=())")
    path.chmod(0o600)
    (tmp_path / "moncat" / "code").chmod(0o777)  # a folder anyone may write into
    with codecache.dataclass_methods():
        ordered = _make_classes()[1]
    assert ordered(3) < ordered(4)
    assert codecache.compiled("k", "<test>", lambda: "x = 1") is not None
    assert not list((tmp_path / "moncat" / "code").glob("*.marshal")) == []  # what was there stays


# Patterns of every kind the imports compile: groups named and numbered, inline and given flags,
# bytes, large Unicode classes (PyYAML's), look-arounds, backreferences, conditionals, verbose.
PATTERNS = [
    (r"(?P<key>[a-z_]+)\s*=\s*(?P<value>.*)", 0),
    (r"^(\d+)-(\d+)$", re.MULTILINE),
    (r"(?i)ab(c|d)+", 0),
    (r"abc", re.IGNORECASE),
    (rb"[\x00-\x1f]+", 0),
    ("[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010ffff]", 0),
    (r"(?<=\$)\{(\w+)\}(?!x)", 0),
    (r"(a)?(?(1)b|c)", 0),
    (r"(['\"])(.*?)\1", re.DOTALL),
    (r"""^(?: [-+]?[0-9]+ \.? [0-9]* ) $  # a number""", re.VERBOSE),
    (r"\bé\w+", re.UNICODE),
    (r"[a-z]", re.ASCII | re.IGNORECASE),
]
TEXTS = ["key = value", "12-34\n5-6", "ABCDcd", "aBc", "x\x01\x02y", "a\x07b\ud800", "${name}y $ {x}",
         "ab", "c", "'it' \"is\"", " +12.5 ", "éte ÉTÉ", "K"]


def _behaviour(compiled: re.Pattern) -> tuple:
    texts = [t.encode("latin-1", "replace") if isinstance(compiled.pattern, bytes) else t for t in TEXTS]
    return (compiled.pattern, compiled.flags, compiled.groups, dict(compiled.groupindex),
            [[m.span() + m.groups() for m in compiled.finditer(t)] for t in texts],
            [compiled.sub(b"<\\g<0>>" if isinstance(t, bytes) else "<\\g<0>>", t) for t in texts])


def test_cached_regular_expressions_behave_as_compiled_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    re.purge()
    plain = [_behaviour(re.compile(p, f)) for p, f in PATTERNS]
    re.purge()
    with codecache.regex_programs("test"):
        first = [_behaviour(re.compile(p, f)) for p, f in PATTERNS]
    assert list((tmp_path / "moncat" / "code").glob("regex-test-*.marshal"))
    re.purge()

    def no_parsing(*args: object) -> None:
        raise AssertionError("parsed again: the cache was not read")

    monkeypatch.setattr(re._parser, "parse", no_parsing)
    with codecache.regex_programs("test"):
        again = [_behaviour(re.compile(p, f)) for p, f in PATTERNS]
    monkeypatch.undo()
    re.purge()
    assert first == plain
    assert again == plain
    assert re._compiler.compile.__module__ == "re._compiler"  # put back


def test_a_bad_pattern_fails_inside_the_regex_cache_as_outside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    re.purge()
    with pytest.raises(re.error, match="missing \\), unterminated subpattern at position 0"):
        with codecache.regex_programs("test"):
            re.compile("(unclosed")
    assert re.compile("(closed)").groups == 1


def test_a_damaged_or_planted_regex_cache_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    re.purge()
    with codecache.regex_programs("test"):
        re.compile(r"(?P<word>\w+)!")
    [path] = (tmp_path / "moncat" / "code").glob("regex-test-*.marshal")
    # A program the engine refuses (it checks each program) is compiled again, and the file mended.
    stored = marshal.loads(path.read_bytes())
    path.write_bytes(marshal.dumps({key: (flags, [999999] * len(code), *rest)
                                    for key, (flags, code, *rest) in stored.items()}))
    re.purge()
    with codecache.regex_programs("test"):
        assert re.compile(r"(?P<word>\w+)!").match("hello!").group("word") == "hello"
    assert marshal.loads(path.read_bytes()) == stored
    path.write_bytes(b"not marshal data")
    re.purge()
    with codecache.regex_programs("test"):
        assert re.compile(r"(?P<word>\w+)!").fullmatch("hi!")
    assert marshal.loads(path.read_bytes()) == stored
    # A program that matches something else, in a file anyone may write, is never read.
    other = re.compile(r"(?P<word>\d+)!")
    re.purge()
    with codecache.regex_programs("test"):
        re.compile(r"(?P<word>\d+)!")
    planted = marshal.loads(path.read_bytes())
    planted[(r"(?P<word>\w+)!", 0)] = planted[(other.pattern, 0)]
    path.write_bytes(marshal.dumps(planted))
    path.chmod(0o666)
    re.purge()
    with codecache.regex_programs("test"):
        assert re.compile(r"(?P<word>\w+)!").fullmatch("hi!")


def test_without_a_cache_directory_regular_expressions_compile_as_usual(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codecache, "user_cache_dir", lambda: None)
    with codecache.regex_programs("test"):
        assert re._compiler.compile.__module__ == "re._compiler"
        assert re.compile(r"a(b)c").groups == 1


def test_the_imports_and_the_pages_work_read_their_patterns_from_the_cache(tmp_path: Path) -> None:
    script = textwrap.dedent("""
        import re, sys
        from pathlib import Path
        calls = []
        parse = re._parser.parse
        re._parser.parse = lambda *args: calls.append(args[0]) or parse(*args)
        import compiler.cli
        from compiler import pipeline
        print(len(calls), file=sys.stderr)
        pipeline._core_free = lambda: False  # its pages in this process, where the calls are seen
        pipeline.compile_catalog(Path(sys.argv[1]), artifacts=False)
        print(len(calls), file=sys.stderr)
    """)
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    runs = [subprocess.run([sys.executable, "-c", script, str(CATALOG)], capture_output=True, text=True,
                           cwd=ROOT, timeout=120, env=env) for _ in range(2)]
    assert [r.returncode for r in runs] == [0, 0], runs[0].stderr + runs[1].stderr
    parsed_first, parsed_again = ([int(n) for n in r.stderr.split()] for r in runs)
    assert parsed_first[0] > 50  # the first run compiles the imports' patterns and stores them
    assert parsed_again[0] <= 3  # the second reads all but those of the cache's own imports
    # The pages' machinery (the template engine, the highlighter's lexers) and the schema's
    # validator compile theirs from the cache too: a few patterns compiled at run time are left.
    compiled_first, compiled_again = parsed_first[1] - parsed_first[0], parsed_again[1] - parsed_again[0]
    assert compiled_first > 40 and compiled_again < compiled_first // 4, (compiled_first, compiled_again)


def test_the_commands_annotations_are_objects_typer_reads_without_evaluating_text() -> None:
    from compiler import cli
    from compiler.importers.command import import_app

    for command in cli.app.registered_commands + import_app.registered_commands:
        annotations = command.callback.__annotations__
        assert annotations and not any(isinstance(a, str) for a in annotations.values()), command.callback


def test_an_inner_regex_scope_keeps_its_own_patterns_and_the_outer_one_resumes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    re.purge()
    with codecache.regex_programs("outer"):
        re.compile("outer-1")
        with codecache.regex_programs("inner"):
            re.compile("inner-1")
        re.compile("outer-2")
    assert re._compiler.compile.__module__ == "re._compiler"
    tables = {p.name.split("-")[1]: marshal.loads(p.read_bytes())
              for p in (tmp_path / "moncat" / "code").glob("regex-*")}
    assert sorted(pattern for pattern, _ in tables["outer"]) == ["outer-1", "outer-2"]
    assert [pattern for pattern, _ in tables["inner"]] == ["inner-1"]


def test_a_code_block_language_of_the_catalogs_own_names_no_cache_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from compiler.targets.runbooks import text

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(text, "_lexer", text._lexer.__wrapped__)  # not the process's cached lexers
    re.purge()
    assert "x" in text.html_code_block.__wrapped__("x = 1", "../made-up")
    assert "sum" in text.html_code_block.__wrapped__("sum(up)", "promql")
    names = sorted(p.name.split("-cpython")[0] for p in (tmp_path / "moncat" / "code").glob("regex-*"))
    assert names == ["regex-lexer-other", "regex-lexer-promql"]
