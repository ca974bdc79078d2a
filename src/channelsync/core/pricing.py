"""Price rules per channel account (and per SKU): from the merchant's price to the one a
channel shows, in recorded steps like the stock pipeline's.

The steps, in order (each optional):

1. **convert** the price into the account's ``currency`` with the merchant's rates (the
   rate of the day the price is pushed);
2. **percent**: a markup (``10`` = +10 %) or a discount (``-5``);
3. **offset**: a fixed amount added (or taken off, when negative), in the account's
   currency;
4. **ending**: round down to the next price ending in ``.99``, ``.95`` or ``.90`` at or
   below the amount (``"none"``: to cents, half up);
5. **guards**: a price below ``minimum`` or above ``maximum`` is *refused*: not sent, and
   reported in the cycle's errors (never clamped silently).

A price whose currency differs from the account's, with no rate to convert it, is refused
the same way instead of being sent to fail on the channel.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from channelsync.core.models import Money, currency_code
from channelsync.core.rates import Rates

__all__ = [
    "ENDINGS",
    "PriceBook",
    "PriceRule",
    "PriceStep",
    "PricedResult",
    "apply_price_rule",
]

Ending = Literal["none", ".99", ".95", ".90"]
ENDINGS: tuple[Ending, ...] = ("none", ".99", ".95", ".90")
_CENT = Decimal("0.01")


class PriceRule(BaseModel):
    """How one account (or one SKU on it) turns the merchant's price into its own.

    ``PriceRule(currency="USD", percent=10, ending=".99", minimum=5)``: convert into USD,
    add 10 %, round down to .99, refuse anything under 5.00 USD.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    currency: str | None = None
    """The account's currency: prices in another one are converted with the rates."""
    percent: Decimal = Decimal(0)
    """Markup (positive) or discount (negative) in percent."""
    offset: Decimal = Decimal(0)
    """A fixed amount added after the percentage, in the account's currency."""
    ending: Ending = "none"
    """Round down to this price ending (``none``: to cents)."""
    minimum: Decimal | None = Field(default=None, ge=0)
    """Refuse a price below this (in the account's currency)."""
    maximum: Decimal | None = Field(default=None, gt=0)
    """Refuse a price above this."""

    @field_validator("currency")
    @classmethod
    def _code(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return currency_code(value)

    @field_validator("percent")
    @classmethod
    def _percent(cls, value: Decimal) -> Decimal:
        if value <= -100:
            raise ValueError(f"a discount of {value}% leaves nothing to sell for")
        return value

    def is_identity(self) -> bool:
        """True when the rule changes nothing (no conversion, no step, no guard)."""
        return self == PriceRule()


@dataclass(frozen=True)
class PriceStep:
    """One step of the price pipeline: its name, what it did, and the price after it."""

    step: str
    detail: str
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class PricedResult:
    """The price a channel should show, the steps that made it, or why it is refused."""

    price: Money | None
    steps: tuple[PriceStep, ...]
    refused: str | None = None

    @property
    def ok(self) -> bool:
        """True when the price may be sent."""
        return self.refused is None and self.price is not None


def _ending(amount: Decimal, ending: Ending) -> Decimal:
    if ending == "none":
        return amount.quantize(_CENT, ROUND_HALF_UP)
    cents = Decimal(ending)
    whole = amount.to_integral_value(ROUND_FLOOR)
    candidate = whole + cents
    if candidate > amount:
        candidate -= 1
    return candidate


def apply_price_rule(
    price: Money,
    rule: PriceRule | None,
    *,
    rates: Rates | None = None,
    day: date | None = None,
    channel_currency: str | None = None,
) -> PricedResult:
    """The price ``rule`` makes of ``price`` (on ``day``, for conversion).

    ``channel_currency`` is the currency the listing shows where the channel told us (a
    rule's ``currency`` wins over it).
    """
    rule = rule or PriceRule()
    amount, currency = price.amount, price.currency
    steps = [PriceStep("price", "the merchant's price", amount, currency)]
    target = rule.currency or channel_currency
    if target is not None and target != currency:
        rate = rates.rate(currency, target, day) if rates is not None and day is not None else None
        if rate is None:
            return PricedResult(
                None,
                tuple(steps),
                f"price in {currency}, the account sells in {target}, and no {currency}->"
                f"{target} rate is known for {day.isoformat() if day else 'today'}"
                " (configure [reports] rates_file)",
            )
        amount = (amount * rate).quantize(Decimal("0.0001"), ROUND_HALF_UP)
        steps.append(PriceStep("convert", f"x {rate} ({currency}->{target})", amount, target))
        currency = target
    if rule.percent:
        amount = amount * (100 + rule.percent) / 100
        sign = "+" if rule.percent > 0 else ""
        steps.append(PriceStep("percent", f"{sign}{rule.percent}%", amount, currency))
    if rule.offset:
        amount += rule.offset
        sign = "+" if rule.offset > 0 else ""
        steps.append(PriceStep("offset", f"{sign}{rule.offset}", amount, currency))
    rounded = _ending(amount, rule.ending)
    if rounded != amount or rule.ending != "none":
        detail = "to cents" if rule.ending == "none" else f"down to {rule.ending}"
        steps.append(PriceStep("ending", detail, rounded, currency))
    amount = rounded
    if amount <= 0:
        return PricedResult(None, tuple(steps), f"the rules make {amount} {currency}: not a price")
    if rule.minimum is not None and amount < rule.minimum:
        steps.append(PriceStep("minimum", f"at least {rule.minimum}", amount, currency))
        return PricedResult(
            None,
            tuple(steps),
            f"{amount} {currency} is below the minimum {rule.minimum} {currency}",
        )
    if rule.maximum is not None and amount > rule.maximum:
        steps.append(PriceStep("maximum", f"at most {rule.maximum}", amount, currency))
        return PricedResult(
            None,
            tuple(steps),
            f"{amount} {currency} is above the maximum {rule.maximum} {currency}",
        )
    return PricedResult(Money(amount=amount, currency=currency), tuple(steps))


class PriceBook:
    """The price rules of an engine: per account, overridden per (account, SKU), and the
    exchange rates conversions use (``SyncEngine(price_rules=..., rates=...)``)."""

    def __init__(
        self,
        rules: Mapping[str | tuple[str, str], PriceRule] | None = None,
        rates: Rates | None = None,
    ) -> None:
        self.rates = rates
        self._account: dict[str, PriceRule] = {}
        self._sku: dict[tuple[str, str], PriceRule] = {}
        for key, rule in (rules or {}).items():
            self.set(key, rule)

    def set(self, key: str | tuple[str, str], rule: PriceRule) -> None:
        """Set the rule of an account (``"ebay-de"``) or of one SKU on it
        (``("ebay-de", "SKU-1")``)."""
        if not isinstance(rule, PriceRule):
            raise TypeError(f"price rule for {key!r} must be a PriceRule, got {rule!r}")
        if isinstance(key, tuple):
            self._sku[key] = rule
        elif isinstance(key, str):
            self._account[key] = rule
        else:
            raise TypeError(f"price rule key must be an account or (account, sku), got {key!r}")

    def rule(self, account: str, sku: str) -> PriceRule | None:
        """The rule that applies to ``sku`` on ``account`` (the SKU's, else the account's)."""
        return self._sku.get((account, sku)) or self._account.get(account)

    def price(
        self,
        account: str,
        sku: str,
        base: Money,
        *,
        day: date,
        channel_currency: str | None = None,
    ) -> PricedResult:
        """The price ``account`` should show for ``sku`` when the merchant's is ``base``."""
        return apply_price_rule(
            base,
            self.rule(account, sku),
            rates=self.rates,
            day=day,
            channel_currency=channel_currency,
        )
