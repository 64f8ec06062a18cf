"""What an action sees of an event: the versioned JSON document, and flat text fields.

Templates are ``string.Template`` over the flat fields: ``$account_username``,
``${account_email}``. A nested payload key becomes the path joined by ``_``
(``{"account": {"email": …}}`` → ``account_email``), a list becomes its items joined by
``,``, a missing value (None) the empty string. There is no attribute access, no
indexing, no expression and no code: a template can only reach the event's own data.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Mapping
from string import Template
from typing import Any

from provisioning.models import Event, jsonable


class TemplateError(Exception):
    """A template names a field the event does not have (the delivery fails for good)."""


ENVELOPE = ("type", "version", "occurred_at")


def document(event: Event) -> dict[str, Any]:
    """The event as delivered: envelope + ``data`` (docs/hooks.md, "Event payloads")."""
    payload = dict(event.payload)
    doc = {"id": event.id, "type": event.type, "version": payload.get("version", 1),
           "occurred_at": payload.get("occurred_at", event.created_at), "account_id": event.account_id,
           "realm": event.realm, "data": {k: v for k, v in payload.items() if k not in ENVELOPE}}
    out: dict[str, Any] = jsonable(doc)
    return out


def document_bytes(event: Event) -> bytes:
    return json.dumps(document(event), sort_keys=True, separators=(",", ":")).encode()


def fields(event: Event) -> dict[str, str]:
    """The flat text fields templates and environment variables draw on."""
    doc = document(event)
    out = {"event_id": str(doc["id"]), "event_type": doc["type"], "event_version": str(doc["version"]),
           "occurred_at": str(doc["occurred_at"]), "account_id": _text(doc["account_id"]),
           "realm": _text(doc["realm"])}
    _flatten(doc["data"], "", out)
    return out


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _flatten(value: Any, prefix: str, out: dict[str, str]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            key = f"{prefix}_{k}" if prefix else str(k)
            if key.isidentifier():
                _flatten(v, key, out)
        return
    if isinstance(value, list):
        out[prefix] = ",".join(_text(v) if not isinstance(v, dict | list) else json.dumps(v) for v in value)
        return
    out.setdefault(prefix, _text(value))


def render(text: str, values: Mapping[str, str], quote: Callable[[str], str] | None = None) -> str:
    """Substitute; ``quote`` (e.g. shlex.quote, an LDAP DN escape) is applied to each value."""
    if quote is not None:
        values = {k: quote(v) if v else v for k, v in values.items()}
    try:
        return Template(text).substitute(values)
    except KeyError as exc:
        raise TemplateError(f"the event has no field {exc.args[0]!r}") from None
    except ValueError as exc:
        raise TemplateError(f"invalid template: {exc}") from None


def shell_quote(value: str) -> str:
    return shlex.quote(value)
