#!/usr/bin/env bash
# Prepare the container engines for the container tests, idempotently:
#  - from Debian's packages: podman and runc (crun refuses this machine's hybrid
#    cgroups), catatonit and tini (for --init), Docker (docker.io) and
#    docker-compose, debootstrap, and what musl-root.sh compiles with;
#  - a containers.conf of our own (CONTAINERS_CONF) whose ulimits fit this
#    machine's hard limits, without touching /etc;
#  - a minimal Debian root with Python, as no image registry is reachable, laid
#    out like python:*-slim (python3 in /usr/local/bin); its tarball is cached.
# The tests import the tarball into each engine themselves.
# Prints two lines: the containers.conf to use, the rootfs tarball.
set -euo pipefail

cache=${INITAPP_CACHE:-/var/cache/initapp-tests}
mkdir -p "$cache"

missing=()
for package in podman runc catatonit tini debootstrap docker.io docker-compose \
               musl-tools busybox-static gcc make linux-libc-dev xz-utils; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  # The system's docker and containerd services must not start on install:
  # the tests run a daemon of their own.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >&2
fi

nofile=$(ulimit -Hn)
nproc=$(ulimit -Hu)
[[ $nproc == unlimited || $nproc -gt 32768 ]] && nproc=32768  # podman caps its own at 32768
cat > "$cache/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
runtime = "runc"
CONF

tarball=$cache/bookworm-python3.tar
if [[ ! -s $tarball ]]; then
  # The mirror this machine's apt already uses.
  mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [[ -n $mirror ]] || mirror=$(awk '/^deb / {print $2; exit}' /etc/apt/sources.list)
  rootfs=$(mktemp -d)
  debootstrap --variant=minbase --include=python3,python3-venv,python3-pip \
    bookworm "$rootfs" "$mirror" >&2
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  ln -sf /usr/bin/python3 "$rootfs/usr/local/bin/python3"
  tar -C "$rootfs" -cf "$tarball.partial" .
  mv "$tarball.partial" "$tarball"
  rm -rf "$rootfs"
fi
echo "$cache/containers.conf"
echo "$tarball"
