"""Regular expressions written in site YAML, compiled with a linear-time engine (RE2).

A site definition is untrusted input and so is every page a crawl reads: with Python's
backtracking `re`, a pattern such as `^(a+)+$` run on a long line of "a"s takes minutes
and blocks the reactor (and SIGTERM) meanwhile.  RE2 matches in time linear in the
input whatever the pattern, at the price of refusing backreferences and lookarounds.
Every regex that comes from YAML (field `re:`, `url_pattern`, `id_from_url`,
`allow`/`deny`, `url:` markers) goes through `compile_user_regex`.
"""
from __future__ import annotations

import re
from typing import Any, Protocol

import re2

MAX_PATTERN_CHARS = 2000  # a hand-written site pattern is a few dozen characters
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would otherwise print its own line to stderr


class UserRegexError(ValueError):
    """A pattern RE2 cannot compile; the message says why and what to write instead."""


class UserMatch(Protocol):
    def group(self, *index: int | str) -> Any: ...

    def groups(self) -> tuple[Any, ...]: ...


class UserRegex(Protocol):
    """The part of `re.Pattern` trawl uses; both `re` and RE2 patterns fit it."""

    @property
    def pattern(self) -> str: ...

    @property
    def groups(self) -> int: ...

    def search(self, text: str) -> UserMatch | None: ...


# Python-only spellings: what RE2 calls them, or why it has none
_HINTS = (
    (re.compile(r"\\[1-9]|\(\?P=\w+\)"), "backreferences are not supported (RE2 matches in linear time)"),
    (re.compile(r"\(\?<?[=!]"), "lookahead/lookbehind is not supported (RE2 matches in linear time)"),
    (re.compile(r"\\Z"), r"write \z instead of \Z"),
    (re.compile(r"[*+?}][+]"), "possessive quantifiers are not supported"),
    (re.compile(r"\(\?>"), "atomic groups are not supported"),
)


def compile_user_regex(pattern: str) -> UserRegex:
    """Compile a YAML regex with RE2; raises UserRegexError with a one-line reason."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise UserRegexError(f"pattern is {len(pattern)} characters long (at most {MAX_PATTERN_CHARS})")
    try:
        compiled: UserRegex = re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        reason = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        hint = next((text for probe, text in _HINTS if probe.search(pattern)), "")
        raise UserRegexError(f"{reason}" + (f" ({hint})" if hint else "")) from None
    return compiled
