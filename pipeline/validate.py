"""Validate: a listing needs a stable id and a title, a vendor a name (plus what the YAML
marks required); a failing item is dropped with a named reason (`Drop.reason`), counted by
the processor as `item_dropped_reasons/<reason>`."""
from __future__ import annotations

from core.items import RawItem, RawListing

MAX_NATIVE_ID = 200


class Drop(Exception):
    """An item the pipeline will not store, and why (`reason` names the stat)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


def validate(raw: RawItem) -> None:
    """Raises `Drop` for the first required field the page lacks (or an unusable listing id)."""
    for name in raw.required_fields:
        value = raw.fields.get(name)
        if value is None or (isinstance(value, (str, list)) and not value):
            raise Drop(f"missing_{name}", f"{raw.kind} page has no {name} ({raw.url})")
    if isinstance(raw, RawListing) and len(str(raw.fields["native_id"])) > MAX_NATIVE_ID:
        raise Drop("bad_native_id", f"listing id longer than {MAX_NATIVE_ID} characters ({raw.url})")
