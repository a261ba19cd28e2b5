"""YAML → plain Python values, remembering the line every value came from.

PyYAML's composed node tree carries marks; we construct the data ourselves from it so
that validation can say "sites/foo.yaml:12: listing.fields.price: ..." instead of only
"price is wrong".  `${VAR}` / `${VAR:-default}` in scalar strings are expanded here, so
an unset variable is reported at its own line.
"""
from __future__ import annotations

import difflib
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.errors import TrawlError
from crawler.sitedef.saferegex import UserRegex, UserRegexError, compile_user_regex
from crawler.sitedef.selectors import (
    FieldSelector,
    Marker,
    SelectorSyntaxError,
    compile_marker,
    compile_selector,
)

Path_ = tuple[str | int, ...]
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-(.*?))?\}")

# A site YAML is a few kilobytes and a few hundred nodes.  These bounds stop hostile or
# broken files (an alias "billion laughs", a 5,000-deep nesting, a binary blob) with a
# one-line error long before they cost time, memory or Python's recursion limit.
MAX_FILE_BYTES = 1 * 2**20
MAX_DEPTH = 100  # nesting of mappings/sequences
MAX_NODES = 20_000  # nodes as written
MAX_ALIASES = 1_000  # *alias uses
MAX_EXPANDED_NODES = 50_000  # nodes once every alias is expanded


class SiteConfigError(TrawlError):
    """A site definition is invalid; `problems` holds one "FILE:LINE: field: problem" each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = problems[:5]
        more = f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__("; ".join(shown) + more)


def dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "(top)"


@dataclass
class Document:
    """A loaded YAML mapping plus the line of every path in it, for error messages."""

    file: str
    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def line(self, path: Path_) -> int:
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)

    def problem(self, path: Path_, message: str) -> None:
        self.problems.append(f"{self.file}:{self.line(path)}: {dotted(path)}: {message}")

    def raise_if_problems(self) -> None:
        if self.problems:
            raise SiteConfigError(self.problems)


def expand_vars(text: str, env: Mapping[str, str]) -> tuple[str, list[str]]:
    """Expand ${VAR} and ${VAR:-default}; returns (text, names of unset variables)."""
    missing: list[str] = []

    def repl(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        value = env.get(name)
        if value:
            return value
        if default is not None:
            return default
        missing.append(name)
        return match.group(0)

    return _VAR.sub(repl, text), missing


class _LimitExceeded(Exception):
    def __init__(self, mark: Any, message: str) -> None:
        super().__init__(message)
        self.line = mark.line + 1 if mark is not None else 1


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader's composer with bounds on depth, nodes, aliases and alias expansion.

    The checks run while the node tree is composed, before anything recurses into it:
    depth before going one level deeper, the expanded size of every node (an alias
    counts as the whole node it names) as soon as the node is complete."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = self.nodes = self.aliases = 0
        self.expanded_sizes: dict[int, int] = {}  # id(node) -> nodes once aliases are expanded

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise _LimitExceeded(event.start_mark, f"more than {MAX_ALIASES} aliases")
            target = self.anchors.get(event.anchor)
            if target is not None and id(target) not in self.expanded_sizes:
                raise _LimitExceeded(event.start_mark, f"alias *{event.anchor} refers to a node that contains it")
            return super().compose_node(parent, index)
        self.depth += 1
        self.nodes += 1
        if self.depth > MAX_DEPTH:
            raise _LimitExceeded(event.start_mark, f"nested deeper than {MAX_DEPTH} levels")
        if self.nodes > MAX_NODES:
            raise _LimitExceeded(event.start_mark, f"more than {MAX_NODES} nodes")
        node = super().compose_node(parent, index)
        self.depth -= 1
        children: list[Any] = []
        if isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = node.value
        size = 1 + sum(self.expanded_sizes.get(id(child), 1) for child in children)
        if size > MAX_EXPANDED_NODES:
            raise _LimitExceeded(event.start_mark, f"aliases expand to more than {MAX_EXPANDED_NODES} nodes")
        self.expanded_sizes[id(node)] = size
        return node


def _read_text(path: Path) -> str:
    """The file as text, or a one-line error for what cannot be a site YAML."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):  # a FIFO or device would block or never end
            raise SiteConfigError([f"{path}:1: (file): not a regular file"])
        size = info.st_size
        if size > MAX_FILE_BYTES:
            limit = f"a site YAML may be at most {MAX_FILE_BYTES} bytes"
            raise SiteConfigError([f"{path}:1: (file): {size} bytes; {limit}"])
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise SiteConfigError([f"{path}:1: (file): cannot read: {exc.strerror or exc}"]) from None
    if len(data) > MAX_FILE_BYTES:  # grew while we looked, or not a regular file
        raise SiteConfigError([f"{path}:1: (file): more than {MAX_FILE_BYTES} bytes; not a site YAML"])
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise SiteConfigError([f"{path}:{line}: (file): binary content (NUL byte); a site YAML is UTF-8 text"])
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SiteConfigError([f"{path}:{line}: (file): not UTF-8 text (byte 0x{data[exc.start]:02x})"]) from None


def load_document(path: Path, env: Mapping[str, str] | None = None) -> Document:
    env = os.environ if env is None else env
    text = _read_text(path)
    doc = Document(file=str(path), data=None)
    loader = _BoundedLoader(text)
    try:
        root = loader.get_single_node()
    except _LimitExceeded as exc:
        raise SiteConfigError([f"{path}:{exc.line}: (file): {exc}"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SiteConfigError([f"{path}:{line}: (syntax): {reason}"]) from None
    finally:
        loader.dispose()
    if root is None:
        raise SiteConfigError([f"{path}:1: (top): file is empty"])
    doc.data = _construct(root, (), doc, env)
    return doc


def load_plain_yaml(path: Path) -> Any:
    """Plain data from a small YAML file trawl reads besides site files (secrets), with
    the same bounds; SiteConfigError (one line, FILE:LINE) when it is not acceptable."""
    loader = _BoundedLoader(_read_text(path))
    try:
        return loader.get_single_data()
    except _LimitExceeded as exc:
        raise SiteConfigError([f"{path}:{exc.line}: (file): {exc}"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise SiteConfigError([f"{path}:{mark.line + 1 if mark else 1}: not valid YAML"]) from None
    finally:
        loader.dispose()


def _scalar(node: yaml.Node) -> Any:
    # Resolve tags the way SafeLoader would (ints, floats, bools, null) for plain scalars.
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def _construct(node: yaml.Node, path: Path_, doc: Document, env: Mapping[str, str]) -> Any:
    doc.lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                doc.lines[path + ("?",)] = key_node.start_mark.line + 1
                doc.problem(path + ("?",), f"keys must be strings, got {key!r}")
                continue
            if key in out:
                doc.lines[path + (key,)] = key_node.start_mark.line + 1
                doc.problem(path + (key,), "duplicate key")
                continue
            out[key] = _construct(value_node, path + (key,), doc, env)
            doc.lines[path + (key,)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, path + (i,), doc, env) for i, item in enumerate(node.value)]
    value = _scalar(node)
    if isinstance(value, str) and "${" in value:
        value, missing = expand_vars(value, env)
        for name in missing:
            doc.problem(path, f"environment variable {name} is not set (use ${{{name}:-default}} for a default)")
    return value


class Checker:
    """Typed readers for YAML values: each converts or records a problem at the value's line."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc

    def mapping(self, value: Any, path: Path_, known: Mapping[str, bool]) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.doc.problem(path, f"expected a mapping, got {type(value).__name__}")
            return {}
        for key in value:
            if key not in known:
                close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.75)
                hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(sorted(known))})"
                self.doc.problem(path + (key,), f"unknown key{hint}")
        for key, required in known.items():
            if required and key not in value:
                self.doc.problem(path, f"missing required key {key!r}")
        return value

    def string(self, value: Any, path: Path_, choices: tuple[str, ...] = (), default: str = "") -> str:
        if value is None:
            return default
        if not isinstance(value, str) or not value.strip():
            self.doc.problem(path, f"expected a non-empty string, got {value!r}")
            return default
        if choices and value not in choices:
            self.doc.problem(path, f"must be one of {', '.join(choices)}; got {value!r}")
            return default
        return value

    def number(self, value: Any, path: Path_, default: float, *, integer: bool = False, minimum: float = 0) -> Any:
        if value is None:
            return default
        ok = isinstance(value, int) if integer else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok or value < minimum:
            kind = "an integer" if integer else "a number"
            self.doc.problem(path, f"expected {kind} >= {minimum:g}, got {value!r}")
            return default
        return value

    def boolean(self, value: Any, path: Path_, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.doc.problem(path, f"expected true or false, got {value!r}")
            return default
        return value

    def strings(self, value: Any, path: Path_) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.doc.problem(path, f"expected a list of strings, got {type(value).__name__}")
            return ()
        out = []
        for i, item in enumerate(value):
            if isinstance(item, str) and item.strip():
                out.append(item)
            else:
                self.doc.problem(path + (i,), f"expected a non-empty string, got {item!r}")
        return tuple(out)

    def regex(self, value: Any, path: Path_) -> UserRegex | None:
        text = self.string(value, path)
        if not text:
            return None
        try:
            return compile_user_regex(text)
        except UserRegexError as exc:
            self.doc.problem(path, f"bad regular expression {text!r}: {exc}")
            return None

    def regexes(self, value: Any, path: Path_) -> tuple[UserRegex, ...]:
        out = []
        for i, text in enumerate(self.strings(value, path)):
            pattern = self.regex(text, path + (i,))
            if pattern:
                out.append(pattern)
        return tuple(out)

    def selector(self, value: Any, path: Path_, *, many: bool = False) -> FieldSelector | None:
        if value is None:
            return None
        try:
            return compile_selector(value, many=many, where=f"{self.doc.file}:{self.doc.line(path)}")
        except SelectorSyntaxError as exc:
            self.doc.problem(path, str(exc))
            return None

    def markers(self, value: Any, path: Path_) -> tuple[Marker, ...]:
        out = []
        for i, text in enumerate(self.strings(value, path)):
            try:
                out.append(compile_marker(text))
            except SelectorSyntaxError as exc:
                self.doc.problem(path + (i,), str(exc))
        return tuple(out)

    def env_name(self, value: Any, path: Path_, default: str) -> str:
        name = self.string(value, path, default=default)
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            self.doc.problem(path, f"not an environment variable name: {name!r}")
        return name

    def url(self, value: Any, path: Path_) -> str:
        text = self.string(value, path)
        if text and not re.match(r"^https?://[^/\s]+", text):
            self.doc.problem(path, f"expected an absolute http(s):// URL, got {text!r}")
        return text.rstrip("/")
