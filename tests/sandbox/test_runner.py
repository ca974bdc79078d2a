"""The Sandbox runner and what every fake shares: ports, faults, call log, webhooks."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import channelsync as cs
from channelsync.sandbox import FakeMarketplace, Sandbox
from channelsync.sandbox._base import request_state
from channelsync.sandbox._runner import FakeServer


class EchoFake(FakeMarketplace):
    """The smallest fake: one batch route that honours partial_failure."""

    name = "echo"

    def build_app(self) -> Any:
        async def batch(request: Request) -> JSONResponse:
            items = (await request.json())["items"]
            request_state(request.scope).items = len(items)
            if self.take_partial_failure("batch"):
                return JSONResponse({"ok": items[1:], "failed": items[:1]})
            return JSONResponse({"ok": items, "failed": []})

        return Starlette(routes=[Route("/batch", batch, methods=["POST"])])

    def operation_for(self, method: str, path: str, headers: Any, body: bytes) -> str:
        return path.strip("/")


@pytest.fixture
def echo() -> Iterator[EchoFake]:
    fake = EchoFake()
    server = FakeServer(fake)
    server.start()
    yield fake
    server.stop()


def post(fake: EchoFake, items: list[int], timeout: float = 5.0) -> httpx.Response:
    return httpx.post(f"{fake.url}/batch", json={"items": items}, timeout=timeout)


def test_calls_are_logged_per_operation_with_batch_size(echo: EchoFake) -> None:
    post(echo, [1, 2, 3])
    post(echo, [4])
    assert echo.calls["batch"] == 2
    assert echo.calls["other"] == 0
    assert [r.items for r in echo.calls.records("batch")] == [3, 1]
    assert echo.calls.total == 2


def test_throttle_and_server_error_are_injected_a_number_of_times(echo: EchoFake) -> None:
    echo.inject("throttle", times=2)
    echo.inject("server_error")
    assert [post(echo, [1]).status_code for _ in range(4)] == [429, 429, 503, 200]
    assert [r.fault for r in echo.calls.records()] == ["throttle", "throttle", "server_error", None]


def test_faults_can_target_one_operation(echo: EchoFake) -> None:
    echo.inject("server_error", operation="elsewhere")
    assert post(echo, [1]).status_code == 200
    assert echo.faults.pending() == 1


def test_partial_failure_is_left_to_the_batch_route(echo: EchoFake) -> None:
    echo.inject("partial_failure")
    assert post(echo, [1, 2, 3]).json() == {"ok": [2, 3], "failed": [1]}
    assert post(echo, [1, 2, 3]).json() == {"ok": [1, 2, 3], "failed": []}


def test_timeout_does_the_work_but_answers_too_late(echo: EchoFake) -> None:
    echo.client_timeout = 0.3
    echo.inject("timeout")
    with pytest.raises(httpx.ReadTimeout):
        post(echo, [1], timeout=0.3)
    assert echo.calls.records("batch")[0].status == 200  # processed all the same


def test_latency_is_added(echo: EchoFake) -> None:
    echo.inject("latency", seconds=0.3)
    started = time.monotonic()
    post(echo, [1])
    assert time.monotonic() - started >= 0.3


def test_unknown_fault_is_refused(echo: EchoFake) -> None:
    with pytest.raises(ValueError, match="unknown fault 'flood'"):
        echo.inject("flood")  # type: ignore[arg-type]


def test_webhooks_go_to_callables_and_urls(echo: EchoFake) -> None:
    got: list[tuple[dict[str, str], bytes]] = []
    echo.subscribe(lambda headers, body: got.append((headers, body)))
    echo.subscribe(f"{echo.url}/batch")  # a receiver that fails (500): logged, not raised
    echo.send_webhook("orders/create", {"X-Topic": "orders/create"}, b'{"id": 1}')
    echo.flush_webhooks()
    assert got == [({"X-Topic": "orders/create"}, b'{"id": 1}')]
    assert sorted(d.status or 0 for d in echo.deliveries) == [200, 500]


def test_sandbox_starts_every_plugin_fake_on_loopback() -> None:
    with Sandbox() as sb:
        urls = sb.urls
        assert sorted(urls) == ["amazon", "ebay", "magento", "shopify", "woocommerce"]
        assert all(u.startswith("http://127.0.0.1:") for u in urls.values())
        assert len(set(urls.values())) == 5
        kinds = {name: fake.channel(account=f"{name}-t").kind for name, fake in sb.fakes.items()}
        assert kinds == {
            "shopify": "shopify",
            "woocommerce": "woocommerce",
            "amazon": "amazon",
            "ebay": "ebay",
            "magento": "magento",
        }
    for url in urls.values():
        with pytest.raises(httpx.ConnectError):
            httpx.get(url, timeout=1)


def test_sandbox_subset_and_unknown_names() -> None:
    with Sandbox(channels=["woocommerce"]) as sb:
        assert list(sb.urls) == ["woocommerce"]
        with pytest.raises(cs.ConfigError, match="the shopify fake is not running"):
            _ = sb.shopify
    with pytest.raises(cs.ConfigError, match="no sandbox fake for 'etsy'"):
        Sandbox(channels=["etsy"])


def test_every_fake_offers_the_same_surface() -> None:
    with Sandbox() as sb:
        for name, fake in sb.fakes.items():
            sku = f"RUN-{name}"
            fake.seed_listing(sku, quantity=5, price="9.99", title="Tasse")
            assert fake.quantity(sku) == 5, name
            order_id = fake.place_order(sku, 2)
            assert order_id, name
            assert fake.quantity(sku) == 3, name
