"""The API's operations: one decorator registers a view and describes it.

    @operation("/products/<id:product_id>", "GET", tag="Produk", summary="...",
               response=ProductOut, auth="public", errors=(404,))
    def product_get(product_id: int) -> ProductOut: ...

The decorator adds the Flask route, checks authentication and roles, parses and validates
the query string (`query=` model, passed as `query`) and the JSON body (`body=` model, passed
as `body`), turns what the view returns into JSON (with an ETag on GETs, 304 when it
matches), and applies `Idempotency-Key` when `idempotent=True`. The same description feeds
the OpenAPI document (`openapi_document`), so what is documented is what runs.

A view returns a response model, `(model, status)`, `(model, status, headers)`, None (204)
or a `Response`; it raises `ApiError` for anything else.
"""

from __future__ import annotations

import hashlib
import json
import re
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, request
from flask_login import current_user
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import GenerateJsonSchema, models_json_schema

from app.api.error_codes import ApiErrorCode
from app.api.errors import DEFAULTS, ERROR_SCHEMA, ApiError, validation_error
from app.api.schemas import INT_MAX, Page, PageQuery

AUTH_PUBLIC = "public"  # no token needed (a valid one is still read: prices per user...)
AUTH_REQUIRED = "required"


@dataclass
class Operation:
    rule: str
    method: str
    endpoint: str
    tag: str
    summary: str
    description: str
    auth: str
    roles: tuple[str, ...]
    query: type[BaseModel] | None
    body: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    errors: tuple[int, ...]
    idempotent: bool
    paginated: bool
    extra_responses: dict[int, type[BaseModel] | None] = field(default_factory=dict)
    # A file answer (the view returns a Response); several types: one of them.
    media_type: str | tuple[str, ...] | None = None


OPERATIONS: list[Operation] = []


def operation(bp: Blueprint, rule: str, method: str = "GET", *, tag: str, summary: str,
              response: type[BaseModel] | None = None, status: int = 200,
              query: type[BaseModel] | None = None, body: type[BaseModel] | None = None,
              auth: str = AUTH_REQUIRED, roles: tuple[str, ...] = (),
              errors: tuple[int, ...] = (), idempotent: bool = False,
              description: str = "",
              extra_responses: dict[int, type[BaseModel] | None] | None = None,
              media_type: str | tuple[str, ...] | None = None,
              ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register an API view on `bp` and describe it for the OpenAPI document.

    `roles`: any of them is enough (403 otherwise); `errors`: the statuses the view itself
    may answer besides the standard ones (404 for path objects, 409 for state conflicts...).
    `extra_responses`: other success statuses the view may answer (a replay's 200...).
    `media_type`: the view answers a file of that type (a `Response`), not JSON."""
    paginated = isinstance(response, type) and issubclass(response, Page)

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        op = Operation(rule=rule, method=method, endpoint=f"{bp.name}.{view.__name__}",
                       tag=tag, summary=summary, description=description or (view.__doc__ or ""),
                       auth=auth, roles=roles, query=query, body=body, response=response,
                       status=status, errors=errors, idempotent=idempotent,
                       paginated=paginated, extra_responses=extra_responses or {},
                       media_type=media_type)

        @wraps(view)
        def wrapped(**path: Any) -> Response:
            if any(isinstance(value, int) and not 1 <= value <= INT_MAX
                   for value in path.values()):
                raise ApiError(404)
            _check_access(op)
            kwargs = dict(path)
            if query is not None:
                kwargs["query"] = parse_query(query)
            if body is not None:
                kwargs["body"] = parse_body(body)
            if idempotent:
                from app.api.idempotency import idempotent_call

                return idempotent_call(lambda: make_api_response(view(**kwargs), op))
            return make_api_response(view(**kwargs), op)

        bp.add_url_rule(rule, view.__name__, wrapped, methods=[method])
        OPERATIONS.append(op)
        wrapped.api_operation = op  # type: ignore[attr-defined]
        return wrapped

    return decorator


def _check_access(op: Operation) -> None:
    if op.auth == AUTH_PUBLIC:
        return
    if not current_user.is_authenticated:
        raise ApiError(401)
    if op.roles and not current_user.has_any_role(*op.roles):
        raise ApiError(403)


# --- request ---------------------------------------------------------------------------------

def _list_fields(model: type[BaseModel]) -> set[str]:
    names = set()
    for name, info in model.model_fields.items():
        origin = getattr(info.annotation, "__origin__", None)
        if origin in (list, set, tuple):
            names.add(name)
    return names


def parse_query(model: type[BaseModel]) -> BaseModel:
    lists = _list_fields(model)
    data: dict[str, Any] = {}
    for name in request.args:
        values = request.args.getlist(name)
        data[name] = values if name in lists else values[-1]
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise validation_error(error) from None


def parse_body(model: type[BaseModel]) -> BaseModel:
    if request.mimetype != "application/json":
        raise ApiError(415)
    data = request.get_json(silent=True)
    if data is None:
        raise ApiError(400, ApiErrorCode.INVALID_JSON)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise validation_error(error) from None
    except RecursionError:
        raise ApiError(400, ApiErrorCode.INVALID_JSON) from None


# --- response --------------------------------------------------------------------------------

def json_body(model: BaseModel) -> str:
    return json.dumps(model.model_dump(mode="json"), ensure_ascii=False,
                      separators=(",", ":"))


def make_api_response(result: Any, op: Operation) -> Response:
    if isinstance(result, Response):
        return result
    status: int = op.status
    headers: dict[str, str] = {}
    if isinstance(result, tuple):
        result, status, *rest = result
        headers = rest[0] if rest else {}
    if result is None:
        response = Response(status=204)
    else:
        response = Response(json_body(result), status=status, mimetype="application/json")
    for name, value in headers.items():
        response.headers[name] = value
    if isinstance(result, Page):
        _link_headers(response, result)
    if op.method == "GET" and status == 200:
        # Revalidate each time; an unchanged answer is a bodyless 304.
        response.set_etag(hashlib.sha256(response.get_data()).hexdigest()[:32])
        response.headers["Cache-Control"] = "private, no-cache"
        response.make_conditional(request)
    else:
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _link_headers(response: Response, page: Page) -> None:
    def url(number: int) -> str:
        args = request.args.to_dict(flat=False)
        args["page"] = [str(number)]
        args["per_page"] = [str(page.per_page)]
        return f"{request.base_url}?{urlencode(args, doseq=True)}"

    links = [f'<{url(1)}>; rel="first"']
    if not page.total_is_lower_bound:  # a capped count knows no last page
        links.append(f'<{url(page.pages)}>; rel="last"')
    if page.page > 1:
        previous = page.page - 1 if page.total_is_lower_bound else min(page.page - 1,
                                                                       page.pages)
        links.append(f'<{url(previous)}>; rel="prev"')
    if page.page < page.pages or (page.total_is_lower_bound
                                  and len(page.items) == page.per_page):
        links.append(f'<{url(page.page + 1)}>; rel="next"')
    response.headers["Link"] = ", ".join(links)
    response.headers["X-Total-Count"] = str(page.total)


def page_of(items: list[Any], total: int, query: PageQuery, model: type[BaseModel], *,
            exact: bool = True) -> Page:
    """A `Page` response of `model`s built from domain objects (or dicts). `exact=False`:
    `total` is a lower bound (a capped count), said so by `total_is_lower_bound`."""
    pages = max(1, -(-total // query.per_page))
    return Page[model](  # type: ignore[valid-type]
        items=[model.model_validate(item) for item in items],
        page=query.page, per_page=query.per_page, total=total, pages=pages,
        total_is_lower_bound=not exact)


# --- OpenAPI ---------------------------------------------------------------------------------

_CONVERTER = re.compile(r"<(?:(?P<converter>[a-z]+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
STANDARD_ERRORS = (400, 429)


def _path_and_parameters(rule: str) -> tuple[str, list[dict[str, Any]]]:
    parameters = []
    for match in _CONVERTER.finditer(rule):
        converter = match.group("converter") or "string"
        schema: dict[str, Any] = (
            {"type": "integer", "minimum": 1, "maximum": 2**31 - 1} if converter == "id"
            else {"type": "string", "minLength": 1, "maxLength": 100,
                  "pattern": r"^[A-Za-z0-9_.\-]+$"})
        parameters.append({"name": match.group("name"), "in": "path", "required": True,
                           "schema": schema})
    return _CONVERTER.sub(lambda m: "{" + m.group("name") + "}", rule), parameters


def _query_parameters(model: type[BaseModel], schemas: dict) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}",
                                     schema_generator=_ComponentNames)
    schemas.update({name: {**nested, "title": name}
                    for name, nested in schema.pop("$defs", {}).items()})
    required = set(schema.get("required", ()))
    parameters = []
    for name, prop in schema.get("properties", {}).items():
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": name in required,
                                     "schema": {k: v for k, v in prop.items()
                                                if k not in ("title", "description")}}
        if prop.get("description"):
            parameter["description"] = prop["description"]
        if prop.get("type") == "array":
            parameter["style"], parameter["explode"] = "form", True
        parameters.append(parameter)
    return parameters


def _error(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


ERROR_DESCRIPTIONS = {
    400: "Malformed request (invalid JSON, bad Idempotency-Key).",
    401: "No access token, or it is expired, invalid or revoked.",
    403: "The user's roles do not allow this.",
    404: "No such object, or it belongs to someone else.",
    409: "The object's state does not allow this (a stale or repeated action).",
    413: "The request is too large.",
    415: "The body is not application/json.",
    422: "A field is missing or invalid: `fields` says which.",
    429: "Too many requests: wait `Retry-After` seconds.",
}


class _ComponentNames(GenerateJsonSchema):
    """Names `Page[X]`'s component `XPage`, its class name (pydantic would say
    `Page_X_`)."""

    def normalize_name(self, name: str) -> str:
        page = re.fullmatch(r"Page\[(\w+)\]", name)
        return super().normalize_name(f"{page.group(1)}Page" if page else name)


class SchemaNameClash(RuntimeError):
    """Two different models would be published under one component name."""


def _nested_types(annotation: Any) -> Iterable[Any]:
    yield annotation
    for argument in typing.get_args(annotation):
        yield from _nested_types(argument)


def component_models(models: Iterable[type[BaseModel]]) -> dict[str, type]:
    """Every model (and enum) the document describes, reached from `models` through their
    fields, by the component name it gets: its class name (`Page[X]` is `XPage`).

    Raises SchemaNameClash when two different classes share a name: pydantic would then
    fall back to module-qualified names (`app__api__routes__cart__StoreRef`) with one shared
    title, and generated clients drop both ("Could not find reference")."""
    named: dict[str, type] = {}
    pending: list[type] = list(models)
    seen: set[type] = set()
    while pending:
        model = pending.pop()
        if model in seen:
            continue
        seen.add(model)
        other = named.setdefault(model.__name__, model)
        if other is not model:
            raise SchemaNameClash(
                f"two API models are both named {model.__name__!r}: "
                f"{other.__module__}.{other.__qualname__} and "
                f"{model.__module__}.{model.__qualname__}; rename one")
        if isinstance(model, type) and issubclass(model, BaseModel):
            for info in model.model_fields.values():
                for kind in _nested_types(info.annotation):
                    if isinstance(kind, type) and issubclass(kind, BaseModel | Enum):
                        pending.append(kind)
    return named


def _component_schemas(defs: dict[str, Any], named: dict[str, type]) -> dict[str, Any]:
    """The components: each under its model's name, titled with that name."""
    unknown = set(defs) - set(named)
    if unknown:
        # e.g. `X-Input`/`X-Output`: a model whose request and response schemas differ.
        raise SchemaNameClash(f"components without a model of that name: {sorted(unknown)}")
    return {name: {**schema, "title": name} for name, schema in defs.items()}


def _operation_parameters(op: Operation,
                          schemas: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The operation's OpenAPI path and its parameters: path, query (their nested
    components go into `schemas`) and the Idempotency-Key header."""
    path, parameters = _path_and_parameters(op.rule)
    if op.query is not None:
        parameters += _query_parameters(op.query, schemas)
    if op.idempotent:
        parameters.append({"name": "Idempotency-Key", "in": "header", "required": False,
                           "description": "Repeat a request safely: the same key and "
                                          "body answer the first response again.",
                           "schema": {"type": "string", "minLength": 1,
                                      "maxLength": 255, "pattern": r"^[\x21-\x7e]+$"}})
    return path, parameters


def _success_responses(op: Operation, refs: dict[Any, Any]) -> dict[str, Any]:
    """The operation's own answers: a file, nothing, or its response models."""
    responses: dict[str, Any] = {}
    for status, model in ((op.status, op.response), *op.extra_responses.items()):
        if op.media_type and status == op.status:
            types = ((op.media_type,) if isinstance(op.media_type, str)
                     else op.media_type)
            responses[str(status)] = {"description": "The file.", "content": {
                media: {"schema": {"type": "string", "format": "binary"}}
                for media in types}}
            continue
        if model is None:
            responses[str(status)] = {"description": "Done, nothing to return."}
            continue
        entry: dict[str, Any] = {
            "description": (model.__doc__ or "OK").strip().splitlines()[0],
            "content": {"application/json": {"schema": refs[(model, "serialization")]}}}
        if op.paginated and status == op.status:
            entry["headers"] = {
                "Link": {"description": "first, prev, next and last page URLs (no "
                                        "last when the total is a lower bound)",
                         "schema": {"type": "string"}},
                "X-Total-Count": {"description": "`total` of the body",
                                  "schema": {"type": "string"}}}
        responses[str(status)] = entry
    if op.method == "GET":
        responses["304"] = {"description": "Not modified (If-None-Match matched the ETag)."}
    return responses


def _error_statuses(op: Operation, parameters: list[dict[str, Any]]) -> set[int]:
    """The error statuses the operation can answer, from what it takes and who may call."""
    # 401 everywhere: a bad token is refused even on public operations.
    statuses = set(STANDARD_ERRORS) | set(op.errors) | {401}
    if op.roles:
        statuses.add(403)
    if parameters and any(p["in"] == "path" for p in parameters):
        statuses.add(404)
    if op.query is not None or op.body is not None:
        statuses.add(422)
    if op.body is not None:
        statuses |= {413, 415}
    if op.idempotent:
        statuses |= {409, 422}
    return statuses


def _operation_entry(op: Operation, parameters: list[dict[str, Any]],
                     refs: dict[Any, Any]) -> dict[str, Any]:
    """The operation object of the document."""
    responses = _success_responses(op, refs)
    for status in sorted(_error_statuses(op, parameters)):
        responses[str(status)] = _error(ERROR_DESCRIPTIONS.get(status, DEFAULTS[status][0]))
    entry: dict[str, Any] = {
        "operationId": op.endpoint.removeprefix("api.").replace(".", "_"),
        "tags": [op.tag],
        "summary": op.summary,
        "parameters": parameters,
        "responses": responses,
    }
    if op.description:
        entry["description"] = " ".join(op.description.split())
    if op.body is not None:
        entry["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": refs[(op.body, "validation")]}}}
    if op.auth == AUTH_PUBLIC:
        entry["security"] = [{}, {"bearer": []}]
    else:
        entry["security"] = [{"bearer": []}]
    if op.roles:
        entry["x-roles"] = list(op.roles)
    return entry


def openapi_document(server_url: str = "/api/v1") -> dict[str, Any]:
    """The OpenAPI 3.1 document of every registered operation. Every component is named
    after its model, and no two models share a name (SchemaNameClash)."""
    models: list[tuple[type[BaseModel], typing.Literal["validation", "serialization"]]] = []
    for op in OPERATIONS:
        if op.body is not None:
            models.append((op.body, "validation"))
        for model in (op.response, *op.extra_responses.values()):
            if model is not None:
                models.append((model, "serialization"))
    named = component_models([model for model, _mode in models]
                             + [op.query for op in OPERATIONS if op.query is not None])
    refs, defs = models_json_schema(models, ref_template="#/components/schemas/{model}",
                                    schema_generator=_ComponentNames)
    schemas = _component_schemas(defs.get("$defs", {}), named)
    if "Error" in schemas:
        raise SchemaNameClash("a model is named 'Error', the name of the error format")
    schemas["Error"] = {"title": "Error", **ERROR_SCHEMA}

    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        path, parameters = _operation_parameters(op, schemas)
        paths.setdefault(path, {})[op.method.lower()] = _operation_entry(op, parameters, refs)

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Racik API",
            "version": "1.0.0",
            "description": (
                "JSON API for the Racik apps and partners' systems. Log in at `/auth/login` "
                "for an access token (15 minutes; send it as `Authorization: Bearer ...`) "
                "and a refresh token (30 days, one use: `/auth/refresh` gives the next pair). "
                "Errors are `{\"error\": {\"code\", \"message\", \"fields\"}}`; messages "
                "follow the user's language (`Accept-Language` before login). Lists take "
                "`page` and `per_page` (max 100) and answer `Link` headers. GETs carry an "
                "ETag; creating operations (checkout, payments, products, addresses, "
                "CRM records) honour `Idempotency-Key`."),
        },
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "bearerFormat": "JWT"}},
        },
    }
