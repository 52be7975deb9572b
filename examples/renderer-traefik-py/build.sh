#!/bin/sh
# Builds traefik.wasm (a sluice:renderer@1.0.0 component) from src/ with
# componentize-py (`pip install componentize-py`, ~7 s, ~18 MB output).
# WIT: ../../wit/v1.0.0 in the Sluice tree; set SLUICE_WIT to a vendored copy.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
wit=${SLUICE_WIT:-$here/../../wit/v1.0.0}
cpy=${COMPONENTIZE_PY:-componentize-py}
out=${1:-$here/target/traefik.wasm}
mkdir -p "$(dirname "$out")"
cd "$here/src"
"$cpy" -d "$wit" -w renderer componentize app -o "$out"
echo "built $out"
