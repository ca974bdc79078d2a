"""The SDK quirks the gateway owns, checked on the wire with ``httpx.MockTransport``."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from channelsync.adapters._http import HttpClient
from channelsync.adapters.amazon import AmazonChannel, AmazonConfig
from channelsync.adapters.amazon.gateway import LwaTokenSource, SpApiGateway
from channelsync.core.errors import AuthError, ConfigError, RateLimited, Rejected

SECRET = "lwa-secret-never-logged"
REFRESH = "Atzr|refresh-never-logged"
ACCESS = "Atza|access-never-logged"

ORDER = {
    "orderId": "305-0000001-0000001",
    "createdTime": "2026-11-20T10:00:00Z",
    "lastUpdatedTime": "2026-11-20T11:00:00Z",
    "salesChannel": {"channelName": "AMAZON", "marketplaceId": "A1PA6795UKMFR9"},
    "fulfillment": {"fulfillmentStatus": "UNSHIPPED", "fulfilledBy": "MERCHANT"},
    "orderItems": [{"orderItemId": "1", "quantityOrdered": 1, "product": {"sellerSku": "SKU-1"}}],
}


def _config(**overrides: Any) -> AmazonConfig:
    values: dict[str, Any] = {
        "account": "amazon-eu",
        "seller_id": "A1SELLER",
        "marketplace_ids": ["A1PA6795UKMFR9", "A13V1IB3VIYZZH"],
        "region": "eu",
        "lwa_client_id": "amzn1.application-oa2-client.test",
        "lwa_client_secret": SECRET,
        "refresh_token": REFRESH,
    }
    values.update(overrides)
    return AmazonConfig(**values)


class Recorder:
    """A MockTransport handler that answers like Amazon and records every request."""

    def __init__(self, sp_api: Callable[[httpx.Request], httpx.Response] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.token_requests = 0
        self.token_delay = 0.0
        self._lock = threading.Lock()
        self._sp_api = sp_api

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        with self._lock:
            self.requests.append(request)
        if request.url.path == "/auth/o2/token":
            with self._lock:
                self.token_requests += 1
            time.sleep(self.token_delay)
            return httpx.Response(
                200,
                json={
                    "access_token": ACCESS,
                    "token_type": "bearer",
                    "expires_in": 3600,
                    "refresh_token": REFRESH,
                },
            )
        if self._sp_api is not None:
            return self._sp_api(request)
        if request.url.path.startswith("/orders/2026-01-01/orders/"):
            return httpx.Response(200, json={"order": ORDER})
        return httpx.Response(200, json={"orders": [ORDER]})

    def sp_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path != "/auth/o2/token"]


def test_default_endpoints_and_what_goes_on_the_wire() -> None:
    recorder = Recorder()
    channel = AmazonChannel(_config(), transport=httpx.MockTransport(recorder))
    (order,) = channel.fetch_orders(datetime(2026, 11, 20, 9, 30, 15, 123456, tzinfo=UTC))
    assert order.order_id == "305-0000001-0000001"
    token, search = recorder.requests
    assert str(token.url) == "https://api.amazon.com/auth/o2/token"
    form = parse_qs(token.content.decode())
    assert form == {
        "grant_type": ["refresh_token"],
        "refresh_token": [REFRESH],
        "client_id": ["amzn1.application-oa2-client.test"],
        "client_secret": [SECRET],
    }
    assert search.url.host == "sellingpartnerapi-eu.amazon.com"
    assert search.url.path == "/orders/2026-01-01/orders"
    assert search.headers["host"] == "sellingpartnerapi-eu.amazon.com"
    assert search.headers["x-amz-access-token"] == ACCESS
    params = dict(search.url.params)
    assert params == {
        "lastUpdatedAfter": "2026-11-20T09:30:15Z",
        "marketplaceIds": "A1PA6795UKMFR9,A13V1IB3VIYZZH",
        "maxResultsPerPage": "100",
        "includedData": "BUYER,RECIPIENT,PROCEEDS,PROMOTION,CANCELLATION,FULFILLMENT,PACKAGES",
    }
    channel.close()


def test_sandbox_base_url_gets_a_correct_host_header() -> None:
    recorder = Recorder()
    channel = AmazonChannel(
        _config(),
        transport=httpx.MockTransport(recorder),
        base_url="http://127.0.0.1:8123",
        token_url="http://127.0.0.1:8123/auth/o2/token",
    )
    channel.fetch_order("305-0000001-0000001")
    token, get = recorder.requests
    assert str(token.url) == "http://127.0.0.1:8123/auth/o2/token"
    assert str(get.url).startswith("http://127.0.0.1:8123/orders/2026-01-01/orders/305-0000001")
    # The SDK would send "host: 27.0.0.1:8123" (endpoint[8:] of an http:// URL).
    assert get.headers["host"] == "127.0.0.1:8123"
    channel.close()


def test_sp_api_default_marketplace_has_no_effect(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SP_API_DEFAULT_MARKETPLACE", "US")
    recorder = Recorder()
    channel = AmazonChannel(_config(), transport=httpx.MockTransport(recorder))
    list(channel.fetch_orders(datetime(2026, 11, 20, tzinfo=UTC)))
    (search,) = recorder.sp_requests()
    assert search.url.host == "sellingpartnerapi-eu.amazon.com"
    assert search.url.params["marketplaceIds"] == "A1PA6795UKMFR9,A13V1IB3VIYZZH"
    assert "MarketplaceId" not in search.url.params
    channel.close()


def test_unknown_sp_api_default_marketplace_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SP_API_DEFAULT_MARKETPLACE", "XX")
    channel = AmazonChannel(_config(), transport=httpx.MockTransport(Recorder()))
    with pytest.raises(ConfigError, match="SP_API_DEFAULT_MARKETPLACE"):
        channel.fetch_order("305-0000001-0000001")
    channel.close()


def test_environment_credentials_are_never_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LWA_APP_ID", "env-app")
    monkeypatch.setenv("LWA_CLIENT_SECRET", "env-secret")
    monkeypatch.setenv("SP_API_REFRESH_TOKEN", "env-refresh")
    recorder = Recorder()
    channel = AmazonChannel(_config(), transport=httpx.MockTransport(recorder))
    channel.fetch_order("305-0000001-0000001")
    form = parse_qs(recorder.requests[0].content.decode())
    assert form["client_secret"] == [SECRET]
    assert form["refresh_token"] == [REFRESH]
    sdk = next(iter(channel.client.gateway._local.clients.values()))
    # The SDK objects hold placeholders, never the real LWA secret.
    assert sdk.credentials.lwa_client_secret != SECRET
    assert SECRET not in repr(vars(sdk))
    channel.close()


def test_one_token_refresh_for_many_threads_and_one_sdk_client_each() -> None:
    recorder = Recorder()
    recorder.token_delay = 0.05
    channel = AmazonChannel(_config(), transport=httpx.MockTransport(recorder))
    clients: list[Any] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def work() -> None:
        try:
            barrier.wait()
            channel.fetch_order("305-0000001-0000001")
            clients.append(channel.client.gateway._local.clients)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert recorder.token_requests == 1
    assert len({id(c) for c in clients}) == 8  # each thread built its own SDK clients
    assert len(recorder.sp_requests()) == 8
    channel.close()


def test_token_lifetime_follows_expires_in() -> None:
    now = [1000.0]
    answers = iter([("Atza|one", 120), ("Atza|two", 3600)])

    def handler(request: httpx.Request) -> httpx.Response:
        token, lifetime = next(answers)
        return httpx.Response(200, json={"access_token": token, "expires_in": lifetime})

    http = HttpClient("amazon-eu", "https://example", transport=httpx.MockTransport(handler))
    tokens = LwaTokenSource(
        _config(), "https://api.amazon.com/auth/o2/token", http, clock=lambda: now[0]
    )
    assert tokens.access_token() == "Atza|one"
    now[0] += 59
    assert tokens.access_token() == "Atza|one"
    now[0] += 2  # 61 s: within a minute of the 120 s expiry
    assert tokens.access_token() == "Atza|two"
    assert tokens.refreshes == 2
    http.close()


def test_lwa_errors_map_to_auth_error_without_secrets() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            401,
            json={"error_description": "Client authentication failed", "error": "invalid_client"},
        )

    channel = AmazonChannel(_config(), transport=httpx.MockTransport(handler))
    with pytest.raises(AuthError) as caught:
        channel.fetch_order("1")
    assert caught.value.operation == "lwaToken"
    assert caught.value.code == "invalid_client"
    text = f"{caught.value} {caught.value.raw} {caught.value.describe()}"
    assert SECRET not in text
    assert REFRESH not in text
    channel.close()


def test_a_throttled_request_is_sent_once_no_sdk_retry() -> None:
    def sp_api(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, content=b"", headers={"x-amzn-RequestId": "r-429"})

    recorder = Recorder(sp_api)
    channel = AmazonChannel(_config(), transport=httpx.MockTransport(recorder))
    with pytest.raises(RateLimited) as caught:
        channel.fetch_order("1")
    assert len(recorder.sp_requests()) == 1
    assert caught.value.request_id == "r-429"
    assert caught.value.retry_after == pytest.approx(1 / (0.5 * 0.95))
    channel.close()


def test_a_2xx_with_errors_is_rejected() -> None:
    def sp_api(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={"errors": [{"code": "InvalidInput", "message": "Invalid Input"}]}
        )

    channel = AmazonChannel(_config(), transport=httpx.MockTransport(Recorder(sp_api)))
    with pytest.raises(Rejected) as caught:
        channel.fetch_order("1")
    assert caught.value.status == 200
    assert caught.value.code == "InvalidInput"
    channel.close()


def test_access_token_never_reaches_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sdk_log = logging.getLogger("sp_api.base.client")
    level = sdk_log.level
    sdk_log.setLevel(logging.DEBUG)  # what an application debugging its calls would do
    try:
        channel = AmazonChannel(_config(), transport=httpx.MockTransport(Recorder()))
        channel.fetch_order("305-0000001-0000001")
        channel.close()
    finally:
        sdk_log.setLevel(level)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "Making request to URL" in text  # the SDK did log at DEBUG
    for secret in (ACCESS, SECRET, REFRESH):
        assert secret not in text


def test_feed_upload_sends_utf8_bytes_through_our_transport() -> None:
    seen: dict[str, Any] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["method"] = request.method
        seen["content"] = request.read()
        seen["type"] = request.headers["content-type"]
        return httpx.Response(200)

    gateway = SpApiGateway(
        _config(),
        endpoint="https://x",
        token_url="https://t",
        transport=httpx.MockTransport(handler),
    )
    body = json.dumps({"sku": "Ä-€"}, ensure_ascii=False).encode("utf-8")
    gateway.upload_document("https://s3.example/doc?sig=1", body, "application/json; charset=UTF-8")
    assert seen == {
        "method": "PUT",
        "content": body,
        "type": "application/json; charset=UTF-8",
    }
    gateway.close()


def test_config_is_checked() -> None:
    with pytest.raises(ValueError, match="region"):
        _config(marketplace_ids=["ATVPDKIKX0DER"])
    with pytest.raises(ValueError, match="unknown marketplace"):
        _config(marketplace_ids=["NOPE"])
    with pytest.raises(ValueError, match="dataset"):
        _config(included_data=["BUYER", "EVERYTHING"])
    assert "FULFILLMENT" in _config(included_data=["BUYER"]).included_data
    assert SECRET not in repr(_config())
    assert _config(marketplace_ids="A1PA6795UKMFR9, APJ6JRA9NG5V4").marketplace_ids == (
        "A1PA6795UKMFR9",
        "APJ6JRA9NG5V4",
    )
