#!/usr/bin/env bash
# Benchmarks hako against runc and crun, side by side in one run, on the
# same busybox bundle: (a) `run` of /bin/true, with the state roots on a
# tmpfs and on a disk filesystem, (b) create + start + wait + delete, (c)
# 20 of those at once, (d) peak RSS (with the floor any Go runtime pays,
# from bench/floor) and binary size. Prints a table of medians and ratios
# against crun and writes BENCHMARKS.md.
#
#   make bench            # or, as root: ./bench/bench.sh
#
# With (f) and (g): `run` with a seccomp profile of the size of a container
# engine's default one, from hako's program cache, and with that cache
# emptied before each run (a profile's first use).
#
# Every --root is on a tmpfs that the bench mounts, as /run is on a usual
# host, except in the disk row of (a): there the roots are in a directory
# made under DISK_ROOT, which must not be on a tmpfs.
#
# Environment: RUNS (runs of (a), (b), (e), (f), (g), default 90), MANY_RUNS (runs of
# (c), default 15), ROUNDS (the runs are split into this many rounds that
# alternate the runtimes, default 3), RSS_RUNS (default 5), DISK_ROOT
# (default /var/tmp), OUT (default BENCHMARKS.md at the top of the
# repository; empty: print only).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
RUNS=${RUNS:-90}
MANY_RUNS=${MANY_RUNS:-15}
ROUNDS=${ROUNDS:-3}
RSS_RUNS=${RSS_RUNS:-5}
DISK_ROOT=${DISK_ROOT:-/var/tmp}
OUT=${OUT-$repo/BENCHMARKS.md}
MANY=20

die() { echo "bench: $*" >&2; exit 1; }

if [ -z "${HAKO_BENCH_WORK:-}" ]; then
	[ "$(id -u)" = 0 ] || die "needs root (it creates containers) — hint: sudo make bench"
	for t in go hyperfine runc crun /usr/bin/time; do
		command -v "$t" >/dev/null || die "$t is not installed — hint: make deps"
	done
	[ -x /bin/busybox ] || die "/bin/busybox is missing — hint: apt-get install busybox-static"
	case $(findmnt -no FSTYPE -T "$DISK_ROOT" 2>/dev/null) in
	"") die "DISK_ROOT $DISK_ROOT: no such directory, or findmnt (util-linux) is missing" ;;
	tmpfs | ramfs) die "DISK_ROOT $DISK_ROOT is on a $(findmnt -no FSTYPE -T "$DISK_ROOT") — hint: set DISK_ROOT to a directory on a disk filesystem" ;;
	esac
	work=$(mktemp -d /tmp/hako-bench.XXXXXX)
	echo "bench: building hako and the driver" >&2
	make -s -C "$repo" build >&2
	(cd "$repo" && go build -o "$work/driver" ./bench/driver)
	# The floor programs of (d), built as hako is.
	(cd "$repo" && CGO_ENABLED=0 go build -tags osusergo,netgo -o "$work/floor-spec" ./bench/floor/spec \
		&& CGO_ENABLED=0 go build -tags osusergo,netgo -o "$work/floor-cgroup" ./bench/floor/cgroup)
	# This machine's PID 1 may never reap orphans, and created containers
	# are orphans: run everything below a child subreaper that reaps them.
	export HAKO_BENCH_WORK=$work
	exec "$work/driver" reaper "$0" "$@"
fi

work=$HAKO_BENCH_WORK
driver=$work/driver
hako=$repo/bin/hako
runc=$(command -v runc)
crun=$(command -v crun)
roots=$work/roots
res=$work/results
mkdir -p "$roots" "$res"
disk_roots=$(mktemp -d "$DISK_ROOT/hako-bench-roots.XXXXXX")

cleanup() {
	for rt in hako runc crun; do
		bin=${!rt}
		for r in "$roots/$rt" "$disk_roots/$rt"; do
			[ -d "$r" ] || continue
			for id in $(ls "$r" 2>/dev/null); do
				"$bin" --root "$r" delete --force "$id" >/dev/null 2>&1 || true
			done
		done
	done
	mountpoint -q "$roots" && umount "$roots"
	rm -rf "$work" "$disk_roots"
}
trap cleanup EXIT

# crun 1.8 refuses a cgroup v1 layout without the hugetlb controller.
if [ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ] && ! grep -qw hugetlb /proc/self/cgroup; then
	mkdir -p /sys/fs/cgroup/hugetlb
	mountpoint -q /sys/fs/cgroup/hugetlb || mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb
fi

# State directories live on a tmpfs, as /run does on a usual host; the
# disk row of (a) has its own, on DISK_ROOT's filesystem.
mount -t tmpfs -o mode=0700 tmpfs "$roots"
mkdir -p "$roots/hako" "$roots/runc" "$roots/crun" "$disk_roots/hako" "$disk_roots/runc" "$disk_roots/crun"
disk_fs=$(findmnt -no FSTYPE -T "$disk_roots")
echo "$disk_fs" > "$res/disk-fs.txt"

bundle=$work/bundle
mkdir -p "$bundle"
"$driver" bundle "$bundle"
sc_bundle=$work/bundle-seccomp
mkdir -p "$sc_bundle"
"$driver" bundle --seccomp "$sc_bundle"

for rt in hako runc crun; do
	"${!rt}" --root "$roots/$rt" run --bundle "$bundle" "check-$rt" \
		|| die "$rt cannot run the bundle; see its error above"
	"${!rt}" --root "$disk_roots/$rt" run --bundle "$bundle" "check-$rt" \
		|| die "$rt cannot run the bundle with its --root in $disk_roots; see its error above"
	"${!rt}" --root "$roots/$rt" run --bundle "$sc_bundle" "check-$rt" \
		|| die "$rt cannot run the bundle with the seccomp profile; see its error above"
done

# (e) exec: one long-running container per runtime, /bin/true exec'd in it.
exec_bundle=$work/bundle-exec
mkdir -p "$exec_bundle"
cp -a "$bundle/rootfs" "$exec_bundle/rootfs"
sed 's#"/bin/true"#"/bin/sleep", "100000"#' "$bundle/config.json" >"$exec_bundle/config.json"
for rt in hako runc crun; do
	"${!rt}" --root "$roots/$rt" run -d --bundle "$exec_bundle" e </dev/null >/dev/null 2>&1 \
		|| die "$rt cannot start the exec container"
done

per_round=$(( (RUNS + ROUNDS - 1) / ROUNDS ))
many_per_round=$(( (MANY_RUNS + ROUNDS - 1) / ROUNDS ))
hf() { hyperfine -N --style basic --warmup 3 "$@" >&2; }

# The order rotates from round to round: whoever runs first in a group
# also pays for the deferred kernel work the group before left behind
# (network namespaces and cgroups are torn down by kernel workers after
# their containers are gone), so no runtime may always be first.
runtimes=(hako runc crun)
for round in $(seq "$ROUNDS"); do
	echo "bench: round $round of $ROUNDS" >&2
	k=$(( (round - 1) % 3 ))
	order=("${runtimes[@]:k}" "${runtimes[@]:0:k}")
	# (a) with the roots on the tmpfs and on disk, in one hyperfine run;
	# which of the two goes first alternates too.
	tmpfs_args=() disk_args=()
	for rt in "${order[@]}"; do
		tmpfs_args+=(-n "a/$rt" "${!rt} --root $roots/$rt run --bundle $bundle a")
		disk_args+=(-n "a-disk/$rt" "${!rt} --root $disk_roots/$rt run --bundle $bundle a")
	done
	if (( round % 2 )); then args=("${tmpfs_args[@]}" "${disk_args[@]}"); else args=("${disk_args[@]}" "${tmpfs_args[@]}"); fi
	hf --runs "$per_round" --export-json "$res/a-$round.json" "${args[@]}"
	args=()
	for rt in "${order[@]}"; do
		args+=(-n "b/$rt" "$driver cycle ${!rt} $roots/$rt $bundle b")
	done
	hf --runs "$per_round" --export-json "$res/b-$round.json" "${args[@]}"
	args=()
	for rt in "${order[@]}"; do
		args+=(-n "c/$rt" "$driver many $MANY ${!rt} $roots/$rt $bundle c")
	done
	hf --runs "$many_per_round" --export-json "$res/c-$round.json" "${args[@]}"
	args=()
	for rt in "${order[@]}"; do
		args+=(-n "e/$rt" "${!rt} --root $roots/$rt exec e /bin/true")
	done
	hf --runs "$per_round" --export-json "$res/e-$round.json" "${args[@]}"
	args=()
	for rt in "${order[@]}"; do
		args+=(-n "f/$rt" "${!rt} --root $roots/$rt run --bundle $sc_bundle f")
	done
	hf --runs "$per_round" --export-json "$res/f-$round.json" "${args[@]}"
	# (g): hako's cache emptied before each of its runs; runc and crun
	# compile every time anyway.
	args=()
	for rt in "${order[@]}"; do
		prep=true
		[ "$rt" = hako ] && prep="rm -rf $roots/hako/@seccomp"
		args+=(--prepare "$prep" -n "g/$rt" "${!rt} --root $roots/$rt run --bundle $sc_bundle g")
	done
	hf --runs "$per_round" --export-json "$res/g-$round.json" "${args[@]}"
done
for rt in hako runc crun; do "${!rt}" --root "$roots/$rt" delete --force e >/dev/null 2>&1 || true; done

for rt in hako runc crun; do
	"$driver" rss "${!rt}" "$roots/$rt" "$bundle" d "$RSS_RUNS" > "$res/rss-$rt.txt"
	stat -Lc %s "${!rt}" > "$res/size-$rt.txt"
done
"$driver" floor "$work/floor-spec" "$work/floor-cgroup" "$bundle" "$RSS_RUNS" > "$res/rss-floor.txt"

cgroup_mode() {
	if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
		echo "v2 (unified)"
	elif [ -d /sys/fs/cgroup/unified ]; then
		echo "v1 hybrid (cgroup2 at /sys/fs/cgroup/unified)"
	else
		echo "v1"
	fi
}

# The disk row's filesystem: type, device and whether ext3/ext4 has a
# journal (without one, ext4 skips every inode freed in the last minutes,
# one lookup each, on every inode it allocates: a create pays that for each
# file it makes).
disk_desc() {
	local src opts journal=""
	src=$(findmnt -no SOURCE -T "$disk_roots")
	opts=$(findmnt -no OPTIONS -T "$disk_roots")
	case $disk_fs in
	ext3 | ext4)
		if ls /proc/fs/jbd2 2>/dev/null | grep -q "^$(basename "$(readlink -f "$src")")-"; then
			journal=", with a journal"
		else
			journal=", without a journal"
		fi
		;;
	esac
	echo "$disk_fs on $src$journal ($opts), under $DISK_ROOT"
}

{
	echo "- CPU: $(nproc) × $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	echo "- memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
	echo "- kernel: $(uname -r); cgroups: $(cgroup_mode)"
	echo "- --root of the disk row of (a): $(disk_desc)"
	echo "- hako: $("$hako" --version | head -1 | sed 's/^hako version //'), built with $(go version | cut -d' ' -f3)"
	echo "- runc: $(runc --version | head -1 | sed 's/^runc version //'); crun: $(crun --version | head -1 | sed 's/^crun version //'); $(hyperfine --version)"
	echo "- load average at the end of the run (the bench's own included): $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min); date: $(date -u +%Y-%m-%dT%H:%MZ)"
	echo "- runs: (a), (b), (e), (f) and (g) $((per_round * ROUNDS)) each, (c) $((many_per_round * ROUNDS)), in $ROUNDS rounds; RSS: largest of $RSS_RUNS"
} > "$work/machine.md"

echo >&2
cat "$work/machine.md"
echo
"$driver" report "$res" "$work/machine.md" "$OUT"
[ -z "$OUT" ] || echo "bench: wrote $OUT" >&2
