"""The OpenAPI document, generated from the code: each view declares its schemas with
`operation(...)`, apispec (with its marshmallow and Flask plugins) turns them and the URL
rules into OpenAPI 3.1, served at /api/v1/openapi.json and as a page rendered here."""
from __future__ import annotations

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec_webframeworks.flask import FlaskPlugin
from flask import current_app, jsonify, render_template

from . import bp
from .schemas import Error

OPENAPI_VERSION = "3.1.0"
ERRORS = {400: "Bad request (JSON, cursor or header)", 401: "No valid API key", 404: "Not this product's, or no such object",
          409: "Conflict (no number, reconnect needed, request in progress)", 422: "Invalid request, or not sendable now",
          429: "Too many requests: wait Retry-After seconds"}


def operation(summary: str, responses: dict, tag: str, body=None, query=None, description: str = "",
              headers: dict | None = None):
    """Declare what a view reads and answers (the document is built from this)."""

    def declare(view):
        view.api_operation = {"summary": summary, "responses": responses, "tag": tag, "body": body, "query": query,
                              "description": description, "headers": headers or {}}
        return view

    return declare


def _operation_spec(declared: dict, method: str, path_params: list[str]) -> dict:
    parameters = [{"in": "path", "name": name, "required": True, "schema": {"type": "string", "format": "uuid"}}
                  for name in path_params]
    if declared["query"] is not None:
        parameters.append({"in": "query", "schema": declared["query"]})
    for name, text in declared["headers"].items():
        parameters.append({"in": "header", "name": name, "required": False, "description": text,
                           "schema": {"type": "string", "maxLength": 255}})
    responses = {str(code): {"description": schema.__name__, "content": {"application/json": {"schema": schema}}}
                 for code, schema in declared["responses"].items()}
    for code, text in ERRORS.items():
        responses.setdefault(str(code), {"description": text, "content": {"application/json": {"schema": Error}}})
    spec = {"summary": declared["summary"], "tags": [declared["tag"]], "parameters": parameters,
            "responses": responses, "security": [{"bearer": []}]}
    if declared["description"]:
        spec["description"] = declared["description"]
    if declared["body"] is not None:
        spec["requestBody"] = {"required": True, "content": {"application/json": {"schema": declared["body"]}}}
    return {method.lower(): spec}


def build_spec(app) -> dict:
    spec = APISpec(
        title="Maestra product API", version="1.0.0", openapi_version=OPENAPI_VERSION,
        plugins=[FlaskPlugin(), MarshmallowPlugin()],
        info={"description": "Send and read a product's WhatsApp messages. Authenticate with "
                             "`Authorization: Bearer <key>` (keys: the product's API keys page). "
                             "Errors are `{\"error\": {\"code\", \"message\"}}`."},
        servers=[{"url": "/"}],
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint.split(".")[0] != bp.name:
            continue
        view = app.view_functions[rule.endpoint]
        declared = getattr(view, "api_operation", None)
        if declared is None:
            continue
        operations = {}
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            operations.update(_operation_spec(declared, method, sorted(rule.arguments)))
        spec.path(view=view, app=app, operations=operations)
    return spec.to_dict()


def document() -> dict:
    app = current_app._get_current_object()
    cached = app.extensions.get("maestra_openapi")
    if cached is None:
        cached = app.extensions["maestra_openapi"] = build_spec(app)
    return cached


@bp.route("/openapi.json")
def openapi_json():
    return jsonify(document())


@bp.route("/docs")
def openapi_page():
    """The document as a page people can read (rendered here: no script from elsewhere)."""
    return render_template("api/docs.html", spec=document())


