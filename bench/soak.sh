#!/usr/bin/env bash
# Soak (issue 19 item 7): N `run --rm` (default 1000) in a loop while DETACHED (default 50)
# detached containers run and are exec'd into, round robin, by a second loop. Afterwards,
# with every container removed, nothing may be left of them: no mount, no berth process and
# no process in a container of this run, no descriptor more in the monitors than they had
# before the loop, no cgroup, network namespace, attachment record or address of a container
# this run made, no temporary file, a clean `system check`; the database's pages in use and
# the run root (the event log aside) back to their size before the detached containers
# started; and the median time of the last 100 runs within 10% of the first 100's (no growth
# with history). Not in CI. As root:
#   bash bench/soak.sh [N] [DETACHED]
# SOAK_NETWORK sets the loop's --network (default: berth's default, bridge mode).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
detached=${2:-50}
net=${SOAK_NETWORK:-}
bash scripts/deps.sh >/dev/null
cargo build --quiet
berth=$PWD/target/debug/berth
work=$(mktemp -d /var/tmp/berth-soak.XXXXXX)
root=$work/root
run=$work/run
mkdir -p "$work/tmp"
# Every temporary file berth makes goes under the run's own directory, so any left is this
# run's.
export TMPDIR=$work/tmp
# The event log keeps every container this run makes (its default 1 MB would rotate them out).
printf '[engine]\nevents_logfile_max_size = "1g"\n' >"$work/containers.conf"
export CONTAINERS_CONF=$work/containers.conf
B() { "$berth" --root "$root" --runroot "$run" "$@"; }
fail=0
problem() { echo "soak: LEAK: $*"; fail=1; }
cleanup() {
  B rm -a -f >/dev/null 2>&1 || true
  grep -o " $work[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
}
trap cleanup EXIT

# The image: Debian's static busybox and its applet links.
img=$work/img
mkdir -p "$img/bin"
cp /bin/busybox "$img/bin/busybox"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$img/bin/$a"; done
tar -C "$img" -cf "$work/busybox.tar" .
rm -rf "$img"
B import "$work/busybox.tar" soak/busybox >/dev/null
B run --rm soak/busybox true # the layer unpacked, the default network made

sizes() { # the database's pages in use (bytes), the run root's bytes without the event log
  local db rr
  # SQLite keeps freed pages in the file for reuse: what grows with history is the pages in
  # use (the file's size is printed too).
  db=$(sqlite3 "$root/berth.db" 'pragma page_size' 'pragma page_count' 'pragma freelist_count' \
    | paste -sd' ' | awk '{print $1 * ($2 - $3)}')
  rr=$(du -sb --exclude=events "$run" | cut -f1)
  echo "$db $rr"
}
read -r db0 run0 < <(sizes)
tmp0=$(find "$work/tmp" -mindepth 1 | wc -l)

echo "soak: starting $detached detached containers"
for i in $(seq 1 "$detached"); do
  B run -d --name "soak-d$i" soak/busybox sleep 100000 >/dev/null
done
monitors=$(B ps -a --format '{{.ID}}' | while read -r id; do
  B inspect --format '{{.State.ConmonPid}}' "$id"
done)
fds() { for p in $monitors; do echo "$p $(ls /proc/"$p"/fd 2>/dev/null | wc -l)"; done; }
fds0=$(fds)

# The exec loop, beside the run loop until it ends.
(
  i=0
  while [ ! -e "$work/stop" ]; do
    i=$(( i % detached + 1 ))
    B exec "soak-d$i" true >/dev/null 2>&1 || echo "exec into soak-d$i failed" >>"$work/exec-errors"
    echo x >>"$work/execs"
  done
) &
exec_loop=$!

echo "soak: $n run --rm${net:+ --network $net} (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
times=$work/times
for i in $(seq 1 "$n"); do
  s=$(date +%s%N)
  B run --rm ${net:+--network "$net"} soak/busybox true
  e=$(date +%s%N)
  echo $(( (e - s) / 1000 )) >>"$times"
  if [ $(( i % 100 )) -eq 0 ]; then echo "soak: $i runs"; fi
done
touch "$work/stop"
wait "$exec_loop"
execs=$(wc -l <"$work/execs")
[ -s "$work/exec-errors" ] && problem "$(wc -l <"$work/exec-errors") execs failed: $(head -1 "$work/exec-errors")"

# Descriptors of the monitors: none gained during the loop.
fds1=$(fds)
while read -r pid before; do
  after=$(echo "$fds1" | awk -v p="$pid" '$1 == p {print $2}')
  [ "${after:-gone}" = "$before" ] || problem "monitor $pid: $before descriptors before the loop, ${after:-gone} after"
done <<<"$fds0"

# Every container this run made, from its event log (the --rm ones are gone by now).
ids=$(B events --stream=false --filter type=container --filter event=create --format '{{.ID}}' 2>/dev/null | sort -u)
made=$(echo "$ids" | grep -c . || true)
B rm -a -f >/dev/null

left=$(grep -c " $work" /proc/self/mountinfo || true)
[ "$left" -eq 0 ] || problem "$left mounts under $work"
for p in /proc/[0-9]*; do
  if { tr '\0' ' ' <"$p/cmdline" | grep -q "$work"; } 2>/dev/null \
    || readlink "$p/cwd" 2>/dev/null | grep -q "^$work"; then
    problem "process ${p#/proc/}: $( { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null)"
  fi
done
for id in $ids; do
  for c in /sys/fs/cgroup/*/berth/"$id" /sys/fs/cgroup/unified/berth/"$id"; do
    [ -e "$c" ] && problem "cgroup $c"
  done
  [ -e "/run/berth/networks/netns/$id" ] && problem "netns of $id"
  [ -e "/run/berth/networks/attachments/$id.json" ] && problem "attachment record of $id"
  [ -e "$run/containers/$id" ] && problem "bundle of $id"
done
addresses=0
for id in $ids; do
  a=$(sqlite3 /run/berth/networks/ipam.db "select count(*) from allocations where container_id = '$id'" 2>/dev/null || echo 0)
  addresses=$(( addresses + a ))
done
[ "$addresses" -eq 0 ] || problem "$addresses addresses still allocated"
tmp1=$(find "$work/tmp" -mindepth 1 | wc -l)
[ "$tmp1" -eq "$tmp0" ] || problem "temporary files: $tmp0 before, $tmp1 after: $(find "$work/tmp" -mindepth 1 | head -3)"
check=$(B system check 2>&1) || problem "system check: $check"

read -r db1 run1 < <(sizes)
[ "$db1" -le "$db0" ] || problem "database: $db0 bytes in use before, $db1 after"
[ "$run1" -le "$run0" ] || problem "run root: $run0 bytes before, $run1 after (events aside)"

# Medians: other work on the machine comes in bursts that a mean would carry.
median() { sort -n | awk '{v[NR]=$1} END {printf "%d", (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
first=$(head -100 "$times" | median)
last=$(tail -100 "$times" | median)
ratio=$(awk -v f="$first" -v l="$last" 'BEGIN {printf "%.3f", l/f}')
awk -v r="$ratio" 'BEGIN {exit !(r <= 1.10)}' || problem "the last 100 runs took ${ratio}x the first 100 (medians)"
echo "soak runs=$n detached=$detached execs=$execs containers=$made first100_median_ms=$(( first / 1000 )) last100_median_ms=$(( last / 1000 )) ratio=$ratio db_bytes_in_use=$db0/$db1 db_file_bytes=$(stat -c %s "$root/berth.db") runroot_bytes=$run0/$run1 load=\"$(cut -d' ' -f1-3 /proc/loadavg)\" status=$fail"
[ "$fail" -eq 0 ] && rm -rf "$work"
exit "$fail"
