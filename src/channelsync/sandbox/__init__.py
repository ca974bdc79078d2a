"""Faithful fakes of Shopify, WooCommerce, Amazon SP-API, eBay and Magento on loopback.

``Sandbox`` starts them (uvicorn on 127.0.0.1, ephemeral ports or fixed ones from
``port_base``, background threads) for tests, the demo, benchmarks and anyone developing
shop code offline; ``Sandbox.config()`` gives a ``channelsync.toml`` and secrets for them,
and ``control=True`` an HTTP endpoint that places, ships and cancels orders on any fake.
Needs the ``channelsync[sandbox]`` extra.
"""

from channelsync.sandbox._base import CallLog, CallRecord, FakeMarketplace, Faults, WebhookDelivery
from channelsync.sandbox._clock import ManualClock
from channelsync.sandbox._config import SandboxConfig
from channelsync.sandbox._propagation import (
    LatencySummary,
    Propagation,
    PropagationWatcher,
    percentile,
    serve_receiver,
)
from channelsync.sandbox._runner import Sandbox, fake_kinds

__all__ = [
    "CallLog",
    "CallRecord",
    "FakeMarketplace",
    "Faults",
    "LatencySummary",
    "ManualClock",
    "Propagation",
    "PropagationWatcher",
    "Sandbox",
    "SandboxConfig",
    "WebhookDelivery",
    "fake_kinds",
    "percentile",
    "serve_receiver",
]
