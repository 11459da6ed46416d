"""The API's browsable reference at /api/v1/docs: a server-rendered page drawn from the app's own OpenAPI document
(every tag, operation and schema), after an introduction to what every endpoint shares. No script: the page is
plain HTML with the site's stylesheet. A plain blueprint, so the document does not list the page itself."""
from flask import Blueprint, current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from helpdesk.accounts import api_tokens

bp = Blueprint("api_reference", __name__, url_prefix="/api/v1")

METHODS = ("get", "post", "put", "patch", "delete")
SCHEMA_REF = "#/components/schemas/"


def _ref_name(schema) -> str | None:
    ref = (schema or {}).get("$ref", "")
    return ref.removeprefix(SCHEMA_REF) if ref.startswith(SCHEMA_REF) else None


def type_of(schema) -> dict:
    """A short description of a JSON schema for the page: {"text", "ref", "nullable", "enum"}; ``ref`` names the
    schema the text links to."""
    schema = schema or {}
    name = _ref_name(schema)
    if name:
        return {"text": name, "ref": name, "nullable": False, "enum": None}
    for combined in ("anyOf", "oneOf", "allOf"):
        if combined in schema:
            nullable = any(part.get("type") == "null" for part in schema[combined])
            real = [type_of(part) for part in schema[combined] if part.get("type") != "null"]
            if len(real) == 1:
                return dict(real[0], nullable=nullable or real[0]["nullable"])
            return {"text": " | ".join(part["text"] for part in real), "ref": None, "nullable": nullable,
                    "enum": None}
    kinds = schema.get("type", "")
    kinds = list(kinds) if isinstance(kinds, list) else [kinds] if kinds else []
    nullable = "null" in kinds or bool(schema.get("nullable"))
    kinds = [kind for kind in kinds if kind != "null"]
    if kinds == ["array"]:
        item = type_of(schema.get("items"))
        return {"text": _("array of %(items)s", items=item["text"]), "ref": item["ref"], "nullable": nullable,
                "enum": item["enum"]}
    text = " | ".join(kinds) or ("object" if "properties" in schema else _("any"))
    if schema.get("format"):
        text += f" ({schema['format']})"
    return {"text": text, "ref": None, "nullable": nullable, "enum": schema.get("enum")}


def fields_of(schema, schemas) -> list[dict]:
    """The properties of an object schema (following one $ref) as rows: name, type, required, description."""
    name = _ref_name(schema)
    if name:
        schema = schemas.get(name, {})
    required = set(schema.get("required", ()))
    return [{"name": key, "type": type_of(prop), "required": key in required,
             "description": prop.get("description", ""), "read_only": prop.get("readOnly", False),
             "default": prop.get("default")}
            for key, prop in (schema.get("properties") or {}).items()]


def _anchor(method, path) -> str:
    """An operation's id in the page: "get-api-v1-tickets-number" for GET /api/v1/tickets/{number}."""
    words = "".join(c if c.isalnum() else " " for c in path).split()
    return "-".join([method, *words])


def _parameters(operation, path_item) -> list[dict]:
    rows = []
    for parameter in [*path_item.get("parameters", ()), *operation.get("parameters", ())]:
        rows.append({"name": parameter.get("name"), "in": parameter.get("in"),
                     "required": parameter.get("required", False), "type": type_of(parameter.get("schema")),
                     "description": parameter.get("description", "")})
    return rows


def _body(operation, schemas):
    body = operation.get("requestBody")
    if not body:
        return None
    media = []
    for media_type, content in (body.get("content") or {}).items():
        schema = content.get("schema") or {}
        media.append({"type": media_type, "schema": type_of(schema), "fields": fields_of(schema, schemas)})
    return {"required": body.get("required", False), "description": body.get("description", ""), "media": media}


def _answers(operation) -> list[dict]:
    rows = []
    for status, answer in sorted((operation.get("responses") or {}).items()):
        media = [{"type": media_type, "schema": type_of(content.get("schema"))}
                 for media_type, content in (answer.get("content") or {}).items()]
        rows.append({"status": status, "description": answer.get("description", ""), "media": media,
                     "headers": sorted((answer.get("headers") or {}).keys())})
    return rows


def operations_by_tag(document) -> list[dict]:
    """The document's tags in its order, each with its operations (method, path, summary, scopes, parameters,
    request body, answers)."""
    schemas = document.get("components", {}).get("schemas", {})
    tags = {tag["name"]: {"name": tag["name"], "description": tag.get("description", ""), "operations": []}
            for tag in document.get("tags", ())}
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            scopes = sorted({scope for requirement in operation.get("security", ()) for scope_list in
                             requirement.values() for scope in scope_list})
            entry = {
                "id": operation.get("operationId") or _anchor(method, path),
                "method": method.upper(), "path": path, "summary": operation.get("summary", ""),
                "description": operation.get("description", ""), "scopes": scopes,
                "needs_token": bool(operation.get("security")), "deprecated": operation.get("deprecated", False),
                "parameters": _parameters(operation, item), "body": _body(operation, schemas),
                "answers": _answers(operation)}
            for tag in operation.get("tags") or ["default"]:
                tags.setdefault(tag, {"name": tag, "description": "", "operations": []})["operations"].append(entry)
    return [tag for tag in tags.values() if tag["operations"]]


def used_schemas(document) -> list[dict]:
    """The schemas the operations refer to, directly or through other schemas, by name (the library's own
    leftovers that nothing uses are left out)."""
    schemas = document.get("components", {}).get("schemas", {})
    seen, waiting = set(), [document.get("paths", {})]
    while waiting:
        node = waiting.pop()
        if isinstance(node, dict):
            name = _ref_name(node)
            if name and name not in seen and name in schemas:
                seen.add(name)
                waiting.append(schemas[name])
            waiting.extend(node.values())
        elif isinstance(node, list):
            waiting.extend(node)
    return [{"name": name, "description": schemas[name].get("description", ""),
             "fields": fields_of(schemas[name], schemas), "type": type_of(schemas[name])}
            for name in sorted(seen)]


@bp.route("/docs")
def reference():
    """The reference page: public, like the document it is drawn from."""
    if current_user.is_authenticated:
        request.helpdesk_user = current_user  # the page in the reader's language, like every other page
    document = current_app.extensions["helpdesk_api"].spec.to_dict()
    page = render_template("api/reference.html", document=document, tags=operations_by_tag(document),
                           schemas=used_schemas(document), scopes=api_tokens.SCOPES,
                           token_prefix=api_tokens.PREFIX)
    return page
