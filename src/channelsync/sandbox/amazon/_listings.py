"""Listings Items API 2021-08-01 (get, search, patch) of the fake."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.requests import Request

from channelsync.sandbox._base import request_state
from channelsync.sandbox.amazon._state import (
    MARKETS,
    AmazonState,
    Answer,
    ListingRecord,
    PendingChange,
    csv_values,
    error_answer,
    iso_ms,
    listing_issue,
)

__all__ = ["ListingsApi"]


class ListingsApi(AmazonState):
    """Listings Items API 2021-08-01 (get, search, patch) of the fake."""

    def _item(
        self, listing: ListingRecord, included: set[str], markets: Sequence[str]
    ) -> dict[str, Any]:
        item: dict[str, Any] = {"sku": listing.sku}
        shown = [m for m in markets if m in listing.marketplace_ids] or list(
            listing.marketplace_ids
        )
        if "summaries" in included:
            item["summaries"] = [
                {
                    "marketplaceId": m,
                    "asin": listing.asin,
                    "productType": listing.product_type,
                    "conditionType": "new_new",
                    "status": ["BUYABLE", "DISCOVERABLE"]
                    if (listing.quantity or 0) > 0
                    else ["DISCOVERABLE"],
                    "itemName": listing.title,
                    "createdDate": iso_ms(listing.created),
                    "lastUpdatedDate": iso_ms(listing.updated),
                    **(
                        {"fnSku": "X00" + listing.asin[2:9]}
                        if listing.fulfilled_by == "AMAZON"
                        else {}
                    ),
                }
                for m in shown
            ]
        if "offers" in included:
            item["offers"] = [
                {
                    "marketplaceId": m,
                    "offerType": "B2C",
                    "price": {"currencyCode": MARKETS[m][0], "amount": f"{listing.prices[m]:.2f}"},
                    "audience": {"value": "ALL", "displayName": "Sell on Amazon"},
                }
                for m in shown
                if m in listing.prices
            ]
        if "fulfillmentAvailability" in included:
            code = "DEFAULT" if listing.fulfilled_by == "MERCHANT" else "AMAZON_EU"
            entry: dict[str, Any] = {"fulfillmentChannelCode": code}
            if listing.quantity is not None:
                entry["quantity"] = listing.quantity
            item["fulfillmentAvailability"] = [entry]
        if "issues" in included:
            item["issues"] = []
        return item

    def _seller_ok(self, params: Mapping[str, str]) -> Answer | None:
        if params.get("sellerId") != self.seller_id:
            return error_answer(
                403,
                "Unauthorized",
                "Access to requested resource is denied.",
                "The seller is not authorized for this application.",
            )
        return None

    def _markets(self, query: Mapping[str, str]) -> list[str] | Answer:
        markets = csv_values([query.get("marketplaceIds", "")])
        if not markets:
            return error_answer(400, "BAD_REQUEST", "marketplaceIds is required.")
        unknown = [m for m in markets if m not in self.marketplace_ids]
        if unknown:
            return error_answer(
                400, "BAD_REQUEST", f"Invalid marketplaceIds: {', '.join(unknown)}."
            )
        return markets

    def _op_getListingsItem(  # noqa: N802
        self, params: Mapping[str, str], query: Mapping[str, str], body: Any, request: Request
    ) -> Answer:
        denied = self._seller_ok(params)
        if denied is not None:
            return denied
        markets = self._markets(query)
        if isinstance(markets, tuple):
            return markets
        listing = self._listings.get(params["sku"])
        if listing is None:
            return error_answer(
                404, "NOT_FOUND", f"SKU '{params['sku']}' not found in marketplace {markets[0]}"
            )
        included = set(csv_values([query.get("includedData", "summaries")]))
        return 200, self._item(listing, included, markets), {}

    def _op_searchListingsItems(  # noqa: N802
        self, params: Mapping[str, str], query: Mapping[str, str], body: Any, request: Request
    ) -> Answer:
        denied = self._seller_ok(params)
        if denied is not None:
            return denied
        markets = self._markets(query)
        if isinstance(markets, tuple):
            return markets
        try:
            size = int(query.get("pageSize", "10"))
        except ValueError:
            return error_answer(400, "BAD_REQUEST", "pageSize must be an integer.")
        if not 1 <= size <= 20:
            return error_answer(400, "BAD_REQUEST", "pageSize must be between 1 and 20.")
        sort_by = query.get("sortBy", "lastUpdatedDate")
        descending = query.get("sortOrder", "DESC") == "DESC"
        listings = [
            lst for lst in self._listings.values() if set(markets) & set(lst.marketplace_ids)
        ]
        keyed: dict[str, Callable[[ListingRecord], Any]] = {
            "sku": lambda lst: lst.sku,
            "createdDate": lambda lst: (lst.created, lst.sku),
            "lastUpdatedDate": lambda lst: (lst.updated, lst.sku),
        }
        if sort_by not in keyed:
            return error_answer(400, "BAD_REQUEST", f"sortBy {sort_by} is not supported.")
        listings.sort(key=keyed[sort_by], reverse=descending)
        offset = 0
        token = query.get("pageToken")
        if token:
            try:
                offset = int(base64.urlsafe_b64decode(token.encode()).decode().split(":")[1])
            except (ValueError, IndexError):
                return error_answer(400, "BAD_REQUEST", "The pageToken is not valid.")
        included = set(csv_values([query.get("includedData", "summaries")]))
        chunk = listings[offset : offset + size]
        answer: dict[str, Any] = {
            "numberOfResults": len(listings),
            "items": [self._item(lst, included, markets) for lst in chunk],
        }
        pagination: dict[str, str] = {}
        if offset + size < len(listings):
            pagination["nextToken"] = base64.urlsafe_b64encode(
                f"page:{offset + size}".encode()
            ).decode()
        if offset > 0:
            pagination["previousToken"] = base64.urlsafe_b64encode(
                f"page:{max(0, offset - size)}".encode()
            ).decode()
        if pagination:
            answer["pagination"] = pagination
        request_state(request.scope).items = len(chunk)
        return 200, answer, {}

    def _op_patchListingsItem(  # noqa: N802
        self, params: Mapping[str, str], query: Mapping[str, str], body: Any, request: Request
    ) -> Answer:
        denied = self._seller_ok(params)
        if denied is not None:
            return denied
        markets = self._markets(query)
        if isinstance(markets, tuple):
            return markets
        sku = params["sku"]
        if (
            not isinstance(body, dict)
            or not body.get("productType")
            or not isinstance(body.get("patches"), list)
            or not body["patches"]
        ):
            return error_answer(
                400, "BAD_REQUEST", "Invalid input", "productType and patches are required."
            )
        listing = self._listings.get(sku)
        if listing is None:
            return error_answer(
                400,
                "BAD_REQUEST",
                f"SKU '{sku}' not found in marketplace {markets[0]}",
                "Invalid input",
            )
        preview = query.get("mode") == "VALIDATION_PREVIEW"
        failing = self.take_partial_failure("patchListingsItem")
        issues = self._apply_patches(
            listing, body["patches"], markets, apply=not preview and not failing, later=True
        )
        if failing:
            issues.append(
                listing_issue("5000", "An internal error occurred; resubmit the listing.", [])
            )
        status = "INVALID" if issues else ("VALID" if preview else "ACCEPTED")
        answer: dict[str, Any] = {
            "sku": sku,
            "status": status,
            "submissionId": uuid.uuid4().hex,
            "issues": issues,
        }
        if "identifiers" in csv_values([query.get("includedData", "")]):
            answer["identifiers"] = [{"marketplaceId": m, "asin": listing.asin} for m in markets]
        return 200, answer, {}

    def _apply_patches(
        self,
        listing: ListingRecord,
        patches: list[Any],
        markets: Sequence[str],
        *,
        apply: bool,
        later: bool = False,
    ) -> list[dict[str, Any]]:
        """Validate then apply JSON Patch operations; the issues found (nothing applied then).

        With ``later`` (a ``patchListingsItem``) the accepted changes are applied
        ``patch_apply_delay`` seconds from now, as Amazon processes submissions after
        answering: until then the listing reads as before, and buyers buy what it shows.
        """
        changes: list[Callable[[], None]] = []
        issues: list[dict[str, Any]] = []
        for patch in patches:
            if not isinstance(patch, dict) or patch.get("op") not in (
                "add",
                "replace",
                "merge",
                "delete",
            ):
                issues.append(listing_issue("4000001", "Invalid JSON Patch operation.", []))
                continue
            path, op, value = patch.get("path"), patch["op"], patch.get("value")
            if path == "/attributes/fulfillment_availability":
                if op == "delete":
                    changes.append(lambda: setattr(listing, "quantity", None))
                    continue
                entries = value if isinstance(value, list) else []
                entry = next((e for e in entries if isinstance(e, dict)), None)
                code = entry.get("fulfillment_channel_code") if entry else None
                qty = entry.get("quantity") if entry else None
                if code not in ("DEFAULT", "AMAZON_EU") or (
                    qty is not None
                    and (not isinstance(qty, int) or isinstance(qty, bool) or qty < 0)
                ):
                    issues.append(
                        listing_issue(
                            "90000900",
                            "The attributes are invalid: 'fulfillment_availability' needs a"
                            " fulfillment_channel_code and a whole, non-negative quantity.",
                            ["fulfillment_availability"],
                        )
                    )
                    continue
                if op == "merge" and qty is None:
                    continue

                def set_quantity(q: int | None = qty, c: str = str(code)) -> None:
                    listing.quantity = q
                    listing.fulfilled_by = "MERCHANT" if c == "DEFAULT" else "AMAZON"

                changes.append(set_quantity)
            elif path == "/attributes/purchasable_offer":
                if op == "delete":
                    continue
                for offer in value if isinstance(value, list) else [None]:
                    problem = _offer_problem(offer)
                    if problem is not None:
                        issues.append(listing_issue("90000900", problem, ["purchasable_offer"]))
                        continue
                    assert isinstance(offer, dict)
                    mid = str(offer["marketplace_id"])
                    if mid not in self.marketplace_ids:
                        issues.append(
                            listing_issue(
                                "90000900",
                                f"Marketplace {mid} is not one of the seller's.",
                                ["purchasable_offer"],
                            )
                        )
                        continue
                    if offer["currency"] != MARKETS[mid][0]:
                        issues.append(
                            listing_issue(
                                "90000900",
                                f"Currency {offer['currency']} is not the currency of {mid}.",
                                ["purchasable_offer"],
                            )
                        )
                        continue
                    amount = Decimal(str(offer["our_price"][0]["schedule"][0]["value_with_tax"]))

                    def set_price(m: str = mid, a: Decimal = amount) -> None:
                        listing.prices[m] = a

                    changes.append(set_price)
            elif not isinstance(path, str) or not path.startswith("/attributes/"):
                issues.append(listing_issue("4000001", f"Invalid patch path {path!r}.", []))
            # other attributes are accepted and not modelled by the fake
        if issues or not apply:
            return issues
        if later and self.patch_apply_delay > 0:
            due = self.clock() + timedelta(seconds=self.patch_apply_delay)
            self._pending.append(PendingChange(due, next(self._ids), listing.sku, listing, changes))
            return issues
        for change in changes:
            change()
        listing.updated = self._tick()
        return issues


def _offer_problem(offer: Any) -> str | None:
    if not isinstance(offer, dict) or not offer.get("marketplace_id") or not offer.get("currency"):
        return "purchasable_offer needs marketplace_id and currency."
    try:
        value = offer["our_price"][0]["schedule"][0]["value_with_tax"]
    except (KeyError, IndexError, TypeError):
        return "purchasable_offer needs our_price[0].schedule[0].value_with_tax."
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return "value_with_tax must be a number."
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return "value_with_tax must be a number."
    if not amount.is_finite() or amount <= 0:
        return "value_with_tax must be a positive number."
    return None
