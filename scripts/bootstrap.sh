#!/usr/bin/env bash
# Make sure uv is available, then create .venv from uv.lock (nothing else is installed globally).
# Needs only python3 and pip. Prints the command to run uv with, for the Makefile.
set -euo pipefail
UV_VERSION=0.13.9
if command -v uv >/dev/null 2>&1; then
  uv=uv
elif python3 -m uv --version >/dev/null 2>&1; then
  uv="python3 -m uv"
else
  echo "bootstrap: installing uv ${UV_VERSION} for this user (pip)" >&2
  python3 -m pip install --quiet --user "uv==${UV_VERSION}" >&2 \
    || python3 -m pip install --quiet "uv==${UV_VERSION}" >&2
  uv="python3 -m uv"
fi
$uv sync --locked --quiet >&2
echo "$uv"
