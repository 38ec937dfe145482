#!/usr/bin/env bash
# Installs the Debian packages ggperf builds, tests and reports with.
# Idempotent and quick when everything is present (one dpkg-query, no apt).
#   --check-only   exit 1 if something is missing, install nothing
set -euo pipefail

PKGS=(
  gcc g++ make pkg-config git      # toolchain
  check libsubunit-dev              # unit tests
  libpfm4-dev                       # hardware event names -> perf_event_attr
  libsqlite3-dev sqlite3            # results store, baselines
  libjansson-dev                    # results files and imports (JSON)
  libopenblas-dev                   # matmul reference (sgemm)
  libbenchmark-dev libbenchmark-tools  # kernel microbenchmarks, compare.py
  python3-scipy                     # compare.py imports scipy (U test); -tools does not pull it in
  liburing-dev                      # O_DIRECT load strategy through io_uring
  gnuplot-nox                       # plots
  chromium                          # headless check that the HTML report shows its plots
  valgrind                          # simulated cache counts
  clang libclang-rt-14-dev          # libFuzzer targets
  linux-perf                        # cross-check of software counters
  man-db                            # the install test reads the installed ggperf(1) with man -l
  libmicrohttpd-dev                 # ggperf serve: the HTTP/1.1 server
  curl wrk                          # serve tests' real client; outside load cross-check (scripts/wrk-serve.sh)
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]} packages present"
  exit 0
fi
if [ "${1:-}" = "--check-only" ]; then
  echo "install-deps: missing: ${missing[*]}"
  exit 1
fi

echo "install-deps: installing: ${missing[*]}"
SUDO=
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
