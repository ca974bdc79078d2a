"""The SKU rule at the adapters' edge: a channel listing whose SKU breaks it is skipped.

``channelsync.core.models.check_sku`` is the one rule (1 to 255 characters, no control
characters; the models strip surrounding whitespace from channel data). A listing whose
SKU breaks it cannot be synced; skipping it, with a warning that names it and the rule,
keeps one bad listing from stopping its account's whole import.
"""

from __future__ import annotations

import logging

from channelsync.core.errors import InvalidInput
from channelsync.core.models import check_sku

__all__ = ["syncable_sku"]

log = logging.getLogger(__name__)


def syncable_sku(account: str, sku: str, what: str) -> bool:
    """Whether ``sku`` (stripped) keeps the SKU rule; if not, log why ``what`` (the
    channel's id of the listing) is not synced and return False."""
    try:
        check_sku(sku.strip())
    except InvalidInput as exc:
        log.warning("account %s: %s not synced: %s", account, what, str(exc)[:300])
        return False
    return True
