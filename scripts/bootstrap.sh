#!/usr/bin/env bash
# Make sure uv is available, then create .venv from uv.lock (nothing else is installed globally).
# Needs only python3 and pip. Prints the command to run uv with, for the Makefile.
set -euo pipefail
UV_VERSION=0.13.9
# Recorded with absolute paths: inside `uv run`, python3 is the venv's, which has no uv module.
py=$(command -v python3)
if command -v uv >/dev/null 2>&1; then
  uv=$(command -v uv)
elif "$py" -m uv --version >/dev/null 2>&1; then
  uv="$py -m uv"
else
  echo "bootstrap: installing uv ${UV_VERSION} for this user (pip)" >&2
  "$py" -m pip install --quiet --user "uv==${UV_VERSION}" >&2 \
    || "$py" -m pip install --quiet "uv==${UV_VERSION}" >&2
  uv="$py -m uv"
fi
$uv sync --locked --quiet >&2
echo "$uv"
