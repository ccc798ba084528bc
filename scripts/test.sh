#!/usr/bin/env bash
# Every check and every test, on SQLite and PostgreSQL, browser tests in Chromium.
# Installs what it needs: the venv, Debian's chromium, and starts a local PostgreSQL
# that is installed but stopped. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi; }

# -- Chromium for the browser tests ------------------------------------------------------
if [ ! -x /usr/bin/chromium ]; then
  echo "==> installing Debian's chromium for the browser tests"
  as_root apt-get update -qq || true
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium || {
    echo "!! could not install chromium: browser tests will fail" >&2
  }
fi

# -- PostgreSQL ----------------------------------------------------------------------------
export SMSSTREAMS_TEST_POSTGRES_URL=${SMSSTREAMS_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test}
pg_up() { .venv/bin/python - <<'PY'
import os, sys
import psycopg
try:
    psycopg.connect(os.environ["SMSSTREAMS_TEST_POSTGRES_URL"], connect_timeout=3).close()
except Exception as exc:
    print(f"   {type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}")
    sys.exit(1)
PY
}
if ! pg_up >/dev/null; then
  if command -v pg_lsclusters >/dev/null 2>&1; then
    echo "==> starting the local PostgreSQL cluster(s)"
    pg_lsclusters --no-header 2>/dev/null | while read -r ver name _; do
      as_root pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start 2>/dev/null || true
    done
    for _ in $(seq 1 30); do pg_up >/dev/null && break; sleep 1; done
  fi
fi
if ! pg_up; then
  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" >&2
  echo "!! PostgreSQL is NOT reachable at $SMSSTREAMS_TEST_POSTGRES_URL" >&2
  echo "!! PostgreSQL tests will be skipped (and fail under CI=true)." >&2
  echo "!! Install it (apt-get install postgresql) or set SMSSTREAMS_TEST_POSTGRES_URL." >&2
  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" >&2
fi

# -- checks and tests ----------------------------------------------------------------------
echo "==> ruff"
.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench
echo "==> mypy"
.venv/bin/mypy
echo "==> pytest"
.venv/bin/pytest "$@"
