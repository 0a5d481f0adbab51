#!/usr/bin/env bash
# Installs what building, testing and the demo need on Debian, as root:
# busybox-static (the test and demo rootfs), libseccomp-dev (cgo, for the hako-seccomp helper), uidmap
# (newuidmap for the rootless id-range test), and the
# runtimes and tools used as comparison and clients (runc, crun, umoci,
# hyperfine, GNU time). Go modules come from the module proxy.
set -euo pipefail
pkgs=(busybox-static libseccomp-dev gcc make iproute2 uidmap runc crun umoci hyperfine containerd time)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! command -v go >/dev/null; then
	echo "deps: Go 1.26 or newer is needed (not packaged in this Debian release); install it to /usr/local/go" >&2
	exit 1
fi
go mod download
