"""The email channel: SMTP with STARTTLS and authentication (the standard library's smtplib).

Endpoint settings: `smtp_host`, `smtp_port` (587), `smtp_username`, `from_address`,
`starttls` (true; false only for a loopback relay), `smtp_ca_file` (a CA bundle to trust
instead of the system's, e.g. a private relay's). The endpoint's secret is the SMTP password,
its address the recipient. The message's idempotency key is its Message-ID (and an
`X-Homeward-Idempotency-Key` header), so a receiving system can drop a repeated attempt.
A 4xx reply or a lost connection is retried; a 5xx reply (no such mailbox, refused) and a
failed login are final.
"""

from __future__ import annotations

import json
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from delivery.channels import LOOPBACK, Outcome, Outgoing

IDEMPOTENCY_HEADER = "X-Homeward-Idempotency-Key"


def compose(message: Outgoing) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = str(message.settings.get("from_address", "homeward@localhost"))
    mail["To"] = message.address
    mail["Subject"] = str(message.body.get("subject", "Homeward"))
    mail["Date"] = formatdate(usegmt=True)
    mail["Message-ID"] = f"<{message.idempotency_key}@homeward>"
    mail[IDEMPOTENCY_HEADER] = message.idempotency_key
    text = str(message.body.get("text", ""))
    data = message.body.get("data")
    if data:
        text += "\n\n" + json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)
    mail.set_content(text)
    return mail


def _login(smtp: smtplib.SMTP, user: str, password: str) -> None:
    """One mechanism (PLAIN, else LOGIN), not smtplib's walk through every mechanism: a
    server may hang up after the first refusal, and a refusal must read as one."""
    smtp.ehlo_or_helo_if_needed()
    offered = smtp.esmtp_features.get("auth", "").upper().split()
    smtp.user, smtp.password = user, password
    if "PLAIN" in offered or "LOGIN" not in offered:
        smtp.auth("PLAIN", smtp.auth_plain)
    else:
        smtp.auth("LOGIN", smtp.auth_login)


class EmailSender:
    def __init__(self, *, timeout_s: float = 10.0) -> None:
        self._timeout = timeout_s

    def send(self, message: Outgoing) -> Outcome:
        conf = message.settings
        host = str(conf.get("smtp_host", ""))
        if not host:
            return Outcome(delivered=False, retry=False, detail="endpoint has no smtp_host")
        starttls = bool(conf.get("starttls", True))
        if not starttls and host not in LOOPBACK:
            return Outcome(delivered=False, retry=False,
                           detail="STARTTLS is required except to a loopback relay")
        ca_file = conf.get("smtp_ca_file")
        context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
        try:
            with smtplib.SMTP(host, int(conf.get("smtp_port", 587)),
                              timeout=self._timeout) as smtp:
                if starttls:
                    smtp.starttls(context=context)
                if conf.get("smtp_username") and message.secret:
                    _login(smtp, str(conf["smtp_username"]), message.secret)
                smtp.send_message(compose(message))
        except smtplib.SMTPAuthenticationError as exc:
            return Outcome(delivered=False, retry=False,
                           detail=f"SMTP login refused ({exc.smtp_code})")
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            return Outcome(delivered=False, retry=all(c < 500 for c in codes),
                           detail=f"recipient refused ({codes[0] if codes else '?'})")
        except smtplib.SMTPResponseException as exc:
            return Outcome(delivered=False, retry=exc.smtp_code < 500,
                           detail=f"SMTP {exc.smtp_code}")
        except (smtplib.SMTPException, OSError) as exc:
            return Outcome(delivered=False, retry=True, detail=type(exc).__name__)
        return Outcome(delivered=True, detail="accepted by the relay")
