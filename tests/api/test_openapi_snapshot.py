"""The OpenAPI document is the public contract: moving code between modules must not change it.

`tests/api/snapshots/openapi.json` is the document as served. A change to the API that is meant
(a new route, a new field) refreshes the copy with `HOMEWARD_UPDATE_OPENAPI=1 pytest
tests/api/test_openapi_snapshot.py` and shows up in review as a diff of that file; a change that
is not meant (a renamed model, a schema that moved) fails here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from fastapi.testclient import TestClient

SNAPSHOT = Path(__file__).parent / "snapshots" / "openapi.json"


def _canonical(document: object) -> str:
    return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def test_the_openapi_document_matches_the_stored_copy(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    served = _canonical(response.json())
    if os.environ.get("HOMEWARD_UPDATE_OPENAPI") == "1":
        SNAPSHOT.write_text(served)
    stored = SNAPSHOT.read_text()
    assert served == stored, (
        "the OpenAPI document changed; if meant, refresh the copy "
        "(HOMEWARD_UPDATE_OPENAPI=1) and review its diff")
