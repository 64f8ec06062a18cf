"""The OpenAPI 3.1 document for /v1/, generated from the route table and pydantic models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from provisioning.api import schemas as s
from provisioning.api.app import Route

ERRORS = {
    "401": "No or unknown bearer token",
    "403": "Not allowed for this token",
    "404": "No such object (or not in the token's realm)",
    "409": "Conflicts with the current state",
    "422": "Invalid input; error.fields names each path",
}
IDEMPOTENCY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "description": "Send the same key again to get the first response replayed instead of a second change.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]+$"},
}


def _query_params(model: type[BaseModel], schemas: dict[str, Any]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    out = []
    for name, prop in schema["properties"].items():
        prop = dict(prop)
        prop.pop("title", None)
        out.append({"name": name, "in": "query", "required": name in schema.get("required", []),
                    "schema": prop})
    return out


def openapi_document(routes: list[Route]) -> dict[str, Any]:
    models: set[type[BaseModel]] = {s.Error}
    for r in routes:
        models.update(m for m in (r.body, r.response) if m is not None)
    pairs: list[tuple[type[BaseModel], Any]] = []
    for m in sorted(models, key=lambda m: m.__name__):
        pairs.append((m, "validation" if m is not None and issubclass(m, s.In) else "serialization"))
    _, defs = models_json_schema(pairs, ref_template="#/components/schemas/{model}")
    schemas = defs.get("$defs", {})
    paths: dict[str, Any] = {}
    for r in routes:
        op: dict[str, Any] = {"summary": r.summary, "tags": [r.tag], "operationId": _op_id(r),
                              "security": [{"bearer": []}], "parameters": []}
        for name, kind in r.path_types.items():
            schema = ({"type": "integer", "minimum": 1, "maximum": 2**63 - 1} if kind == "int"
                      else {"type": "string", "maxLength": 128} if kind == "text"
                      else {"type": "string", "pattern": "^[a-z0-9][a-z0-9._-]{0,63}$"})
            op["parameters"].append({"name": name, "in": "path", "required": True, "schema": schema})
        if r.query is not None:
            op["parameters"] += _query_params(r.query, schemas)
        if r.method == "POST":
            op["parameters"].append(IDEMPOTENCY)
        if r.body is not None:
            op["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{r.body.__name__}"}}}}
        responses: dict[str, Any] = {}
        if r.response is not None:
            responses[str(r.status)] = {"description": "OK", "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{r.response.__name__}"}}}}
        elif r.media_type != "application/json":
            responses[str(r.status)] = {"description": "The document", "content": {r.media_type: {
                "schema": {"type": "string", "format": "binary"}}}}
        for code, text in ERRORS.items():
            responses[code] = {"description": text, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Error"}}}}
        op["responses"] = responses
        paths.setdefault(f"/v1{r.path}", {})[r.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "Jet provisioning API", "version": "1",
                 "description": "Realms, accounts, subscriptions, ledger, invoices, tokens and audit. "
                                "A realm token sees only its realm; other realms' objects answer 404."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": schemas,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


def _op_id(r: Route) -> str:
    parts = [p for p in r.path.strip("/").split("/") if not p.startswith("{")]
    one = "_one" if r.path.endswith("}") else ""
    return r.method.lower() + "_" + "_".join(parts) + one
