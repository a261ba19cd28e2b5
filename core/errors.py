"""The one exception type the CLI turns into a one-line message (no traceback)."""
from __future__ import annotations


class TrawlError(Exception):
    """A user-facing error: bad input, bad config, unreachable service.

    The message must say what is wrong and where (file, line, field, URL)."""
