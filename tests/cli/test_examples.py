"""The scripts in examples/ run, against FakeChannel accounts and a temp SQLite store."""

from __future__ import annotations

import fcntl
import importlib.util
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest
import uvicorn
from tests.cli.conftest import Cli

import channelsync as cs
from channelsync.testing import FakeChannel

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def engine(store: cs.Store) -> cs.SyncEngine:
    shop = FakeChannel("shop")
    for sku in ("A-1", "B-2", "C-3"):
        shop.add_listing(sku, 0, "10.00")
    return cs.SyncEngine(store, [shop])


def test_erp_csv_sync_applies_each_export_once(engine: cs.SyncEngine, tmp_path: Path) -> None:
    erp = _load("erp_csv_sync")
    export = tmp_path / "stock.csv"
    export.write_text("SKU;Quantity;Warehouse\nA-1;7;Köln\nB-2;0;Köln\n\nC-3;12;Köln\n", "utf-8")
    changed, report = erp.sync_export(engine, export)
    assert changed == 3
    assert report.ok
    shop = engine.channel("shop")
    assert isinstance(shop, FakeChannel)
    assert shop.quantities == {"A-1": 7, "B-2": 0, "C-3": 12}
    shop.place_order({"A-1": 2})
    again, report = erp.sync_export(engine, export)  # the same file picked up twice
    assert again == 0
    assert shop.quantities["A-1"] == 5  # 7 counted, 2 on an open order
    newer = tmp_path / "stock-2.csv"
    newer.write_text("sku,quantity\nA-1,9\n", "utf-8")
    changed, _ = erp.sync_export(engine, newer, "export-42")
    assert changed == 1
    assert shop.quantities["A-1"] == 7


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sku,qty\nA-1,1\n", "the header needs 'sku' and 'quantity'"),
        ("sku,quantity\nA-1,many\n", ":2: quantity 'many' of A-1 is not a whole number"),
        ("sku,quantity\nA-1,1\nA-1,2\n", ":3: A-1 appears twice"),
        ("sku,quantity\nA-1,-1\n", ":2: quantity of A-1 is negative"),
    ],
)
def test_erp_csv_bad_export_is_refused_whole(
    engine: cs.SyncEngine, tmp_path: Path, text: str, message: str
) -> None:
    erp = _load("erp_csv_sync")
    export = tmp_path / "stock.csv"
    export.write_text(text, "utf-8")
    with pytest.raises(erp.ExportError, match=message.replace("(", r"\(")):
        erp.sync_export(engine, export)
    assert engine.stock("A-1").on_hand == 0


def test_erp_and_cron_scripts_from_a_config(cli: Cli, tmp_path: Path) -> None:
    erp, cron = _load("erp_csv_sync"), _load("cron_sync")
    cli.channel("shop-a").add_listing("A-1", 0, "10.00")
    export = tmp_path / "stock.csv"
    export.write_text("sku,quantity\nA-1,4\n", "utf-8")
    assert erp.main([str(export), "--config", str(cli.config)]) == 0
    assert cli.channel("shop-a").quantities["A-1"] == 4
    cli.channel("shop-a").place_order({"A-1": 1})
    assert cron.main(["--config", str(cli.config)]) == 0
    assert cli.json("stock", "show", "A-1")["committed"] == 1
    lock = tmp_path / "held.lock"
    with open(lock, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert cron.main(["--config", str(cli.config), "--lock", str(lock)]) == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("sku,quantity\nA-1,x\n", "utf-8")
    assert erp.main([str(bad), "--config", str(cli.config)]) == 2


def test_example_scripts_answer_bad_files_in_one_line(
    cli: Cli,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    erp, cron = _load("erp_csv_sync"), _load("cron_sync")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("sku,quantity\nKÖLN-1,1\n".encode("latin-1"))
    cases = [
        (tmp_path / "missing.csv", "refused: {p}: no such file"),
        (latin, "refused: {p}: not UTF-8 text (byte 14); export it as UTF-8"),
        (tmp_path, "refused: {p}: is a folder, not an export file"),
    ]
    for path, message in cases:
        assert erp.main([str(path), "--config", str(cli.config)]) == 2
        err = capsys.readouterr().err
        assert err == message.format(p=path) + "\n"
    bad_config = tmp_path / "bad.toml"
    bad_config.write_bytes(b'[store]\nurl = "sqlite:///x.db"\n# K\xf6ln\n')
    assert erp.main([str(latin), "--config", str(bad_config)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"refused: {bad_config}: cannot read: 'utf-8' codec can't decode")
    assert len(err.splitlines()) == 1
    # cron_sync logs its one line (for cron's mail)
    assert cron.main(["--config", str(bad_config)]) == 2
    lock = tmp_path / "no-such-folder" / "sync.lock"
    assert cron.main(["--config", str(cli.config), "--lock", str(lock)]) == 2
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 2
    assert errors[0].startswith(f"{bad_config}: cannot read")
    assert errors[1] == f"{lock}: No such file or directory"
    assert not any(r.exc_info for r in caplog.records)


@pytest.fixture
def served(engine: cs.SyncEngine) -> Iterator[httpx.Client]:
    app = _load("webhook_app").build_app(engine)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    with httpx.Client(base_url=f"http://127.0.0.1:{sock.getsockname()[1]}", timeout=10) as c:
        yield c
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


def test_webhook_app_applies_signed_deliveries(engine: cs.SyncEngine, served: httpx.Client) -> None:
    engine.set_on_hand("A-1", 5)
    shop = engine.channel("shop")
    assert isinstance(shop, FakeChannel)
    headers, body = shop.webhook_for(shop.place_order({"A-1": 2}), event_id="e-1")
    ok = served.post("/webhooks/shop", headers=headers, content=body)
    assert ok.status_code == 200
    assert ok.json() == {"events": 1, "kinds": ["order"]}
    assert served.get("/stock/A-1").json() == {"sku": "A-1", "on_hand": 5, "available": 3}
    assert served.post("/webhooks/shop", content=body).status_code == 401
    assert served.post("/webhooks/nobody", content=body).status_code == 404
    mounted = served.post("/channelsync/webhooks/shop", headers=headers, content=body)
    assert mounted.status_code == 200
    assert engine.stock("A-1").committed == 2
    assert served.get("/channelsync/healthz").json()["ok"] is True


def _raw_post(client: httpx.Client, path: str, declared: int, sent: bytes) -> str:
    """POST ``sent`` under a Content-Length of ``declared`` bytes; the status line answered."""
    url = httpx.URL(str(client.base_url))
    with socket.create_connection((url.host, url.port or 80), timeout=5) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {url.host}\r\nContent-Length: {declared}\r\n"
            "Content-Type: application/json\r\n\r\n".encode()
            + sent
        )
        try:
            return sock.recv(200).decode("latin-1").split("\r\n", 1)[0]
        except TimeoutError:
            return "no answer: the app waited for the whole body"


def test_webhook_app_refuses_big_bodies_and_unknown_accounts_before_reading_them(
    engine: cs.SyncEngine, served: httpx.Client
) -> None:
    huge = 50 * 1024 * 1024
    assert _raw_post(served, "/webhooks/shop", huge, b"{}").startswith("HTTP/1.1 413")
    assert _raw_post(served, "/webhooks/nobody", huge, b"{}").startswith("HTTP/1.1 404")
    streamed = served.post("/webhooks/shop", content=iter([b"x" * 1024 * 1024] * 6))
    assert streamed.status_code == 413


def test_webhook_app_says_only_that_verification_failed(
    engine: cs.SyncEngine, served: httpx.Client
) -> None:
    shop = engine.channel("shop")
    assert isinstance(shop, FakeChannel)
    headers, body = shop.webhook_for(shop.place_order({"A-1": 1}), event_id="e-2")
    refused = served.post("/webhooks/shop", headers=headers, content=body + b" ")
    assert refused.status_code == 401
    assert refused.json() == {"detail": "verification failed"}
