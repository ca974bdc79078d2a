"""Exchange rates the merchant supplies (see ``channelsync.core.rates``)."""

from __future__ import annotations

from channelsync.core.rates import Rates, load_rates

__all__ = ["Rates", "load_rates"]
