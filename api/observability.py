"""JSON-lines logs and the two request guards that wrap every call: request id and body cap.

A request log line holds the request id, method, the matched route template (never the raw
path, which can carry identifiers), status and latency. Bodies, query strings, headers and
tokens are never logged. Bodies larger than the cap are refused with 413 before the app reads
them.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# A caller's request id is kept (to join its logs with ours) only in the form this server makes
# itself, 32 hex digits (a UUID, hyphens allowed): anything else is replaced, never logged or
# stored in the audit log as sent.
_SAFE_REQUEST_ID = re.compile(
    r"^(?:[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")
_HSTS = b"max-age=31536000; includeSubDomains"
_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

access_log = logging.getLogger("homeward.access")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                line[key] = value
        return json.dumps(line, default=str)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's access log prints raw paths and query strings; ours replaces it.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "<unmatched>"


# Only these paths may be kept by a browser or proxy cache: code and styles, never data.
CACHEABLE_PREFIXES = ("/web/static/", "/docs/assets/")


class RequestContextMiddleware:
    """Gives each request an id (echoed as X-Request-ID), writes one access log line, and marks
    every answer that is not a static asset `Cache-Control: no-store`.

    The no-store rule lives here, once, because nearly every route answers with data about a
    person, a shelter or an account: a shared computer's browser cache or a proxy must keep
    none of it, and a new route cannot forget it. A route that sets its own Cache-Control
    (none does today) keeps it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        supplied = dict(scope.get("headers", [])).get(b"x-request-id", b"").decode("latin-1")
        request_id = supplied if _SAFE_REQUEST_ID.match(supplied) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                if not any(k.lower() == b"cache-control" for k, _ in headers) and not str(
                        scope.get("path", "")).startswith(CACHEABLE_PREFIXES):
                    headers.append((b"cache-control", b"no-store"))
                if scope.get("scheme") == "https":
                    # Once reached over HTTPS (here, or through a trusted proxy), browsers
                    # must never fall back to plain HTTP for this host: a year, as is usual.
                    headers.append((b"strict-transport-security", _HSTS))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            access_log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope.get("method"),
                    "route": _route_template(scope),
                    "status": status,
                    "latency_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )


class RequestBodyGuardMiddleware:
    """Refuses request bodies over `max_bytes` (413), and NUL characters anywhere (422).

    The body is read here, up to the cap, before the app sees a byte: counting while the app
    read it let the app's body parser turn a chunked body's refusal into a 400. A NUL cannot
    be stored in PostgreSQL text or JSON (the driver's error was a 500) and is never
    meaningful in this API's text, so it is refused in the query string and the body, raw
    or escaped (JSON `\\u0000`, form `%00`), in one place.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _has_nul(scope.get("query_string", b"")):
            await _nul_refused(send, "query")
            return
        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await _too_large(send, self.max_bytes)
            return
        chunks, seen, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                chunks.append(message)  # a disconnect: the app sees it as it would have
                break
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                await _too_large(send, self.max_bytes)
                return
            chunks.append(message)
            more = bool(message.get("more_body", False))
        form = dict(scope.get("headers", [])).get(b"content-type", b"").startswith(
            b"application/x-www-form-urlencoded")
        if _has_nul(b"".join(m.get("body", b"") for m in chunks), url_encoded=form):
            await _nul_refused(send, "body")
            return
        replay = iter(chunks)

        async def replaying_receive() -> Message:
            return next(replay, None) or await receive()

        await self.app(scope, replaying_receive, send)


# A JSON \u0000 escape: preceded by an even number of backslashes (an odd one escapes it).
_ESCAPED_NUL = re.compile(rb"(?:^|[^\\])(?:\\\\)*\\u0000", re.IGNORECASE)


def _has_nul(raw: bytes, *, url_encoded: bool = True) -> bool:
    return (b"\x00" in raw or _ESCAPED_NUL.search(raw) is not None
            or (url_encoded and b"%00" in raw))


async def _nul_refused(send: Send, where: str) -> None:
    await _problem(send, 422, {
        "type": "urn:homeward:problem:invalid-input", "title": "Invalid input", "status": 422,
        "detail": f"invalid fields: {where}",
        "errors": [{"field": where, "message": "text must not contain NUL characters"}]})


async def _too_large(send: Send, max_bytes: int) -> None:
    await _problem(send, 413, {
        "type": "urn:homeward:problem:body-too-large",
        "title": "Request body too large",
        "status": 413,
        "detail": f"request bodies are limited to {max_bytes} bytes",
    })


async def _problem(send: Send, status: int, problem: dict[str, Any]) -> None:
    body = json.dumps(problem).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/problem+json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
