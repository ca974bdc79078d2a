"""Magento 2.4 REST payloads as ``GET /V1/orders/{id}`` returns them (field names and shapes
of ``Magento\\Sales\\Api\\Data\\OrderInterface``, ``OrderItemInterface`` and friends)."""

from __future__ import annotations

import copy
from typing import Any


def _item(item_id: int, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "amount_refunded": 0,
        "applied_rule_ids": "",
        "base_amount_refunded": 0,
        "base_discount_amount": 0,
        "base_discount_invoiced": 0,
        "base_original_price": 0,
        "base_price": 0,
        "base_price_incl_tax": 0,
        "base_row_invoiced": 0,
        "base_row_total": 0,
        "base_row_total_incl_tax": 0,
        "base_tax_amount": 0,
        "base_tax_invoiced": 0,
        "created_at": "2024-05-01 09:12:31",
        "discount_amount": 0,
        "discount_invoiced": 0,
        "discount_percent": 0,
        "free_shipping": 0,
        "is_qty_decimal": 0,
        "is_virtual": 0,
        "item_id": item_id,
        "no_discount": 0,
        "order_id": 42,
        "original_price": 0,
        "price": 0,
        "qty_canceled": 0,
        "qty_invoiced": 0,
        "qty_ordered": 1,
        "qty_refunded": 0,
        "qty_shipped": 0,
        "quote_item_id": 900 + item_id,
        "row_total": 0,
        "store_id": 1,
        "tax_amount": 0,
        "tax_percent": 0,
        "updated_at": "2024-05-01 09:12:31",
        "weight": 1,
    }
    base.update(fields)
    return base


#: Order 42: a configurable tee (parent row with the child's SKU, child row), a bundle of a
#: mug and two coasters (parent row, two child rows), and a simple candle; two tees, one
#: bundle, three candles; processing, invoiced, nothing shipped.
ORDER_42: dict[str, Any] = {
    "applied_rule_ids": "",
    "base_currency_code": "EUR",
    "base_discount_amount": -5,
    "base_grand_total": 124.6,
    "base_shipping_amount": 4.9,
    "base_subtotal": 124.7,
    "base_tax_amount": 19.91,
    "base_total_paid": 124.6,
    "base_total_refunded": None,
    "billing_address": {
        "address_type": "billing",
        "city": "Köln",
        "country_id": "DE",
        "email": "erika@example.test",
        "entity_id": 84,
        "firstname": "Erika",
        "lastname": "Mustermann",
        "parent_id": 42,
        "postcode": "51147",
        "region": "Nordrhein-Westfalen",
        "region_code": "NRW",
        "street": ["Heidestrasse 17", "Hinterhaus"],
        "telephone": "+49 221 1234567",
    },
    "created_at": "2024-05-01 09:12:31",
    "customer_email": "erika@example.test",
    "customer_firstname": "Erika",
    "customer_group_id": 1,
    "customer_id": 7,
    "customer_is_guest": 0,
    "customer_lastname": "Mustermann",
    "entity_id": 42,
    "global_currency_code": "EUR",
    "grand_total": 124.6,
    "increment_id": "000000042",
    "order_currency_code": "EUR",
    "state": "processing",
    "status": "processing",
    "store_currency_code": "EUR",
    "store_id": 1,
    "total_qty_ordered": 9,
    "updated_at": "2024-05-01 09:14:02",
    "items": [
        _item(
            1,
            product_id=11,
            product_type="configurable",
            sku="TEE-M",
            name="Organic Tee",
            qty_ordered=2,
            qty_invoiced=2,
            price=24.9,
            base_price=24.9,
            base_row_total=49.8,
            base_tax_amount=7.95,
            base_discount_amount=5,
            product_option={
                "extension_attributes": {
                    "configurable_item_options": [{"option_id": "93", "option_value": 5501}]
                }
            },
        ),
        _item(
            2,
            product_id=12,
            product_type="simple",
            sku="TEE-M",
            name="Organic Tee-M",
            parent_item_id=1,
            qty_ordered=2,
            qty_invoiced=2,
        ),
        _item(
            3,
            product_id=20,
            product_type="bundle",
            sku="GIFT-SET-MUG-COASTER",
            name="Gift set",
            qty_ordered=1,
            qty_invoiced=1,
            price=39.9,
            base_price=39.9,
            base_row_total=39.9,
            base_tax_amount=6.37,
        ),
        _item(
            4,
            product_id=21,
            product_type="simple",
            sku="MUG",
            name="Mug",
            parent_item_id=3,
            qty_ordered=1,
            qty_invoiced=1,
        ),
        _item(
            5,
            product_id=22,
            product_type="simple",
            sku="COASTER",
            name="Coaster",
            parent_item_id=3,
            qty_ordered=2,
            qty_invoiced=2,
        ),
        _item(
            6,
            product_id=30,
            product_type="simple",
            sku="CANDLE",
            name="Candle",
            qty_ordered=3,
            qty_invoiced=3,
            price=11.6667,
            base_price=11.6667,
            base_row_total=35,
            base_tax_amount=5.59,
        ),
    ],
    "payment": {
        "account_status": None,
        "additional_information": ["Check / Money order"],
        "amount_ordered": 124.6,
        "base_amount_ordered": 124.6,
        "entity_id": 42,
        "method": "checkmo",
        "parent_id": 42,
    },
    "status_histories": [],
    "extension_attributes": {
        "shipping_assignments": [
            {
                "shipping": {
                    "address": {
                        "address_type": "shipping",
                        "city": "Bonn",
                        "company": "Muster GmbH",
                        "country_id": "DE",
                        "firstname": "Max",
                        "lastname": "Mustermann",
                        "postcode": "53111",
                        "street": ["Am Markt 1"],
                        "telephone": "+49 228 7654321",
                    },
                    "method": "flatrate_flatrate",
                    "total": {"base_shipping_amount": 4.9, "shipping_amount": 4.9},
                },
                "items": [],
            }
        ],
        "payment_additional_info": [{"key": "method_title", "value": "Check / Money order"}],
    },
}


def order_42(**changes: Any) -> dict[str, Any]:
    """A deep copy of ``ORDER_42`` with top-level ``changes``."""
    order = copy.deepcopy(ORDER_42)
    order.update(changes)
    return order
