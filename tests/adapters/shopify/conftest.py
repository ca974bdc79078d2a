"""Fixtures of the Shopify adapter tests: one sandbox for the folder, reset per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from graphql import (
    DirectiveLocation,
    GraphQLArgument,
    GraphQLDirective,
    GraphQLNonNull,
    GraphQLSchema,
    GraphQLString,
    build_client_schema,
    specified_directives,
)
from tests.conftest import load_conformance

from channelsync.adapters.shopify import ShopifyChannel
from channelsync.sandbox import Sandbox
from channelsync.sandbox.shopify import ShopifyFake

#: Fast enough that tests never wait for the bucket unless they set a plan themselves.
FAST_PLAN = {"bucket_size": 1_000_000, "restore_rate": 1_000_000}


@pytest.fixture(scope="session")
def shopify_sandbox() -> Iterator[Sandbox]:
    """The Shopify fake on loopback, shared by the folder."""
    with Sandbox(channels=["shopify"]) as sb:
        yield sb


@pytest.fixture
def fake(shopify_sandbox: Sandbox) -> Iterator[ShopifyFake]:
    """The Shopify fake, emptied, on a plan that never throttles."""
    shop: ShopifyFake = shopify_sandbox.shopify
    shop.reset()
    shop.set_plan(**FAST_PLAN)
    shop.client_timeout = 10.0
    yield shop
    shop.flush_webhooks()
    shop.reset()


@pytest.fixture
def channel(fake: ShopifyFake) -> Iterator[ShopifyChannel]:
    """A ``ShopifyChannel`` aimed at the fake."""
    ch: ShopifyChannel = fake.channel(account="shopify-main")
    yield ch
    ch.close()


#: Types the published subset names without describing, with the fields the adapter reads
#: (from the 2025-01 reference: ``QueryRoot.shop``, ``Shop.currencyCode``, ``Customer``).
STUBS = {
    "Customer": {"id": "ID!", "displayName": "String!"},
    "Shop": {"currencyCode": "CurrencyCode!"},
}


def _field(type_ref: str) -> dict[str, Any]:
    name = type_ref.rstrip("!")
    ref: dict[str, Any] = {
        "kind": "OBJECT" if name in STUBS else "SCALAR",
        "name": name,
        "ofType": None,
    }
    if name == "CurrencyCode":
        ref["kind"] = "ENUM"
    if type_ref.endswith("!"):
        ref = {"kind": "NON_NULL", "name": None, "ofType": ref}
    return ref


@pytest.fixture(scope="session")
def published_schema() -> GraphQLSchema:
    """Shopify's published 2025-01 Admin schema subset, buildable (see the stubs above)."""
    data = load_conformance("shopify", "schemas/admin-graphql-2025-01.introspection-subset.json")
    schema = data["data"]["__schema"]
    types = {t["name"]: t for t in schema["types"]}

    def named(ref: dict[str, Any]) -> str:
        while ref.get("ofType"):
            ref = ref["ofType"]
        return str(ref["name"])

    for name, fields in STUBS.items():
        types[name] = {
            "kind": "OBJECT",
            "name": name,
            "description": None,
            "fields": [
                {
                    "name": f,
                    "description": None,
                    "args": [],
                    "type": _field(t),
                    "isDeprecated": False,
                    "deprecationReason": None,
                }
                for f, t in fields.items()
            ],
            "inputFields": None,
            "interfaces": [],
            "enumValues": None,
            "possibleTypes": None,
        }
    types["QueryRoot"]["fields"].append(
        {
            "name": "shop",
            "description": None,
            "args": [],
            "type": _field("Shop!"),
            "isDeprecated": False,
            "deprecationReason": None,
        }
    )
    missing: set[str] = set()
    for t in types.values():
        if t.get("interfaces"):
            t["interfaces"] = [i for i in t["interfaces"] if named(i) in types]
        for f in t.get("fields") or []:
            if named(f["type"]) not in types:
                missing.add(named(f["type"]))
    for name in missing:  # referenced by name only: opaque, selecting into them fails
        types[name] = {
            "kind": "SCALAR",
            "name": name,
            "description": None,
            "fields": None,
            "inputFields": None,
            "interfaces": None,
            "enumValues": None,
            "possibleTypes": None,
        }
    schema["types"] = list(types.values())
    built = build_client_schema(data["data"])
    # The subset was exported without directives; @idempotent arrived in 2026-01.
    idempotent = GraphQLDirective(
        "idempotent",
        [DirectiveLocation.FIELD],
        {"key": GraphQLArgument(GraphQLNonNull(GraphQLString))},
    )
    kwargs = built.to_kwargs()
    kwargs["directives"] = (*specified_directives, idempotent)
    return GraphQLSchema(**kwargs)
