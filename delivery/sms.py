"""The SMS channel: a Twilio-style HTTP provider API, and its delivery receipts.

Endpoint settings: `api_base` (https://api.twilio.com, or a compatible provider; http only to
a loopback host), `account_sid`, `from_number`, `status_callback` (the public URL of
`POST /callbacks/sms-status`, optional). The secret is the provider's auth token; the
address the phone number. A send is `POST {api_base}/2010-04-01/Accounts/{sid}/Messages.json`
with HTTP basic auth and the form fields `To`, `From`, `Body`, `StatusCallback`, plus the
header `I-Twilio-Idempotency-Token` carrying the message's idempotency key; the answer's
`sid` is kept to match receipts. A receipt is verified as Twilio signs it
(`X-Twilio-Signature`: base64 HMAC-SHA1 under the auth token of the URL followed by the sorted
form parameters, each name then value).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

import httpx

from delivery.channels import Outcome, Outgoing, classify, webhook_url_ok

IDEMPOTENCY_HEADER = "I-Twilio-Idempotency-Token"
SIGNATURE_HEADER = "X-Twilio-Signature"
FAILED = frozenset({"failed", "undelivered"})


def text_of(message: Outgoing) -> str:
    return str(message.body.get("text", ""))


def receipt_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    payload = url + "".join(f"{k}{params[k]}" for k in sorted(params))
    mac = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def receipt_ok(auth_token: str, url: str, params: Mapping[str, str], given: str) -> bool:
    return hmac.compare_digest(receipt_signature(auth_token, url, params), given)


class SmsSender:
    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def send(self, message: Outgoing) -> Outcome:
        conf = message.settings
        base = str(conf.get("api_base", "https://api.twilio.com")).rstrip("/")
        sid = str(conf.get("account_sid", ""))
        if not sid or not message.secret or not webhook_url_ok(base):
            return Outcome(delivered=False, retry=False,
                           detail="endpoint lacks account_sid, auth token or an https api_base")
        form = {"To": message.address, "From": str(conf.get("from_number", "")),
                "Body": text_of(message)}
        if conf.get("status_callback"):
            form["StatusCallback"] = str(conf["status_callback"])
        try:
            answer = self._client.post(f"{base}/2010-04-01/Accounts/{sid}/Messages.json",
                                       data=form, auth=(sid, message.secret),
                                       headers={IDEMPOTENCY_HEADER: message.idempotency_key})
        except httpx.HTTPError as exc:
            return Outcome(delivered=False, retry=True, detail=type(exc).__name__)
        outcome = classify(answer.status_code)
        if not outcome.delivered:
            return outcome
        try:
            ref = str(answer.json().get("sid") or "")[:64] or None
        except ValueError:
            ref = None
        return Outcome(delivered=True, detail="accepted by the provider", provider_ref=ref)
