"""What the WooCommerce fake's route handlers share: WordPress's argument handling.

Handlers are methods of mixins (``orders_api.OrderRoutes``, ``products_api.ProductRoutes``)
that ``WooCommerceFake`` combines; each is called under the fake's lock with the request,
its body, the route's path parameters and the ASGI scope, and answers a Starlette response
or raises ``WcError``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from channelsync.sandbox.woocommerce.shop import Shop, WcError, invalid_param

__all__ = ["Api"]

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(Z|[+-]\d{2}(?::\d{2})?)?$")


class Api:
    """Argument helpers and the attributes the handlers use (provided by the fake)."""

    shop: Shop
    batch_limit: int
    tracking_extension: bool
    _emit: Callable[[str, int, Mapping[str, Any]], None]
    take_partial_failure: Callable[[str], bool]

    @staticmethod
    def _json_body(body: bytes) -> dict[str, Any]:
        if not body.strip():
            return {}
        try:
            data = json.loads(body)
        except ValueError:
            raise WcError(
                "rest_invalid_json",
                "Invalid JSON body passed.",
                400,
                json_error_code=4,
                json_error_message="Syntax error",
            ) from None
        if not isinstance(data, dict):
            raise WcError("rest_invalid_json", "Invalid JSON body passed.", 400)
        return data

    @staticmethod
    def _int(query: Mapping[str, str], name: str, default: int, low: int, high: int | None) -> int:
        raw = query.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise invalid_param(name, f"{name} is not of type integer.") from None
        if value < low or (high is not None and value > high):
            bound = f" and {high} (inclusive)" if high is not None else ""
            raise invalid_param(name, f"{name} must be between {low} (inclusive){bound}")
        return value

    @staticmethod
    def _enum(query: Mapping[str, str], name: str, default: str, allowed: Sequence[str]) -> str:
        value = query.get(name, default)
        if value not in allowed:
            raise invalid_param(name, f"{name} is not one of {', '.join(allowed)}.")
        return value

    @staticmethod
    def _bool(query: Mapping[str, str], name: str) -> bool:
        raw = query.get(name)
        if raw is None:
            return False
        if raw.lower() in ("1", "true"):
            return True
        if raw.lower() in ("0", "false", ""):
            return False
        raise invalid_param(name, f"{name} is not of type boolean.")

    @staticmethod
    def _ids(query: Any, name: str) -> set[int]:
        """An id list: ``exclude=1,2`` or ``exclude[]=1&exclude[]=2`` (wp_parse_id_list)."""
        values = [*query.getlist(name), *query.getlist(f"{name}[]")]
        ids: set[int] = set()
        for value in values:
            for part in str(value).replace(" ", ",").split(","):
                if part.strip():
                    if not part.strip().isdigit():
                        raise invalid_param(name, f"{name}[0] is not of type integer.")
                    ids.add(int(part))
        return ids

    def _date(self, query: Mapping[str, str], name: str, gmt: bool) -> datetime | None:
        raw = query.get(name)
        if raw is None:
            return None
        if not _DATE.match(raw.strip()):
            raise invalid_param(name, "Invalid date.")
        return self.shop.parse_date(raw, gmt=gmt)

    def _paged(
        self,
        request: Request,
        items: Sequence[Any],
        render: Callable[[Any], dict[str, Any]],
    ) -> Response:
        query = request.query_params
        per_page = self._int(query, "per_page", 10, 1, 100)
        page = self._int(query, "page", 1, 1, None)
        offset = self._int(query, "offset", -1, 0, None)
        start = offset if offset >= 0 else (page - 1) * per_page
        chunk = items[start : start + per_page]
        total = len(items)
        pages = math.ceil(total / per_page) if total else 0
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
        base = str(request.url.replace(query=""))
        args = {k: v for k, v in query.items() if k not in ("consumer_key", "consumer_secret")}
        links = []
        if page > 1:
            links.append(
                f'<{base}?{urlencode({**args, "page": min(page - 1, max(pages, 1))})}>; rel="prev"'
            )
        if pages > page:
            links.append(f'<{base}?{urlencode({**args, "page": page + 1})}>; rel="next"')
        if links:
            headers["Link"] = ", ".join(links)
        return JSONResponse([render(i) for i in chunk], headers=headers)
