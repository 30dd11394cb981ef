"""One page of a longer list: what the pager macro (`_macros/pager.html`) needs."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class Page(Generic[T]):
    items: list[T]
    total: int
    page: int
    per_page: int
    exact: bool = True  # False: `total` is a lower bound ("1.000+")

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))
