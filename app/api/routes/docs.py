"""The OpenAPI document (`/api/v1/openapi.json`) and its readable page (`/api/v1/docs`).

Both are built from the registered operations (app/api/spec.py); the page is rendered on
the server from the same document, so it needs no JavaScript and no CDN.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from flask import Response, request

from app.api import bp
from app.api.spec import openapi_document
from app.core.http import render_page


@cache
def _document_text(server_url: str) -> str:
    return json.dumps(openapi_document(server_url), ensure_ascii=False, indent=1)


def _server_url() -> str:
    return request.url_root.rstrip("/") + (bp.url_prefix or "")


@bp.route("/openapi.json")
def openapi_json():
    response = Response(_document_text(_server_url()), mimetype="application/json")
    response.headers["Cache-Control"] = "public, max-age=300"
    response.add_etag()
    return response.make_conditional(request)


# --- the page ----------------------------------------------------------------------------------

def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def type_text(schema: dict[str, Any]) -> dict[str, Any]:
    """A schema as {"text": "...", "refs": [names]} for the page ("array of ProductOut")."""
    if "$ref" in schema:
        name = _ref_name(schema["$ref"])
        return {"text": name, "refs": [name]}
    for key in ("anyOf", "oneOf"):
        if key in schema:
            parts = [type_text(part) for part in schema[key]]
            return {"text": " | ".join(part["text"] for part in parts),
                    "refs": [ref for part in parts for ref in part["refs"]]}
    kind = schema.get("type", "any")
    if kind == "array":
        inner = type_text(schema.get("items", {}))
        return {"text": f"array of {inner['text']}", "refs": inner["refs"]}
    if "enum" in schema:
        return {"text": " | ".join(json.dumps(value) for value in schema["enum"]), "refs": []}
    if "const" in schema:
        return {"text": json.dumps(schema["const"]), "refs": []}
    limits = []
    if "minimum" in schema or "maximum" in schema:
        limits.append(f"{schema.get('minimum', '')}..{schema.get('maximum', '')}")
    if "minLength" in schema or "maxLength" in schema:
        limits.append(f"length {schema.get('minLength', 0)}..{schema.get('maxLength', '')}")
    if schema.get("format"):
        limits.append(schema["format"])
    text = str(kind) + (f" ({', '.join(limits)})" if limits else "")
    return {"text": text, "refs": []}


def with_parts(typed: dict[str, Any]) -> dict[str, Any]:
    """Add `parts`: the text cut into plain pieces and schema names (links on the page)."""
    names = sorted(set(typed["refs"]), key=len, reverse=True)
    if not names:
        return {**typed, "parts": [{"text": typed["text"], "ref": False}]}
    pattern = re.compile(r"\b(" + "|".join(re.escape(name) for name in names) + r")\b")
    parts = [{"text": piece, "ref": index % 2 == 1}
             for index, piece in enumerate(pattern.split(typed["text"])) if piece]
    return {**typed, "parts": parts}


def _properties(schema: dict[str, Any]) -> list[dict[str, Any]]:
    required = set(schema.get("required", ()))
    return [{"name": name, "type": with_parts(type_text(prop)), "required": name in required,
             "description": prop.get("description", "")}
            for name, prop in schema.get("properties", {}).items()]


@cache
def _page_model(server_url: str) -> dict[str, Any]:
    document = openapi_document(server_url)
    tags: dict[str, list[dict[str, Any]]] = {}
    for path, methods in document["paths"].items():
        for method, op in methods.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            tags.setdefault(op["tags"][0], []).append({
                "id": op["operationId"], "method": method.upper(), "path": path,
                "summary": op["summary"], "description": op.get("description", ""),
                "public": {} in op.get("security", []), "roles": op.get("x-roles", []),
                "parameters": [{"name": p["name"], "in": p["in"], "required": p["required"],
                                "type": with_parts(type_text(p["schema"])),
                                "description": p.get("description", "")}
                               for p in op["parameters"]],
                "body": with_parts(type_text(body["schema"])) if body else None,
                "responses": [{"status": status, "description": entry["description"],
                               "type": with_parts(type_text(
                                   next(iter(entry["content"].values()))["schema"]))
                               if "content" in entry else None}
                              for status, entry in op["responses"].items()],
            })
    schemas = [{"name": name, "description": (schema.get("description") or "").strip(),
                "properties": _properties(schema), "type": with_parts(type_text(schema))}
               for name, schema in sorted(document["components"]["schemas"].items())]
    return {"info": document["info"], "server": server_url, "tags": tags, "schemas": schemas}


@bp.route("/docs")
def docs():
    return render_page("api/docs.html", doc=_page_model(_server_url()))
