#!/usr/bin/env bash
# The main job on the built-in default: synthesize a small model and show it.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=build/ggperf
mkdir -p .cache
MODEL=.cache/tiny-q4_0.gguf
[ -f "$MODEL" ] || "$BIN" synth --shape tiny --type Q4_0 -o "$MODEL"
"$BIN" info "$MODEL"
