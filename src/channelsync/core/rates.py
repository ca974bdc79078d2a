"""Exchange rates the merchant supplies, for converting report figures into one currency.

Two file formats are read:

- a CSV of daily rates with the header ``date,from,to,rate``: on ``date``, one unit of
  ``from`` is worth ``rate`` units of ``to`` (``2026-11-02,USD,EUR,0.9210``);
- the European Central Bank's euro reference rates (``eurofxref.csv`` /
  ``eurofxref-hist.csv``): a ``Date`` column then one column per currency, each the
  value of one euro (``N/A`` where no rate was fixed).

A conversion on a day uses the newest rate on or before it (up to ``max_age_days`` back:
the ECB fixes no rate on weekends and holidays), directly, inverted, or across the euro.
Nothing is converted silently: ``convert`` returns None where no rate applies and the
reports list what they could not convert.
"""

from __future__ import annotations

import bisect
import csv
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

from channelsync.core.errors import ConfigError

__all__ = ["Rates", "load_rates"]

_ONE = Decimal(1)


class Rates:
    """Daily exchange rates: ``add`` them, or ``load_rates`` from a file."""

    def __init__(self, max_age_days: int = 7) -> None:
        self.max_age_days = max_age_days
        self._days: dict[tuple[str, str], list[date]] = defaultdict(list)
        self._values: dict[tuple[str, str], dict[date, Decimal]] = defaultdict(dict)

    def add(self, day: date, from_currency: str, to_currency: str, rate: Decimal) -> None:
        """On ``day`` one ``from_currency`` is worth ``rate`` ``to_currency``."""
        if rate <= 0:
            raise ValueError(f"rate {from_currency}->{to_currency} on {day} must be positive")
        pair = (from_currency.upper(), to_currency.upper())
        values = self._values[pair]
        if day not in values:
            bisect.insort(self._days[pair], day)
        values[day] = rate

    def __len__(self) -> int:
        return sum(len(v) for v in self._values.values())

    def _direct(self, pair: tuple[str, str], day: date) -> Decimal | None:
        days = self._days.get(pair)
        if not days:
            return None
        i = bisect.bisect_right(days, day)
        if i == 0:
            return None
        found = days[i - 1]
        if day - found > timedelta(days=self.max_age_days):
            return None
        return self._values[pair][found]

    def _pair(self, src: str, dst: str, day: date) -> Decimal | None:
        direct = self._direct((src, dst), day)
        if direct is not None:
            return direct
        inverse = self._direct((dst, src), day)
        return None if inverse is None else _ONE / inverse

    def rate(self, from_currency: str, to_currency: str, day: date) -> Decimal | None:
        """How many ``to_currency`` one ``from_currency`` is worth on ``day`` (or None).

        A direct or inverted rate, else a cross rate through EUR or USD.
        """
        src, dst = from_currency.upper(), to_currency.upper()
        if src == dst:
            return _ONE
        found = self._pair(src, dst, day)
        if found is not None:
            return found
        for via in ("EUR", "USD"):
            if via in (src, dst):
                continue
            first = self._pair(src, via, day)
            second = self._pair(via, dst, day) if first is not None else None
            if first is not None and second is not None:
                return first * second
        return None

    def convert(
        self, amount: Decimal, from_currency: str, to_currency: str, day: date
    ) -> Decimal | None:
        """``amount`` in ``to_currency`` at ``day``'s rate, or None without one."""
        rate = self.rate(from_currency, to_currency, day)
        return None if rate is None else amount * rate


def load_rates(path: str | Path, rates: Rates | None = None) -> Rates:
    """Read a rates file (the daily CSV or the ECB format), adding to ``rates``.

    Raises:
        ConfigError: the file is missing, not UTF-8, or a row is malformed (named with
            its line number).
    """
    out = rates if rates is not None else Rates()
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"rates file {file} not found") from None
    except UnicodeDecodeError:
        raise ConfigError(f"rates file {file} is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"rates file {file} cannot be read: {exc.strerror}") from None
    reader = csv.reader(text.splitlines())
    header = [h.strip() for h in next(reader, [])]
    lowered = [h.lower() for h in header]
    if lowered[:4] == ["date", "from", "to", "rate"]:
        for number, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue
            if len(row) < 4:
                raise ConfigError(f"{file}:{number}: expected date,from,to,rate, got {row!r}")
            day = _day(file, number, row[0])
            out.add(
                day,
                _code(file, number, row[1]),
                _code(file, number, row[2]),
                _rate(file, number, row[3]),
            )
        return out
    if lowered and lowered[0] == "date" and len(header) > 1:
        currencies = [_code(file, 1, h) if h else "" for h in header[1:]]
        for number, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue
            day = _day(file, number, row[0])
            for code, cell in zip(currencies, row[1:], strict=False):
                value = cell.strip()
                if not code or not value or value.upper() == "N/A":
                    continue
                out.add(day, "EUR", code, _rate(file, number, value))
        return out
    raise ConfigError(
        f"{file}: not a rates file: expected the header date,from,to,rate or the ECB's"
        " Date,USD,JPY,... (got {})".format(",".join(header[:5]) or "an empty file")
    )


def _day(file: Path, number: int, cell: str) -> date:
    text = cell.strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:  # the ECB's daily file writes "06 December 2026"
        return datetime.strptime(text + " +0000", "%d %B %Y %z").date()
    except ValueError:
        raise ConfigError(f"{file}:{number}: {text!r} is not a date (YYYY-MM-DD)") from None


def _code(file: Path, number: int, cell: str) -> str:
    code = cell.strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise ConfigError(f"{file}:{number}: {cell.strip()!r} is not an ISO 4217 currency code")
    return code


def _rate(file: Path, number: int, cell: str) -> Decimal:
    try:
        value = Decimal(cell.strip())
    except InvalidOperation:
        raise ConfigError(f"{file}:{number}: {cell.strip()!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise ConfigError(f"{file}:{number}: rate {cell.strip()!r} must be a positive number")
    return value
