#!/usr/bin/env bash
# Prepare a real container engine for the container tests, idempotently:
#  - podman and runc (crun refuses this machine's hybrid cgroups), catatonit and
#    tini (for --init), debootstrap, from Debian's packages;
#  - a containers.conf of our own (CONTAINERS_CONF) whose ulimits fit this
#    machine's hard limits, without touching /etc;
#  - a local base image, as no image registry is reachable: a minimal Debian
#    with Python, laid out like python:*-slim (python3 in /usr/local/bin). Its
#    rootfs tarball is cached, and the image kept, between runs on one machine.
# Prints the path of the containers.conf to use.
set -euo pipefail

cache=${INITAPP_CACHE:-/var/cache/initapp-tests}
base=localhost/initapp-base:bookworm
mkdir -p "$cache"

missing=()
for package in podman runc catatonit tini debootstrap; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [[ ${#missing[@]} -gt 0 ]]; then
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
export CONTAINERS_CONF=$cache/containers.conf

if ! podman image exists "$base"; then
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
  podman import --quiet "$tarball" "$base" >&2
fi
echo "$CONTAINERS_CONF"
