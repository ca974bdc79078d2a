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

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

import channelsync as cs
from channelsync.config import load_config
from channelsync.webhooks import create_app


def build_app(engine: cs.SyncEngine) -> FastAPI:
    """The FastAPI app for ``engine``."""
    app = FastAPI(title="channelsync webhooks")

    @app.post("/webhooks/{account}")
    async def receive(account: str, request: Request) -> Response:
        body = await request.body()
        if len(body) > 5 * 1024 * 1024:
            raise HTTPException(status_code=413, detail="body too large")
        try:
            events = await run_in_threadpool(
                engine.ingest_webhook, account, dict(request.headers), body
            )
        except cs.UnknownAccount:
            raise HTTPException(status_code=404, detail="unknown account") from None
        except cs.WebhookVerificationError as exc:
            raise HTTPException(status_code=401, detail=f"verification failed: {exc}") from None
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
