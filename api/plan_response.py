"""One HTTP answer for a rendered safety plan, from the API and the web pages alike.

A plan holds a survivor's danger and plans: it is never cached, never framed, never sniffed as
another type, and its HTML may use only its own inline styles and data images (no script, no
outside request), so a plan opened from a saved link or printed carries nothing that calls out.
"""

from __future__ import annotations

from fastapi import Response

PLAN_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "img-src data:; frame-ancestors 'none'; base-uri 'none'; "
                               "form-action 'none'",
}


def plan_response(body: bytes | str, media_type: str, *, plan_id: int, fmt: str,
                  discreet: bool) -> Response:
    headers = dict(PLAN_HEADERS)
    if fmt == "pdf":
        name = "notes.pdf" if discreet else f"safety-plan-{plan_id}.pdf"
        headers["Content-Disposition"] = f'inline; filename="{name}"'
    return Response(body, media_type=media_type, headers=headers)
