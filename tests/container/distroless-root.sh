#!/usr/bin/env bash
# A distroless-style root, as no image registry is reachable, cut from the
# debootstrap rootfs the other images use: only Debian's interpreter, its
# standard library and the shared libraries they load, the accounts files and
# /tmp. No shell, no /usr/bin/env, no package manager. Prints the tarball's path
# (cached next to the rootfs it is cut from, keyed by this script and that rootfs).
#   distroless-root.sh ROOTFS_TARBALL
set -euo pipefail

rootfs_tarball=$1
cache=$(dirname "$rootfs_tarball")
source "$(dirname "$0")/cache.sh"
cache_lookup "$cache/distroless-root" < <(cat "$0"; stat -c '%s %Y' "$rootfs_tarball")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/full" "$work/root"
tar -C "$work/full" -xf "$rootfs_tarball"
cd "$work/full"

python=$(readlink -f usr/bin/python3 | sed "s#^$PWD/##")   # usr/bin/python3.11
version=${python##*/}
# The libraries the interpreter and its extension modules load, and the loader.
libraries=$(chroot . ldd "/$python" "/usr/lib/$version"/lib-dynload/*.so \
  | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\/.*[^:]$/ {print $1}' | sort -u)
paths=(usr/bin/python3 "$python" "usr/lib/$version" "etc/$version")
# Each by its name in the real directory (lib is a link to usr/lib), and its target.
for library in $libraries; do
  directory=$(readlink -f ".${library%/*}")
  paths+=("${directory#$PWD/}/${library##*/}" "$(readlink -f ".$library" | sed "s#^$PWD/##")")
done
# usr-merged: /lib, /lib64 and /bin are links into /usr.
printf '%s\n' lib lib64 bin "${paths[@]}" | sort -u | xargs cp -a --parents -t "$work/root/"
rm -rf "$work/root/usr/lib/$version"/{test,ensurepip,idlelib,tkinter,turtledemo}

cd "$work/root"
mkdir -p etc tmp root home/nonroot
chmod 1777 tmp
# As in gcr.io/distroless: root, nobody and nonroot (65532).
cat > etc/passwd <<'PASSWD'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
PASSWD
printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' > etc/group
chown 65532:65532 home/nonroot
for absent in bin/sh usr/bin/env; do
  [[ ! -e $absent ]] || { echo "distroless-root.sh: $absent is in the root" >&2; exit 1; }
done
# The interpreter runs in that root, ctypes included, or the root is no good.
chroot . /usr/bin/python3 -c 'import ctypes, zlib; ctypes.CDLL(None).prctl' >&2

cache_store "$work/root"
