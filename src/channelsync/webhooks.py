"""The ASGI webhook receiver: marketplaces POST here, the engine applies what they say.

::

    from channelsync.webhooks import create_app
    app = create_app(engine)          # serve with: uvicorn module:app

Routes:

- ``POST /webhooks/{account}``: the delivery is verified and its events are written to
  the store's inbox (``engine.receive_webhook``, on a thread pool: the engine is
  synchronous) before anything is answered; then 200 with the number of events. They
  are applied from the inbox at once on the receiver's own pool, and by the worker's
  loop of that account (woken at once, in this process or, on PostgreSQL, in any other)
  for whatever that misses (a failure, a crash between answer and apply). An
  account the engine does not have answers 404 before the body is read; a body over the
  limit 413 (checked while reading, never buffered whole); a bad signature 401 and a
  malformed body (not JSON or XML, nested too deep, not the topic's payload) 400, each
  with a fixed reason (the detail is logged, cut to 500 characters). When the store cannot take the
  delivery within ``ack_within`` seconds, or fails, the answer is 503: the marketplace
  delivers again, and the inbox recognises a delivery it stored meanwhile.
- ``GET /webhooks/{account}``: eBay's Marketplace Account Deletion endpoint check
  (``?challenge_code=...``): answered with the ``challengeResponse`` the adapter computes.
- ``GET /healthz``: 200 while the store answers, 503 when it does not.

Nothing here verifies signatures itself: each channel's ``parse_webhook`` does, inside
``ingest_webhook``. Built on Starlette (installed with ``channelsync[sandbox]``; FastAPI
and Flask users can call ``engine.ingest_webhook`` themselves, see ``examples/``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from channelsync.adapters._webhooks import clip
from channelsync.core.channel import WebhookEvent
from channelsync.core.errors import (
    ConfigError,
    UnknownAccount,
    WebhookPayloadError,
    WebhookVerificationError,
)
from channelsync.core.results import Received

if TYPE_CHECKING:  # pragma: no cover
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

    from channelsync.core.engine import SyncEngine

__all__ = ["DEFAULT_MAX_BODY", "challenge_headers", "create_app"]

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY = 5 * 1024 * 1024

#: The header under which a GET endpoint check hands its query string to ``parse_webhook``
#: (eBay's ``challenge_code`` arrives as a query parameter of a GET, not in a body).
QUERY_HEADER = "x-channelsync-query"
METHOD_HEADER = "x-channelsync-method"


def challenge_headers(headers: Mapping[str, str], query: str) -> dict[str, str]:
    """The headers a GET endpoint check is handed to ``parse_webhook`` with."""
    return {**dict(headers), METHOD_HEADER: "GET", QUERY_HEADER: query}


class _TooLarge(Exception):
    pass


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _summary(events: list[WebhookEvent]) -> dict[str, Any]:
    return {"events": len(events), "kinds": sorted({e.kind for e in events})}


def create_app(
    engine: SyncEngine,
    *,
    prefix: str = "/webhooks",
    max_body_bytes: int = DEFAULT_MAX_BODY,
    threads: int = 8,
    ack_within: float = 4.0,
    executor: ThreadPoolExecutor | None = None,
    max_pending: int | None = None,
) -> Starlette:
    """The webhook receiver of ``engine`` as a Starlette (ASGI) app.

    Args:
        engine: the engine whose channels verify and whose ledger applies deliveries.
        prefix: the path the account names hang under.
        max_body_bytes: larger deliveries are refused with 413 before being read whole.
        threads: size of the thread pool ``ingest_webhook`` runs on (ignored with
            ``executor``).
        ack_within: seconds the store has to take a delivery before it is answered 503
            (to be delivered again). Shopify gives up after 5 s, so keep it below that.
        executor: run ``ingest_webhook`` on this pool instead of one of the app's own.
        max_pending: deliveries accepted but not yet applied at most (default: 8 per
            thread); beyond it the receiver answers 503 with ``Retry-After`` before reading
            the body, so a flood cannot pile up in memory (channels redeliver, and polling
            catches up either way).
    """
    try:
        from starlette.applications import Starlette
        from starlette.responses import JSONResponse, PlainTextResponse, Response
        from starlette.routing import Route
    except ModuleNotFoundError:  # pragma: no cover - depends on the extra
        raise ConfigError(
            "the webhook receiver needs Starlette: pip install 'channelsync[sandbox]'"
        ) from None

    own_pool = executor is None
    pool = executor or ThreadPoolExecutor(max_workers=threads, thread_name_prefix="webhooks")
    limit = max_pending if max_pending is not None else 8 * threads
    in_flight = [0]
    counter = threading.Lock()

    def _release(_: object) -> None:
        with counter:
            in_flight[0] -= 1

    def _admit() -> bool:
        with counter:
            if in_flight[0] >= limit:
                return False
            in_flight[0] += 1
            return True

    prefix = "/" + prefix.strip("/")

    def _apply_later(account: str) -> Any:
        def done(fut: Future[Received]) -> None:
            if fut.exception() is None and fut.result().stored:
                # Applied right away on the receiver's pool (no need to wait for a loop to
                # wake); a worker's loop of the account takes whatever this misses.
                pool.submit(engine.apply_inbox, account, fut.result().stored)

        return done

    async def _ingest(account: str, headers: dict[str, str], body: bytes) -> Response:
        # Admitted by the caller (``_admit``); released when the work is done.
        future = pool.submit(engine.receive_webhook, account, headers, body)
        future.add_done_callback(_release)
        future.add_done_callback(_apply_later(account))
        try:
            received = await _wait(future, ack_within)
        except TimeoutError:
            log.warning(
                "webhook for %s: the store did not take it within %.1f s", account, ack_within
            )
            return JSONResponse({"error": "busy"}, status_code=503, headers={"retry-after": "5"})
        except UnknownAccount:
            return _unknown()
        except WebhookPayloadError as exc:
            log.warning("webhook for %s refused: %s", account, clip(str(exc)))
            return JSONResponse({"error": "malformed body"}, status_code=400)
        except WebhookVerificationError as exc:
            # The reason goes to the operator's log only: telling the sender which check
            # failed (or which shop the account is configured for) helps forgers.
            log.warning("webhook for %s refused: %s", account, clip(str(exc)))
            return JSONResponse({"error": "verification failed"}, status_code=401)
        except Exception as exc:
            log.error(
                "webhook for %s could not be stored: %s: %s",
                account,
                type(exc).__name__,
                clip(str(exc)),
            )
            return JSONResponse(
                {"error": "could not store the delivery"},
                status_code=503,
                headers={"retry-after": "5"},
            )
        responses = [e.response for e in received.events if e.response is not None]
        if responses:
            return Response(responses[0], media_type="application/json")
        return JSONResponse(_summary(received.events))

    known = frozenset(engine.accounts)

    def _unknown() -> Response:
        return JSONResponse({"error": "unknown account"}, status_code=404)

    async def receive(request: Request) -> Response:
        account = request.path_params["account"]
        if account not in known:  # refused before a byte of the body is read
            return _unknown()
        if not _admit():
            log.warning("webhook for %s refused: %d deliveries still being applied", account, limit)
            return JSONResponse({"error": "busy"}, status_code=503, headers={"retry-after": "5"})
        try:
            body = await _read_body(request, max_body_bytes)
        except _TooLarge:
            _release(None)
            return JSONResponse(
                {"error": f"body over the {max_body_bytes}-byte limit"}, status_code=413
            )
        except BaseException:
            _release(None)
            raise
        return await _ingest(account, dict(request.headers), body)

    async def check(request: Request) -> Response:
        account = request.path_params["account"]
        if account not in known:
            return _unknown()
        query = request.url.query
        if not query:
            return PlainTextResponse("POST webhook deliveries here", status_code=405)
        if not _admit():
            return JSONResponse({"error": "busy"}, status_code=503, headers={"retry-after": "5"})
        return await _ingest(account, challenge_headers(request.headers, query), b"")

    async def health(request: Request) -> Response:
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(pool, engine.store.ping)
        except Exception as exc:
            return JSONResponse({"ok": False, "store": f"{type(exc).__name__}"}, status_code=503)
        return JSONResponse({"ok": True, "accounts": engine.accounts})

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        if own_pool:
            pool.shutdown(wait=True)

    return Starlette(
        routes=[
            Route(f"{prefix}/{{account}}", receive, methods=["POST"]),
            Route(f"{prefix}/{{account}}", check, methods=["GET"]),
            Route("/healthz", health, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


async def _wait(future: Future[Received], timeout: float) -> Received:
    """Wait for ``future`` up to ``timeout`` seconds without cancelling it on time-out."""
    wrapped = asyncio.wrap_future(future)
    return await asyncio.wait_for(asyncio.shield(wrapped), timeout)
