"""No plaintext at rest: canary addresses and safe-house points never reach the database file.

On SQLite the raw database file and its write-ahead log are read byte for byte; on PostgreSQL
the whole database is dumped with `pg_dump`. Neither may contain a canary.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from api.deps import Services
from core.principal import SYSTEM
from logistics.shelters import service
from logistics.shelters.models import ShelterCreate
from tests.support import BACKEND, AccountFactory

CANARY_ADDRESS = "7731 Canary-Qx Lane"
# A safe house's exact point: digits unlikely to appear by chance.
EXACT_LAT, EXACT_LON = 38.918273, -77.064519


def _raw_bytes(services: Services) -> bytes:
    if BACKEND == "sqlite":
        path = services.settings.sqlite_path()
        assert path is not None
        files = [path, Path(f"{path}-wal")]
        return b"".join(f.read_bytes() for f in files if f.exists())
    pg_dump = shutil.which("pg_dump") or "/usr/bin/pg_dump"
    url = make_url(services.settings.database_url).set(drivername="postgresql")
    dump = subprocess.run(
        [pg_dump, "--no-owner", url.render_as_string(hide_password=False)],
        capture_output=True, check=True)
    return dump.stdout


def test_no_canary_in_raw_storage(services: Services, make: AccountFactory) -> None:
    agency_id = make.agency("Canary Shelters")
    with services.db.write_session() as session:
        for confidential, lat, lon in ((True, EXACT_LAT, EXACT_LON), (False, 38.9, -77.0)):
            service.add_shelter(session, actor=SYSTEM, cipher=services.cipher, data=ShelterCreate(
                name=f"Canary {confidential}", agency_id=agency_id, lat=lat, lon=lon,
                street_address=CANARY_ADDRESS, city="Washington", state="DC",
                confidential_location=confidential))
        session.commit()
    raw = _raw_bytes(services)
    assert b"Canary True" in raw  # the scan does see plaintext columns
    assert CANARY_ADDRESS.encode() not in raw
    assert b"Canary-Qx" not in raw
    for value in (EXACT_LAT, EXACT_LON):  # the safe house's exact point, as text or a double
        assert str(value).encode() not in raw
        assert struct.pack(">d", value) not in raw and struct.pack("<d", value) not in raw


@pytest.mark.skipif(BACKEND != "postgresql", reason="pg_dump applies to PostgreSQL")
def test_pg_dump_is_readable(services: Services) -> None:
    assert b"CREATE TABLE public.shelter" in _raw_bytes(services)
