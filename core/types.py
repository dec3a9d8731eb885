"""Timestamps shared by every table and request: timezone-aware UTC on SQLite and PostgreSQL.

SQLite has no timezone type and hands back naive datetimes; PostgreSQL's timestamptz hands back
aware ones in the session zone. `UTCDateTime` stores UTC and always returns aware UTC values,
and refuses naive input rather than guessing its zone. `Instant` is the request side: a time a
caller sends must carry its offset and be a UTC instant the database can store, so that
"9999-12-31T23:59:59-14:00" (past year 9999 in UTC) is a 422 naming the field, not a 500.

`StrictInt`, `StrictFloat` and `StrictBool` are the scalars of JSON request bodies (issue 17).
FastAPI validates a body in pydantic's python mode on the parsed JSON, where lax types turn
`"5"` into 5, `true` into 1 and `"false"` into False: a caller that sends the wrong type has a
bug, and guessing what it meant could misplace a survivor. Strictness goes on these scalars, not
on whole models, because a strict model in python mode would also refuse ISO datetimes and enum
values sent as strings, which JSON has no other way to send. An integer refuses bools, strings
and every float (2.0 too: a count computed in floating point is a bug even when whole); a
number takes an integer but refuses bools, strings, NaN and infinity (JSON has neither; Python's
parser lets them in); a boolean takes only true and false. Strings need nothing: pydantic never
turns a number into a string. `tests/api/test_strict_bodies.py` walks every body model.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AllowInfNan, AwareDatetime, Strict
from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is timezone-aware UTC in Python on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: timestamps must be timezone-aware")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            # Stored naive so that text comparisons in SQL order correctly.
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# Times before the Unix epoch or this far ahead are typing errors, not plans.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def _storable(value: datetime) -> datetime:
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise ValueError("must be a time between 1970 and 9000 (UTC)")
    return value  # the caller's offset is kept: some answers speak in the caller's zone


Instant = Annotated[AwareDatetime, AfterValidator(_storable)]



StrictInt = Annotated[int, Strict()]
StrictFloat = Annotated[float, Strict(), AllowInfNan(False)]
StrictBool = Annotated[bool, Strict()]
