"""The Trading gateway: each ebaysdk quirk it owns, checked against the installed ebaysdk 2.2."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from lxml import etree
from requests.adapters import BaseAdapter
from tests.adapters.ebay import payloads

from channelsync.adapters.ebay.config import EbayConfig
from channelsync.adapters.ebay.gateway import TradingAuth, TradingGateway
from channelsync.core.errors import AuthError, NotFound, RateLimited, Rejected, Unavailable

CERT = "PRD-secret-cert-id-4711"
IAF = "v^1.1#i^1#secret-oauth-token"


class Canned(BaseAdapter):
    """A requests adapter that records each request and answers from a list."""

    def __init__(self, answers: list[tuple[int, bytes]]) -> None:
        super().__init__()
        self.answers = answers
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.sent.append(request)
        status, body = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        response = requests.Response()
        response.status_code = status
        response._content = body
        response.headers["content-type"] = "text/xml"
        response.url = request.url or ""
        response.request = request
        response.reason = "OK" if status == 200 else "Service Unavailable"
        return response

    def close(self) -> None:
        pass


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # 04:00 in Los Angeles

    def __call__(self) -> datetime:
        return self.now


def _config(**kw: Any) -> EbayConfig:
    fields: dict[str, Any] = {
        "account": "ebay-de",
        "site_id": 77,
        "app_id": "app-id",
        "cert_id": CERT,
        "dev_id": "dev-id",
        "user_token": IAF,
    }
    fields.update(kw)
    return EbayConfig(**fields)


def _gateway(
    answers: list[tuple[int, bytes]],
    *,
    url: str = "https://api.ebay.com/ws/api.dll",
    config: EbayConfig | None = None,
    auth: Callable[[bool], TradingAuth] | None = None,
    can_refresh: bool = False,
    clock: Clock | None = None,
) -> tuple[TradingGateway, Canned]:
    gateway = TradingGateway(
        config or _config(),
        url=url,
        auth=auth or (lambda refresh: ("iaf", IAF)),
        can_refresh=can_refresh,
        clock=clock or Clock(),
    )
    canned = Canned(answers)
    session = gateway._connection().session
    session.mount("https://", canned)
    session.mount("http://", canned)
    return gateway, canned


def test_headers_siteid_and_compatibility_are_strings_and_oauth_goes_in_iaf_header() -> None:
    gateway, canned = _gateway(
        [(200, payloads.with_ack("GeteBayOfficialTime", "Success"))], config=_config(site_id=0)
    )
    gateway.call("GeteBayOfficialTime", {})
    (sent,) = canned.sent
    assert sent.url == "https://api.ebay.com/ws/api.dll"
    assert sent.headers["X-EBAY-API-SITEID"] == "0"  # not "False" (ebaysdk's YAML quirk)
    assert sent.headers["X-EBAY-API-COMPATIBILITY-LEVEL"] == "1423"
    assert sent.headers["X-EBAY-API-CALL-NAME"] == "GeteBayOfficialTime"
    assert sent.headers["X-EBAY-API-IAF-TOKEN"] == IAF
    assert b"RequesterCredentials" not in (sent.body or b"")


def test_auth_n_auth_token_goes_in_requester_credentials_escaped() -> None:
    gateway, canned = _gateway(
        [(200, payloads.with_ack("GeteBayOfficialTime", "Success"))],
        auth=lambda refresh: ("auth_n_auth", "AgAA**x&y<z**"),
    )
    gateway.call("GeteBayOfficialTime", {})
    body = canned.sent[0].body
    assert isinstance(body, bytes)
    assert b"<eBayAuthToken>AgAA**x&amp;y&lt;z**</eBayAuthToken>" in body
    assert "X-EBAY-API-IAF-TOKEN" not in canned.sent[0].headers


def test_values_are_xml_escaped() -> None:
    gateway, canned = _gateway([(200, payloads.with_ack("CompleteSale", "Success"))])
    gateway.call(
        "CompleteSale",
        {
            "OrderID": "05-1",
            "Shipment": {
                "ShipmentTrackingDetails": {
                    "ShippingCarrierUsed": "Müller & <Co>",
                    "ShipmentTrackingNumber": "A&B",
                }
            },
        },
    )
    body = canned.sent[0].body
    assert isinstance(body, bytes)
    parsed = etree.fromstring(body)
    ns = {"e": "urn:ebay:apis:eBLBaseComponents"}
    assert parsed.findtext(".//e:ShippingCarrierUsed", namespaces=ns) == "Müller & <Co>"
    assert parsed.findtext(".//e:ShipmentTrackingNumber", namespaces=ns) == "A&B"


def test_plain_http_url_is_not_forced_to_https() -> None:
    gateway, canned = _gateway(
        [(200, payloads.with_ack("GeteBayOfficialTime", "Success"))],
        url="http://127.0.0.1:8123/ws/api.dll",
    )
    gateway.call("GeteBayOfficialTime", {})
    assert canned.sent[0].url == "http://127.0.0.1:8123/ws/api.dll"


def test_no_ebay_yaml_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ebay.yaml").write_text(
        "api.ebay.com:\n  siteid: 0\n  appid: FROM-YAML\n  compatibility: 1\n"
    )
    monkeypatch.chdir(tmp_path)
    gateway, canned = _gateway([(200, payloads.with_ack("GeteBayOfficialTime", "Success"))])
    gateway.call("GeteBayOfficialTime", {})
    headers = canned.sent[0].headers
    assert headers["X-EBAY-API-APP-NAME"] == "app-id"
    assert headers["X-EBAY-API-SITEID"] == "77"
    assert headers["X-EBAY-API-COMPATIBILITY-LEVEL"] == "1423"
    assert os.getcwd() == str(tmp_path)


def test_one_connection_per_thread() -> None:
    gateway = TradingGateway(
        _config(),
        url="https://api.ebay.com/ws/api.dll",
        auth=lambda refresh: ("iaf", IAF),
        can_refresh=False,
        clock=Clock(),
    )
    seen: list[object] = []

    def grab() -> None:
        seen.append(gateway._connection())

    threads = [threading.Thread(target=grab) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    main = gateway._connection()
    assert main is gateway._connection()
    assert len({id(c) for c in [*seen, main]}) == 4
    gateway.close()


@pytest.fixture
def closing_server() -> Iterator[tuple[str, list[int]]]:
    """A TCP server that accepts and drops every connection, counting them."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted: list[int] = []
    stop = threading.Event()

    def run() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            accepted.append(1)
            conn.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/ws/api.dll", accepted
    stop.set()
    thread.join()
    server.close()


def test_hidden_retries_are_off(closing_server: tuple[str, list[int]]) -> None:
    url, accepted = closing_server
    gateway = TradingGateway(
        _config(), url=url, auth=lambda refresh: ("iaf", IAF), can_refresh=False, clock=Clock()
    )
    adapter = gateway._connection().session.get_adapter(url)
    assert adapter.max_retries.total == 0  # ebaysdk mounts HTTPAdapter(max_retries=3)
    with pytest.raises(Unavailable, match="connection failed"):
        gateway.call("GeteBayOfficialTime", {})
    assert len(accepted) == 1
    gateway.close()


@pytest.mark.parametrize("ack", ["Warning", "PartialFailure"])
def test_warning_and_partial_failure_never_raise(ack: str) -> None:
    body = "<InventoryStatus><SKU>A</SKU><ItemID>1</ItemID><Quantity>3</Quantity></InventoryStatus>"
    gateway, _ = _gateway(
        [(200, payloads.with_ack("ReviseInventoryStatus", ack, body, warning="Heads up"))]
    )
    reply = gateway.call("ReviseInventoryStatus", {"InventoryStatus": [{"ItemID": "1"}]})
    assert reply.ack == ack
    assert [w.code for w in reply.warnings] == ["21917091"]
    assert reply.root.findtext("InventoryStatus/SKU") == "A"


def test_failure_naming_batch_items_comes_back_for_per_item_settling() -> None:
    gateway, _ = _gateway([(200, payloads.REVISE_MIXED)])
    reply = gateway.call(
        "ReviseInventoryStatus",
        {"InventoryStatus": [{"ItemID": "110000000012"}]},
        item_keys={"110000000012", "999999999999", "110000000011", "SHIRT-GREEN-M"},
    )
    assert reply.ack == "Failure"
    assert [e.code for e in reply.failures] == ["17"]


@pytest.mark.parametrize(
    ("code", "classification", "error", "text"),
    [
        ("931", "RequestError", AuthError, "Auth token is invalid"),
        ("21917053", "RequestError", AuthError, "IAF token expired"),
        ("10007", "SystemError", Unavailable, "Internal error"),
        ("17", "RequestError", NotFound, "Item cannot be accessed"),
        ("37", "RequestError", Rejected, "Input data is invalid"),
    ],
)
def test_call_level_failures_map_to_the_hierarchy(
    code: str, classification: str, error: type[Exception], text: str
) -> None:
    gateway, _ = _gateway([(200, payloads.failure("GetOrders", code, text, classification))])
    with pytest.raises(error) as caught:
        gateway.call("GetOrders", {})
    assert caught.value.code == code  # type: ignore[attr-defined]
    assert caught.value.operation == "GetOrders"  # type: ignore[attr-defined]
    assert text in str(caught.value)


def test_non_xml_answers_are_unavailable() -> None:
    gateway, _ = _gateway([(503, b"<html>Service Unavailable</html"), (200, b"not xml")])
    with pytest.raises(Unavailable, match="HTTP 503"):
        gateway.call("GetOrders", {})
    with pytest.raises(Unavailable, match="not XML"):
        gateway.call("GetOrders", {})


def test_518_blocks_every_call_until_midnight_pacific() -> None:
    clock = Clock()
    gateway, canned = _gateway(
        [
            (200, payloads.failure("GetOrders", "518", "Call usage limit has been reached.")),
            (200, payloads.with_ack("GetOrders", "Success")),
        ],
        clock=clock,
    )
    with pytest.raises(RateLimited) as caught:
        gateway.call("GetOrders", {})
    # 12:00 UTC is 04:00 PST; the quota resets at 00:00 PST = 08:00 UTC next day.
    assert caught.value.retry_after == pytest.approx(20 * 3600)
    assert caught.value.code == "518"
    assert gateway.blocked_until == datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    clock.now += timedelta(hours=19)
    with pytest.raises(RateLimited) as again:
        gateway.call("GetMyeBaySelling", {})
    assert again.value.retry_after == pytest.approx(3600)
    assert len(canned.sent) == 1  # nothing sent while blocked
    clock.now += timedelta(hours=1, seconds=1)
    assert gateway.call("GetOrders", {}).ack == "Success"
    assert len(canned.sent) == 2


def test_auth_error_refreshes_the_token_once_and_resends() -> None:
    tokens = iter(["old-token", "new-token"])
    asked: list[bool] = []

    def auth(refresh: bool) -> TradingAuth:
        asked.append(refresh)
        return "iaf", next(tokens)

    gateway, canned = _gateway(
        [
            (200, payloads.failure("GetOrders", "21917053", "IAF token expired.")),
            (200, payloads.with_ack("GetOrders", "Success")),
        ],
        auth=auth,
        can_refresh=True,
    )
    assert gateway.call("GetOrders", {}).ack == "Success"
    assert asked == [False, True]
    assert [r.headers["X-EBAY-API-IAF-TOKEN"] for r in canned.sent] == ["old-token", "new-token"]


def test_ebaysdk_debug_logs_carry_no_secrets(caplog: pytest.LogCaptureFixture) -> None:
    gateway, _ = _gateway([(200, payloads.with_ack("GetOrders", "Success"))])
    with caplog.at_level(logging.DEBUG):
        gateway.call("GetOrders", {"OrderRole": "Seller"})
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert CERT not in text
    assert IAF not in text
    assert "REQUEST" in text  # ebaysdk still logs that a request went out
