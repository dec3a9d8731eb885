"""An audited read never fails because a writer committed while it read (issue 17).

Under the fuzzer with two workers, `GET /v1/cases` answered 503 "database busy": on SQLite a
read transaction that then writes its audit row must upgrade to a writer, and SQLite refuses
that at once (SQLITE_BUSY_SNAPSHOT, no waiting) when anyone has committed since the read's
snapshot began. This test makes exactly that happen: a writer commits between the read's
first statement and its audit row. The read must answer, and its audit row must exist.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import col, select

from api.deps import Services
from core import audit
from core.models import AuditEntry, Role
from core.principal import Principal
from logistics.cases import service as case_service
from tests.api.test_cases import case_body
from tests.support import AccountFactory


def test_a_case_read_is_audited_though_a_writer_committed_meanwhile(
        client: TestClient, services: Services, make: AccountFactory) -> None:
    advocate = make.account(Role.ADVOCATE)
    made = client.post("/v1/cases", json=case_body(), headers=advocate.headers)
    assert made.status_code == 201, made.text
    case_id = made.json()["id"]
    actor = Principal(account_id=advocate.id, name=advocate.name, role=Role.ADVOCATE,
                      agency_id=advocate.agency_id, request_id="audited-read")
    with services.db.read_session() as reading:
        # The read's snapshot begins here...
        reading.exec(select(AuditEntry).limit(1)).all()
        # ...then another writer commits (another worker, say)...
        with services.db.write_session() as other:
            audit.record(other, actor, action="test.meanwhile", object_type="test",
                         object_id=1, purpose="testing")
            other.commit()
        # ...and the read goes on to read the case and write its audit row.
        shown = case_service.get_case(reading, actor=actor, cipher=services.cipher,
                                      case_id=case_id)
        listed = case_service.list_cases(reading, actor=actor, cipher=services.cipher,
                                         status=None, limit=10, offset=0)
    assert shown.id == case_id and [c.id for c in listed] == [case_id]
    with services.db.read_session() as check:
        actions = check.exec(select(AuditEntry.action).where(
            col(AuditEntry.request_id) == "audited-read")).all()
    assert "case.read" in actions and "case.list_read" in actions
