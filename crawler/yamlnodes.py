"""YAML → plain Python values, remembering the line every value came from.

PyYAML's composed node tree carries marks; we construct the data ourselves from it so
that validation can say "sites/foo.yaml:12: listing.fields.price: ..." instead of only
"price is wrong".  `${VAR}` / `${VAR:-default}` in scalar strings are expanded here, so
an unset variable is reported at its own line.
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from index.errors import TrawlError

Path_ = tuple[str | int, ...]
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-(.*?))?\}")


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


def load_document(path: Path, env: Mapping[str, str] | None = None) -> Document:
    env = os.environ if env is None else env
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SiteConfigError([f"{path}:1: (file): cannot read: {exc.strerror or exc}"]) from None
    doc = Document(file=str(path), data=None)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SiteConfigError([f"{path}:{line}: (syntax): {reason}"]) from None
    if root is None:
        raise SiteConfigError([f"{path}:1: (top): file is empty"])
    doc.data = _construct(root, (), doc, env)
    return doc


def _scalar(node: yaml.ScalarNode) -> Any:
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
