"""OAuth 1.0a request signing, as Magento 2 verifies it (``Magento\\Framework\\Oauth``).

Every request carries ``Authorization: OAuth oauth_consumer_key=..., oauth_token=...,
oauth_signature_method=..., oauth_timestamp=..., oauth_nonce=..., oauth_version="1.0",
oauth_signature=...``. The signature base string is RFC 5849's: the method, the URL without
query, and every ``oauth_*`` parameter plus the query parameters, percent-encoded and sorted
(Magento sorts with PHP's ``strnatcmp``, which equals byte order for the parameters channelsync
sends); a JSON body is not signed. The key is ``consumer_secret&token_secret``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Generator, Iterable
from urllib.parse import parse_qsl, quote

import httpx

__all__ = ["OAuth1", "base_string", "natural_compare", "percent_encode", "sign"]

_DIGESTS = {"HMAC-SHA256": hashlib.sha256, "HMAC-SHA1": hashlib.sha1}


def percent_encode(value: str) -> str:
    """RFC 3986 encoding (PHP's ``rawurlencode``): everything but ``A-Z a-z 0-9 - . _ ~``."""
    return quote(value, safe="-._~")


def natural_compare(a: str, b: str) -> int:
    """PHP's ``strnatcmp``: digit runs compare as numbers, everything else byte by byte."""
    i = j = 0
    while i < len(a) and j < len(b):
        if a[i].isdigit() and b[j].isdigit():
            si = i
            while i < len(a) and a[i].isdigit():
                i += 1
            sj = j
            while j < len(b) and b[j].isdigit():
                j += 1
            na, nb = int(a[si:i]), int(b[sj:j])
            if na != nb:
                return -1 if na < nb else 1
            continue
        if a[i] != b[j]:
            return -1 if a[i] < b[j] else 1
        i += 1
        j += 1
    return (len(a) - i > 0) - (len(b) - j > 0)


def _compare_pairs(x: tuple[str, str], y: tuple[str, str]) -> int:
    return natural_compare(x[0], y[0]) or natural_compare(x[1], y[1])


def _normal_url(url: httpx.URL) -> str:
    scheme = url.scheme.lower()
    host = (url.host or "").lower()
    port = url.port
    default = (scheme == "http" and port == 80) or (scheme == "https" and port == 443)
    netloc = host if port is None or default else f"{host}:{port}"
    return f"{scheme}://{netloc}{url.path}"


def base_string(method: str, url: httpx.URL, oauth_params: Iterable[tuple[str, str]]) -> str:
    """The signature base string of a request (query parameters included)."""
    pairs = [(percent_encode(k), percent_encode(v)) for k, v in oauth_params]
    query = url.query.decode("ascii") if isinstance(url.query, bytes) else str(url.query)
    pairs += [
        (percent_encode(k), percent_encode(v)) for k, v in parse_qsl(query, keep_blank_values=True)
    ]
    ordered = sorted(pairs, key=functools.cmp_to_key(_compare_pairs))
    normalized = "&".join(f"{k}={v}" for k, v in ordered)
    return "&".join((method.upper(), percent_encode(_normal_url(url)), percent_encode(normalized)))


def sign(base: str, consumer_secret: str, token_secret: str, method: str) -> str:
    """The base64 HMAC of ``base`` keyed ``consumer_secret&token_secret``."""
    digest = _DIGESTS[method]
    key = f"{percent_encode(consumer_secret)}&{percent_encode(token_secret)}"
    return base64.b64encode(hmac.new(key.encode(), base.encode(), digest).digest()).decode()


class OAuth1(httpx.Auth):
    """Signs every request with the integration's four OAuth 1.0a credentials.

    Args:
        consumer_key, consumer_secret, token, token_secret: the integration's credentials.
        method: ``HMAC-SHA256`` or ``HMAC-SHA1``.
        clock: seconds since the epoch (``time.time``).
        nonce: a fresh nonce per request (Magento refuses one it has seen for the consumer).
    """

    def __init__(
        self,
        consumer_key: str,
        consumer_secret: str,
        token: str,
        token_secret: str,
        *,
        method: str = "HMAC-SHA256",
        clock: Callable[[], float] = time.time,
        nonce: Callable[[], str] = lambda: secrets.token_hex(16),
    ) -> None:
        if method not in _DIGESTS:
            raise ValueError(f"unsupported OAuth signature method {method!r}")
        self._consumer_key = consumer_key
        self._consumer_secret = consumer_secret
        self._token = token
        self._token_secret = token_secret
        self._method = method
        self._clock = clock
        self._nonce = nonce

    def __repr__(self) -> str:
        return f"OAuth1(method={self._method!r})"

    def header(self, method: str, url: httpx.URL) -> str:
        """The ``Authorization`` header value for one request."""
        params = [
            ("oauth_consumer_key", self._consumer_key),
            ("oauth_nonce", self._nonce()),
            ("oauth_signature_method", self._method),
            ("oauth_timestamp", str(int(self._clock()))),
            ("oauth_token", self._token),
            ("oauth_version", "1.0"),
        ]
        signature = sign(
            base_string(method, url, params),
            self._consumer_secret,
            self._token_secret,
            self._method,
        )
        params.append(("oauth_signature", signature))
        return "OAuth " + ", ".join(f'{percent_encode(k)}="{percent_encode(v)}"' for k, v in params)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Add the signed ``Authorization`` header (a fresh nonce per attempt)."""
        request.headers["Authorization"] = self.header(request.method, request.url)
        yield request
