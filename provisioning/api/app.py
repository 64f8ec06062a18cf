"""The /v1/ sub-application: bearer auth, error translation, idempotency, routes, OpenAPI.

Routes are declared as a table (``Route``) so the same declaration registers the
aiohttp handler, validates the request with pydantic and generates the OpenAPI document.
A handler gets a ``Call`` (actor, service, path, validated body and query) and returns
(status, pydantic model).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from provisioning.api import schemas as s
from provisioning.errors import Conflict, Forbidden, Invalid, NotFound, ProvisioningError
from provisioning.models import Actor
from provisioning.service import Service

log = logging.getLogger("jet.provisioning.api")

SERVICE: web.AppKey[Service] = web.AppKey("provisioning_service")
MAX_ID = 2**63 - 1


@dataclass
class Call:
    actor: Actor
    service: Service
    path: dict[str, Any]
    body: Any
    query: Any


Handler = Callable[[Call], Awaitable[tuple[int, BaseModel | web.Response | None]]]


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # under /v1, with {name} or {id} parameters
    handler: Handler
    summary: str
    response: type[BaseModel] | None
    status: int = 200
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    tag: str = "accounts"
    path_types: dict[str, str] = field(default_factory=dict)  # name -> "int" | "name" | "text"
    media_type: str = "application/json"  # of a response without a model (e.g. application/pdf)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, fields: list[tuple[str, str]] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields or []

    def response(self) -> web.Response:
        body = s.Error(error=s.ErrorBody(code=self.code, message=self.message,  # type: ignore[arg-type]
                                         fields=[s.FieldProblem(path=p, message=m) for p, m in self.fields]))
        headers = {"WWW-Authenticate": 'Bearer realm="jet"'} if self.status == 401 else None
        return web.json_response(body.model_dump(mode="json"), status=self.status, headers=headers)


def from_service(exc: ProvisioningError) -> ApiError:
    if isinstance(exc, Invalid):
        return ApiError(422, "invalid", str(exc), [(_where(exc.field), exc.message)])
    if isinstance(exc, NotFound):
        return ApiError(404, "not_found", str(exc))
    if isinstance(exc, Conflict):
        return ApiError(409, "conflict", str(exc))
    if isinstance(exc, Forbidden):
        return ApiError(403, "forbidden", str(exc))
    return ApiError(400, "bad_request", str(exc))


def _where(name: str) -> str:
    """Where a service field lives in the request."""
    if name == "cursor":
        return "query.cursor"
    if name == "Idempotency-Key":
        return "header.Idempotency-Key"
    return f"body.{name}"


def pydantic_problems(exc: ValidationError, where: str) -> ApiError:
    fields = [(".".join([where, *(str(p) for p in e["loc"])]), e["msg"]) for e in exc.errors()]
    return ApiError(422, "invalid", "the request is not valid", fields)


def _check_text(value: Any, where: str) -> None:
    """Lone surrogates cannot be stored; refuse them as bad input rather than fail later."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(422, "invalid", "not valid Unicode text",
                       [(where, "contains a lone surrogate")]) from None


async def _authenticate(request: web.Request, service: Service) -> Actor:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "send Authorization: Bearer <token>")
    actor = await service.authenticate(token.strip())
    if actor is None:
        raise ApiError(401, "unauthorized", "unknown or revoked token")
    return actor


def _path_params(route: Route, request: web.Request) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, kind in route.path_types.items():
        raw = request.match_info[name]
        if kind == "int":
            if not raw.isdigit() or len(raw) > 19 or not 1 <= int(raw) <= MAX_ID:
                raise ApiError(404, "not_found", f"no such object: {raw}")
            out[name] = int(raw)
        elif kind == "text":  # e.g. an invoice number: any printable text
            if not raw.isprintable() or len(raw) > 128:
                raise ApiError(404, "not_found", "no such object")
            out[name] = raw
        else:
            _check_text(raw, f"path.{name}")
            out[name] = raw
    return out


async def _body(route: Route, request: web.Request) -> tuple[Any, bytes]:
    raw = await request.read()
    if route.body is None:
        return None, raw
    try:
        data = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(422, "invalid", "the body is not JSON", [("body", "not valid JSON")]) from None
    _check_text(data, "body")
    try:
        return route.body.model_validate(data), raw
    except ValidationError as exc:
        raise pydantic_problems(exc, "body") from None


def _query(route: Route, request: web.Request) -> Any:
    if route.query is None:
        return None
    data = dict(request.query)
    _check_text(data, "query")
    try:
        return route.query.model_validate(data)
    except ValidationError as exc:
        raise pydantic_problems(exc, "query") from None


def make_handler(route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        service = request.app[SERVICE]
        try:
            actor = await _authenticate(request, service)
            path = _path_params(route, request)
            query = _query(route, request)
            body, raw = await _body(route, request)
            key = request.headers.get("Idempotency-Key") if route.method == "POST" else None
            if key is not None and actor.token_id is not None:
                return await _idempotent(route, request, service, actor, key, raw,
                                         Call(actor, service, path, body, query))
            return await _run(route, Call(actor, service, path, body, query))
        except ApiError as exc:
            return exc.response()
        except ProvisioningError as exc:
            return from_service(exc).response()

    return handle


async def _run(route: Route, call: Call) -> web.Response:
    try:
        status, model = await route.handler(call)
    except ProvisioningError as exc:
        return from_service(exc).response()
    if model is None:
        return web.Response(status=status)
    if isinstance(model, web.Response):  # a document (e.g. a PDF), not JSON
        return model
    return web.json_response(model.model_dump(mode="json"), status=status)


async def _idempotent(route: Route, request: web.Request, service: Service, actor: Actor, key: str,
                      raw: bytes, call: Call) -> web.Response:
    """Idempotency-Key: the first response (2xx or 4xx) is stored and replayed for the same key."""
    assert actor.token_id is not None
    digest = hashlib.sha256(b"\n".join([route.method.encode(), request.path_qs.encode(), raw])).hexdigest()
    if len(key) > 255 or not key.isprintable():
        raise ApiError(422, "invalid", "bad Idempotency-Key", [("header.Idempotency-Key", "1–255 printable")])
    replay = await service.idempotency_begin(actor.token_id, key, digest)
    if replay is not None:
        status, body = replay
        return web.Response(status=status, body=body.encode(), content_type="application/json",
                            headers={"Idempotent-Replayed": "true"})
    try:
        response = await _run(route, call)
    except BaseException:
        await service.idempotency_abort(actor.token_id, key)
        raise
    body_bytes = response.body if isinstance(response.body, bytes) else b""
    await service.idempotency_finish(actor.token_id, key, response.status, body_bytes.decode())
    return response


def make_api_app(service: Service, routes: list[Route] | None = None) -> web.Application:
    """The /v1 sub-application (mount it with ``add_subapp('/v1', …)``)."""
    from provisioning.api.openapi import openapi_document
    from provisioning.api.routes import ROUTES

    routes = ROUTES if routes is None else routes
    app = web.Application()
    app[SERVICE] = service
    document = openapi_document(routes)

    async def openapi(request: web.Request) -> web.Response:
        return web.json_response(document)

    app.router.add_get("/openapi.json", openapi)
    for route in routes:
        app.router.add_route(route.method, route.path, make_handler(route))
    return app


def mount_api(service: Service, routes: list[Route] | None = None) -> Callable[[web.Application], None]:
    """What jetd's API site calls: ``app.services['api_mounts'].append(mount_api(service))``.
    ``routes``: all of them (default: provisioning's own), e.g. with the invoices'."""

    def mount(web_app: web.Application) -> None:
        web_app.add_subapp("/v1", make_api_app(service, routes))

    return mount
