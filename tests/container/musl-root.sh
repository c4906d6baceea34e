#!/usr/bin/env bash
# An Alpine-like root, as no image registry is reachable: musl's loader as the
# only libc, busybox-static for /bin/sh and the usual commands, and a CPython
# built here against musl (dynamically linked, so ctypes reaches musl's prctl
# through the interpreter itself, as on Alpine) in /usr/local, where the
# python:*-alpine images keep it.
#
# CPython, libffi (for _ctypes) and zlib (zipimport reads init.pyz's deflated
# members) come from Debian's source packages, at the versions this machine has
# installed, and are compiled with musl-gcc; libffi and zlib are linked in
# statically. The root's tarball is cached, keyed by this script and the
# versions of everything that went into it. Prints the tarball's path.
# setup.sh installs what it needs (musl-tools, busybox-static, gcc, make).
set -euo pipefail

cache=${INITAPP_CACHE:-/var/cache/initapp-tests}
mkdir -p "$cache"

# The upstream sources (only the .orig tarballs are built, without Debian's
# patches), at the upstream versions of the binary packages installed here.
upstream_of() { dpkg-query -W -f='${source:Package}_${source:Upstream-Version}' "$1"; }
sources=("$(upstream_of libpython3.11-minimal)" "$(upstream_of libffi8)" "$(upstream_of zlib1g)")
source "$(dirname "$0")/cache.sh"
cache_lookup "$cache/musl-root" \
  < <(cat "$0"; printf '%s\n' "${sources[@]}"; dpkg-query -W musl-dev busybox-static)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

# apt-get source with a private list of deb-src entries for this machine's own
# mirrors, and private lists and caches: nothing of the system's apt changes.
mkdir -p apt/sources.list.d apt/lists/partial src
for file in /etc/apt/sources.list.d/*.sources; do
  [[ -e $file ]] && sed 's/^Types: *deb *$/Types: deb-src/' "$file" > "apt/sources.list.d/${file##*/}"
done
[[ -f /etc/apt/sources.list ]] && sed -n 's/^deb /deb-src /p' /etc/apt/sources.list > apt/sources.list
touch apt/sources.list
apt=(apt-get -qq -o APT::Sandbox::User=root -o "Dir::Etc::SourceList=$work/apt/sources.list"
     -o "Dir::Etc::SourceParts=$work/apt/sources.list.d" -o "Dir::State::Lists=$work/apt/lists"
     -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=")
"${apt[@]}" update >&2
# From the release itself (its point-release suite keeps every source it lists).
release=$(. /etc/os-release && echo "$VERSION_CODENAME")
(cd src && "${apt[@]}" source --download-only "${sources[@]/%_*//$release}" >&2)
for source in "${sources[@]}"; do
  ls src/"$source".orig.tar.* >/dev/null 2>&1 \
    || { echo "musl-root.sh: the mirror has no $source.orig.tar.*" >&2; exit 1; }
done

prefix=$work/deps
mkdir -p "$prefix" kernel
# musl-gcc sees only musl's headers; CPython also wants the kernel's (as Alpine's
# linux-headers package gives them).
ln -s /usr/include/linux /usr/include/asm-generic kernel/
ln -s "/usr/include/$(gcc -print-multiarch)/asm" kernel/asm
# musl-gcc answers -print-multiarch as gcc does (x86_64-linux-gnu): CPython's
# configure refuses that next to the musl triplet it finds, and its setup.py
# would add glibc's header and library directories. A wrapper names musl's.
# pkg-config sees only what is built here.
mkdir bin
cat > bin/musl-cc <<'CC'
#!/bin/sh
case "$1" in -print-multiarch|--print-multiarch) echo x86_64-linux-musl; exit 0 ;; esac
exec musl-gcc "$@"
CC
chmod 755 bin/musl-cc
export CC=$work/bin/musl-cc CFLAGS="-O2 -fPIC" CPPFLAGS="-I$prefix/include -I$work/kernel"
export LDFLAGS="-L$prefix/lib" PKG_CONFIG_LIBDIR=$prefix/lib/pkgconfig
jobs=$(nproc)
# Each step's output goes to a log, whose end is shown if the step fails.
quietly() { "$@" >>"$work/build.log" 2>&1 || { tail -n 60 "$work/build.log" >&2; return 1; }; }

unpack() { mkdir "$1" && tar -C "$1" --strip-components=1 -xf src/"$1"_*.orig.tar.*; }
zlib() (
  cd zlib && ./configure --static --prefix="$prefix" && make -j"$jobs" && make install
)
libffi() (
  cd libffi && ./configure --prefix="$prefix" --disable-shared --enable-static --with-pic \
    --disable-docs --disable-multi-os-directory && make -j"$jobs" && make install
)
# Modules whose libraries this root does not have (and their glibc builds, which
# setup.py would find, must not be linked in) are not built.
python3.11() (
  cd python3.11 \
    && printf '*disabled*\n%s\n' _tkinter _curses _curses_panel readline _dbm _gdbm nis \
         _sqlite3 _bz2 _lzma _ssl _hashlib _uuid _crypt ossaudiodev spwd > Modules/Setup.local \
    && ./configure --prefix=/usr/local --without-ensurepip --disable-test-modules \
    && make -j"$jobs" && make install DESTDIR="$work/root"
)
for source in zlib libffi python3.11; do
  unpack "$source"
  quietly "$source"
done

root=$work/root
rm -rf "$root"/usr/local/{include,share} "$root"/usr/local/lib/{pkgconfig,libpython*.a} \
  "$root"/usr/local/lib/python3.11/{test,idlelib,tkinter,turtledemo,ensurepip,lib2to3/tests} \
  "$root"/usr/local/lib/python3.11/config-*
find "$root/usr/local" -name '*.so' -exec strip --strip-unneeded {} +
strip "$root"/usr/local/bin/python3.11

# The rest of the Alpine-like root: musl's loader (it is musl's libc too),
# busybox's commands, the accounts files.
mkdir -p "$root"/{lib,bin,sbin,usr/bin,usr/sbin,etc,tmp,root,proc,sys,dev}
chmod 1777 "$root/tmp"
cp "$(readlink -f /lib/ld-musl-x86_64.so.1)" "$root/lib/ld-musl-x86_64.so.1"
cp /bin/busybox "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list-full); do
  [[ -e $root/$applet ]] || ln -s /bin/busybox "$root/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n' \
  > "$root/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\n' > "$root/etc/group"
printf 'NAME="musl root for initapp tests"\nID=alpine-like\n' > "$root/etc/os-release"
# What initapp needs runs in that root, or the build is no good.
chroot "$root" /usr/local/bin/python3 -c \
  'import ctypes, zlib, select, _posixsubprocess; ctypes.CDLL(None).prctl' >&2

cache_store "$root"
