"""The daemon's log: Pulse's own lines from INFO up, the libraries' from WARNING up.

HTTP and MCP client libraries log every request at INFO (httpx and its fork httpx2 that the MCP
SDK uses, httpcore, the SDK itself): seven lines per MCP probe, one per scrape, which buried the
lines that matter (issue 15, item 8). Naming each library is not enough (a new version brings a
new logger), so the daemon's handler also drops any other package's records below WARNING.
"""

from __future__ import annotations

import logging

OWN = frozenset({"pulse", "core", "collectors"})  # Pulse's own loggers: everything from INFO
CHATTY = ("httpx", "httpx2", "httpcore", "httpcore2", "mcp", "sse_starlette", "uvicorn")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class OwnInfoOnly(logging.Filter):
    """Lets a record through when it is a warning or worse, or comes from Pulse's own loggers."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or record.name.split(".", 1)[0] in OWN


def configure_daemon_logging() -> None:
    logging.basicConfig(level=logging.INFO, format=FORMAT)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # one line per job run is noise
    # a run skipped because the last one still runs is counted in pulse_job_missed_total
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
    for chatty in CHATTY:  # not even made into records: a line per scrape, per MCP session
        logging.getLogger(chatty).setLevel(logging.WARNING)
    for handler in logging.getLogger().handlers:
        # the console handler basicConfig made (not a handler of a test harness)
        if type(handler) is logging.StreamHandler and not any(
            isinstance(f, OwnInfoOnly) for f in handler.filters
        ):
            handler.addFilter(OwnInfoOnly())
