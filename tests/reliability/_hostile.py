"""A targeted pass over every operation of the served OpenAPI document with the values a
hostile caller sends (issue #13), where random fuzzing rarely goes: NUL characters,
integers past 32 and 64 bits, crafted cursors, oversize bodies, numbers for dates.

For each operation it builds one plausible request (the caller's tenant in ``{tenant}``,
the smallest valid value for every other parameter and required body field, from the
schema) and then sends it again with one value at a time replaced by each hostile one.
Every answer must be below 500, and every 4xx a problem document carrying the request id
and the security headers.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

NUL = "a\x00b"
BIG_INTS: tuple[int, ...] = (2**31, 2**63, -(2**63) - 1, 10**30)


def _cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode().rstrip("=")


CURSORS = (
    _cursor(2**63),
    _cursor(2**64 + 1),
    _cursor(-1),
    _cursor(1e308),
    _cursor("x\x00"),
    _cursor(None, None),
    _cursor({"a": 1}),
    "not-base64!!",
    "A" * 5000,
)
HOSTILE_STRINGS: tuple[Any, ...] = (NUL, "\x00", 2**63, "12345")
OVERSIZE = 2 * 1024 * 1024 + 17


@dataclass
class Finding:
    operation: str
    what: str
    status: int
    detail: str


@dataclass
class Report:
    requests: int = 0
    findings: list[Finding] = field(default_factory=list)


class Schema:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        seen = 0
        while "$ref" in schema and seen < 20:
            target: Any = self.document
            for part in schema["$ref"].lstrip("#/").split("/"):
                target = target[part]
            schema, seen = target, seen + 1
        return schema

    def example(self, schema: dict[str, Any], depth: int = 0) -> Any:
        """The smallest value the schema accepts, as far as a plain reading tells."""
        schema = self.resolve(schema)
        if depth > 6:
            return None
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = [self.resolve(o) for o in schema[key]]
                chosen = next((o for o in options if o.get("type") != "null"), options[0])
                return self.example(chosen, depth + 1)
        if "allOf" in schema:
            return self.example(schema["allOf"][0], depth + 1)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return schema["enum"][0]
        if "default" in schema and schema["default"] is not None:
            return schema["default"]
        kind = schema.get("type")
        fmt = schema.get("format", "")
        if kind == "string":
            if fmt == "uuid":
                return str(uuid.uuid4())
            if fmt == "date-time":
                return "2030-01-02T03:04:05Z"
            if fmt == "date":
                return "2030-01-02"
            if fmt == "email":
                return "someone@example.com"
            return "x" * max(1, int(schema.get("minLength", 1)))
        if kind == "integer":
            return int(schema.get("minimum", 1))
        if kind == "number":
            return float(schema.get("minimum", 1))
        if kind == "boolean":
            return False
        if kind == "array":
            least = int(schema.get("minItems", 0))
            return [self.example(schema.get("items", {}), depth + 1) for _ in range(least)]
        if kind == "object" or "properties" in schema:
            props = schema.get("properties", {})
            return {
                name: self.example(props[name], depth + 1)
                for name in schema.get("required", [])
                if name in props
            }
        return "x"


@dataclass
class Operation:
    method: str
    path: str
    params: list[dict[str, Any]]
    body_schema: dict[str, Any] | None
    content_type: str | None

    @property
    def name(self) -> str:
        return f"{self.method.upper()} {self.path}"


def operations(document: dict[str, Any], excluded: tuple[str, ...]) -> Iterator[Operation]:
    for path, item in document["paths"].items():
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            if f"{method.upper()} {path}" in excluded:
                continue
            content = op.get("requestBody", {}).get("content", {})
            content_type = next(iter(content), None)
            schema = content[content_type].get("schema") if content_type else None
            yield Operation(method, path, op.get("parameters", []), schema, content_type)


def _check(report: Report, op: Operation, what: str, response: httpx.Response) -> None:
    report.requests += 1
    problem = ""
    if response.status_code >= 500:
        problem = "server error"
    elif response.status_code >= 400:
        if not response.headers.get("content-type", "").startswith("application/problem+json"):
            problem = "4xx without a problem document"
        elif not response.headers.get("x-request-id") or not response.headers.get(
            "content-security-policy"
        ):
            problem = "4xx without the request id or the security headers"
        elif response.json().get("request_id") != response.headers["x-request-id"]:
            problem = "problem document without the request id"
    if problem:
        report.findings.append(
            Finding(op.name, what, response.status_code, f"{problem}: {response.text[:300]}")
        )


def run(base: str, token: str, tenant: str, excluded: tuple[str, ...]) -> Report:
    report = Report()
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        document = client.get("/api/v1/openapi.json").json()
        schema = Schema(document)
        for op in operations(document, excluded):
            _hostile_requests(client, schema, op, tenant, report)
    return report


def _hostile_requests(
    client: httpx.Client, schema: Schema, op: Operation, tenant: str, report: Report
) -> None:
    path_values: dict[str, Any] = {}
    query: dict[str, Any] = {}
    for param in op.params:
        value = tenant if param["name"] == "tenant" else schema.example(param.get("schema", {}))
        if param["in"] == "path":
            path_values[param["name"]] = value
        elif param["in"] == "query" and param.get("required"):
            query[param["name"]] = value
    body = schema.example(op.body_schema) if op.body_schema else None
    is_json = op.content_type == "application/json"

    def send(what: str, path: dict[str, Any], q: dict[str, Any], b: Any, **kw: Any) -> None:
        url = op.path
        for name, value in path.items():
            url = url.replace("{" + name + "}", quote(str(value), safe=""))
        extra: dict[str, Any] = dict(kw)
        if "content" not in extra and b is not None:
            if is_json:
                extra["json"] = b
            elif op.content_type == "multipart/form-data":
                extra["files"] = {"file": ("x.csv", b"name,email\n", "text/csv")}
        try:
            response = client.request(op.method, url, params=q, **extra)
        except httpx.HTTPError as exc:
            report.findings.append(Finding(op.name, what, 0, f"no answer: {exc!r}"))
            return
        _check(report, op, what, response)

    # The tenant segment, then every other path parameter.
    for name in path_values:
        for value in (NUL, 2**63):
            send(f"path {name}={value!r}", {**path_values, name: value}, query, body)
    # Every query parameter.
    for param in op.params:
        if param["in"] != "query":
            continue
        name = param["name"]
        values: tuple[Any, ...] = CURSORS if name == "cursor" else (*HOSTILE_STRINGS, *BIG_INTS)
        for value in values:
            send(f"query {name}={str(value)[:40]!r}", path_values, {**query, name: value}, body)
    # Every top-level field of a JSON body, and the body as a whole.
    if is_json and isinstance(body, dict) and op.body_schema is not None:
        props = schema.resolve(op.body_schema).get("properties", {})
        for name in props:
            for value in (NUL, *BIG_INTS, [NUL], {"k": NUL}):
                send(f"body {name}={str(value)[:40]!r}", path_values, query, {**body, name: value})
    if op.method in ("post", "put", "patch"):
        oversize = b'{"x": "' + b"y" * OVERSIZE + b'"}'
        send(
            "oversize body",
            path_values,
            query,
            None,
            content=oversize,
            headers={"content-type": op.content_type or "application/json"},
        )
