"""A busy Python process for the profiling tests: most of its time in ``burn_cpu_hot``, a little in
``light_work``; prints "ready" once it runs. Run as ``python busy_server.py``."""

import sys
import time


def burn_cpu_hot() -> int:
    total = 0
    for i in range(200_000):
        total += i * i % 7
    return total


def light_work() -> int:
    return sum(range(2_000))


def main() -> None:
    print("ready", flush=True)
    deadline = time.monotonic() + float(sys.argv[1] if len(sys.argv) > 1 else 60)
    while time.monotonic() < deadline:
        burn_cpu_hot()
        light_work()


if __name__ == "__main__":
    main()
