#!/usr/bin/env bash
# Turns an installed tree (make install DESTDIR=ROOT PREFIX=/usr) into a
# Debian package with dpkg-deb: strips the binaries, works out Depends from
# the shared libraries they really link (their DT_NEEDED entries, found with
# ldd and owned per dpkg -S), and writes DEBIAN/control. Run by `make deb`.
#   scripts/make-deb.sh ROOT OUT.deb VERSION ARCH
set -euo pipefail
[ $# -eq 4 ] || { echo "usage: $0 ROOT OUT.deb VERSION ARCH" >&2; exit 2; }
ROOT=$1 OUT=$2 VERSION=$3 ARCH=$4
[ -x "$ROOT/usr/bin/ggperf" ] || { echo "make-deb: $ROOT/usr/bin/ggperf missing (make install DESTDIR=$ROOT PREFIX=/usr first)" >&2; exit 1; }

# The package that owns a library path; dpkg knows /lib and /usr/lib paths
# by the name they were shipped under, so try the path, its /usr twin and the
# file the symlinks end at (alternatives, e.g. libopenblas.so.0).
owner() {
  local p=$1 c
  for c in "$p" "/usr$p" "${p#/usr}" "$(readlink -f "$p")"; do
    [ -n "$c" ] || continue
    dpkg -S "$c" 2>/dev/null | head -1 | cut -d: -f1 && return 0
  done
  return 1
}

deps=()
for bin in "$ROOT"/usr/bin/*; do
  strip --strip-unneeded "$bin"
  mapfile -t needed < <(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
  for so in "${needed[@]}"; do
    path=$(ldd "$bin" | awk -v so="$so" '$1 == so { print $3 }')
    [ -n "$path" ] || { echo "make-deb: $bin needs $so, which ldd cannot find" >&2; exit 1; }
    pkg=$(owner "$path") || { echo "make-deb: no package owns $path ($so)" >&2; exit 1; }
    ver=$(dpkg-query -W -f='${Version}' "$pkg" | sed 's/-[^-]*$//; s/^[0-9]*://')
    dep="$pkg (>= $ver)"
    # OpenBLAS is picked through alternatives: any variant providing the soname will do.
    case $pkg in libopenblas0-*) dep="$dep | libopenblas.so.0" ;; esac
    deps+=("$dep")
  done
done
# Libraries opened at run time (dlopen) instead of linked: OpenBLAS for the
# matmul workload's blas rows (workloads/matmul.c says why).
for so in libopenblas.so.0; do
  # (no early exit in awk: ldconfig would die of SIGPIPE and pipefail end the script)
  path=$(ldconfig -p | awk -v so="$so" '$1 == so && p == "" { p = $NF } END { print p }')
  [ -n "$path" ] || { echo "make-deb: $so (opened at run time) is not installed" >&2; exit 1; }
  pkg=$(owner "$path") || { echo "make-deb: no package owns $path ($so)" >&2; exit 1; }
  ver=$(dpkg-query -W -f='${Version}' "$pkg" | sed 's/-[^-]*$//; s/^[0-9]*://')
  deps+=("$pkg (>= $ver) | $so")
done
depends=$(printf '%s\n' "${deps[@]}" | sort -u | paste -sd, | sed 's/,/, /g')

size=$(du -sk --exclude=DEBIAN "$ROOT" | cut -f1)
mkdir -p "$ROOT/DEBIAN"
cat > "$ROOT/DEBIAN/control" <<CONTROL
Package: ggperf
Version: $VERSION
Architecture: $ARCH
Maintainer: ggperf developers <ggperf@localhost>
Installed-Size: $size
Depends: $depends
Recommends: valgrind, gnuplot-nox, linux-perf, pkg-config
Section: devel
Priority: optional
Description: reference llama inference engine and performance harness
 ggperf reads GGUF models and runs the llama forward pass on the CPU, and
 measures it: workloads swept over typed axes with hardware, software,
 scheduler and simulated counters, results files, reports and a CI
 regression gate. Also ships the engine as a static library
 (libggperf-engine.a, pkg-config ggperf-engine) and ggperf-microbench.
CONTROL
# Files root-owned whatever the builder's uid.
dpkg-deb --root-owner-group --build "$ROOT" "$OUT" >/dev/null
echo "make-deb: $OUT"
echo "  Depends: $depends"
