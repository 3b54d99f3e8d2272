#!/bin/sh
# Install what the tests need and run the checks and the whole suite:
#   sh tests/run.sh [pytest arguments]
# Creates .venv (if missing), installs the locked test environment
# (tests/requirements.lock, made from pyproject.toml with pip-compile) and the project,
# installs Debian's chromium, redis-server, nginx and postgresql for the tests when they are missing
# (as root, or via sudo), runs the checks of the README's "Development" section (ruff check and format,
# mypy --strict),
# then pytest. Browsers are never downloaded by Playwright.
set -eu
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
PIP=".venv/bin/python -m pip --quiet --disable-pip-version-check"
$PIP install --upgrade pip
$PIP install -r tests/requirements.lock
$PIP install --no-deps -e .
# The package is installed editable, so pip compiled none of its bytecode: compile it
# once here (even where PYTHONDONTWRITEBYTECODE is set) rather than in each of the many
# server, worker and command-line processes the tests start.
.venv/bin/python -m compileall -q bot

# Debian packages the tests start: chromium (browser tests), redis-server, nginx and
# postgresql (several server processes behind a proxy, on one store); each installed
# only when missing.
MISSING=""
CHROMIUM=${SUPPORTBOT_CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || MISSING="$MISSING chromium"
[ -x /usr/bin/redis-server ] || MISSING="$MISSING redis-server"
[ -x /usr/sbin/nginx ] || MISSING="$MISSING nginx-light"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || MISSING="$MISSING postgresql"
if [ -n "$MISSING" ]; then
    echo "installing Debian's$MISSING for the tests..."
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $MISSING >/dev/null
fi

.venv/bin/ruff check bot tests
.venv/bin/ruff format --check bot tests
.venv/bin/mypy --strict bot
# In as many processes as the machine has cores (at most 4; SUPPORTBOT_TEST_WORKERS
# overrides, 0 runs in this one): each has its own servers, browser and databases.
# The slow tests are collected first; an idle process takes tests from a busy one.
exec .venv/bin/python -m pytest -n "${SUPPORTBOT_TEST_WORKERS:-auto}" --maxprocesses=4 \
    --dist worksteal "$@"
