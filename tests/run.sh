#!/usr/bin/env bash
# The one test command (README, .ci/run): installs what the tests need, lints, type-checks, runs pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests drive for real (installed only when missing).
apt_need=()
[ -x /usr/bin/chromium ] || apt_need+=(chromium)
[ -x /usr/bin/prometheus ] || apt_need+=(prometheus)
[ -x /usr/bin/prometheus-node-exporter ] || apt_need+=(prometheus-node-exporter)
[ -x /usr/bin/prometheus-alertmanager ] || apt_need+=(prometheus-alertmanager)
[ -x /usr/sbin/haproxy ] || apt_need+=(haproxy)  # bench load's proxy (tests/bench/test_load_proxy.py)
# HypoPG for the database index advice tests (hypothetical indexes in a throwaway cluster)
[ -n "$(ls /usr/share/postgresql/*/extension/hypopg.control 2>/dev/null)" ] ||
  apt_need+=("postgresql-$(ls /usr/lib/postgresql | sort -n | tail -1)-hypopg")
if [ ${#apt_need[@]} -gt 0 ]; then
  echo "tests/run.sh: installing Debian packages: ${apt_need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${apt_need[@]}" >/dev/null
fi

# The PostgreSQL the storage tests use (pre-started on these machines; start it if it stopped).
if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
fi

python -m pip install -q --disable-pip-version-check --root-user-action=ignore -e '.[test]'
python -m ruff check .
python -m ruff format --check .
python -m mypy core collectors
lint-imports
python -m pytest "$@"
