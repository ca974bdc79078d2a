"""Config, credentials and the one error boundary (httpx.MockTransport, no network)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from tests.conftest import load_conformance

from channelsync.adapters.woocommerce import WooCommerceChannel, WooCommerceConfig
from channelsync.adapters.woocommerce.client import BatchTooLarge, WooCommerceClient
from channelsync.core.errors import (
    AuthError,
    ConfigError,
    NotFound,
    PermanentError,
    RateLimited,
    Rejected,
    Unavailable,
)

KEY = "ck_0123456789abcdef0123456789abcdef01234567"
SECRET = "cs_fedcba9876543210fedcba9876543210fedcba98"


def config(**kw: Any) -> WooCommerceConfig:
    values: dict[str, Any] = {
        "account": "woo-main",
        "url": "https://shop.example.com",
        "consumer_key": KEY,
        "consumer_secret": SECRET,
        "webhook_secret": "whsec",
        "currency": "EUR",
    }
    values.update(kw)
    return WooCommerceConfig(**values)


def client_with(handler: Callable[[httpx.Request], httpx.Response], **kw: Any) -> WooCommerceClient:
    return WooCommerceClient(config(**kw), transport=httpx.MockTransport(handler))


def answer(status: int, body: Any, headers: dict[str, str] | None = None) -> Callable[..., Any]:
    def handler(request: httpx.Request) -> httpx.Response:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return httpx.Response(status, content=content, headers=headers or {})

    return handler


# -- config --------------------------------------------------------------------------------


def test_plain_http_refused_unless_loopback_and_allowed() -> None:
    with pytest.raises(ConfigError, match="HTTPS"):
        WooCommerceChannel(config(url="http://shop.example.com"))
    with pytest.raises(ConfigError, match="loopback"):
        WooCommerceChannel(config(url="http://shop.example.com", allow_insecure_http=True))
    with pytest.raises(ConfigError, match="HTTPS"):
        WooCommerceChannel(config(), base_url="http://127.0.0.1:8080")
    channel = WooCommerceChannel(config(allow_insecure_http=True), base_url="http://127.0.0.1:8080")
    assert repr(channel) == (
        "WooCommerceChannel(account='woo-main', api='http://127.0.0.1:8080/wp-json/wc/v3')"
    )
    channel.close()


def test_api_root_and_subdirectory_install() -> None:
    assert config().api_root() == "https://shop.example.com/wp-json/wc/v3"
    assert config(url="https://example.com/shop/").api_root() == (
        "https://example.com/shop/wp-json/wc/v3"
    )
    with pytest.raises(ValueError, match="http"):
        config(url="ftp://shop.example.com")
    with pytest.raises(ValueError, match="query"):
        config(url="https://shop.example.com/?x=1")
    with pytest.raises(ValueError, match="consumer_key"):
        config(consumer_key=" ")


def test_secrets_never_show() -> None:
    cfg = config()
    text = repr(cfg) + str(cfg) + cfg.model_dump_json()
    assert KEY not in text
    assert SECRET not in text
    assert "whsec" not in text
    channel = WooCommerceChannel(cfg, transport=httpx.MockTransport(answer(500, {})))
    assert SECRET not in repr(channel)


def test_basic_auth_by_default_query_parameters_on_request() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[], headers={"X-WP-Total": "0", "X-WP-TotalPages": "0"})

    client_with(handler).products_page(1, 100)
    assert seen[0].headers["authorization"].startswith("Basic ")
    assert "consumer_secret" not in str(seen[0].url)
    client_with(handler, auth_in_query=True).products_page(1, 100)
    assert "authorization" not in seen[1].headers
    assert seen[1].url.params["consumer_key"] == KEY
    assert seen[1].url.params["consumer_secret"] == SECRET
    assert seen[1].url.path == "/wp-json/wc/v3/products"


def test_query_secret_is_redacted_from_httpx_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="httpx")
    client = client_with(
        answer(200, [], {"X-WP-Total": "0", "X-WP-TotalPages": "0"}), auth_in_query=True
    )
    client.products_page(1, 100)
    assert "HTTP Request" in caplog.text
    assert SECRET not in caplog.text
    assert KEY not in caplog.text
    assert "consumer_secret=[redacted]" in caplog.text


# -- errors --------------------------------------------------------------------------------


def test_wp_error_bodies_map_to_the_hierarchy() -> None:
    no_route = load_conformance("woocommerce", "error.wp-rest.response.json")
    term = load_conformance("woocommerce", "error.woocommerce-rest.response.json")
    with pytest.raises(NotFound) as caught:
        client_with(answer(404, no_route)).order(1)
    assert (caught.value.code, caught.value.status) == ("rest_no_route", 404)
    assert caught.value.message == "No route was found matching the URL and request method"
    assert caught.value.operation == "GET orders/{id}"
    assert caught.value.channel == "woo-main"
    with pytest.raises(NotFound) as caught:
        client_with(answer(404, term)).order(1)
    assert caught.value.code == "woocommerce_rest_term_invalid"
    assert caught.value.message == "Resource doesn't exist."


@pytest.mark.parametrize(
    ("status", "body", "error", "code"),
    [
        (
            401,
            {
                "code": "woocommerce_rest_cannot_view",
                "message": "Sorry, you cannot list resources.",
                "data": {"status": 401},
            },
            AuthError,
            "woocommerce_rest_cannot_view",
        ),
        (
            401,
            {
                "code": "woocommerce_rest_authentication_error",
                "message": "Consumer secret is invalid.",
                "data": {"status": 401},
            },
            AuthError,
            "woocommerce_rest_authentication_error",
        ),
        (
            403,
            {"code": "woocommerce_rest_cannot_edit", "message": "Sorry.", "data": {"status": 403}},
            AuthError,
            "woocommerce_rest_cannot_edit",
        ),
        (
            400,
            {
                "code": "rest_invalid_param",
                "message": "Invalid parameter(s): per_page",
                "data": {"status": 400, "params": {"per_page": "too big"}},
            },
            Rejected,
            "rest_invalid_param",
        ),
        (
            500,
            {
                "code": "internal_server_error",
                "message": "<p>There has been a critical error on this website.</p>",
                "data": {"status": 500},
            },
            Unavailable,
            "internal_server_error",
        ),
        (502, b"<html>Bad Gateway</html>", Unavailable, None),
        (
            500,
            {
                "code": "woocommerce_rest_cannot_create_order_refund",
                "message": "The payment gateway for this order does not support automatic refunds.",
                "data": 500,
            },
            Rejected,
            "woocommerce_rest_cannot_create_order_refund",
        ),
    ],
)
def test_status_and_code_mapping(
    status: int, body: Any, error: type[Exception], code: str | None
) -> None:
    with pytest.raises(error) as caught:
        client_with(answer(status, body, {"x-request-id": "req-1"})).order(1)
    exc: Any = caught.value
    assert exc.status == status
    assert exc.code == code
    assert exc.request_id == "req-1"
    assert "<p>" not in exc.message


def test_throttle_maps_to_rate_limited_with_retry_after() -> None:
    body = {"code": "rate_limit_exceeded", "message": "Too many requests.", "data": {"status": 429}}
    with pytest.raises(RateLimited) as caught:
        client_with(answer(429, body, {"retry-after": "7"})).products_page(1, 10)
    assert caught.value.retry_after == 7.0
    assert caught.value.code == "rate_limit_exceeded"


def test_batch_limit_413_carries_the_limit() -> None:
    body = {
        "code": "woocommerce_rest_request_entity_too_large",
        "message": "Unable to accept more than 50 items for this request.",
        "data": {"status": 413},
    }
    with pytest.raises(BatchTooLarge) as caught:
        client_with(answer(413, body)).batch_products([{"id": 1}])
    assert caught.value.limit == 50
    assert isinstance(caught.value, Rejected)


def test_transport_failures_are_unavailable() -> None:
    def reset(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("connection reset by peer", request=request)

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(Unavailable, match="connection failed"):
        client_with(reset).order(1)
    with pytest.raises(Unavailable, match="timed out"):
        client_with(slow).order(1)


def test_non_json_and_wrong_shapes() -> None:
    notice = b"<br /><b>Notice</b>: Undefined index in functions.php<br />[]"
    with pytest.raises(Unavailable, match="not JSON") as caught:
        client_with(answer(200, notice)).products_page(1, 10)
    assert caught.value.raw is not None
    assert "Notice" in caught.value.raw
    with pytest.raises(PermanentError, match="not a list"):
        client_with(answer(200, {"id": 1})).products_page(1, 10)
    with pytest.raises(PermanentError, match="WooOrder"):
        client_with(answer(200, {"number": "1"})).order(1)


def test_redirect_is_refused_with_advice() -> None:
    handler = answer(301, b"", {"location": "https://www.shop.example.com/wp-json/wc/v3/orders/1"})
    with pytest.raises(Rejected, match="redirects"):
        client_with(handler).order(1)


def test_errors_never_carry_credentials() -> None:
    body = {"code": "woocommerce_rest_cannot_view", "message": "No.", "data": {"status": 401}}
    with pytest.raises(AuthError) as caught:
        client_with(answer(401, body), auth_in_query=True).order(1)
    text = str(caught.value) + repr(caught.value.describe()) + (caught.value.raw or "")
    assert SECRET not in text
    assert KEY not in text


def test_pacing_with_requests_per_second() -> None:
    client = client_with(answer(200, [], {"X-WP-TotalPages": "0"}), requests_per_second=50)
    assert client._bucket is not None
    for _ in range(3):
        client.products_page(1, 10)
    channel = WooCommerceChannel(config(requests_per_second=2.5))
    assert [(r.operation, r.per_second, r.burst) for r in channel.limits.rate_limits] == [
        ("*", 2.5, 2)
    ]
    assert (channel.limits.stock_batch, channel.limits.page_size) == (100, 100)
