"""The OpenAPI schema as the contract: every error an operation can answer, closed shapes.

A drf-spectacular post-processing hook, run over the whole generated schema, so every endpoint
of every app gets the same treatment without declaring it:

- one `Error` component (`core.api.exceptions.error_body`) and one shared response per error
  status, attached to each operation that can answer it (the rules in `_answers`);
- every response object is closed and complete (`additionalProperties: false`, every property
  required; DRF always renders every declared field): a field the schema does not name, or one
  it names that is missing, is a contract break the fuzzer reports, and the staff and customer
  shapes of a `oneOf` can never both match one object.
"""

ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error has this shape. Some add context, e.g. `allowed` for a 409.",
    "properties": {
        "detail": {"type": "string", "description": "A sentence for a person."},
        "code": {"type": "string", "description": "A stable code for a program."},
        "errors": {
            "type": "object",
            "description": "Messages by field (`non_field_errors` for the request as a whole).",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
        "status": {"type": "string", "description": "409 on a state: the current state."},
        "allowed": {
            "type": "array",
            "items": {"type": "string"},
            "description": "409 on a state: the states it may move to.",
        },
    },
    "required": ["detail", "code", "errors"],
    "additionalProperties": True,
}

# status: (component name, description)
ERRORS = {
    "400": ("BadRequest", "Invalid input: a field, a filter, a page or a header."),
    "401": ("Unauthenticated", "No credentials, or a token that is unknown, revoked or expired."),
    "403": ("Forbidden", "Signed in, but not allowed to do this."),
    "404": ("NotFound", "Not found, or not visible to the caller (the two are not told apart)."),
    "409": (
        "Conflict",
        "Refused by the current state (for a transition, `allowed` lists targets).",
    ),
    "413": ("RequestTooLarge", "The request body is larger than the server accepts."),
    "415": ("UnsupportedMediaType", "The body's Content-Type is not one this operation reads."),
    "422": (
        "IdempotencyKeyReused",
        "The Idempotency-Key was already used for a different request.",
    ),
    "429": ("Throttled", "Too many requests; `Retry-After` says when to try again."),
    "503": ("ServiceUnavailable", "The database cannot be reached; `Retry-After` says when."),
}
RETRY_AFTER = {
    "Retry-After": {
        "schema": {"type": "integer"},
        "description": "Seconds to wait before retrying.",
    }
}
UNSAFE = {"post", "put", "patch", "delete"}
METHODS = UNSAFE | {"get", "head", "options", "trace"}


def _answers(method: str, operation: dict) -> list[str]:
    """The error statuses this operation can answer."""
    params = operation.get("parameters", [])
    # 400 for everything: a NUL character in any path or query is refused before routing.
    codes = ["400", "401", "403", "429", "503"]
    if any(p["in"] == "path" or p["name"] == "page" for p in params):
        codes.append("404")  # a missing object, or a page past the last one
    if method in UNSAFE:
        codes.append("409")
    if "requestBody" in operation:
        codes += ["413", "415"]
    if any(p["in"] == "header" and p["name"] == "Idempotency-Key" for p in params):
        codes += ["409", "422"]  # 409: the same key is still being processed
    return sorted(set(codes))


def _error_response(description: str, code: str) -> dict:
    response = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if code in ("429", "503"):
        response["headers"] = RETRY_AFTER
    return response


def _close_response_objects(schemas: dict) -> None:
    """Response objects carry exactly their documented fields, every one always present."""
    for name, schema in schemas.items():
        if name.endswith("Request") or name == "Error":
            continue  # input may carry fields we ignore; errors may add context
        if schema.get("type") == "object" and "properties" in schema:
            schema.setdefault("additionalProperties", False)
            schema["required"] = sorted(schema["properties"])


def postprocess(result, generator, request, public):
    components = result.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    _close_response_objects(schemas)
    shared = components.setdefault("responses", {})
    for code, (name, description) in ERRORS.items():
        shared[name] = _error_response(description, code)

    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for code in _answers(method, operation):
                responses.setdefault(code, {"$ref": f"#/components/responses/{ERRORS[code][0]}"})
            for code, response in responses.items():
                if code in ERRORS and "content" not in response and "$ref" not in response:
                    # A view's own description (e.g. what its 409 means) with the shared body.
                    body = _error_response(response.get("description", ""), code)
                    responses[code] = {**response, **body}
    return result
