"""OAuth 1.0a signing as Magento checks it, and the Bearer alternative, against the fake."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from channelsync.adapters.magento._oauth import (
    OAuth1,
    base_string,
    natural_compare,
    percent_encode,
    sign,
)
from channelsync.core.errors import AuthError


def test_signature_matches_the_oauth_1_0_specification_example() -> None:
    # OAuth Core 1.0 Appendix A.5: GET photos with file and size, HMAC-SHA1.
    url = httpx.URL("http://photos.example.net/photos?file=vacation.jpg&size=original")
    params = [
        ("oauth_consumer_key", "dpf43f3p2l4k3l03"),
        ("oauth_token", "nnch734d00sl2jdk"),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_timestamp", "1191242096"),
        ("oauth_nonce", "kllo9940pd9333jh"),
        ("oauth_version", "1.0"),
    ]
    base = base_string("GET", url, params)
    assert base == (
        "GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacation.jpg%26oauth_consumer_key"
        "%3Ddpf43f3p2l4k3l03%26oauth_nonce%3Dkllo9940pd9333jh%26oauth_signature_method%3DHMAC-SHA1"
        "%26oauth_timestamp%3D1191242096%26oauth_token%3Dnnch734d00sl2jdk%26oauth_version%3D1.0"
        "%26size%3Doriginal"
    )
    assert sign(base, "kd94hf93k423kf44", "pfkkdhi9sl3r4s00", "HMAC-SHA1") == (
        "tR3+Ty81lMeYAr/Fid0kMTYa/WM="
    )


def test_percent_encoding_is_rfc_3986() -> None:
    assert percent_encode("a b+c/~é[0]") == "a%20b%2Bc%2F~%C3%A9%5B0%5D"


def test_natural_order_puts_index_2_before_index_10() -> None:
    assert natural_compare("a%5B2%5D", "a%5B10%5D") == -1
    assert natural_compare("pageSize", "currentPage") == 1
    assert natural_compare("abc", "abc") == 0


def test_header_carries_every_protocol_parameter_and_a_fresh_nonce() -> None:
    nonces = iter(["n1", "n2"])
    auth = OAuth1("ck", "cs", "tok", "ts", clock=lambda: 1_700_000_000, nonce=lambda: next(nonces))
    url = httpx.URL(
        "https://shop.example.com/rest/default/V1/orders?searchCriteria%5BpageSize%5D=5"
    )
    first, second = auth.header("GET", url), auth.header("GET", url)
    assert first.startswith("OAuth ")
    for part in (
        'oauth_consumer_key="ck"',
        'oauth_token="tok"',
        'oauth_signature_method="HMAC-SHA256"',
        'oauth_timestamp="1700000000"',
        'oauth_nonce="n1"',
        'oauth_version="1.0"',
    ):
        assert part in first
    assert 'oauth_nonce="n2"' in second
    assert "cs" not in first.replace('"ck"', "")  # the secrets are never sent


def test_signed_requests_pass_the_fake(channel: Any, fake: Any) -> None:
    fake.seed_listing("OA-1", quantity=2, price="3.00")
    assert [lst.sku for lst in channel.fetch_listings()] == ["OA-1"]
    assert fake.calls["products"] == 1


def test_sha1_signatures_pass_too(fake: Any) -> None:
    fake.seed_listing("OA-2", quantity=2, price="3.00")
    channel = fake.channel(signature_method="HMAC-SHA1")
    assert [lst.sku for lst in channel.fetch_listings()] == ["OA-2"]


def _raw(fake: Any, headers: dict[str, str]) -> httpx.Response:
    return httpx.get(
        f"{fake.url}/rest/default/V1/products",
        params={"searchCriteria[pageSize]": "5"},
        headers=headers,
        timeout=5,
    )


def test_a_wrong_signature_is_refused_with_magentos_message(fake: Any) -> None:
    auth = OAuth1(fake.consumer_key, "0" * 32, fake.access_token, fake.access_token_secret)
    url = httpx.URL(f"{fake.url}/rest/default/V1/products?searchCriteria%5BpageSize%5D=5")
    response = _raw(fake, {"Authorization": auth.header("GET", url)})
    assert response.status_code == 401
    assert response.json() == {"message": "The signature is invalid. Verify and try again."}


def test_a_reused_nonce_is_refused(fake: Any) -> None:
    auth = OAuth1(
        fake.consumer_key,
        fake.consumer_secret,
        fake.access_token,
        fake.access_token_secret,
        nonce=lambda: "always-the-same",
    )
    url = httpx.URL(f"{fake.url}/rest/default/V1/products?searchCriteria%5BpageSize%5D=5")
    assert _raw(fake, {"Authorization": auth.header("GET", url)}).status_code == 200
    again = _raw(fake, {"Authorization": auth.header("GET", url)})
    assert again.status_code == 401
    assert again.json() == {
        "message": "The nonce is already being used by the consumer with ID %1",
        "parameters": [1],
    }


def test_a_timestamp_from_the_future_is_refused(fake: Any) -> None:
    auth = OAuth1(
        fake.consumer_key,
        fake.consumer_secret,
        fake.access_token,
        fake.access_token_secret,
        clock=lambda: fake.oauth_clock() + 3600,
    )
    url = httpx.URL(f"{fake.url}/rest/default/V1/products?searchCriteria%5BpageSize%5D=5")
    response = _raw(fake, {"Authorization": auth.header("GET", url)})
    assert response.status_code == 400
    assert response.json()["message"] == (
        "Incorrect timestamp value in the oauth_timestamp parameter"
    )


def test_bearer_is_refused_by_default_and_the_error_says_how_to_fix_it(fake: Any) -> None:
    channel = fake.channel(auth="bearer")
    with pytest.raises(AuthError) as caught:
        list(channel.fetch_listings())
    error = caught.value
    assert error.status == 401
    assert "The consumer isn't authorized to access" in error.message
    assert "Magento_InventoryApi::source" in error.message
    assert "consumer_key, consumer_secret and access_token_secret" in error.message


def test_bearer_works_where_the_store_allows_it(fake: Any) -> None:
    fake.bearer_allowed = True
    fake.seed_listing("BEARER-1", quantity=4, price="3.00")
    channel = fake.channel(auth="bearer")
    assert {lst.sku: lst.quantity for lst in channel.fetch_listings()} == {"BEARER-1": 4}


def test_a_resource_the_integration_lacks_is_an_auth_error(fake: Any, channel: Any) -> None:
    fake.granted = {"Magento_Catalog::products", "Magento_InventoryApi::source"}
    fake.seed_listing("ACL-1", quantity=1, price="1.00")
    list(channel.fetch_listings())
    with pytest.raises(AuthError) as caught:
        channel.cancel_order("1")
    assert caught.value.raw is not None
    assert "Magento_Sales::actions_view" in caught.value.raw
