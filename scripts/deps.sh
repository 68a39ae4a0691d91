#!/usr/bin/env bash
# Install the Debian packages the node runtime needs (kybernetes.cri): containerd
# (with ctr), runc, the standard CNI plugins (/usr/lib/cni), iptables (the bridge
# plugin's ipMasq and portmap call it) and busybox-static (the offline
# kyb.local/busybox image is built from /bin/busybox).
#
# Idempotent: installs only what is missing; a second run prints nothing.
# Needs root (apt). test.sh calls it when run as root, so CI gets the runtime.
#
# The Debian containerd package ships a systemd unit only: on a machine without
# systemd nothing is started by the install, and kyb runs its own containerd
# (kybernetes.cri.containerd) with a private root, state and socket anyway.
set -euo pipefail

packages=(containerd runc containernetworking-plugins iptables busybox-static)

missing=()
for pkg in "${packages[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
  [ "$status" = "install ok installed" ] || missing+=("$pkg")
done
[ "${#missing[@]}" = 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "kyb deps: missing Debian packages: ${missing[*]}" >&2
  echo "kyb deps: install them as root: sudo $0" >&2
  echo "kyb deps:   (or: sudo apt-get install -y --no-install-recommends ${missing[*]})" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null; then
  echo "kyb deps: no apt-get here; install by hand: ${missing[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt_install() { apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }
echo "kyb deps: installing ${missing[*]} (apt)" >&2
if ! apt_install 2>/dev/null; then
  # A fresh machine may have empty or stale package lists.
  echo "kyb deps: apt-get update" >&2
  apt-get update -q >/dev/null
  apt_install
fi
echo "kyb deps: done" >&2
