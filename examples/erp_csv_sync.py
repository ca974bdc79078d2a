"""Push an ERP's stock export to every sales channel.

Many ERPs and warehouse systems export the physical stock as a CSV file every few
minutes. This script records the counts in channelsync's ledger (``set_on_hand_many``:
on hand = the counted units; units on open orders stay committed) and runs one sync
cycle, so every channel shows ``on hand - committed`` under its rules.

Each export is applied once: its idempotency key is the export id (the ``--export-id``
you pass, or a digest of the file), so a file picked up twice, or a crash and rerun,
changes nothing the second time.

    python examples/erp_csv_sync.py stock-2026-11-23T0800.csv --config channelsync.toml

The CSV has a header with ``sku`` and ``quantity`` columns (``,`` or ``;`` separated,
as German ERPs like to write it); other columns are ignored. A file with any bad row is
refused whole: half an inventory count is worse than none.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import sys
from collections.abc import Sequence
from pathlib import Path

import channelsync as cs
from channelsync.config import load_config


class ExportError(ValueError):
    """The export file cannot be used (it names the line)."""


def read_export(path: Path) -> dict[str, int]:
    """SKU -> counted units from the CSV at ``path``."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ExportError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ExportError(f"{path}: is a folder, not an export file") from None
    except UnicodeDecodeError as exc:
        raise ExportError(
            f"{path}: not UTF-8 text (byte {exc.start}); export it as UTF-8"
        ) from None
    except OSError as exc:
        raise ExportError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        dialect = csv.Sniffer().sniff(text.splitlines()[0], delimiters=",;\t")
        delimiter = dialect.delimiter
    except (csv.Error, IndexError):
        delimiter = ","
    reader = csv.DictReader(text.splitlines(), delimiter=delimiter)
    fields = {(f or "").strip().lower(): f for f in reader.fieldnames or []}
    if "sku" not in fields or "quantity" not in fields:
        raise ExportError(f"{path}: the header needs 'sku' and 'quantity' columns")
    counts: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        sku = (row.get(fields["sku"]) or "").strip()
        raw = (row.get(fields["quantity"]) or "").strip()
        if not sku and not raw:
            continue
        if not sku:
            raise ExportError(f"{path}:{line}: no SKU")
        try:
            quantity = int(raw)
        except ValueError:
            raise ExportError(
                f"{path}:{line}: quantity {raw!r} of {sku} is not a whole number"
            ) from None
        if quantity < 0:
            raise ExportError(f"{path}:{line}: quantity of {sku} is negative ({quantity})")
        if sku in counts:
            raise ExportError(f"{path}:{line}: {sku} appears twice")
        counts[sku] = quantity
    return counts


def export_id(path: Path) -> str:
    """A stable id for an export file: the digest of its content."""
    return "sha256-" + hashlib.sha256(path.read_bytes()).hexdigest()[:32]


def sync_export(
    engine: cs.SyncEngine, path: Path, export: str | None = None
) -> tuple[int, cs.CycleReport]:
    """Record the export's counts once, then run one sync cycle; (ledger rows changed, report)."""
    counts = read_export(path)
    key = f"erp-export:{export or export_id(path)}"
    changed = engine.set_on_hand_many(counts, idempotency_key=key, source="erp")
    return changed, engine.run_once()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path, help="the ERP's stock export")
    parser.add_argument("--config", type=Path, default=None, help="channelsync.toml")
    parser.add_argument("--export-id", default=None, help="the ERP's id of this export")
    args = parser.parse_args(argv)

    try:
        config = load_config(args.config)
        store = cs.open_store(config.store_url)
        channels = config.build_channels()
    except cs.ConfigError as exc:  # a bad config or an unreachable store: one line
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    try:
        engine = cs.SyncEngine(store, channels, rules=config.rules())
        changed, report = sync_export(engine, args.csv, args.export_id)
    except ExportError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    finally:
        for channel in channels:
            getattr(channel, "close", lambda: None)()
        store.close()
    print(
        f"{changed} stock counts changed; {report.pushes_ok} listings updated,"
        f" {report.pushes_failed} failed, {report.orders_new} new orders"
    )
    for account, acc in sorted(report.accounts.items()):
        for error in acc.errors:
            print(f"{account}: {error}", file=sys.stderr)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
