"""A FastAPI app that receives the marketplaces' webhooks and applies them at once.

Polling alone finds every order too, a poll interval later; webhooks make other
channels' stock drop within a second of a sale. Point each marketplace's webhook at
``https://<your host>/webhooks/<account>`` (the account names of channelsync.toml).

    CHANNELSYNC_CONFIG=channelsync.toml uvicorn --factory examples.webhook_app:make_app

Two ways are shown: a route of your own (``/webhooks/{account}``), for apps that already
have FastAPI routes and middleware, and channelsync's ready-made ASGI receiver mounted
under ``/channelsync`` (it also answers eBay's endpoint challenge, a GET, and serves
``/channelsync/healthz``).

The engine is synchronous (it holds database transactions and talks to marketplaces), so
the route hands the delivery to a worker thread. Answer fast: Shopify gives up after five
seconds and retries; WooCommerce disables a webhook after five failures.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

import channelsync as cs
from channelsync.config import load_config
from channelsync.webhooks import DEFAULT_MAX_BODY, create_app

log = logging.getLogger("webhook_app")


async def read_capped(request: Request, limit: int = DEFAULT_MAX_BODY) -> bytes:
    """The request body, refused with 413 as soon as it is known to be over ``limit``.

    ``await request.body()`` would first buffer whatever a sender streams at you.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(status_code=413, detail="body too large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(status_code=413, detail="body too large")
        chunks.append(chunk)
    return b"".join(chunks)


def build_app(engine: cs.SyncEngine) -> FastAPI:
    """The FastAPI app for ``engine``."""
    app = FastAPI(title="channelsync webhooks")
    accounts = frozenset(engine.accounts)

    @app.post("/webhooks/{account}")
    async def receive(account: str, request: Request) -> Response:
        if account not in accounts:  # before reading a byte of the body
            raise HTTPException(status_code=404, detail="unknown account")
        body = await read_capped(request)
        try:
            events = await run_in_threadpool(
                engine.ingest_webhook, account, dict(request.headers), body
            )
        except cs.WebhookVerificationError as exc:
            # Why it failed is for your log; the sender only learns that it did.
            log.warning("webhook for %s refused: %s", account, exc)
            raise HTTPException(status_code=401, detail="verification failed") from None
        return JSONResponse({"events": len(events), "kinds": sorted({e.kind for e in events})})

    @app.get("/stock/{sku}")
    async def stock(sku: str) -> dict[str, object]:
        view = await run_in_threadpool(engine.stock, sku)
        return {"sku": sku, "on_hand": view.on_hand, "available": view.available}

    app.mount("/channelsync", create_app(engine))
    return app


def make_app() -> FastAPI:
    """Build the app from ``$CHANNELSYNC_CONFIG`` (for ``uvicorn --factory``)."""
    config = load_config()
    store = cs.open_store(config.store_url)
    engine = cs.SyncEngine(store, config.build_channels(), rules=config.rules())
    return build_app(engine)
