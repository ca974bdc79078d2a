"""The top-level package exports exactly the public names of DESIGN.md, sorted."""

from __future__ import annotations

import inspect

import channelsync as cs


def test_all_is_sorted_and_complete() -> None:
    assert cs.__all__ == sorted(cs.__all__)
    public = {n for n in vars(cs) if not n.startswith("_") and not inspect.ismodule(getattr(cs, n))}
    assert public == set(cs.__all__) - {"__version__"}


def test_design_names_are_there() -> None:
    for name in (
        "open_store",
        "SyncEngine",
        "Rule",
        "Money",
        "Product",
        "Variant",
        "Listing",
        "StockLevel",
        "Order",
        "OrderLine",
        "OrderStatus",
        "Address",
        "Customer",
        "Shipment",
        "Refund",
        "ChannelError",
        "TransientError",
        "RateLimited",
        "Unavailable",
        "PermanentError",
        "AuthError",
        "NotFound",
        "Rejected",
        "Conflict",
        "ItemError",
        "WebhookVerificationError",
        "ConfigError",
    ):
        assert hasattr(cs, name), name
    for method in (
        "set_on_hand",
        "run_once",
        "ship",
        "ingest_webhook",
        "stock",
        "explain",
        "record_order",
        "import_listings",
        "run_forever",
        "plan",
    ):
        assert callable(getattr(cs.SyncEngine, method)), method


def test_error_tree() -> None:
    assert issubclass(cs.RateLimited, cs.TransientError)
    assert issubclass(cs.Unavailable, cs.TransientError)
    assert issubclass(cs.TransientError, cs.ChannelError)
    for cls in (cs.AuthError, cs.NotFound, cs.Rejected, cs.Conflict):
        assert issubclass(cls, cs.PermanentError)
    assert issubclass(cs.PermanentError, cs.ChannelError)
    err = cs.RateLimited(
        "THROTTLED",
        retry_after=2.5,
        channel="shopify-main",
        operation="orders",
        status=429,
        code="THROTTLED",
        request_id="req-1",
        raw=b"x" * 5000,
    )
    assert str(err) == "THROTTLED [shopify-main orders] HTTP 429 code=THROTTLED request_id=req-1"
    assert err.retry_after == 2.5
    assert err.raw is not None
    assert len(err.raw) == 2001
