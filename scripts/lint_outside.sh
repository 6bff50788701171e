#!/usr/bin/env bash
# The outside OpenAPI linters on specs/*.yaml, each pinned and installed into .tools/ (nothing
# global): openapi-generator-cli from PyPI (bundles its jar; needs Java 11+), Spectral
# (ruleset spectral:oas, .spectral.yaml) and Redocly (recommended, redocly.yaml) from npm (need
# Node 18+ and npm). Usage: UV="uv" scripts/lint_outside.sh   (the Makefile passes its uv)
set -euo pipefail
cd "$(dirname "$0")/.."
OPENAPI_GENERATOR_CLI=7.26.0
SPECTRAL_CLI=6.16.3
REDOCLY_CLI=2.77.0
TOOLS=.tools
UV=${UV:-uv}
for tool in java node npm; do
  command -v "$tool" >/dev/null || { echo "lint-outside: needs $tool on PATH" >&2; exit 1; }
done
stamp="$TOOLS/versions-$OPENAPI_GENERATOR_CLI-$SPECTRAL_CLI-$REDOCLY_CLI"
if [ ! -f "$stamp" ]; then
  rm -rf "$TOOLS" && mkdir -p "$TOOLS"
  $UV venv --quiet "$TOOLS/venv"
  $UV pip install --quiet --python "$TOOLS/venv/bin/python" \
    "openapi-generator-cli==$OPENAPI_GENERATOR_CLI"
  npm install --prefix "$TOOLS/npm" --no-save --no-audit --no-fund --loglevel=error \
    "@stoplight/spectral-cli@$SPECTRAL_CLI" "@redocly/cli@$REDOCLY_CLI" >/dev/null
  touch "$stamp"
fi
status=0
for spec in specs/*.yaml; do
  "$TOOLS/venv/bin/openapi-generator-cli" validate -i "$spec" || status=1
done
"$TOOLS/npm/node_modules/.bin/spectral" lint --fail-severity warn specs/*.yaml || status=1
"$TOOLS/npm/node_modules/.bin/redocly" lint --max-problems 50 specs/*.yaml || status=1
exit $status
