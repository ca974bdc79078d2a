"""Checks the Amazon fake's traffic against Amazon's own published models.

``SpApiModelValidator(folder)`` loads the official Swagger models (Orders 2026-01-01 and
v0, Listings Items 2021-08-01, Feeds 2021-06-30) and the JSON listings feed schemas from a
folder laid out like ``../shared/conformance/amazon`` (``schemas/*.json``). Attached to
``AmazonFake.validator``, it checks every request the fake receives (a request the model
refuses gets the 400 ``InvalidInput`` Amazon would answer) and every response the fake
sends (a response the model refuses is a bug of the fake: it is recorded in ``problems``
for the test to assert on). Needs ``jsonschema`` (a development dependency); the fake
works without any validator.
"""

from __future__ import annotations

import importlib
import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["SpApiModelValidator"]

_MODELS = (
    "orders_2026-01-01.json",
    "ordersV0.json",
    "listingsItems_2021-08-01.json",
    "feeds_2021-06-30.json",
)
_DOCUMENT_SCHEMAS = {
    "listings-feed": "listings-feed-schema-v2.json",
    "listings-feed-message": "listings-feed-message-schema-v2.json",
    "processing-report": "listings-feed-processing-report-schema-v2.json",
    "ORDER_CHANGE": "notifications/OrderChangeNotification.json",
}


class SpApiModelValidator:
    """Validate requests, responses and documents against Amazon's models in ``folder``.

    Args:
        folder: a directory with ``schemas/`` holding the official models (or the
            ``schemas`` directory itself).
    """

    def __init__(self, folder: str | Path) -> None:
        try:
            jsonschema: Any = importlib.import_module("jsonschema")
        except ModuleNotFoundError as exc:  # pragma: no cover - dev dependency
            raise ModuleNotFoundError("SpApiModelValidator needs jsonschema") from exc
        self._jsonschema = jsonschema
        root = Path(folder)
        schemas = root / "schemas" if (root / "schemas").is_dir() else root
        self._ops: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
        for name in _MODELS:
            spec = json.loads((schemas / name).read_text(encoding="utf-8"))
            for methods in spec["paths"].values():
                shared = methods.get("parameters", [])
                for method, op in methods.items():
                    if method == "parameters" or not isinstance(op, dict):
                        continue
                    operation_id = op["operationId"]
                    if operation_id in self._ops and name == "ordersV0.json":
                        continue  # getOrder of 2026-01-01 wins over v0's
                    merged = {**op, "parameters": [*shared, *op.get("parameters", [])]}
                    self._ops[operation_id] = (spec, merged)
        self._documents = {
            kind: jsonschema.Draft7Validator(
                json.loads((schemas / file).read_text(encoding="utf-8"))
            )
            for kind, file in _DOCUMENT_SCHEMAS.items()
        }
        self._validators: dict[int, Any] = {}
        self._order_schema = {"$ref": "#/definitions/Order"}
        self._lock = threading.Lock()
        self.problems: list[str] = []
        self.checked: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"SpApiModelValidator({len(self._ops)} operations, {len(self.problems)} problems)"

    def knows(self, operation: str) -> bool:
        """Whether ``operation`` is in the loaded models."""
        return operation in self._ops

    def _errors(
        self, schema: Mapping[str, Any], definitions: Mapping[str, Any], value: Any
    ) -> list[str]:
        validator = self._validators.get(id(schema))
        if validator is None:
            validator = self._jsonschema.Draft4Validator({**schema, "definitions": definitions})
            self._validators[id(schema)] = validator
        return [
            f"{'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"
            for e in sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        ][:5]

    def _count(self, key: str) -> None:
        with self._lock:
            self.checked[key] = self.checked.get(key, 0) + 1

    def check_request(
        self,
        operation: str,
        *,
        path: Mapping[str, str],
        query: Mapping[str, str],
        body: Any = None,
    ) -> list[str]:
        """What the model finds wrong with a request (empty: valid)."""
        if operation not in self._ops:
            return []
        self._count(f"request:{operation}")
        spec, op = self._ops[operation]
        problems: list[str] = []
        for param in op.get("parameters", []):
            where, name = param.get("in"), param.get("name")
            if where == "body":
                if body is None:
                    if param.get("required"):
                        problems.append("the request body is required")
                    continue
                problems += [
                    f"body {p}" for p in self._errors(param["schema"], spec["definitions"], body)
                ]
                continue
            source = path if where == "path" else query if where == "query" else None
            if source is None:
                continue
            raw = source.get(name)
            if raw is None or raw == "":
                if param.get("required"):
                    problems.append(f"{where} parameter {name} is required")
                continue
            problems += _check_param(param, raw)
        return problems

    def check_response(self, operation: str, status: int, body: Any) -> list[str]:
        """Record (and return) what the model finds wrong with a response of the fake."""
        if operation not in self._ops:
            return []
        self._count(f"response:{operation}")
        spec, op = self._ops[operation]
        response = op.get("responses", {}).get(str(status))
        problems: list[str]
        if response is None:
            problems = [f"status {status} is not a documented response"]
        elif "schema" not in response:
            problems = [] if body in (None, b"", {}, "") else ["a body where the model has none"]
        else:
            problems = self._errors(response["schema"], spec["definitions"], body)
        if problems:
            with self._lock:
                self.problems += [f"{operation} {status}: {p}" for p in problems]
        return problems

    def check_document(self, kind: str, document: Any) -> list[str]:
        """Validate a document (``listings-feed``, ``listings-feed-message``,
        ``processing-report``, ``ORDER_CHANGE``) against its JSON schema (draft 7)."""
        self._count(f"document:{kind}")
        validator = self._documents[kind]
        return [
            f"{'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"
            for e in validator.iter_errors(document)
        ][:5]

    def check_order(self, order: Any) -> list[str]:
        """What the Orders API 2026-01-01 model finds wrong with one ``Order`` (not recorded)."""
        spec, _ = self._ops["getOrder"]
        return self._errors(self._order_schema, spec["definitions"], order)

    def record(self, problems: list[str], where: str) -> None:
        """Add problems found in a document the fake produced."""
        if problems:
            with self._lock:
                self.problems += [f"{where}: {p}" for p in problems]


def _check_param(param: Mapping[str, Any], raw: str) -> list[str]:
    name = param["name"]
    kind = param.get("type")
    if kind == "array":
        values = [v for v in raw.split(",")]
        allowed = param.get("items", {}).get("enum")
        bad = [v for v in values if allowed and v not in allowed]
        problems = [f"{name}: {v!r} is not one of {allowed}" for v in bad]
        if "maxItems" in param and len(values) > param["maxItems"]:
            problems.append(f"{name}: more than {param['maxItems']} values")
        return problems
    if kind == "integer":
        try:
            number = int(raw)
        except ValueError:
            return [f"{name}: {raw!r} is not an integer"]
        problems = []
        if "maximum" in param and number > param["maximum"]:
            problems.append(f"{name}: {number} is above {param['maximum']}")
        if "minimum" in param and number < param["minimum"]:
            problems.append(f"{name}: {number} is below {param['minimum']}")
        return problems
    allowed = param.get("enum")
    if allowed and raw not in allowed:
        return [f"{name}: {raw!r} is not one of {allowed}"]
    return []
