"""The cost of bounding webhook bodies: the depth scan against ``json.loads`` itself.

    python bench/bench_webhook_bounds.py [--repeat 5]

``load_json`` scans a body's nesting (strings stripped, brackets counted, no recursion)
before ``json.loads`` parses it. Measured per body, best of ``--repeat``:
  - a real-sized Shopify order body (about 8 KB, 40 line items) and one padded to the
    5 MB limit with 6,000 line items: scan + parse against parse alone (the floor);
  - the worst case for the scan, 5 MB of ``[]`` pairs (every byte a bracket), and a
    5 MB body 100,000 levels deep, which the scan refuses after 65 brackets.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

from channelsync.adapters._webhooks import MAX_WEBHOOK_BYTES, json_depth, load_json
from channelsync.core.errors import WebhookPayloadError


def _order(lines: int) -> bytes:
    item = {
        "id": 1,
        "sku": "MUG-[blue]-1",
        "title": 'Mug "blue" {large}',
        "quantity": 2,
        "price_set": {"shop_money": {"amount": "19.99", "currency_code": "EUR"}},
        "tax_lines": [{"rate": 0.19, "price_set": {"shop_money": {"amount": "3.19"}}}],
        "properties": [{"name": "engraving", "value": "[x] {y}"}],
    }
    return json.dumps({"id": 5512345, "name": "#1001", "line_items": [item] * lines}).encode()


def _best(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def _refused(body: bytes) -> None:
    try:
        load_json(body)
    except WebhookPayloadError:
        return
    raise AssertionError("not refused")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    small, large = _order(40), _order(6000)
    assert len(large) < MAX_WEBHOOK_BYTES
    print(f"{'body':<34} {'bytes':>10} {'parse (floor)':>14} {'scan+parse':>12} {'ratio':>6}")
    for name, body in (("order, 40 lines", small), ("order, 6,000 lines", large)):
        floor = _best(lambda b=body: json.loads(b), repeat)
        bounded = _best(lambda b=body: load_json(b), repeat)
        print(
            f"{name:<34} {len(body):>10,} {floor * 1000:>11.2f} ms {bounded * 1000:>9.2f} ms"
            f" {bounded / floor:>6.2f}"
        )
    flat = b"[" + b"[]," * (MAX_WEBHOOK_BYTES // 3 - 1) + b"[]]"
    deep = b"[" * 100_000 + b"]" * 100_000
    print(f"{'worst scan: 5 MB of [] pairs':<34} {len(flat):>10,}", end=" ")
    print(f"{_best(lambda: json.loads(flat), repeat) * 1000:>11.2f} ms", end=" ")
    print(f"{_best(lambda: json_depth(flat), repeat) * 1000:>9.2f} ms (scan alone)")
    print(f"{'refused: 100,000 levels deep':<34} {len(deep):>10,}", end=" ")
    print(f"{'(RecursionError)':>14} {_best(lambda: _refused(deep), repeat) * 1000:>9.2f} ms")


if __name__ == "__main__":
    main()
