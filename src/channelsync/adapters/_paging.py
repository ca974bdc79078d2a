"""Pagination the adapters share: follow a cursor or page number, detect loops, stop."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import Generic, TypeVar

from channelsync.core.errors import Unavailable

__all__ = ["Paginator"]

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


class Paginator(Generic[T, K]):
    """Iterate pages of items, following each page's token to the next.

    ``fetch(token)`` returns ``(items, next_token)``; ``next_token`` None ends the scan.
    A token seen twice (a server bug or a cursor that does not move) stops the scan with
    ``Unavailable`` instead of looping forever; ``max_pages`` bounds it too.

    ::

        pages = Paginator(lambda cursor: client.orders_page(cursor), first=None)
        for order in pages: ...
    """

    def __init__(
        self,
        fetch: Callable[[K | None], tuple[Iterable[T], K | None]],
        *,
        first: K | None = None,
        max_pages: int = 100_000,
        channel: str | None = None,
        operation: str | None = None,
    ) -> None:
        self._fetch = fetch
        self._first = first
        self._max_pages = max_pages
        self._channel = channel
        self._operation = operation
        self.pages = 0

    def __iter__(self) -> Iterator[T]:
        token: K | None = self._first
        seen: set[K] = set()
        while True:
            if token is not None:
                if token in seen:
                    raise Unavailable(
                        f"pagination loop: token {token!r} came back",
                        channel=self._channel,
                        operation=self._operation,
                    )
                seen.add(token)
            if self.pages >= self._max_pages:
                raise Unavailable(
                    f"more than {self._max_pages} pages",
                    channel=self._channel,
                    operation=self._operation,
                )
            items, token = self._fetch(token)
            self.pages += 1
            yield from items
            if token is None:
                return
