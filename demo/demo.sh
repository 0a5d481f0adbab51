#!/usr/bin/env bash
# The whole journey, end to end, as root: an image becomes a bundle, the
# bundle becomes an isolated shell, and we look at what the kernel gave it.
set -euo pipefail
cd "$(dirname "$0")/.."
HAKO=${HAKO:-$PWD/bin/hako}
work=$(mktemp -d /tmp/hako-demo.XXXXXX)
root=$work/state
trap '"$HAKO" --root "$root" delete --force demo-a >/dev/null 2>&1 || true; "$HAKO" --root "$root" delete --force demo-b >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

say "1. An image → a root filesystem"
bundle=$work/bundle
mkdir -p "$bundle/rootfs"
if "$HAKO" help pull >/dev/null 2>&1 && "$HAKO" pull --quiet --image-root "$work/images" alpine:3.20 2>/dev/null; then
	run "$HAKO" bundle --image-root "$work/images" alpine:3.20 "$bundle"
else
	echo "No registry is reachable from here: building a busybox image locally instead"
	echo "(from Debian's busybox-static: /bin/busybox plus one symlink per applet)."
	mkdir -p "$bundle/rootfs"/{bin,etc,proc,sys,dev,tmp,root}
	cp /bin/busybox "$bundle/rootfs/bin/busybox"
	for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$bundle/rootfs/bin/$a"; done
	echo 'root:x:0:0:root:/root:/bin/sh' >"$bundle/rootfs/etc/passwd"
	echo 'root:x:0:' >"$bundle/rootfs/etc/group"
	( cd "$bundle" && run "$HAKO" spec )
fi
ls "$bundle" "$bundle/rootfs" | head -20

say "2. config.json: the OCI runtime spec for this container"
sed -i 's/"terminal": true/"terminal": false/' "$bundle/config.json"
grep -A3 '"args"' "$bundle/config.json" | head -5
if "$HAKO" help validate >/dev/null 2>&1; then run "$HAKO" validate --bundle "$bundle" || true; fi

say "3. hako run: hello from an isolated process"
cat >"$bundle/rootfs/bin/show" <<'SH'
#!/bin/sh
echo "hello from $(hostname), I am pid $$"
echo "processes I can see:"; ps -o pid,comm
echo "network interfaces: $(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\n' ' ')"
for n in pid mnt uts ipc net cgroup user; do echo "ns $n $(readlink /proc/self/ns/$n)"; done
SH
chmod +x "$bundle/rootfs/bin/show"
python3 - "$bundle/config.json" <<'PY' 2>/dev/null || sed -i 's/"sh"$/"show"/' "$bundle/config.json"
import json,sys
p=sys.argv[1]; c=json.load(open(p)); c["process"]["args"]=["/bin/show"]; json.dump(c,open(p,"w"),indent=1)
PY
out=$("$HAKO" --root "$root" run --bundle "$bundle" demo-a)
echo "$out" | grep -v '^ns '

say "4. Is it really isolated? The container's namespaces next to the host's"
printf '%-8s %-22s %-22s %s\n' NS CONTAINER HOST ISOLATED
echo "$out" | grep '^ns ' | while read -r _ n c; do
	h=$(readlink /proc/self/ns/$n)
	iso=yes; [ "$c" = "$h" ] && iso="no (shared with host)"
	printf '%-8s %-22s %-22s %s\n' "$n" "$c" "$h" "$iso"
done

say "5. Two containers side by side"
sed -i 's#"/bin/show"#"sleep", "300"#' "$bundle/config.json"
run "$HAKO" --root "$root" run -d --bundle "$bundle" demo-a
run "$HAKO" --root "$root" run -d --bundle "$bundle" demo-b
run "$HAKO" --root "$root" list
pa=$("$HAKO" --root "$root" state demo-a | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')
pb=$("$HAKO" --root "$root" state demo-b | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')
echo "demo-a pid ns: $(readlink /proc/$pa/ns/pid)   demo-b pid ns: $(readlink /proc/$pb/ns/pid)"
echo "processes demo-b can see: $(ls /proc/$pb/root/proc | grep -c '^[0-9]')"
run "$HAKO" --root "$root" kill demo-a KILL
run "$HAKO" --root "$root" delete --force demo-b

say "6. When something is wrong, hako says what and where"
sed -i 's#"sleep", "300"#"shh"#' "$bundle/config.json"
run "$HAKO" --root "$root" run --bundle "$bundle" demo-c || echo "(exit status $?)"
echo
echo "Done. The bundle was in $bundle; it is removed on exit."
