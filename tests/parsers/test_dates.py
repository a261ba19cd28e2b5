"""Dates against a fixed crawl time: (text, expected ISO UTC, precision, relative)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from parsers import parse_date
from tests.parsers.tables import grouped

NOW = "2019-11-06T21:16:37Z"  # Empire's server time on one of the real pages

DATES = [
    "@vortex",  # testbed: relative listing dates
    ("today", "2019-11-06T00:00:00+00:00", "day", True),
    ("yesterday", "2019-11-05T00:00:00+00:00", "day", True),
    ("3 days ago", "2019-11-03T00:00:00+00:00", "day", True),
    ("13 days ago", "2019-10-24T00:00:00+00:00", "day", True),
    ("2 weeks ago", "2019-10-23T00:00:00+00:00", "day", True),
    ("5 weeks ago", "2019-10-02T00:00:00+00:00", "day", True),
    ("2 months ago", "2019-09-01T00:00:00+00:00", "month", True),
    ("1 month ago", "2019-10-01T00:00:00+00:00", "month", True),
    "@nightshade",  # testbed: absolute ISO dates and vendor join dates
    ("2019-03-04", "2019-03-04T00:00:00+00:00", "day", False),
    ("Listed: 2019-10-28", "2019-10-28T00:00:00+00:00", "day", False),
    ("2019-03-04 10:11:12", "2019-03-04T10:11:12+00:00", "second", False),
    ("2019-03-04T10:11:12Z", "2019-03-04T10:11:12+00:00", "second", False),
    ("2019-03-04T10:11:12+02:00", "2019-03-04T08:11:12+00:00", "second", False),
    ("Joined Mar 2019", "2019-03-01T00:00:00+00:00", "month", False),
    ("Member since: January 2018", "2018-01-01T00:00:00+00:00", "month", False),
    ("Member since 2017", "2017-01-01T00:00:00+00:00", "year", False),
    "@pillhub-rcshop",  # testbed, European
    ("04.03.2019", "2019-03-04T00:00:00+00:00", "day", False),
    ("13/09/2017", "2017-09-13T00:00:00+00:00", "day", False),
    ("4. März 2019", "2019-03-04T00:00:00+00:00", "day", False),
    ("1er décembre 2020", "2020-12-01T00:00:00+00:00", "day", False),
    ("vor 3 Tagen", "2019-11-03T00:00:00+00:00", "day", True),
    ("gestern", "2019-11-05T00:00:00+00:00", "day", True),
    "@dream",  # real: news dates are day/month/year
    ("06/02/2018", "2018-02-06T00:00:00+00:00", "day", False),
    ("27/10/2016", "2016-10-27T00:00:00+00:00", "day", False),
    ("14/01/2016", "2016-01-14T00:00:00+00:00", "day", False),
    "@empire",  # real, 2019
    ("1067 sold since March 22, 2019", "2019-03-22T00:00:00+00:00", "day", False),
    ("32 sold since April 20, 2019", "2019-04-20T00:00:00+00:00", "day", False),
    ("Server time: Wednesday, Nov 6, 2019 21:16:37", "2019-11-06T21:16:37+00:00", "second", False),
    ("Server time: Thursday, Jan 23, 2020 00:08:34", "2020-01-23T00:08:34+00:00", "second", False),
    ("JUNE 1 2018 UPDATED!", "2018-06-01T00:00:00+00:00", "day", False),
    "@published",
    ("just now", "2019-11-06T21:16:37+00:00", "second", True),
    ("an hour ago", "2019-11-06T20:00:00+00:00", "hour", True),
    ("5 minutes ago", "2019-11-06T21:11:00+00:00", "minute", True),
    ("3d ago", "2019-11-03T00:00:00+00:00", "day", True),
    ("Last seen: 2h ago", "2019-11-06T19:00:00+00:00", "hour", True),
    ("a year ago", "2018-11-01T00:00:00+00:00", "month", True),
    ("3 years ago", "2016-01-01T00:00:00+00:00", "year", True),
    ("12 Aug 2021", "2021-08-12T00:00:00+00:00", "day", False),
    ("Aug 12th, 2021", "2021-08-12T00:00:00+00:00", "day", False),
    ("12th of August 2021", "2021-08-12T00:00:00+00:00", "day", False),
    ("Nov 6, 2019 9:16 pm", "2019-11-06T21:16:00+00:00", "minute", False),
    ("Sep 2019", "2019-09-01T00:00:00+00:00", "month", False),
    ("hace 2 días", "2019-11-04T00:00:00+00:00", "day", True),
    ("3 days, 4 hours ago", "2019-11-03T17:00:00+00:00", "hour", True),
    ("1 year 2 months ago", "2018-09-01T00:00:00+00:00", "month", True),
    ("2 weeks and 3 days ago", "2019-10-20T00:00:00+00:00", "day", True),
    ("Added 1 hour 5 minutes ago", "2019-11-06T20:11:00+00:00", "minute", True),
    ("a few minutes ago", "2019-11-06T21:13:00+00:00", "minute", True),
]


@pytest.mark.parametrize(("text", "iso", "precision", "relative"), grouped(DATES))
def test_date(text: str, iso: str, precision: str, relative: bool) -> None:
    d = parse_date(text, now=NOW)
    assert d.ok, d.error
    assert d.iso == iso
    assert d.precision == precision
    assert d.relative is relative
    assert d.value is not None and d.value.tzinfo is not None


@pytest.mark.parametrize(("text", "locale", "iso"), [
    pytest.param("04/03/2019", None, "2019-03-04T00:00:00+00:00", id="dm-order: no hint -> day/month"),
    pytest.param("04/03/2019", "de", "2019-03-04T00:00:00+00:00", id="dm-order: de -> day/month"),
    pytest.param("04/03/2019", "en_US", "2019-04-03T00:00:00+00:00", id="dm-order: en_US -> month/day"),
    pytest.param("04/03/19", "en_GB", "2019-03-04T00:00:00+00:00", id="dm-order: en_GB two-digit year"),
])
def test_ambiguous_day_month_uses_locale_and_says_so(text: str, locale: str | None, iso: str) -> None:
    d = parse_date(text, now=NOW, site_locale=locale)
    assert d.iso == iso
    assert d.notes and "ambiguous" in d.notes[0] and (locale or "no locale hint") in d.notes[0]


def test_unambiguous_numeric_dates_need_no_locale() -> None:
    assert parse_date("25/12/2019", now=NOW, site_locale="en_US").iso == "2019-12-25T00:00:00+00:00"
    assert parse_date("12/25/2019", now=NOW).iso == "2019-12-25T00:00:00+00:00"


def test_now_may_be_a_datetime_naive_means_utc() -> None:
    d = parse_date("yesterday", now=datetime(2020, 1, 1, 5, 0))
    assert d.value == datetime(2019, 12, 31, tzinfo=timezone.utc)


@pytest.mark.parametrize("text", ["", "hello", "31/02/2019", "2019-13-45", "99 bottles", "never", "x" * 500, "🙂"])
def test_garbage_dates_are_unparsed(text: str) -> None:
    d = parse_date(text, now=NOW)
    assert not d.ok and d.value is None and d.error


def test_bad_now_is_an_error_result_not_an_exception() -> None:
    d = parse_date("3 days ago", now="not a time")
    assert not d.ok and "now" in (d.error or "")
