"""Trading API XML as eBay writes it: envelopes, errors, items, orders."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal

from lxml import etree

from channelsync.adapters.ebay.mapping import EBAY_NS, format_time

__all__ = [
    "TradingFault",
    "amount",
    "envelope",
    "error_element",
    "serialize",
    "sub",
]

VERSION = "1423"
BUILD = "E1423_CORE_APISELLING_19187371_R1"


class TradingFault(Exception):
    """An error answer of a whole call (``Ack=Failure``)."""

    def __init__(
        self,
        code: str,
        short: str,
        long: str | None = None,
        *,
        classification: str = "RequestError",
        params: Iterable[str] = (),
    ) -> None:
        super().__init__(f"{code}: {short}")
        self.code = code
        self.short = short
        self.long = long or short
        self.classification = classification
        self.params = tuple(params)


def sub(
    parent: etree._Element, tag: str, text: object | None = None, **attrs: str
) -> etree._Element:
    """Append ``<tag attrs>text</tag>`` to ``parent``."""
    el = etree.SubElement(parent, tag, attrs)
    if text is not None:
        el.text = text if isinstance(text, str) else str(text)
    return el


def amount(parent: etree._Element, tag: str, value: Decimal, currency: str) -> etree._Element:
    """An ``AmountType`` element."""
    return sub(parent, tag, f"{value:.2f}", currencyID=currency)


def error_element(
    parent: etree._Element,
    code: str,
    short: str,
    long: str | None = None,
    *,
    severity: str = "Error",
    classification: str = "RequestError",
    params: Iterable[str] = (),
) -> etree._Element:
    """An ``<Errors>`` element in eBay's order of children."""
    el = sub(parent, "Errors")
    sub(el, "ShortMessage", short)
    sub(el, "LongMessage", long or short)
    sub(el, "ErrorCode", code)
    sub(el, "SeverityCode", severity)
    for i, value in enumerate(params):
        param = sub(el, "ErrorParameters", ParamID=str(i))
        sub(param, "Value", value)
    sub(el, "ErrorClassification", classification)
    return el


def envelope(
    call: str, now: datetime, ack: str = "Success"
) -> tuple[etree._Element, etree._Element]:
    """``<{call}Response>`` with Timestamp and Ack; returns (root, ack element).

    Errors go right after Ack, then Version and Build (call ``finish``), then the body.
    """
    root = etree.Element(f"{call}Response")
    sub(root, "Timestamp", format_time(now.astimezone(UTC)))
    ack_el = sub(root, "Ack", ack)
    return root, ack_el


def finish(root: etree._Element) -> None:
    """Append Version and Build (after Ack and any Errors)."""
    sub(root, "Version", VERSION)
    sub(root, "Build", BUILD)


def fault_document(call: str, now: datetime, fault: TradingFault) -> bytes:
    """The whole answer of a failed call."""
    root, _ = envelope(call, now, "Failure")
    error_element(
        root,
        fault.code,
        fault.short,
        fault.long,
        classification=fault.classification,
        params=fault.params,
    )
    finish(root)
    return serialize(root)


def serialize(root: etree._Element) -> bytes:
    """The answer as eBay sends it: UTF-8, the eBLBaseComponents default namespace."""
    body = etree.tostring(root, encoding="unicode")
    tag = root.tag
    assert isinstance(tag, str)
    body = body.replace(f"<{tag}", f'<{tag} xmlns="{EBAY_NS}"', 1)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode("utf-8")
