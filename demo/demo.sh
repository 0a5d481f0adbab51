#!/usr/bin/env bash
# The whole journey, end to end, as root: an image becomes a bundle, the
# bundle becomes an isolated shell, and we look at what the kernel gave it.
set -euo pipefail
cd "$(dirname "$0")/.."
HAKO=${HAKO:-$PWD/bin/hako}
# The image verbs run in hako's helper, hako-image (make build puts it next to
# hako): fail here, with hako's own explanation, rather than at the first pull.
"$HAKO" images --help >/dev/null || exit 1
work=$(mktemp -d /tmp/hako-demo.XXXXXX)
root=$work/state
cleanup() {
	for c in demo-a demo-b demo-u; do "$HAKO" --root "$root" delete --force "$c" >/dev/null 2>&1 || true; done
	rm -rf "$work"
}
trap cleanup EXIT
# set_args FILE ARG...: replace process.args in a config.json (awk only, so
# the demo needs nothing beyond Debian's base system).
set_args() {
	local file=$1; shift
	local json="" a
	for a in "$@"; do a=${a//\\/\\\\}; a=${a//\"/\\\"}; json+="${json:+, }\"$a\""; done
	awk -v args="$json" '
		/"args": \[/ && !done { line = $0; sub(/"args": \[.*/, "\"args\": [" args "],", line); print line; skip = ($0 !~ /\]/); done = 1; next }
		skip { if ($0 ~ /\]/) skip = 0; next }
		{ print }' "$file" >"$file.new" && mv "$file.new" "$file"
}
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

say "1. An image → a root filesystem → a bundle"
bundle=$work/bundle
images=$work/images
if run "$HAKO" pull --image-root "$images" alpine:3.20; then
	image=alpine:3.20
else
	echo
	echo "No registry is reachable from here, so this demo builds a busybox image"
	echo "locally instead (Debian's busybox-static plus one symlink per applet),"
	echo "packs it as a 'docker export' archive and imports that."
	fs=$work/busybox-fs
	mkdir -p "$fs"/{bin,etc,proc,sys,dev,tmp,root}
	cp /bin/busybox "$fs/bin/busybox"
	for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$fs/bin/$a"; done
	echo 'root:x:0:0:root:/root:/bin/sh' >"$fs/etc/passwd"
	echo 'root:x:0:' >"$fs/etc/group"
	tar -C "$fs" -czf "$work/busybox.tar.gz" .
	run "$HAKO" import --image-root "$images" --name local/busybox:demo "$work/busybox.tar.gz"
	image=local/busybox:demo
fi
run "$HAKO" images --image-root "$images"
run "$HAKO" bundle --image-root "$images" "$image" "$bundle" -- /bin/sh -c 'echo hello'
ls "$bundle"; ls "$bundle/rootfs" | tr '\n' ' '; echo

say "2. config.json: the OCI runtime spec for this container (derived from the image)"
grep -A4 '"args"' "$bundle/config.json" | head -6
run "$HAKO" validate --bundle "$bundle"
( cd "$bundle" && run "$HAKO" --root "$root" run hello-from-the-bundle )

say "3. hako run: hello from an isolated process"
cat >"$bundle/rootfs/bin/show" <<'SH'
#!/bin/sh
echo "hello from $(hostname), I am pid $$"
echo "processes I can see:"; ps -o pid,comm
echo "network interfaces: $(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\n' ' ')"
SH
chmod +x "$bundle/rootfs/bin/show"
set_args "$bundle/config.json" /bin/show
run "$HAKO" --root "$root" run --bundle "$bundle" demo-show

say "4. Is it really isolated? Ask the kernel, not the config"
set_args "$bundle/config.json" sleep 300
run "$HAKO" --root "$root" run -d --bundle "$bundle" demo-a
run "$HAKO" --root "$root" inspect demo-a
echo
echo "The user namespace is shared because this config has none. A rootless"
echo "bundle adds one (mapping your uid to root inside) — and no network namespace:"
run "$HAKO" bundle --quiet --rootless --image-root "$images" "$image" "$work/bundle-userns" -- sleep 300
run "$HAKO" --root "$root" run -d --bundle "$work/bundle-userns" demo-u
"$HAKO" --root "$root" inspect demo-u | sed -n '3,14p'
echo "exec joins that user namespace too: root inside, your uid outside:"
run "$HAKO" --root "$root" exec demo-u sh -c 'id -u; cat /proc/self/uid_map'
"$HAKO" --root "$root" delete --force demo-u

say "5. Two containers side by side"
run "$HAKO" --root "$root" run -d --bundle "$bundle" demo-b
run "$HAKO" --root "$root" list
pa=$("$HAKO" --root "$root" state demo-a | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')
pb=$("$HAKO" --root "$root" state demo-b | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')
echo "demo-a pid ns: $(readlink /proc/$pa/ns/pid)   demo-b pid ns: $(readlink /proc/$pb/ns/pid)"
echo "processes demo-b can see: $(ls /proc/$pb/root/proc | grep -c '^[0-9]')"
echo "hako exec runs one more process inside demo-a, in all its namespaces:"
run "$HAKO" --root "$root" exec demo-a ps -o pid,comm
run "$HAKO" --root "$root" kill demo-a KILL
run "$HAKO" --root "$root" delete --force demo-b

say "6. When something is wrong, hako says what and where"
set_args "$bundle/config.json" shh
run "$HAKO" --root "$root" run --bundle "$bundle" demo-c || echo "(exit status $?)"

say "7. What this host offers containers"
run "$HAKO" doctor || true
echo
echo "Done. The bundle was in $bundle; it is removed on exit."
