"""Startup support: Python code moncat generates for itself (the catalog schema's validator, the
methods of its dataclasses) and the programs of the regular expressions it compiles, made once
and kept in the user's cache directory, keyed by their source and the interpreter."""
from __future__ import annotations

import builtins
import dataclasses
import hashlib
import importlib.util
import marshal
import os
import re
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from types import CodeType
from typing import Any, Callable, Iterator


def user_cache_dir() -> Path | None:
    """`$XDG_CACHE_HOME/moncat` (default `~/.cache/moncat`), or None where there is no home to
    use: then nothing is cached and everything is computed on each run."""
    base = os.environ.get("XDG_CACHE_HOME") or (os.path.join(os.path.expanduser("~"), ".cache")
                                                if os.path.expanduser("~") != "~" else "")
    if not base:
        return None
    return Path(base) / "moncat"


def compiled(key: str, name: str, make_source: Callable[[], str]) -> CodeType:
    """The compiled code of `make_source()`, read from the cache when this interpreter built
    it for the same `key` before (the key must change whenever the source would). A cache that
    cannot be read or written is ignored."""
    digest = hashlib.sha256(f"{sys.implementation.cache_tag}\0{name}\0{key}".encode()).hexdigest()
    folder = _code_dir()
    path = folder / f"{digest}.marshal" if folder else None
    if path is not None:
        try:
            return marshal.loads(_read_own(path))
        except (OSError, ValueError, EOFError, TypeError):
            pass
    code = compile(make_source(), name, "exec")
    if path is not None:
        _store(path, code)
    return code


def _code_dir() -> Path | None:
    """The folder of compiled code, made private to this user; None when it is not (its code
    is run: code others could write is never read)."""
    folder = user_cache_dir()
    if folder is None:
        return None
    code = folder / "code"
    try:
        code.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = os.stat(code)
    except OSError:
        return None
    return code if info.st_uid == os.getuid() and not info.st_mode & 0o022 else None


def _read_own(path: Path) -> bytes:
    """The file's bytes if this user owns it and no one else may write it, else OSError."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        info = os.fstat(fd)
        if info.st_uid != os.getuid() or info.st_mode & 0o022:
            raise PermissionError(f"{path} may be written by others")
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read()
    finally:
        os.close(fd)


def _store(path: Path, value: Any) -> None:
    try:
        data = marshal.dumps(value)
    except ValueError:  # a value marshal cannot write: nothing is stored
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written under a temporary name and renamed: a concurrent run reads all or nothing.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError:
        pass


def _read_table(path: Path) -> dict:
    """The cached table in `path` (empty when missing, damaged or writable by others)."""
    try:
        known = marshal.loads(_read_own(path))
    except (OSError, ValueError, EOFError, TypeError):
        return {}
    return known if isinstance(known, dict) else {}


def _store_table(path: Path, known: dict, used: dict) -> None:
    # Entries of other commands' runs are kept; entries no run uses any more (sources since
    # changed) are dropped once they outnumber the used ones.
    _store(path, {**known, **used} if len(known) < 2 * len(used) else used)


@contextmanager
def dataclass_methods() -> Iterator[None]:
    """While inside, the methods `dataclasses` writes for each class it makes (`__init__`,
    `__eq__`, `__repr__`, `__hash__`, `__setattr__`...: Python source it compiles, one function
    at a time) are compiled from the same source once and then read from the cache. Compiling
    them was a third of moncat's imports (0.1 s for 125 classes, on every command). The code is
    the one `dataclasses` compiles itself, keyed by its whole source: a class that changes
    writes other source, which misses and is compiled anew."""
    folder = _code_dir()
    if folder is None or hasattr(dataclasses, "exec"):
        yield
        return
    tag = f"{sys.implementation.cache_tag}-{importlib.util.MAGIC_NUMBER.hex()}-O{sys.flags.optimize}"
    path = folder / f"dataclasses-{tag}.marshal"
    known = _read_table(path)
    used: dict[str, CodeType] = {}
    missed = False

    def cached_exec(source: Any, globals: Any = None, locals: Any = None) -> None:
        nonlocal missed
        if isinstance(source, str):
            code = known.get(source)
            if not isinstance(code, CodeType):
                # What exec() compiles from a string: file "<string>", no __future__ flags of
                # ours (this module's `annotations` would turn the methods' annotations to text).
                code, missed = compile(source, "<string>", "exec", dont_inherit=True), True
            used[source] = code
            source = code
        builtins.exec(source, globals, locals)

    # `dataclasses` calls exec() by its global name: a module global of that name comes first.
    dataclasses.exec = cached_exec  # type: ignore[attr-defined]
    try:
        yield
    finally:
        del dataclasses.exec  # type: ignore[attr-defined]
        if missed:
            _store_table(path, known, used)


@contextmanager
def regex_programs(scope: str) -> Iterator[None]:
    """While inside, a regular expression compiled before (same pattern, same flags, same
    interpreter) is read from the cache rather than compiled again. `re` parses a pattern and
    writes its program in Python: the 130 patterns moncat's imports compile (its own, the
    standard library's, typer's, PyYAML's) cost a fifth of the imports. The stored program is
    what `re` would write (the same steps run on a miss) and goes to the same engine call, which
    checks a program before accepting it. `scope` names the cache file: each place that uses it
    compiles its own set of patterns."""
    steps = _regex_steps()
    if steps is None or user_cache_dir() is None:
        yield
        return
    outer, plain, parse, write, engine = steps
    name = f"regex-{scope}-{sys.implementation.cache_tag}-{sys.hexversion:x}-{engine.MAGIC}.marshal"
    # Read on the first pattern `re` has not compiled in this process yet: a process compiling a
    # catalog again has every pattern already, and reads nothing.
    path: Path | None = None
    known: dict[tuple, tuple] = {}
    used: dict[tuple, tuple] = {}
    missed = looked = False

    def cached_compile(pattern: Any, flags: int = 0) -> Any:
        nonlocal missed, looked, path, known
        if not looked:
            folder, looked = _code_dir(), True
            if folder is not None:
                path = folder / name
                known = _read_table(path)
        if path is None or type(pattern) not in (str, bytes) or type(flags) is not int or flags & re.DEBUG:
            return plain(pattern, flags)
        key = (pattern, flags)
        program = known.get(key)
        if program is not None:
            try:
                compiled = engine.compile(pattern, *program)
                used[key] = program
                return compiled
            except (TypeError, ValueError, RuntimeError, OverflowError):
                pass  # a stored program the engine refuses: written anew
        # re._compiler.compile's steps, keeping the program they give the engine.
        parsed = parse(pattern, flags)
        code = [int(op) for op in write(parsed, flags)]  # its opcodes are int subclasses
        groupindex = parsed.state.groupdict
        indexgroup = [None] * parsed.state.groups
        for group, index in groupindex.items():
            indexgroup[index] = group
        program = (flags | parsed.state.flags, code, parsed.state.groups - 1, dict(groupindex),
                   tuple(indexgroup))
        compiled = engine.compile(pattern, *program)
        used[key], missed = program, True
        return compiled

    cached_compile.__wrapped__ = plain  # type: ignore[attr-defined]
    re._compiler.compile = cached_compile  # type: ignore[attr-defined]
    try:
        yield
    finally:
        re._compiler.compile = outer  # type: ignore[attr-defined]  # (an enclosing scope's)
        if missed and path is not None:
            _store_table(path, known, used)


def _regex_steps() -> tuple[Callable, Callable, Callable, Callable, Any] | None:
    """`re`'s compile function as it is now (an enclosing `regex_programs`'s, or `re`'s own),
    `re`'s own, its parser, its program writer and its engine, where this interpreter has them as
    this module knows them (3.11 to 3.13); None elsewhere."""
    compiler = getattr(re, "_compiler", None)
    parser = getattr(re, "_parser", None)
    current = getattr(compiler, "compile", None)
    plain = getattr(current, "__wrapped__", current)
    steps = (current, plain, getattr(parser, "parse", None), getattr(compiler, "_code", None),
             getattr(compiler, "_sre", None))
    if any(s is None for s in steps) or getattr(plain, "__module__", None) != compiler.__name__:
        return None
    return steps  # type: ignore[return-value]
