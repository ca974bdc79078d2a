"""Never overwrite a channel's own sale: what to send to a listing without compare-and-set.

Pure decisions, no I/O. For each listing about to be set to an absolute quantity (or each
location of a listing, for channels that keep a quantity per location: Magento sources are
judged one (SKU, source) at a time, with the figures of that location) the guard gets
what the ledger wants it to show (``desired``), what the channel should show by our
account (``expected``: the last value it acknowledged, less the sales of its own that the
ledger has read since), what it shows now (``shown``, read just before the write, or None),
whether that read can be believed (``settled``: our last write has had time to show;
Amazon applies an accepted patch minutes later, and reads back the old value until then),
and the units the channel was found to have sold that the ledger has still not read
(``unseen``, remembered from earlier reads).

The rule: a channel is never set above what the ledger allows minus every unit the
channel itself is known to have sold and the ledger has not read. So

- a trusted read below ``expected`` means unseen sales: pull the account's orders first
  (they lower the ledger, and every other channel with it); when the order search does not
  have them yet (it lags), send ``desired`` less the unseen units;
- a lower or equal value always goes out (it cannot offer units that do not exist);
- a higher value without a trusted read waits (``hold``) until the read can be believed.

The unseen units are subtracted from the final quantity: exact for ``buffer`` rules and
bundles; with ``share`` or ``cap`` it lists a little less than it could until the order is
read, never more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Action", "Facts", "Verdict", "judge"]

Action = Literal["push", "hold", "pull"]


@dataclass(frozen=True)
class Facts:
    """What is known about one listing just before it is written.

    Attributes:
        sku: the listing's SKU.
        desired: what the ledger wants the listing to show now.
        expected: what the channel should show by our account (None: never acknowledged).
        shown: what the channel shows now (None: not read, or the read failed).
        settled: whether ``shown`` can be believed (our last write has shown by now).
        unseen: units this channel sold that the ledger has not read, found earlier.
    """

    sku: str
    desired: int
    expected: int | None
    shown: int | None
    settled: bool = True
    unseen: int = 0


@dataclass(frozen=True)
class Verdict:
    """What to do with one listing.

    ``push`` sends ``quantity``; ``pull`` asks for the account's orders to be read first;
    ``hold`` sends nothing now (``reason`` says why). ``unseen`` is the channel's own sales
    the ledger has not read, as now known (to remember until the orders are read).
    """

    sku: str
    action: Action
    quantity: int | None
    unseen: int
    reason: str


def judge(facts: Facts, *, pulled: bool) -> Verdict:
    """The verdict for one listing; ``pulled`` says the account's orders were just read."""
    sku, desired = facts.sku, max(0, facts.desired)
    known = max(0, facts.unseen)
    trusted = facts.shown is not None and facts.settled
    if trusted and facts.expected is not None and facts.shown is not None:
        drop = facts.expected - facts.shown
        if drop > 0:
            if not pulled:
                return Verdict(
                    sku,
                    "pull",
                    None,
                    known + drop,
                    f"the channel shows {facts.shown}, {drop} fewer than expected: sales not"
                    " read yet",
                )
            known += drop
        quantity = max(0, desired - known)
        why = f"{known} unit(s) sold there not read yet" if known else "read confirms"
        return Verdict(sku, "push", quantity, known, why)
    quantity = max(0, desired - known)
    if facts.expected is None or quantity <= facts.expected:
        return Verdict(sku, "push", quantity, known, "never higher than the channel shows")
    if facts.shown is None:
        why = "the channel's quantity could not be read; an increase waits for a read"
    else:
        why = "our last write has not shown on the channel yet; an increase waits for it"
    return Verdict(sku, "hold", None, known, why)
