"""An HTTP endpoint that hangs: it accepts connections on 127.0.0.1:PORT, reads, never answers."""

from __future__ import annotations

import socket
import sys
import threading


def hold(conn: socket.socket) -> None:
    with conn:
        while conn.recv(65536):
            pass


def main() -> None:
    srv = socket.create_server(("127.0.0.1", int(sys.argv[1])))
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=hold, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
