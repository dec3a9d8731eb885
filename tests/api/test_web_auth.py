"""Web sign-in: passwords, session cookies, CSRF, sign-out, idle timeout, the CLI command."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select
from typer.testing import CliRunner

from api.app import create_app
from api.config import Settings
from api.deps import Services
from core.clock import utcnow
from core.models import Role
from core.web_auth import AccountPassword, WebSession
from tests.api.web_support import PASSWORD, csrf_of, set_password, sign_in
from tests.support import AccountFactory


def _session_cookie_header(response_headers: list[tuple[str, str]]) -> str:
    found = [v for k, v in response_headers if k.lower() == "set-cookie" and
             v.startswith("hw_session=")]
    assert len(found) == 1
    return found[0]


def _post_sign_in(client: TestClient, name: str, password: str) -> object:
    client.get("/web/sign-in")
    return client.post("/web/sign-in", data={
        "name": name, "password": password, "csrf_token": client.cookies.get("hw_signin"),
        "next": "/web/cases"}, follow_redirects=False)


def test_sign_in_sets_a_strict_httponly_cookie_and_stores_only_hashes(
        client: TestClient, services: Services, make: AccountFactory) -> None:
    advocate = make.account(Role.ADVOCATE)
    set_password(services, advocate.name)
    response = _post_sign_in(client, advocate.name, PASSWORD)
    assert response.status_code == 303  # type: ignore[attr-defined]
    assert response.headers["location"] == "/web/cases"  # type: ignore[attr-defined]
    cookie = _session_cookie_header(response.headers.multi_items())  # type: ignore[attr-defined]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert "Secure" not in cookie  # plain http on loopback
    secret = client.cookies.get("hw_session")
    assert secret
    with services.db.read_session() as session:
        stored = session.exec(select(AccountPassword)).one()
        assert stored.password_hash.startswith("$argon2id$")
        assert PASSWORD not in stored.password_hash
        row = session.exec(select(WebSession)).one()
        assert secret not in (row.secret_hash, row.csrf_token)
    page = client.get("/web/cases")
    assert page.status_code == 200 and advocate.name in page.text


def test_cookie_is_secure_over_https(services: Services, make: AccountFactory) -> None:
    advocate = make.account(Role.ADVOCATE)
    set_password(services, advocate.name)
    with TestClient(create_app(services=services), base_url="https://testserver") as client:
        response = _post_sign_in(client, advocate.name, PASSWORD)
        cookie = _session_cookie_header(response.headers.multi_items())  # type: ignore[attr-defined]
        assert "Secure" in cookie


def test_wrong_password_and_unknown_name_read_the_same(
        client: TestClient, services: Services, make: AccountFactory) -> None:
    advocate = make.account(Role.ADVOCATE)
    set_password(services, advocate.name)
    wrong = _post_sign_in(client, advocate.name, "not the password")
    unknown = _post_sign_in(client, "nobody-here", PASSWORD)
    for response in (wrong, unknown):
        assert response.status_code == 401  # type: ignore[attr-defined]
        assert "Unknown name or wrong password." in response.text  # type: ignore[attr-defined]
    assert client.cookies.get("hw_session") is None


def test_sign_in_form_needs_its_own_token(client: TestClient, services: Services,
                                          make: AccountFactory) -> None:
    advocate = make.account(Role.ADVOCATE)
    set_password(services, advocate.name)
    response = client.post("/web/sign-in", data={"name": advocate.name, "password": PASSWORD,
                                                  "csrf_token": "forged"})
    assert response.status_code == 403
    assert client.cookies.get("hw_session") is None


def test_pages_without_a_session_go_to_sign_in(client: TestClient) -> None:
    response = client.get("/web/board", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/web/sign-in?next=/web/board"
    htmx = client.post("/web/board/1/beds/adult_female/admit", headers={"HX-Request": "true"})
    assert htmx.headers["HX-Redirect"] == "/web/sign-in"


def test_every_post_checks_the_csrf_token(client: TestClient, services: Services,
                                          make: AccountFactory) -> None:
    advocate = make.account(Role.ADVOCATE)
    token = sign_in(client, services, advocate.name, next_page="/web/cases")
    body = {"case_ref": "C-1", "members": "30F", "city": "Washington", "state": "DC"}
    assert client.post("/web/cases", data=body).status_code == 403
    assert client.post("/web/cases", data={**body, "csrf_token": "x" * 43}).status_code == 403
    assert client.post("/web/sign-out", data={}).status_code == 403
    by_header = client.post("/web/cases", data=body, headers={"X-CSRF-Token": token},
                            follow_redirects=False)
    assert by_header.status_code == 303
    by_field = client.post("/web/cases", data={**body, "case_ref": "C-2", "csrf_token": token},
                           follow_redirects=False)
    assert by_field.status_code == 303


def test_sign_out_ends_the_session_everywhere(client: TestClient, services: Services,
                                              make: AccountFactory) -> None:
    advocate = make.account(Role.ADVOCATE)
    token = sign_in(client, services, advocate.name, next_page="/web/cases")
    secret = client.cookies.get("hw_session")
    out = client.post("/web/sign-out", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/web/sign-in"
    client.cookies.set("hw_session", secret or "")
    assert client.get("/web/cases", follow_redirects=False).status_code == 303
    with services.db.read_session() as session:
        assert session.exec(select(WebSession)).all() == []


def test_quick_exit_ends_the_session(client: TestClient, services: Services,
                                     make: AccountFactory) -> None:
    advocate = make.account(Role.ADVOCATE)
    token = sign_in(client, services, advocate.name, next_page="/web/cases")
    assert client.post("/web/quick-exit", data={"csrf_token": token}).status_code == 204
    assert client.get("/web/cases", follow_redirects=False).status_code == 303


def test_idle_sessions_end(client: TestClient, services: Services, make: AccountFactory) -> None:
    advocate = make.account(Role.ADVOCATE)
    sign_in(client, services, advocate.name, next_page="/web/cases")
    idle = timedelta(minutes=services.settings.web_idle_minutes)
    with services.db.write_session() as session:
        row = session.exec(select(WebSession)).one()
        row.last_seen_at = utcnow() - idle + timedelta(minutes=2)
        session.add(row)
        session.commit()
    assert client.get("/web/cases").status_code == 200  # still inside the window: touched
    with services.db.write_session() as session:
        row = session.exec(select(WebSession)).one()
        assert row.last_seen_at > utcnow() - timedelta(minutes=1)
        row.last_seen_at = utcnow() - idle - timedelta(seconds=1)
        session.add(row)
        session.commit()
    response = client.get("/web/cases", follow_redirects=False)
    assert response.status_code == 303 and "/web/sign-in" in response.headers["location"]


def test_setting_a_password_ends_open_sessions(client: TestClient, services: Services,
                                               make: AccountFactory) -> None:
    advocate = make.account(Role.ADVOCATE)
    sign_in(client, services, advocate.name, next_page="/web/cases")
    set_password(services, advocate.name, "a brand new password")
    assert client.get("/web/cases", follow_redirects=False).status_code == 303


def test_disabled_accounts_cannot_sign_in(client: TestClient, services: Services,
                                          make: AccountFactory) -> None:
    from core.models import Account

    advocate = make.account(Role.ADVOCATE)
    set_password(services, advocate.name)
    with services.db.write_session() as session:
        account = session.get(Account, advocate.id)
        assert account is not None
        account.disabled = True
        session.add(account)
        session.commit()
    assert _post_sign_in(client, advocate.name, PASSWORD).status_code == 401  # type: ignore[attr-defined]


def test_cli_set_password_reads_stdin(settings: Settings, services: Services,
                                      make: AccountFactory, client: TestClient) -> None:
    from api.cli import app as cli

    advocate = make.account(Role.ADVOCATE)
    env = {"HOMEWARD_DATABASE_URL": settings.database_url,
           "HOMEWARD_SECRET_KEY": settings.secret_key or ""}
    result = CliRunner().invoke(cli, ["users", "set-password", "--name", advocate.name],
                                input="a password from stdin\n", env=env)
    assert result.exit_code == 0, result.output
    assert "a password from stdin" not in result.output
    assert _post_sign_in(client, advocate.name, "a password from stdin").status_code == 303  # type: ignore[attr-defined]
    short = CliRunner().invoke(cli, ["users", "set-password", "--name", advocate.name],
                               input="short\n", env=env)
    assert short.exit_code == 1


@pytest.mark.parametrize(("header", "expected"), [
    ("es-MX,es;q=0.9,en;q=0.5", "Iniciar sesión"), ("en-US", "Sign in"), ("fr", "Sign in")])
def test_language_from_accept_language(client: TestClient, header: str, expected: str) -> None:
    page = client.get("/web/sign-in", headers={"Accept-Language": header})
    assert f"<h1>{expected}</h1>" in page.text


def test_language_cookie_wins(client: TestClient) -> None:
    switch = client.get("/web/language?to=es&next=/web/sign-in", follow_redirects=False)
    assert switch.headers["location"] == "/web/sign-in"
    page = client.get("/web/sign-in", headers={"Accept-Language": "en"})
    assert 'lang="es"' in page.text and "Iniciar sesión" in page.text
    outside = client.get("/web/language?to=es&next=https://evil.example/", follow_redirects=False)
    assert outside.headers["location"] == "/web/"


def test_csrf_token_is_per_session(client: TestClient, services: Services,
                                   make: AccountFactory) -> None:
    first = make.account(Role.ADVOCATE)
    token = sign_in(client, services, first.name, next_page="/web/cases")
    other = TestClient(client.app)
    second = make.account(Role.ADVOCATE)
    other_token = sign_in(other, services, second.name, next_page="/web/cases")
    assert token != other_token
    assert other.post("/web/cases", data={"csrf_token": token, "case_ref": "C-9",
                                          "members": "30F", "city": "Washington",
                                          "state": "DC"}).status_code == 403
    assert csrf_of(other.get("/web/cases").text) == other_token


def test_passwords_use_owasp_argon2id_parameters(client: TestClient, services: Services,
                                                 make: AccountFactory) -> None:
    advocate = make.account(Role.ADVOCATE)
    set_password(services, advocate.name)
    with services.db.read_session() as session:
        stored = session.exec(select(AccountPassword)).one()
    # OWASP Password Storage Cheat Sheet: Argon2id, m=19 MiB, t=2, p=1.
    assert stored.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_old_hashes_still_sign_in_and_are_rehashed(client: TestClient, services: Services,
                                                   make: AccountFactory) -> None:
    from argon2 import PasswordHasher

    advocate = make.account(Role.ADVOCATE)
    set_password(services, advocate.name)
    old = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4).hash(PASSWORD)
    with services.db.write_session() as session:
        row = session.exec(select(AccountPassword)).one()
        row.password_hash = old
        session.add(row)
        session.commit()
    assert _post_sign_in(client, advocate.name, "not the password").status_code == 401  # type: ignore[attr-defined]
    with services.db.read_session() as session:
        assert session.exec(select(AccountPassword)).one().password_hash == old
    assert _post_sign_in(client, advocate.name, PASSWORD).status_code == 303  # type: ignore[attr-defined]
    with services.db.read_session() as session:
        renewed = session.exec(select(AccountPassword)).one().password_hash
    assert renewed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    client.cookies.clear()
    assert _post_sign_in(client, advocate.name, PASSWORD).status_code == 303  # type: ignore[attr-defined]


def test_verifying_blocks_neither_other_requests_nor_writers(
        client: TestClient, services: Services, make: AccountFactory,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """While one sign-in's hash is being checked, other requests and database writes go on."""
    import threading

    from core import web_auth

    advocate = make.account(Role.ADVOCATE)
    set_password(services, advocate.name)
    entered, release = threading.Event(), threading.Event()
    real_verify = web_auth._verify

    def slow_verify(stored: str, password: str) -> bool:
        entered.set()
        assert release.wait(60), "the test never released the verification"
        return real_verify(stored, password)

    monkeypatch.setattr(web_auth, "_verify", slow_verify)
    outcome: list[int] = []
    signing_in = TestClient(client.app)
    thread = threading.Thread(target=lambda: outcome.append(
        _post_sign_in(signing_in, advocate.name, PASSWORD).status_code))  # type: ignore[attr-defined]
    thread.start()
    try:
        assert entered.wait(60), "sign-in never reached the password check"
        # Served meanwhile: the event loop is free, and so is the database's writer turn.
        assert client.get("/healthz").status_code == 200
        assert client.get("/web/sign-in").status_code == 200
        with services.db.write_session() as session:
            make_row = session.exec(select(AccountPassword)).one()
            session.add(make_row)
            session.commit()
    finally:
        release.set()
        thread.join(60)
    assert outcome == [303]
