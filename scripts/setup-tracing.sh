#!/usr/bin/env bash
# Makes the scheduler tracepoints reachable: mounts tracefs when it is not
# mounted (needs root). Without it ggperf reports the sched figures as
# unsupported with this command as the reason, so this is optional.
set -u
dir=/sys/kernel/tracing
if [ -d "$dir/events/sched" ]; then
  echo "setup-tracing: tracefs already mounted at $dir"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "setup-tracing: not root; sched tracepoints stay unavailable" >&2
  exit 0
fi
if mount -t tracefs nodev "$dir" 2>/dev/null; then
  echo "setup-tracing: mounted tracefs at $dir"
else
  echo "setup-tracing: could not mount tracefs at $dir; sched tracepoints stay unavailable" >&2
fi
exit 0
