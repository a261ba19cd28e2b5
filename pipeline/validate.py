"""Validate: a listing needs a stable id and a title (plus what the YAML marks required)."""
from __future__ import annotations

from typing import Any

from pipeline import Stage

DEFAULT_REQUIRED = {"listing": ("native_id", "title"), "vendor": ("name",)}


class ValidateStage(Stage):
    def process_item(self, item: dict[str, Any], spider: Any = None) -> dict[str, Any]:
        fields = item["fields"]
        required = dict.fromkeys([*DEFAULT_REQUIRED.get(item["type"], ()), *item.get("required", ())])
        for name in required:
            value = fields.get(name)
            if value is None or (isinstance(value, (str, list)) and not value):
                self.drop(item, f"missing_{name}", f"{item['type']} page has no {name}")
        if item["type"] == "listing" and len(str(fields["native_id"])) > 200:
            self.drop(item, "bad_native_id", "listing id longer than 200 characters")
        return item
