"""The sandbox's control endpoint, fixed ports, its configuration files and webhook routing."""

from __future__ import annotations

import json
import socket
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.sandbox.ports import free_port_base

import channelsync as cs
from channelsync.config import load_config
from channelsync.sandbox import Sandbox


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(channels=["shopify", "woocommerce", "ebay"], control=True) as sandbox:
        sandbox.seed_listing("MUG-1", quantity=40, price="12.50")
        yield sandbox


def _post(sb: Sandbox, path: str, body: object = None) -> httpx.Response:
    return httpx.post(f"{sb.control_url}{path}", json=body, timeout=60)


def test_index_lists_the_fakes_and_the_routes(sb: Sandbox) -> None:
    answer = httpx.get(str(sb.control_url), timeout=10).json()
    assert answer["fakes"]["shopify"] == {"url": sb.shopify.url, "account": "shopify-main"}
    assert answer["fakes"]["woocommerce"]["account"] == "woo-main"
    assert {(r["method"], r["path"]) for r in answer["routes"]} >= {
        ("POST", "/fakes/{kind}/orders"),
        ("POST", "/fakes/{kind}/orders/{order_id}/ship"),
        ("POST", "/fakes/{kind}/orders/{order_id}/cancel"),
    }


@pytest.mark.parametrize("kind", ["shopify", "woocommerce", "ebay"])
def test_orders_placed_shipped_and_cancelled_on_each_fake(sb: Sandbox, kind: str) -> None:
    fake = sb.fakes[kind]
    sku = f"CTL-{kind}"
    put = httpx.put(
        f"{sb.control_url}/fakes/{kind}/listings/{sku}", json={"quantity": 10}, timeout=10
    )
    assert put.status_code == 200
    assert put.json() == {"sku": sku, "quantity": 10}
    placed = _post(sb, f"/fakes/{kind}/orders", {"sku": sku, "qty": 3})
    assert placed.status_code == 201
    assert placed.json()["quantity"] == 7 == fake.quantity(sku)
    shipped = _post(sb, f"/fakes/{kind}/orders/{placed.json()['order_id']}/ship", {})
    assert shipped.status_code == 200, shipped.text
    assert shipped.json()["shipped"] is True
    second = _post(sb, f"/fakes/{kind}/orders", {"sku": sku, "qty": 2}).json()
    assert fake.quantity(sku) == 5
    cancelled = _post(sb, f"/fakes/{kind}/orders/{second['order_id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert fake.quantity(sku) == 7  # the two cancelled units are back, the three shipped not
    listing = httpx.get(f"{sb.control_url}/fakes/{kind}/listings/{sku}", timeout=10)
    assert listing.json() == {"sku": sku, "quantity": 7}


def test_a_shipment_reaches_the_order_with_its_tracking_number(sb: Sandbox) -> None:
    order_id = _post(sb, "/fakes/shopify/orders", {"sku": "MUG-1"}).json()["order_id"]
    _post(
        sb, f"/fakes/shopify/orders/{order_id}/ship", {"carrier": "UPS", "tracking_number": "1Z9"}
    )
    order = sb.shopify.order(order_id)
    assert order["fulfillment_status"] == "fulfilled"
    assert [(f["tracking_company"], f["tracking_number"]) for f in order["fulfillments"]] == [
        ("UPS", "1Z9")
    ]


def test_refusals_name_what_is_wrong(sb: Sandbox) -> None:
    def error(response: httpx.Response) -> tuple[int, str]:
        return response.status_code, response.json()["error"]

    assert error(_post(sb, "/fakes/etsy/orders", {"sku": "MUG-1"})) == (
        404,
        "no 'etsy' fake runs in this sandbox (running: ebay, shopify, woocommerce)",
    )
    assert error(_post(sb, "/fakes/shopify/orders", {"sku": "NOPE"})) == (
        404,
        "'NOPE' is not listed on the shopify fake",
    )
    assert error(_post(sb, "/fakes/shopify/orders", {"sku": "MUG-1", "qty": 0})) == (
        400,
        "'qty' must be a whole number of at least 1",
    )
    assert error(_post(sb, "/fakes/shopify/orders", ["MUG-1"])) == (
        400,
        "the body must be a JSON object",
    )
    assert error(_post(sb, "/fakes/shopify/faults", {"fault": "meteor"}))[0] == 400
    status, message = error(_post(sb, "/fakes/woocommerce/orders/999999/cancel"))
    assert (status, message.split(":")[0]) == (
        404,
        "the woocommerce fake refused order '999999'",
    )
    # A completed order cannot be cancelled on WooCommerce: the fake says so (409).
    order_id = _post(sb, "/fakes/woocommerce/orders", {"sku": "MUG-1"}).json()["order_id"]
    _post(sb, f"/fakes/woocommerce/orders/{order_id}/ship", {})
    status, message = error(_post(sb, f"/fakes/woocommerce/orders/{order_id}/cancel"))
    assert status == 409
    assert "refund it instead of cancelling" in message


def test_faults_are_queued_through_the_endpoint(sb: Sandbox) -> None:
    answer = _post(sb, "/fakes/ebay/faults", {"fault": "throttle", "times": 2})
    assert answer.json() == {"fault": "throttle", "times": 2, "pending": 2}
    sb.ebay.faults.clear()


def test_port_base_gives_the_same_urls_on_every_start() -> None:
    base = free_port_base()
    urls = []
    for _ in range(2):
        with Sandbox(channels=["woocommerce", "shopify"], port_base=base, control=True) as sb:
            urls.append((sb.control_url, sb.urls))
    assert urls[0] == urls[1]
    assert urls[0] == (
        f"http://127.0.0.1:{base}",
        {"woocommerce": f"http://127.0.0.1:{base + 5}", "shopify": f"http://127.0.0.1:{base + 4}"},
    )


def test_an_installed_adapters_fake_moves_no_built_in_port() -> None:
    from channelsync.sandbox._runner import _port_offsets

    built_in = ["amazon", "ebay", "magento", "shopify", "woocommerce"]
    assert _port_offsets(built_in) == {
        "amazon": 1,
        "ebay": 2,
        "magento": 3,
        "shopify": 4,
        "woocommerce": 5,
        "(sqs)": 6,
    }
    with_plugins = _port_offsets(["zeta", "acme", *built_in])
    assert (with_plugins["acme"], with_plugins["zeta"], with_plugins["shopify"]) == (7, 8, 4)


def test_port_base_refusals() -> None:
    with pytest.raises(cs.ConfigError, match=r"port_base 80 needs ports 80\.\.86: choose"):
        Sandbox(port_base=80)
    with pytest.raises(cs.ConfigError, match="port_base must be an int"):
        Sandbox(port_base="9000")  # type: ignore[arg-type]
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        port = taken.getsockname()[1]
        with pytest.raises(cs.ConfigError, match=f"127.0.0.1:{port} .*another port base"):
            Sandbox(channels=["magento"], port_base=port - 3).start()
    finally:
        taken.close()


def test_written_config_loads_and_reaches_the_fakes(sb: Sandbox, tmp_path: Path) -> None:
    config = sb.write_config(tmp_path / "sb", store_url=f"sqlite:///{tmp_path}/s.db")
    folder = tmp_path / "sb"
    names = sorted(p.name for p in folder.iterdir())
    assert names == [
        "channelsync.secrets.toml",
        "channelsync.toml",
        "sandbox.env",
        "sandbox.json",
    ]
    for private in ("channelsync.secrets.toml", "sandbox.env", "sandbox.json"):
        assert stat.S_IMODE((folder / private).stat().st_mode) == 0o600
    assert sb.shopify.access_token not in (folder / "channelsync.toml").read_text()
    env = (folder / "sandbox.env").read_text()
    assert f"export CHANNELSYNC_SANDBOX_URL='{sb.control_url}'" in env
    assert f"export CHANNELSYNC_SANDBOX_SHOPIFY_URL='{sb.shopify.url}'" in env
    assert json.loads((folder / "sandbox.json").read_text())["toml"] == config.toml
    loaded = load_config(folder / "channelsync.toml", environ={})
    channels = {c.account: c for c in loaded.build_channels()}
    try:
        assert sorted(channels) == ["ebay-de", "shopify-main", "woo-main"]
        skus = {listing.sku for listing in channels["shopify-main"].fetch_listings()}
        assert "MUG-1" in skus
    finally:
        for channel in channels.values():
            channel.close()


def test_subscribe_sends_every_fakes_webhooks_to_its_account_route(sb: Sandbox) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    got: list[tuple[str, str]] = []
    arrived = threading.Event()

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", 0)))
            got.append((self.path, self.headers.get("X-Shopify-Topic", "")))
            self.send_response(200)
            self.end_headers()
            arrived.set()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        sb.subscribe(f"http://127.0.0.1:{server.server_address[1]}/webhooks/")
        sb.shopify.place_order("MUG-1", 1)
        assert arrived.wait(30)
        assert got[0] == ("/webhooks/shopify-main", "orders/create")
        with pytest.raises(cs.ConfigError, match="http"):
            sb.subscribe("127.0.0.1:8080")
    finally:
        for fake in sb.fakes.values():
            fake.flush_webhooks()
            fake.unsubscribe_all()
        server.shutdown()
        server.server_close()


def test_sandbox_webhooks_reach_a_receiver_built_from_its_config(tmp_path: Path) -> None:
    """`channelsync sandbox --webhooks` with `channelsync worker --webhooks` on its files:
    an order placed through the control endpoint is verified and committed in the store."""
    from channelsync.sandbox._runner import AppServer
    from channelsync.webhooks import create_app

    with Sandbox(channels=["shopify", "woocommerce"], control=True) as sb:
        sb.seed_listing("MUG-1", quantity=40, price="12.50")
        sb.write_config(tmp_path, store_url=f"sqlite:///{tmp_path / 'store.db'}")
        config = load_config(tmp_path / "channelsync.toml", environ={})
        engine = cs.SyncEngine(
            cs.open_store(config.store_url), config.build_channels(), rules=config.rules()
        )
        changed = threading.Event()
        remove = engine.store.on_commit(lambda _accounts: changed.set())
        receiver = AppServer(create_app(engine, threads=2), "webhook receiver")
        try:
            engine.set_on_hand("MUG-1", 40)
            sb.subscribe(f"{receiver.start()}/webhooks")
            for kind, qty in (("shopify", 2), ("woocommerce", 3)):
                placed = _post(sb, f"/fakes/{kind}/orders", {"sku": "MUG-1", "qty": qty})
                assert placed.status_code == 201
            deadline = time.monotonic() + 30
            while engine.stock("MUG-1").committed != 5:  # 2 on Shopify, 3 on WooCommerce
                assert time.monotonic() < deadline, engine.stock("MUG-1")
                changed.wait(0.5)  # woken by each commit of the receiver's store
                changed.clear()
            for fake in sb.fakes.values():
                fake.flush_webhooks()
            assert {(d.topic, d.status) for d in sb.shopify.deliveries} == {("orders/create", 200)}
            assert [d.status for d in sb.woocommerce.deliveries] == [200]
        finally:
            remove()
            receiver.stop()
            engine.close()
            engine.store.close()
