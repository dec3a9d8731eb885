"""The unmet-need dedupe key: one need per asker, UTC day, area, population, bed type, reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from logistics.beds import unmet

texts = st.one_of(st.none(), st.text(max_size=12))
moments = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1),
                       timezones=st.just(UTC))


@given(subject=st.text(max_size=20), at=moments, state=texts, population=texts,
       bed_type=texts, reason=st.text(min_size=1, max_size=12),
       later=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=1)))
def test_same_need_same_day_same_key(subject: str, at: datetime, state: str | None,
                                     population: str | None, bed_type: str | None,
                                     reason: str, later: timedelta) -> None:
    def key(when: datetime, **change: str | None) -> str:
        fields = {"state": state, "population": population, "bed_type": bed_type} | change
        return unmet.dedupe_key(subject=subject, at=when, reason=reason, **fields)

    same_day = at + later < datetime.combine(at.date() + timedelta(days=1),
                                             datetime.min.time(), UTC)
    assert (key(at) == key(at + later)) == same_day
    assert key(at) != key(at, state=(state or "") + "X")
    assert len(key(at)) == 64


def test_fields_do_not_run_into_each_other() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    a = unmet.dedupe_key(subject="account:1", at=at, state="T", population="X",
                         bed_type=None, reason="r")
    b = unmet.dedupe_key(subject="account:1", at=at, state="TX", population=None,
                         bed_type=None, reason="r")
    assert a != b
