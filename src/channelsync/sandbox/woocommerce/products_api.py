"""The WooCommerce fake's product routes: products, variations, batches and settings."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from channelsync.sandbox._base import Scope, request_state
from channelsync.sandbox.woocommerce.api import Api
from channelsync.sandbox.woocommerce.shop import FakeProduct, WcError, invalid_param

__all__ = ["ProductRoutes"]


class ProductRoutes(Api):
    """``/wc/v3/products…`` (with the batch routes) and ``/wc/v3/settings/{group}/{id}``."""

    def _products(
        self, request: Request, body: bytes, params: dict[str, str], scope: Scope
    ) -> Response:
        query = request.query_params
        order = self._enum(query, "order", "desc", ("asc", "desc"))
        orderby = self._enum(
            query,
            "orderby",
            "date",
            ("date", "id", "include", "title", "slug", "price", "popularity", "rating", "modified"),
        )
        kind = query.get("type")
        if kind is not None and kind not in ("simple", "grouped", "external", "variable"):
            raise invalid_param(
                "type", "type is not one of simple, grouped, external, and variable."
            )
        sku = query.get("sku")
        include = self._ids(query, "include")
        found = [
            p
            for p in self.shop.products.values()
            if p.type != "variation"
            and (kind is None or p.type == kind)
            and (sku is None or p.sku in sku.split(","))
            and (not include or p.id in include)
        ]

        def key(p: FakeProduct) -> tuple[Any, ...]:
            if orderby == "date":
                return (p.created, p.id)
            if orderby == "modified":
                return (p.modified, p.id)
            if orderby in ("title", "slug"):
                return (p.name, p.id)
            return (p.id,)

        found.sort(key=key, reverse=order == "desc")
        return self._paged(request, found, self.shop.product_json)

    def _get_product(
        self, request: Request, body: bytes, params: dict[str, str], scope: Scope
    ) -> Response:
        product = self.shop.products.get(int(params["id"]))
        if product is None:
            raise WcError("woocommerce_rest_product_invalid_id", "Invalid ID.", 404)
        if product.type == "variation":
            raise self._variation_via_products()
        return JSONResponse(self.shop.product_json(product))

    @staticmethod
    def _variation_via_products() -> WcError:
        return WcError(
            "woocommerce_rest_invalid_product_id",
            "To manipulate product variations you should use the"
            " /products/&lt;product_id&gt;/variations/&lt;id&gt; endpoint.",
            404,
        )

    def _variations(
        self, request: Request, body: bytes, params: dict[str, str], scope: Scope
    ) -> Response:
        query = request.query_params
        order = self._enum(query, "order", "desc", ("asc", "desc"))
        orderby = self._enum(
            query, "orderby", "date", ("date", "id", "include", "title", "slug", "modified")
        )
        parent = int(params["pid"])
        include = self._ids(query, "include")
        found = [
            p
            for p in self.shop.products.values()
            if p.type == "variation" and p.parent_id == parent and (not include or p.id in include)
        ]
        if orderby == "date":
            found.sort(key=lambda p: (p.created, p.id), reverse=order == "desc")
        else:
            found.sort(key=lambda p: p.id, reverse=order == "desc")
        return self._paged(request, found, self.shop.variation_json)

    def _get_variation(
        self, request: Request, body: bytes, params: dict[str, str], scope: Scope
    ) -> Response:
        variation = self._variation(int(params["pid"]), int(params["id"]), status=404)
        return JSONResponse(self.shop.variation_json(variation))

    def _variation(self, parent_id: int, variation_id: int, *, status: int) -> FakeProduct:
        variation = self.shop.products.get(variation_id)
        if variation is None or variation.type != "variation":
            raise WcError("woocommerce_rest_product_variation_invalid_id", "Invalid ID.", status)
        if variation.parent_id != parent_id:
            raise WcError(
                "woocommerce_rest_cannot_edit",
                "Parent product does not match current variation.",
                403,
            )
        return variation

    def _simple(self, product_id: int) -> FakeProduct:
        product = self.shop.products.get(product_id)
        if product is None:
            raise WcError("woocommerce_rest_product_invalid_id", "Invalid ID.", 400)
        if product.type == "variation":
            raise self._variation_via_products()
        return product

    def _update_product(
        self, request: Request, body: bytes, params: dict[str, str], scope: Scope
    ) -> Response:
        product = self._simple(int(params["id"]))
        self.shop.update_product(product, self._json_body(body))
        payload = self.shop.product_json(product)
        self._emit("product.updated", product.id, payload)
        return JSONResponse(payload)

    def _update_variation(
        self, request: Request, body: bytes, params: dict[str, str], scope: Scope
    ) -> Response:
        variation = self._variation(int(params["pid"]), int(params["id"]), status=400)
        self.shop.update_product(variation, self._json_body(body))
        payload = self.shop.variation_json(variation)
        self._emit("product.updated", variation.id, self.shop.product_json(variation))
        return JSONResponse(payload)

    def _products_batch(
        self, request: Request, body: bytes, params: dict[str, str], scope: Scope
    ) -> Response:
        return self._batch(scope, body, "products/batch", parent=None)

    def _variations_batch(
        self, request: Request, body: bytes, params: dict[str, str], scope: Scope
    ) -> Response:
        return self._batch(scope, body, "variations/batch", parent=int(params["pid"]))

    def _batch(self, scope: Scope, body: bytes, operation: str, *, parent: int | None) -> Response:
        data = self._json_body(body)
        creates = data.get("create") or []
        updates = data.get("update") or []
        deletes = data.get("delete") or []
        for name, value in (("create", creates), ("update", updates), ("delete", deletes)):
            if not isinstance(value, list):
                raise invalid_param(name, f"{name} is not of type array.")
        total = len(creates) + len(updates) + len(deletes)
        request_state(scope).items = total
        if total > self.batch_limit:
            raise WcError(
                "woocommerce_rest_request_entity_too_large",
                f"Unable to accept more than {self.batch_limit} items for this request.",
                413,
            )
        post_type = "product" if parent is None else "product_variation"
        partial = self.take_partial_failure(operation)
        render = self.shop.product_json if parent is None else self.shop.variation_json
        answer: dict[str, list[dict[str, Any]]] = {}
        events: list[tuple[int, dict[str, Any]]] = []

        def failed(item_id: int, error: WcError) -> dict[str, Any]:
            return {"id": item_id, "error": error.body()}

        for item in creates:
            try:
                if not isinstance(item, dict):
                    raise invalid_param("create", "create[0] is not of type object.")
                created = self._create_item(item, parent)
                answer.setdefault("create", []).append(render(created))
            except WcError as exc:
                answer.setdefault("create", []).append(failed(0, exc))
        for position, item in enumerate(updates):
            item_id = item.get("id") if isinstance(item, dict) else None
            if not isinstance(item_id, int) or isinstance(item_id, bool):
                item_id = int(item_id) if isinstance(item_id, str) and item_id.isdigit() else 0
            try:
                if not isinstance(item, dict):
                    raise invalid_param("update", "update[0] is not of type object.")
                target = (
                    self._simple(item_id)
                    if parent is None
                    else self._variation(parent, item_id, status=400)
                )
                if partial and position % 10 == 0:
                    raise WcError(
                        f"woocommerce_rest_{post_type}_not_created",
                        "Deadlock found when trying to get lock; try restarting transaction",
                        400,
                    )
                self.shop.update_product(target, item)
                rendered = render(target)
                answer.setdefault("update", []).append(rendered)
                events.append((target.id, self.shop.product_json(target)))
            except WcError as exc:
                answer.setdefault("update", []).append(failed(item_id, exc))
        for raw_id in deletes:
            try:
                target_id = int(raw_id)
            except (TypeError, ValueError):
                continue
            if target_id == 0:
                continue
            try:
                target = (
                    self._simple(target_id)
                    if parent is None
                    else self._variation(parent, target_id, status=404)
                )
                answer.setdefault("delete", []).append(render(target))
                self._remove(target)
            except WcError as exc:
                answer.setdefault("delete", []).append(failed(target_id, exc))
        for product_id, payload in events:
            self._emit("product.updated", product_id, payload)
        return JSONResponse(answer)

    def _create_item(self, item: dict[str, Any], parent: int | None) -> FakeProduct:
        kind = "variation" if parent is not None else str(item.get("type") or "simple")
        if kind not in ("simple", "variable", "variation", "grouped", "external"):
            kind = "simple"
        if parent is not None and parent not in self.shop.products:
            raise WcError(
                "woocommerce_rest_product_variation_invalid_parent", "Invalid parent product.", 404
            )
        product = self.shop.add_product(
            name=str(item.get("name") or "Product"),
            type=kind,
            parent_id=parent or 0,
        )
        try:
            self.shop.update_product(product, {k: v for k, v in item.items() if k != "type"})
        except WcError:
            self._remove(product)
            raise
        return product

    def _remove(self, product: FakeProduct) -> None:
        self.shop.remove_product(product)

    def _setting(
        self, request: Request, body: bytes, params: dict[str, str], scope: Scope
    ) -> Response:
        if params["group"] != "general":
            raise WcError("rest_setting_setting_group_invalid", "Invalid setting group.", 404)
        if params["id"] != "woocommerce_currency":
            raise WcError("rest_setting_setting_invalid", "Invalid setting.", 404)
        return JSONResponse(
            {
                "id": "woocommerce_currency",
                "label": "Currency",
                "description": "This controls what currency prices are listed at in the catalog"
                " and which currency gateways will take payments in.",
                "type": "select",
                "default": "USD",
                "tip": "This controls what currency prices are listed at in the catalog and which"
                " currency gateways will take payments in.",
                "value": self.shop.currency,
                "group_id": "general",
            }
        )
