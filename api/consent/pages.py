"""The HTML of the public consent pages (preference center, double opt-in confirmation): plain forms that work
without JavaScript, no external asset, inline style only (the CSP allows nothing else)."""

from __future__ import annotations

import html
from dataclasses import dataclass

from fastapi.responses import HTMLResponse

# A preference form is a few ticked boxes; the shared body reader (api/body_limit.py) refuses more than this on the
# public form posts (/preferences/{token}, /consent/confirm/{token}) before the route runs.
MAX_FORM_BYTES = 16 * 1024
MAX_FORM_FIELDS = 200

HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",  # the URL is the credential
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex",
}
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#222}"
    "fieldset{border:1px solid #ccc;margin:1rem 0;padding:.5rem 1rem}label{display:block;margin:.4rem 0}"
    "button{margin:.5rem .5rem .5rem 0;padding:.4rem 1rem}.note{color:#555;font-size:.9rem}"
    ".saved{background:#e8f5e9;padding:.5rem 1rem}"
)
CHANNEL_LABELS = {"email": "Email", "sms": "Text messages (SMS)", "push": "Push notifications"}


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(document, status, headers=HEADERS)


def refusal(title: str, message: str, code: str, status: int) -> HTMLResponse:
    body = f'<p>{html.escape(message)}</p><p><small>Error code: <code id="error-code">{code}</code></small></p>'
    return page(title, body, status)


@dataclass(frozen=True)
class Choice:
    name: str  # the form field value
    label: str
    checked: bool
    note: str | None = None


def preferences(
    address: str, channels: list[Choice], topics: list[Choice], *, saved: bool, unsubscribed: bool
) -> HTMLResponse:
    def boxes(field: str, choices: list[Choice]) -> str:
        return "".join(
            f'<label><input type="checkbox" name="{field}" value="{html.escape(c.name)}" '
            f'id="{field}-{html.escape(c.name)}"{" checked" if c.checked else ""}> {html.escape(c.label)}'
            + (f' <span class="note">({html.escape(c.note)})</span>' if c.note else "")
            + "</label>"
            for c in choices
        )

    notice = ""
    if unsubscribed:
        notice = '<p class="saved" id="status">You are unsubscribed from everything.</p>'
    elif saved:
        notice = '<p class="saved" id="status">Your preferences are saved.</p>'
    topic_set = f"<fieldset><legend>Topics</legend>{boxes('topic', topics)}</fieldset>" if topics else ""
    body = (
        f"{notice}<p>Preferences for <strong>{html.escape(address)}</strong>.</p>"
        '<form method="post" id="preferences"><input type="hidden" name="action" value="save">'
        f"<fieldset><legend>Channels</legend>{boxes('channel', channels)}</fieldset>{topic_set}"
        '<button type="submit" id="save">Save preferences</button></form>'
        '<form method="post" id="unsubscribe-all"><input type="hidden" name="action" value="unsubscribe_all">'
        '<button type="submit" id="unsubscribe">Unsubscribe from everything</button></form>'
    )
    return page("Your communication preferences", body)


def confirm_prompt() -> HTMLResponse:
    body = (
        "<p>Please confirm that you want to receive our emails.</p>"
        '<form method="post" id="confirm"><button type="submit" id="confirm-button">Confirm my subscription</button>'
        "</form>"
    )
    return page("Confirm your subscription", body)


def confirmed() -> HTMLResponse:
    return page("Subscription confirmed", '<p id="status">Thank you: your subscription is confirmed.</p>')
