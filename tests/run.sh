#!/bin/sh
# Install what the tests need and run the whole suite:
#   sh tests/run.sh [pytest arguments]
# Creates .venv (if missing), installs the project with its test extras, installs
# Debian's chromium for the browser tests when it is missing (as root, or via sudo),
# then runs pytest. Browsers are never downloaded by Playwright.
set -eu
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'

CHROMIUM=${SUPPORTBOT_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
    echo "installing Debian's chromium for the browser tests..."
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

exec .venv/bin/python -m pytest "$@"
