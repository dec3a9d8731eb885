"""The email channel against a real SMTP server started here (aiosmtpd): STARTTLS with a
certificate made for the test, AUTH required after TLS, and the idempotency key as the
Message-ID. A refused login is final; a mailbox refused with 4xx is retried.
"""

from __future__ import annotations

import datetime as dt
import random
import socket
import ssl
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient

from api.deps import Services
from delivery.email import EmailSender
from delivery.models import Channel
from delivery.worker import Worker
from tests.api.test_consent_referrals import _refer, _setup
from tests.api.test_messages import later, messages
from tests.support import Account, AccountFactory

PASSWORD = "smtp-password-123"


def _certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    import ipaddress

    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"),
                x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "smtp.pem", folder / "smtp.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


class Inbox:
    def __init__(self) -> None:
        self.mail: list[tuple[list[str], bytes]] = []
        self.refuse_first = False

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: Any) -> str:
        if self.refuse_first:
            self.refuse_first = False
            return "450 mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mail.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 Message accepted"


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str,
                  auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"homeward" \
        and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)  # unhandled: the server answers 535


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[tuple[int, Path, Inbox]]:
    cert, key = _certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=context,
                            require_starttls=True, authenticator=_authenticate,
                            auth_required=True, auth_require_tls=True)
    controller.start()
    try:
        yield port, cert, inbox
    finally:
        controller.stop()


def test_a_referral_by_email_over_starttls_with_auth(
        client: TestClient, admin: Account, make: AccountFactory, services: Services,
        smtp: tuple[int, Path, Inbox]) -> None:
    port, cert, inbox = smtp
    advocate, case_id, org_id = _setup(client, admin, make)
    settings = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_username": "homeward",
                "from_address": "referrals@hotline.example.org", "smtp_ca_file": str(cert)}
    made = client.post("/v1/delivery/endpoints", json={
        "channel": "email", "address": "intake@legal.example.org", "secret": PASSWORD,
        "organization_id": org_id, "settings": settings}, headers=admin.headers)
    assert made.status_code == 201, made.text
    worker = Worker(services.db, services.cipher, {Channel.EMAIL: EmailSender()},
                    name="mail", rng=random.Random(3))

    inbox.refuse_first = True
    assert _refer(client, advocate, case_id, org_id).status_code == 201
    assert worker.run_once(now=later()).retried == 1  # 450: try again later
    [row] = messages(client, advocate, channel="email")
    assert row["state"] == "pending" and row["last_error"] == "recipient refused (450)"
    assert worker.run_once(now=later(60)).delivered == 1
    [(rcpt, raw)] = inbox.mail
    mail = message_from_bytes(raw)
    assert rcpt == ["intake@legal.example.org"]
    assert mail["Message-ID"] == f"<{row['idempotency_key']}@homeward>"
    assert mail["X-Homeward-Idempotency-Key"] == row["idempotency_key"]
    assert "de-identified referral" in mail["Subject"]
    assert "trafficking_type" in mail.get_payload()

    # A wrong password is final: sending again cannot help until someone fixes it.
    wrong = client.post("/v1/delivery/endpoints", json={
        "channel": "email", "address": "intake@legal.example.org", "secret": "not-the-one",
        "organization_id": org_id, "settings": settings}, headers=admin.headers)
    assert wrong.status_code == 201
    _refer(client, advocate, case_id, org_id)
    report = worker.run_once(now=later(120))
    assert report.delivered == 1 and report.dead == 1
    [dead] = messages(client, advocate, channel="email", state="dead")
    assert dead["last_error"] == "SMTP login refused (535)" and dead["attempts"] == 1
