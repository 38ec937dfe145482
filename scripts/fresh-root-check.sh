#!/usr/bin/env bash
# Proves that a bare Debian 12 machine builds and tests ggperf on the first
# try (issue 13) and that the .deb installs there (issue 21): makes a bare
# bookworm root with debootstrap (only git, make, ca-certificates and sudo),
# clones the project into it and runs the README's two commands, `make demo`
# then `make test`, as root in a chroot. Nothing of the host's installed
# packages is visible inside: the chroot's own make installs the
# dependencies through scripts/install-deps.sh (apt-get).
#
#   scripts/fresh-root-check.sh [options] [REPO_DIR_OR_URL] [REV]
#     REPO   where to clone from (default: this checkout)
#     REV    what to check out (default: HEAD of REPO)
#   --deb FILE   instead of building from source, `apt install ./FILE` in the
#                bare root and run `ggperf probe`, synth and bench there
#   --no-recommends  with --deb: install Depends only (proves they suffice)
#   --keep       keep the root afterwards (its path is printed)
#   --rebase     rebuild the cached bare root first
#
# Environment: FRESH_ROOT_CACHE (default /var/tmp/ggperf-fresh-root; the
# bare root is cached in $FRESH_ROOT_CACHE/base and copied fresh for each
# run), DEBIAN_MIRROR (default: the host's apt sources, else
# deb.debian.org), FRESH_MAKEFLAGS (passed as MAKEFLAGS to make; default
# none, i.e. exactly the README's commands).
#
# Needs root (debootstrap, mount, chroot). Exit 0 only when every step passed.
set -euo pipefail
# The whole script is one block, read before it runs: editing the file
# during a run (which takes minutes) cannot change what the run does.
{

usage() { sed -n '2,/^# Needs root/s/^# \{0,1\}//p' "$0"; }

DEB=
APT_OPTS=
KEEP=0
REBASE=0
ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --deb) [ $# -ge 2 ] || { echo "fresh-root-check: --deb needs a file" >&2; exit 2; }
           DEB=$2; shift 2 ;;
    --no-recommends) APT_OPTS=--no-install-recommends; shift ;;
    --keep) KEEP=1; shift ;;
    --rebase) REBASE=1; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "fresh-root-check: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) ARGS+=("$1"); shift ;;
  esac
done
[ "${#ARGS[@]}" -le 2 ] || { echo "fresh-root-check: too many arguments (see --help)" >&2; exit 2; }

HERE=$(cd "$(dirname "$0")/.." && pwd)
REPO=${ARGS[0]:-$HERE}
REV=${ARGS[1]:-HEAD}
if [ -n "$DEB" ]; then
  [ -f "$DEB" ] || { echo "fresh-root-check: --deb: no such file '$DEB'" >&2; exit 2; }
  DEB=$(cd "$(dirname "$DEB")" && pwd)/$(basename "$DEB")
fi
[ "$(id -u)" -eq 0 ] || { echo "fresh-root-check: needs root (debootstrap, mount, chroot)" >&2; exit 2; }

CACHE=${FRESH_ROOT_CACHE:-/var/tmp/ggperf-fresh-root}
BASE=$CACHE/base
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RUN=$CACHE/run-$STAMP-$$
LOGS=$CACHE/logs/$STAMP-$$
mkdir -p "$CACHE" "$LOGS"

say() { printf 'fresh-root-check: %s\n' "$*" >&2; }

# --- the cached bare root -------------------------------------------------
mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
  local m
  m=$(grep -hoE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
        /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -1 | awk '{print $2}') || true
  echo "${m:-http://deb.debian.org/debian}"
}

if [ "$REBASE" = 1 ]; then rm -rf "$BASE"; fi
if [ ! -x "$BASE/bin/bash" ]; then
  if ! command -v debootstrap >/dev/null; then
    say "installing debootstrap on the host"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap; }
  fi
  M=$(mirror)
  say "debootstrap bookworm from $M into $BASE (cached for later runs)"
  rm -rf "$BASE.tmp"
  debootstrap --variant=minbase --include=git,make,ca-certificates,sudo bookworm "$BASE.tmp" "$M" \
    > "$LOGS/debootstrap.log" 2>&1 || { say "debootstrap failed; see $LOGS/debootstrap.log"; tail -5 "$LOGS/debootstrap.log" >&2; exit 1; }
  # The host's apt sources (mirror, security, updates) when it has any;
  # debootstrap's own one-line sources.list otherwise.
  if ls /etc/apt/sources.list.d/*.sources >/dev/null 2>&1 || [ -s /etc/apt/sources.list ]; then
    rm -f "$BASE.tmp/etc/apt/sources.list"
    [ -s /etc/apt/sources.list ] && cp /etc/apt/sources.list "$BASE.tmp/etc/apt/"
    for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
      [ -f "$f" ] && cp "$f" "$BASE.tmp/etc/apt/sources.list.d/"
    done
  fi
  mv "$BASE.tmp" "$BASE"
fi

# --- a fresh copy, with /proc, /sys and /dev, undone on every exit ---------
MOUNTED=()
# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
  local rc=$?
  local i
  for ((i=${#MOUNTED[@]}-1; i>=0; i--)); do
    umount -R "${MOUNTED[i]}" 2>/dev/null || umount -lR "${MOUNTED[i]}" 2>/dev/null || true
  done
  if [ "$KEEP" = 1 ]; then say "root kept at $RUN"
  elif [ -d "$RUN" ]; then
    # Never delete through a mount that failed to come off.
    if grep -q " $RUN/" /proc/mounts; then say "mounts left under $RUN; not deleting it"
    else rm -rf "$RUN"; fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

say "copying the bare root to $RUN"
cp -a "$BASE" "$RUN"
cp -L /etc/resolv.conf "$RUN/etc/resolv.conf" 2>/dev/null || true
for d in proc sys dev; do
  mkdir -p "$RUN/$d"
  MOUNTED+=("$RUN/$d")
  case $d in
    proc) mount -t proc proc "$RUN/proc" ;;
    sys)  mount --rbind /sys "$RUN/sys"; mount --make-rslave "$RUN/sys" ;;
    dev)  mount --rbind /dev "$RUN/dev"; mount --make-rslave "$RUN/dev" ;;
  esac
done

# Everything inside runs with a clean environment: nothing of the host's
# PATH, compilers or libraries leaks in.
in_root() {
  chroot "$RUN" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    ${FRESH_MAKEFLAGS:+MAKEFLAGS="$FRESH_MAKEFLAGS"} /bin/bash -c "$1"
}

# step NAME COMMAND: run COMMAND in the root, log it, record rc and seconds.
NAMES=(); RCS=(); SECS=()
step() {
  local name=$1 cmd=$2 t0 t1 rc
  say "$name: $cmd  (log: $LOGS/$name.log)"
  t0=$(date +%s)
  set +e; in_root "$cmd" > "$LOGS/$name.log" 2>&1; rc=$?; set -e
  t1=$(date +%s)
  NAMES+=("$name"); RCS+=("$rc"); SECS+=("$((t1 - t0))")
  return $rc
}

summary() {
  local i ok=0
  echo
  echo "== fresh-root-check summary ($(date -u +%FT%TZ))"
  echo "root: debootstrap --variant=minbase --include=git,make,ca-certificates,sudo bookworm"
  echo "source: $SRC_DESC"
  echo "logs: $LOGS"
  for i in "${!NAMES[@]}"; do
    echo
    echo "-- ${NAMES[i]}: exit ${RCS[i]}, wall ${SECS[i]} s; last lines:"
    tail -n "${TAIL_LINES:-8}" "$LOGS/${NAMES[i]}.log" | sed 's/^/   | /'
    [ "${RCS[i]}" -eq 0 ] || ok=1
  done
  echo
  for i in "${!NAMES[@]}"; do printf '%-10s exit %-3s wall %ss\n' "${NAMES[i]}" "${RCS[i]}" "${SECS[i]}"; done
  [ "$ok" -eq 0 ] && echo "RESULT: PASS" || echo "RESULT: FAIL"
  return $ok
}

if [ -n "$DEB" ]; then
  SRC_DESC="package $(basename "$DEB")${APT_OPTS:+ ($APT_OPTS)}"
  mkdir -p "$RUN/tmp/pkg"
  cp "$DEB" "$RUN/tmp/pkg/"
  P=/tmp/pkg/$(basename "$DEB")
  step apt "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt install -y $APT_OPTS $P" || true
  step probe "cd / && ggperf version && ggperf probe" || true
  step bench "cd / && ggperf synth --shape tiny --type Q4_0 -o /tmp/t.gguf && ggperf bench -m /tmp/t.gguf -r 1" || true
  summary > "$LOGS/summary.txt" || true
  cat "$LOGS/summary.txt"
  grep -q '^RESULT: PASS' "$LOGS/summary.txt"
  exit
fi

# --- the project, cloned inside ---------------------------------------------
# Resolve REV in the source first, so a local path's HEAD means what it
# means here (the clone's HEAD would be its default branch).
if [ -d "$REPO" ]; then
  REV_ID=$(git -C "$REPO" rev-parse --verify "$REV^{commit}") \
    || { echo "fresh-root-check: no revision '$REV' in $REPO" >&2; exit 2; }
  SRC_DESC="$REPO at $REV_ID"
else
  REV_ID=$REV
  SRC_DESC="$REPO at $REV"
fi
say "cloning $SRC_DESC into /src/ggperf"
mkdir -p "$RUN/src"
git clone -q --no-local --no-checkout "$REPO" "$RUN/src/ggperf" >"$LOGS/clone.log" 2>&1 \
  || { say "clone failed"; cat "$LOGS/clone.log" >&2; exit 1; }
# A commit that is not on a branch (a detached HEAD) is fetched by id.
git -C "$RUN/src/ggperf" cat-file -e "$REV_ID^{commit}" 2>/dev/null \
  || git -C "$RUN/src/ggperf" fetch -q origin "$REV_ID" >>"$LOGS/clone.log" 2>&1 || true
git -C "$RUN/src/ggperf" checkout -q --detach "$REV_ID" \
  || { echo "fresh-root-check: cannot check out '$REV' ($REV_ID)" >&2; exit 2; }

# `make demo` first, then `make test`, exactly as the README says.
step demo "cd /src/ggperf && make demo" || true
step test "cd /src/ggperf && make test" || true
summary > "$LOGS/summary.txt" || true
cat "$LOGS/summary.txt"
grep -q '^RESULT: PASS' "$LOGS/summary.txt"
exit
}
