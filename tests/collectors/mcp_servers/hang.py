"""A stdio "MCP server" that hangs: it never answers, ignores SIGTERM and stdin closing.

Only SIGKILL ends it. Writes its pid to the file named by ``$MCP_PID_FILE`` when set, so the
tests can check the probe killed it.
"""

from __future__ import annotations

import os
import signal
import sys
import time

signal.signal(signal.SIGTERM, signal.SIG_IGN)
if pid_file := os.environ.get("MCP_PID_FILE"):
    with open(pid_file, "w") as f:
        f.write(str(os.getpid()))
for _ in sys.stdin:  # read requests, answer nothing
    pass
while True:  # stdin closed: hang on anyway
    time.sleep(1)
