"""The field gold sets (shipping, quantity/price) are well formed and still point at their text.

These tests check the labels, not a parser: every label parses, every referenced cell or
XPath still yields a text whose fingerprint matches, the sets keep the size and spread the
issue asks for, and the loader rejects malformed labels with a message naming the field.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from tests.gold_fields import (
    GoldFieldError,
    QuantityPriceLabel,
    ShippingLabel,
    expand_places,
    label_texts,
    load_quantity_price_labels,
    load_shipping_labels,
    parse_quantity_price_label,
    parse_shipping_label,
    text_sha,
)


def test_shipping_set_size_and_spread() -> None:
    labels = load_shipping_labels()
    assert len(labels) >= 400
    by_dataset = Counter(label.dataset for label in labels)
    assert len(by_dataset) >= 4, by_dataset
    assert {label.sample for label in labels} == {"random", "targeted"}
    options = [label for label in labels if label.option is not None]
    assert len(options) >= 20
    # the hard classes of issue 14 item 9 are present
    assert any(label.origin == "XX" and label.origin_region for label in labels)
    assert any(label.domestic_only for label in labels)
    assert any("NO" in (label.destinations or ()) for label in labels)
    assert any(label.excluded for label in labels)
    assert any(opt.tracked is False for opt in (label.option for label in options) if opt)


def test_quantity_price_set_size_and_spread() -> None:
    labels = load_quantity_price_labels()
    assert len(labels) >= 400
    by_dataset = Counter(label.dataset for label in labels)
    assert len(by_dataset) >= 4, by_dataset
    assert {label.sample for label in labels} == {"random", "targeted"}
    currencies = {label.price["currency"] for label in labels if label.price}
    assert {"USD", "EUR", "GBP", "BTC"} <= currencies
    assert any(label.dose and label.dose["unit"] == "mg/ml" and label.grams is None for label in labels)
    assert any(label.per_unit for label in labels)
    assert any(label.quantity and label.quantity["unit"] == "oz" for label in labels)


def test_every_label_points_at_its_text(real_data_dir: Path) -> None:
    mismatched = []
    labels: list[ShippingLabel | QuantityPriceLabel] = [*load_shipping_labels(), *load_quantity_price_labels()]
    for label in labels:
        texts = label_texts(real_data_dir, label)
        shas = {role: text_sha(text) for role, text in texts.items()}
        if shas != label.text_sha:
            mismatched.append((label.dataset, label.file, label.row, label.refs))
    assert not mismatched, f"{len(mismatched)} labels no longer match their source text: {mismatched[:5]}"


def test_regions_expand_as_parsers_regions_defines_them() -> None:
    assert expand_places(["EU"]) >= {"DE", "FR", "SE"} and "GB" not in expand_places(["EU"])
    assert "GB" in expand_places(["EUROPE", "US"]) and "US" in expand_places(["EUROPE", "US"])
    assert expand_places(["WW"]) == frozenset()


_SHIP_OK = {"dataset": "torrez-2021", "file": "Product_dataset_new.csv.gz", "row": 0,
            "refs": {"from": "shipping_from", "to": "shipping_to"},
            "text_sha": {"from": "0" * 12, "to": "1" * 12}, "sample": "random",
            "origin": "NL", "destinations": ["WW"], "excluded": ["AU"], "domestic_only": False}


@pytest.mark.parametrize(("change", "field"), [
    ({"origin": "Netherlands"}, "origin"),
    ({"destinations": ["NA"] + ["Worldwide"]}, "destinations"),
    ({"excluded": ["WW"]}, "excluded"),
    ({"sample": "picked"}, "sample"),
    ({"row": -1}, "row"),
    ({"text_sha": {"from": "0" * 12}}, "text_sha"),
    ({"file": "other.csv"}, "file"),
    ({"colour": "red"}, "colour"),
])
def test_malformed_shipping_label_names_the_field(change: dict[str, object], field: str) -> None:
    parse_shipping_label(dict(_SHIP_OK), "x.jsonl:1")  # the base record is valid
    with pytest.raises(GoldFieldError, match=rf"x\.jsonl:1: .*{field}"):
        parse_shipping_label({**_SHIP_OK, **change}, "x.jsonl:1")


_QP_OK = {"dataset": "darkmatter-2024", "file": "Darkmarket.csv.gz", "row": 3,
          "refs": {"title": "Name", "price": "Price"}, "text_sha": {"title": "a" * 12, "price": "b" * 12},
          "sample": "targeted", "quantity": {"value": 1.0, "unit": "oz", "count": None}, "dose": None,
          "grams": 28.35, "price": {"amount": 100.0, "currency": "USD"}, "per_unit": None}


@pytest.mark.parametrize(("change", "field"), [
    ({"grams": 28.0 * 2}, "grams"),
    ({"quantity": {"value": 5.0, "unit": "pills", "count": 5}}, "quantity.unit"),
    ({"quantity": {"value": 5.0, "unit": "unit", "count": 4}, "grams": None}, "count"),
    ({"price": {"amount": 10, "currency": "EU"}}, "price.currency"),
    ({"dose": {"value": 250, "unit": "mg/l"}}, "dose"),
    ({"quantity": None}, "grams"),
])
def test_malformed_quantity_label_names_the_field(change: dict[str, object], field: str) -> None:
    parse_quantity_price_label(dict(_QP_OK), "y.jsonl:2")
    with pytest.raises(GoldFieldError, match=rf"y\.jsonl:2: .*{field}"):
        parse_quantity_price_label({**_QP_OK, **change}, "y.jsonl:2")


def test_duplicate_label_is_refused(tmp_path: Path) -> None:
    line = json.dumps(_SHIP_OK)
    (tmp_path / "shipping_x.jsonl").write_text(f"{line}\n{line}\n", encoding="utf-8")
    with pytest.raises(GoldFieldError, match=r"shipping_x\.jsonl:2: .*already labelled"):
        load_shipping_labels(tmp_path)
