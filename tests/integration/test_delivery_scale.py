"""Scale-out, short version (issue 21 item 5): on PostgreSQL, worker processes share the
outbox through SELECT ... FOR UPDATE SKIP LOCKED and deliver a few hundred messages to a
receiver that fails 20% of first attempts. The receiver processes every idempotency key exactly
once, and a worker killed with SIGKILL in the middle of a batch loses nothing: its claims are
taken over when their lease runs out. Waits are on conditions (rows claimed, all delivered),
never on a fixed time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from api.deps import Services
from core.models import AgencyKind
from delivery import outbox
from delivery.models import Channel, DeliveryEndpoint
from tests.conftest import TEST_KEY
from tests.delivery_support import SECRET, receiver
from tests.support import BACKEND, HOMEWARD, AccountFactory, wait_for

MESSAGES = 300


def _fails_first(key: str) -> bool:
    return int(key[:8], 16) % 5 == 0  # a fifth of the keys, fixed by the key itself


def _worker(name: str, database_url: str, workdir: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HOMEWARD_DATABASE_URL": database_url, "HOMEWARD_SECRET_KEY": TEST_KEY,
           "HOMEWARD_DELIVERY_BATCH": "10", "HOMEWARD_DELIVERY_LEASE_S": "5",
           "HOMEWARD_DELIVERY_BACKOFF_BASE_S": "0.2", "HOMEWARD_DELIVERY_BACKOFF_CAP_S": "1",
           "HOMEWARD_DELIVERY_IDLE_S": "0.05"}
    with (workdir / f"worker-{name}.log").open("w") as log:
        return subprocess.Popen([str(HOMEWARD), "worker", "--name", name], env=env,
                                stdout=log, stderr=subprocess.STDOUT, cwd=workdir,
                                start_new_session=True)


@pytest.mark.servers
@pytest.mark.skipif(BACKEND != "postgresql", reason="SKIP LOCKED needs PostgreSQL")
def test_two_workers_deliver_exactly_once_and_a_killed_one_loses_nothing(
        services: Services, make: AccountFactory, settings: object, tmp_path: Path) -> None:
    agency = make.agency("Scale Hotline", AgencyKind.HOTLINE)
    database_url = services.settings.database_url
    slow = threading.Event()
    slow.set()

    def fail_first(key: str) -> bool:
        if slow.is_set():
            time.sleep(0.01)  # keeps batches in flight long enough to kill one mid-batch
        return _fails_first(key)

    with receiver(fail_first=fail_first) as (url, got), services.db.write_session() as session:
        endpoint = DeliveryEndpoint(
            agency_id=agency, channel=Channel.WEBHOOK,
            address_sealed=services.cipher.seal(f"{url}/hook", field=outbox.ADDRESS_FIELD),
            secret_sealed=services.cipher.seal(SECRET, field=outbox.SECRET_FIELD))
        session.add(endpoint)
        session.flush()
        for n in range(MESSAGES):
            outbox.enqueue(session, cipher=services.cipher, kind="scale.test",
                           to=outbox.Recipient(agency_id=agency),
                           body={"subject": "s", "text": f"message {n}", "data": {"n": n}},
                           agency_id=agency, source_type="scale", source_id=n)
        session.commit()

        doomed = _worker("doomed", database_url, tmp_path)
        steady = _worker("steady", database_url, tmp_path)
        try:
            def claimed_by_doomed() -> bool:
                with services.db.engine.connect() as conn:
                    return bool(conn.execute(text(
                        "SELECT count(*) FROM outbox_message WHERE state = 'sending' "
                        "AND claimed_by = 'doomed'")).scalar())

            wait_for(claimed_by_doomed, what="the doomed worker to hold a batch",
                     alive=lambda: doomed.poll() is None,
                     log=tmp_path / "worker-doomed.log")
            os.killpg(doomed.pid, signal.SIGKILL)
            doomed.wait()
            slow.clear()

            def all_delivered() -> bool:
                with services.db.engine.connect() as conn:
                    return conn.execute(text(
                        "SELECT count(*) FROM outbox_message WHERE state = 'delivered'"
                    )).scalar() == MESSAGES

            wait_for(all_delivered, what="every message delivered",
                     alive=lambda: steady.poll() is None, log=tmp_path / "worker-steady.log")
        finally:
            for process in (doomed, steady):
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGTERM)
                    process.wait()

    with services.db.engine.connect() as conn:
        states = dict(conn.execute(text(
            "SELECT state, count(*) FROM outbox_message GROUP BY state")).all())
        keys = set(conn.execute(text("SELECT idempotency_key FROM outbox_message")).scalars())
        by = dict(conn.execute(text(
            "SELECT claimed_by, count(*) FROM outbox_message GROUP BY claimed_by")).all())
    assert states == {"delivered": MESSAGES}
    assert set(got.processed) == keys and set(got.processed.values()) == {1}
    retried = {k for k in keys if _fails_first(k)}
    assert retried and all(got.attempts[k] >= 2 for k in retried)
    assert got.refused == []
    assert by.get("steady", 0) > 0  # the survivor finished the work, including the doomed's
