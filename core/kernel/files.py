"""Pulse's own files are private: folders 0700, files 0600 (the database, the spool, keys).

The database holds password hashes and alert payloads; the spool holds samples. Other users of
the machine have no business reading them, whatever the umask of whoever started Pulse.
"""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE, FILE_MODE = 0o700, 0o600


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) as 0700; an existing folder is left as its owner set it."""
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        os.chmod(path, DIR_MODE)  # mkdir's mode is masked by the umask
    return path


def private_file(path: Path) -> Path:
    """Make sure ``path`` exists and is 0600 (created empty when missing), before anyone writes it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    os.close(fd)
    os.chmod(path, FILE_MODE)
    return path


def open_private(path: Path) -> int:
    """A new file (truncated if it exists) open for writing with mode 0600: ``os.fdopen`` it."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
