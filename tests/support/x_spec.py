"""Check requests sent to X against X API v2's own OpenAPI spec (``shared/specs``).

Usage in a test (with the ``responses`` library)::

    spec = load_x_spec_or_skip()        # skips the test when the spec file is absent
    ...
    spec.validate_calls(rsps.calls)     # every request the code sent

What is checked, per request:

- the host is X's API (``api.x.com``; ``api.twitter.com`` is what tweepy uses);
- the path matches one of the spec's path templates, and path parameters fit their schemas;
- the method exists for that path;
- query parameters are declared by the operation, required ones are present, and each value
  (comma-separated for arrays, as X's ``style: form, explode: false``) fits its schema;
- the body: none when the operation takes none; otherwise its content type is one the operation
  accepts, and JSON bodies validate against the requestBody schema (``$ref`` resolved in the
  spec); multipart/url-encoded form fields are validated the same way, with file parts standing
  in as strings (so required field names, unknown fields and enum values are all checked);
- with ``user_auth=True`` (the default): an ``Authorization: OAuth …`` (1.0a user context)
  header, and an operation whose security allows ``UserToken``.

A failed check raises :class:`SpecViolation` (an ``AssertionError``) naming the request.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest
import requests
from jsonschema import Draft4Validator
from referencing import Registry
from referencing.jsonschema import DRAFT4

SPEC_PATH = Path(__file__).resolve().parents[2].parent / "shared" / "specs" / "x-api-v2-openapi-2.159.json"
HOSTS = frozenset({"api.x.com", "api.twitter.com"})
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
_SPEC_URI = "urn:x-api-v2-openapi"
_FILE_PLACEHOLDER = "<file>"


class SpecViolation(AssertionError):
    """A request does not conform to X API v2's OpenAPI spec."""


@dataclass(frozen=True)
class Operation:
    template: str
    method: str
    operation_id: str
    pointer: str  # JSON pointer of the operation object in the spec
    path_params: dict[str, str]


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


class XSpec:
    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.spec = spec
        self._registry: Registry = Registry().with_resource(_SPEC_URI, DRAFT4.create_resource(spec))
        routes = []
        for template in spec["paths"]:
            names = re.findall(r"\{([^}/]+)\}", template)
            pattern = "^" + re.sub(r"\\\{[^}/]+\\\}", "([^/]+)", re.escape(template)) + "$"
            routes.append((len(names), template, re.compile(pattern), names))
        self._routes = sorted(routes, key=lambda r: (r[0], r[1]))  # literal paths before templates

    @classmethod
    def from_file(cls, path: Path = SPEC_PATH) -> XSpec:
        return cls(json.loads(path.read_text(encoding="utf-8")))

    # ---- lookup ---------------------------------------------------------------------------
    def _resolve(self, obj: Any, pointer: str) -> tuple[Any, str]:
        """Follow local ``$ref``s; returns the object and its own JSON pointer."""
        while isinstance(obj, dict) and "$ref" in obj:
            ref = obj["$ref"]
            if not ref.startswith("#/"):
                raise SpecViolation(f"spec uses a non-local $ref {ref!r}")
            pointer = ref[1:]
            obj = self.spec
            for token in pointer.split("/")[1:]:
                obj = obj[token.replace("~1", "/").replace("~0", "~")]
        return obj, pointer

    def _errors(self, instance: Any, schema_pointer: str) -> list[str]:
        validator = Draft4Validator(
            {"$ref": f"{_SPEC_URI}#{quote(schema_pointer, safe='/~')}"}, registry=self._registry
        )
        return sorted(
            f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in validator.iter_errors(instance)
        )

    def match(self, method: str, url: str) -> Operation:
        parts = urlsplit(url)
        if parts.hostname not in HOSTS:
            raise SpecViolation(f"{method} {url}: host {parts.hostname!r} is not X's API ({sorted(HOSTS)})")
        path = unquote(parts.path)
        candidates = [(t, rx.match(path), names) for _, t, rx, names in self._routes]
        matched = [(t, m, names) for t, m, names in candidates if m]
        if not matched:
            raise SpecViolation(f"{method} {path}: no such path in the X API v2 spec")
        problems: list[str] = []
        for template, m, names in matched:
            item_pointer = "/paths/" + _escape(template)
            item = self.spec["paths"][template]
            op = item.get(method.lower())
            if op is None:
                allowed = [x.upper() for x in METHODS if x in item]
                problems.append(f"{template} has no {method.upper()} (only {', '.join(allowed)})")
                continue
            op_pointer = f"{item_pointer}/{method.lower()}"
            values = dict(zip(names, m.groups(), strict=True))
            bad = self._check_params(op, op_pointer, "path", {k: [v] for k, v in values.items()})
            if bad:
                problems.extend(f"{template}: {b}" for b in bad)
                continue
            return Operation(template, method.upper(), str(op.get("operationId", "")), op_pointer, values)
        raise SpecViolation(f"{method} {path}: " + "; ".join(problems))

    # ---- checks ---------------------------------------------------------------------------
    def _parameters(self, op: Mapping[str, Any], op_pointer: str, where: str) -> dict[str, tuple[dict, str]]:
        found: dict[str, tuple[dict, str]] = {}
        for i, raw in enumerate(op.get("parameters", [])):
            param, pointer = self._resolve(raw, f"{op_pointer}/parameters/{i}")
            if param.get("in") == where:
                found[param["name"]] = (param, pointer)
        return found

    def _check_params(
        self, op: Mapping[str, Any], op_pointer: str, where: str, given: Mapping[str, list[str]]
    ) -> list[str]:
        declared = self._parameters(op, op_pointer, where)
        problems = [f"undeclared {where} parameter {n!r}" for n in given if n not in declared]
        problems += [
            f"required {where} parameter {n!r} missing"
            for n, (p, _) in declared.items()
            if p.get("required") and n not in given
        ]
        for name, values in given.items():
            if name not in declared:
                continue
            param, pointer = declared[name]
            schema, schema_pointer = self._resolve(param.get("schema", {}), pointer + "/schema")
            if len(values) > 1 and not param.get("explode", param.get("style", "form") == "form"):
                problems.append(
                    f"{where} parameter {name!r} repeated; the spec wants one comma-separated value"
                )
                continue
            for raw in values:
                value = _coerce(raw, schema)
                problems += [
                    f"{where} parameter {name!r}={raw!r}: {e}" for e in self._errors(value, schema_pointer)
                ]
        return problems

    def validate(self, request: requests.PreparedRequest, *, user_auth: bool = True) -> str:
        """Check one request; returns the operationId. Raises :class:`SpecViolation`."""
        method = str(request.method or "")
        url = str(request.url or "")
        op = self.match(method, url)
        label = f"{method} {op.template}"
        spec_op = self.spec["paths"][op.template][op.method.lower()]

        query = parse_qs(urlsplit(url).query, keep_blank_values=True)
        problems = self._check_params(spec_op, op.pointer, "query", query)

        if user_auth:
            auth = _header(request, "Authorization")
            if not auth.startswith("OAuth ") or "oauth_signature=" not in auth:
                problems.append("no OAuth 1.0a user-context Authorization header")
            schemes = {name for req in spec_op.get("security", []) for name in req}
            if "UserToken" not in schemes:
                problems.append(
                    f"operation does not accept OAuth 1.0a user context (security: {sorted(schemes)})"
                )

        problems += self._check_body(request, spec_op, op.pointer)
        if problems:
            raise SpecViolation(f"{label} ({op.operation_id}): " + "; ".join(problems))
        return op.operation_id

    def _check_body(
        self, request: requests.PreparedRequest, op: Mapping[str, Any], op_pointer: str
    ) -> list[str]:
        body = request.body
        raw = body.encode() if isinstance(body, str) else (body or b"")
        if not isinstance(raw, bytes):
            return ["body is a stream; tests cannot check it"]
        if "requestBody" not in op:
            return [f"the operation takes no body, got {len(raw)} bytes"] if raw else []
        request_body, rb_pointer = self._resolve(op["requestBody"], op_pointer + "/requestBody")
        if not raw:
            return ["request body required"] if request_body.get("required") else []
        content_type = _header(request, "Content-Type")
        media_type = content_type.split(";")[0].strip().lower()
        content = request_body.get("content", {})
        if media_type not in content:
            return [f"content type {media_type or '(none)'!r} not accepted (spec: {sorted(content)})"]
        schema, schema_pointer = self._resolve(
            content[media_type].get("schema", {}), f"{rb_pointer}/content/{_escape(media_type)}/schema"
        )
        if media_type == "application/json" or media_type.endswith("+json"):
            try:
                instance: Any = json.loads(raw)
            except ValueError as exc:
                return [f"body is not JSON ({exc})"]
        elif media_type == "multipart/form-data":
            try:
                instance = self._form_instance(_multipart_fields(content_type, raw), schema)
            except ValueError as exc:
                return [f"multipart body unreadable ({exc})"]
        elif media_type == "application/x-www-form-urlencoded":
            fields = {k: v[-1] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()}
            instance = self._form_instance(fields, schema)
        else:
            return []  # a raw binary body: nothing structured to check
        return [f"body {e}" for e in self._errors(instance, schema_pointer)]

    def _form_instance(self, fields: Mapping[str, str], schema: Mapping[str, Any]) -> dict[str, Any]:
        """Form fields as a JSON instance: integers where the property is a plain integer."""
        props: dict[str, Any] = {}
        for branch in [schema, *schema.get("anyOf", []), *schema.get("oneOf", []), *schema.get("allOf", [])]:
            branch, _ = self._resolve(branch, "")
            props.update(branch.get("properties", {}))
        out: dict[str, Any] = {}
        for name, value in fields.items():
            prop, _ = self._resolve(props.get(name, {}), "")
            out[name] = (
                _coerce(value, prop) if prop.get("type") in ("integer", "number", "boolean") else value
            )
        return out

    def validate_calls(self, calls: Iterable[Any], *, user_auth: bool = True) -> list[str]:
        """Validate every ``responses`` call (its ``.request``); returns their operationIds."""
        return [self.validate(call.request, user_auth=user_auth) for call in calls]


def _header(request: requests.PreparedRequest, name: str) -> str:
    value = request.headers.get(name, "")
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def _coerce(raw: str, schema: Mapping[str, Any]) -> Any:
    kind = schema.get("type")
    if kind == "array":
        item = schema.get("items", {})
        return [_coerce(v, item) for v in raw.split(",")] if raw else []
    if kind == "integer" and re.fullmatch(r"-?\d+", raw):
        return int(raw)
    if kind == "number":
        try:
            return float(raw)
        except ValueError:
            return raw
    if kind == "boolean" and raw in ("true", "false"):
        return raw == "true"
    return raw


def _multipart_fields(content_type: str, raw: bytes) -> dict[str, str]:
    if "boundary=" not in content_type:
        raise ValueError("no boundary in Content-Type")
    message = BytesParser(policy=policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw
    )
    if not message.is_multipart():
        raise ValueError("not multipart")
    fields: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            raise ValueError("a part without a name")
        if part.get_filename() is not None:
            fields[name] = _FILE_PLACEHOLDER
        else:
            payload = part.get_payload(decode=True)
            fields[name] = payload.decode() if isinstance(payload, bytes) else str(payload or "")
    return fields


@cache
def _load(path: Path) -> XSpec:
    return XSpec.from_file(path)


def load_x_spec_or_skip(path: Path = SPEC_PATH) -> XSpec:
    """The spec (parsed once per session); where the file is absent the calling test skips —
    except under CI, where a missing spec is a failure (the spec must be beside the clone)."""
    if not path.is_file():
        why = f"X API v2 OpenAPI spec not found at {path}; request validation needs it"
        if os.environ.get("CI"):
            pytest.fail(f"{why} (CI must run every X test)")
        pytest.skip(why)
    return _load(path)
