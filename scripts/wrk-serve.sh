#!/bin/sh
# wrk-serve.sh URL [SECONDS] — an outside cross-check of a completions
# server's HTTP layer with wrk (Debian package): GET /health, then a fixed
# short completion (POST /v1/completions, token ids [1,2,3], max_tokens 4,
# not streamed), each for SECONDS (default 5) with 2 threads and 16
# connections. Compare its requests/s and latency with `ggperf loadgen` and
# the server's /metrics. Not a test (timings are not asserted); only
# 127.0.0.1 / localhost. Run it under flock /tmp/ggperf-timing.lock on a
# shared machine.
set -eu
[ $# -ge 1 ] || { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
url=$1 secs=${2:-5}
case "$url" in
http://127.*|http://localhost*) ;;
*) echo "wrk-serve: only loopback URLs (http://127.0.0.1:PORT)" >&2; exit 2 ;;
esac
command -v wrk >/dev/null || { echo "wrk-serve: wrk not installed (scripts/install-deps.sh)" >&2; exit 1; }
lua=$(mktemp --suffix=.lua)
trap 'rm -f "$lua"' EXIT
cat > "$lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"prompt":[1,2,3],"max_tokens":4,"temperature":0,"ignore_eos":true}'
wrk.headers["Content-Type"] = "application/json"
LUA
echo "== wrk GET /health, ${secs}s"
wrk -t2 -c16 -d"${secs}s" --latency "$url/health"
echo "== wrk POST /v1/completions (3-token prompt, 4 tokens), ${secs}s"
wrk -t2 -c16 -d"${secs}s" --latency -s "$lua" "$url/v1/completions"
