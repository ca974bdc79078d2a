"""OAuth 1.0a one-legged signing: how WooCommerce authenticates REST keys over plain HTTP.

WooCommerce reads HTTP Basic (or ``consumer_key``/``consumer_secret`` in the query) only
over TLS; over ``http://`` it checks an OAuth 1.0a signature carried in the query string
(``WC_REST_Authentication::perform_oauth_authentication``), which never sends the secret.
The official ``woocommerce`` Python client signs the same way; this signer follows the
server's rules exactly: every query parameter, keys and values ``rawurlencode``-d then
``%`` escaped again, sorted by key, joined with ``%26``; the base string
``METHOD&rawurlencode(url)&params``; HMAC-SHA256 with ``consumer_secret + "&"``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Generator, Iterable
from urllib.parse import quote, unquote

import httpx

__all__ = ["OAuth1QueryAuth", "oauth_signature"]


def _normalize(value: str) -> str:
    return quote(unquote(value), safe="").replace("%", "%25")


def oauth_signature(
    method: str, url: str, params: Iterable[tuple[str, str]], consumer_secret: str
) -> str:
    """The base64 HMAC-SHA256 signature WooCommerce expects for a request.

    ``url`` is scheme, host and path (no query); ``params`` every query parameter but
    ``oauth_signature``.
    """
    pairs = sorted((_normalize(k), _normalize(v)) for k, v in params)
    query = "%26".join(f"{k}%3D{v}" for k, v in pairs)
    base = f"{method.upper()}&{quote(url, safe='')}&{query}"
    digest = hmac.new(f"{consumer_secret}&".encode(), base.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class OAuth1QueryAuth(httpx.Auth):
    """Adds ``oauth_*`` parameters and the signature to each request's query.

    Args:
        consumer_key: the REST key's ``ck_...``.
        consumer_secret: its ``cs_...`` (used to sign, never sent).
        clock: Unix time for ``oauth_timestamp`` (WooCommerce allows 15 minutes of skew).
    """

    def __init__(
        self, consumer_key: str, consumer_secret: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._key = consumer_key
        self._secret = consumer_secret
        self._clock = clock

    def __repr__(self) -> str:
        return "OAuth1QueryAuth(consumer_key=***)"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Sign ``request`` (every query parameter takes part) and send it."""
        oauth = {
            "oauth_consumer_key": self._key,
            "oauth_timestamp": str(int(self._clock())),
            "oauth_nonce": secrets.token_hex(16),
            "oauth_signature_method": "HMAC-SHA256",
        }
        params = [*request.url.params.multi_items(), *oauth.items()]
        url = str(request.url.copy_with(query=None))
        signature = oauth_signature(request.method, url, params, self._secret)
        request.url = request.url.copy_merge_params({**oauth, "oauth_signature": signature})
        yield request
