"""What showback needs from outside the usage domain: unit prices and the basis they apply to.

``Prices`` is a protocol, so the optimization domain's ``PriceSettings`` (currency, price of a
core-hour and of a GiB-hour) is used as it is: the seam, the CLI and the daemon pass it in; this
package does not import its sibling domain.
"""

from __future__ import annotations

from typing import Literal, Protocol

Basis = Literal["requests", "usage"]
BASES: tuple[Basis, ...] = ("requests", "usage")


class Prices(Protocol):
    @property
    def currency(self) -> str: ...

    @property
    def cpu_core_hour(self) -> float: ...

    @property
    def memory_gib_hour(self) -> float: ...
