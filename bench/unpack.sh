#!/usr/bin/env bash
# Unpack one image three ways and compare: hako bundle (unpack + config.json,
# digests verified), umoci unpack (the same OCI layout, digests verified) and
# plain tar -xzf of the same layer blob. Prints hyperfine's table and the
# ratios hako/umoci and hako/tar.
#
# The image is built from this host's files (no network): a root filesystem
# archive of $BENCH_DIRS (default: usr/bin usr/sbin etc usr/share/perl
# usr/lib/python3.11, about 5,000 entries and 340 MiB) imported with
# `hako import`, i.e. one gzip layer in an OCI layout that umoci reads too.
#
# Needs root (all three restore ownership), hyperfine and umoci (Debian
# packages hyperfine, umoci). Environment: HAKO (binary, default bin/hako),
# RUNS (default 5), WORK (scratch directory, default a new one under
# /var/tmp), BENCH_DIRS.
set -euo pipefail

cd "$(dirname "$0")/.."
HAKO=${HAKO:-bin/hako}
RUNS=${RUNS:-5}
BENCH_DIRS=${BENCH_DIRS:-usr/bin usr/sbin etc usr/share/perl usr/lib/python3.11}

for tool in hyperfine umoci tar; do
	command -v "$tool" >/dev/null || { echo "unpack.sh: $tool is missing (apt-get install $tool)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "unpack.sh: run as root (every tool restores file owners)" >&2; exit 1; }
# hako runs `import` and `bundle` through its helper hako-image, which
# make build installs next to it.
[ -x "$HAKO" ] && { [ -n "${HAKO_IMAGE_BINARY:-}" ] || [ -x "$(dirname "$HAKO")/hako-image" ]; } || make build >/dev/null

WORK=${WORK:-$(mktemp -d /var/tmp/hako-bench-unpack.XXXXXX)}
mkdir -p "$WORK"
trap 'rm -rf "$WORK"' EXIT
STORE=$WORK/store
NAME=localhost/bench-unpack:1

dirs=()
for d in $BENCH_DIRS; do [ -e "/$d" ] && dirs+=("$d"); done
echo "building the image from /{${dirs[*]}} ..." >&2
tar -C / --numeric-owner --one-file-system -czf "$WORK/rootfs.tar.gz" "${dirs[@]}" 2>/dev/null || true
"$HAKO" import --image-root "$STORE" --name "$NAME" "$WORK/rootfs.tar.gz" >/dev/null
# A root filesystem import keeps the archive as the layer blob.
LAYER=$STORE/blobs/sha256/$(sha256sum "$WORK/rootfs.tar.gz" | cut -d' ' -f1)
[ -f "$LAYER" ] || { echo "unpack.sh: layer blob $LAYER not found" >&2; exit 1; }
entries=$(tar -tzf "$LAYER" | wc -l)
echo "image: 1 gzip layer, $(du -h "$LAYER" | cut -f1) compressed, $(gzip -l "$LAYER" | awk 'NR==2{printf "%.0f MiB", $2/1048576}') uncompressed, $entries entries" >&2

OUT=$WORK/out
hyperfine --runs "$RUNS" --warmup 1 --export-json "$WORK/result.json" \
	--prepare "rm -rf $OUT; sync" \
	-n hako "$HAKO bundle -q --image-root $STORE $NAME $OUT -- /bin/true" \
	-n umoci "umoci unpack --image $STORE:$NAME $OUT" \
	-n "tar -x" "mkdir -p $OUT && tar -xzf $LAYER -C $OUT"

if command -v python3 >/dev/null; then
	python3 - "$WORK/result.json" <<'PY'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
h = r["hako"]
print(f"\nmean: hako {h:.3f}s  umoci {r['umoci']:.3f}s  tar -x {r['tar -x']:.3f}s")
print(f"hako / umoci  = {h / r['umoci']:.2f}  (below 1: hako is faster)")
print(f"hako / tar -x = {h / r['tar -x']:.2f}  (goal: at most 1.30)")
PY
fi
