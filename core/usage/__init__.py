"""Usage and showback per team, user and MCP server (domain code: a Reader and prices in, frames out).

The seam hands in the Reader narrowed to the signed-in user's teams, and for a developer to their
own series (``core.views.user_scope``); this package never decides who sees what.
"""

from core.usage.report import UsageReport, buckets_of, frames, usage_report
from core.usage.settings import BASES, Basis, Prices

__all__ = ["BASES", "Basis", "Prices", "UsageReport", "buckets_of", "frames", "usage_report"]
