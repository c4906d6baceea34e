#!/usr/bin/env bash
# make dist: everything a release publishes, in dist/:
#   init.pyz          for /usr/local/bin/python3 (the python:* images)
#   init-usr-bin.pyz  for /usr/bin/python3 (a distribution's Python)
#   initapp-VERSION-py3-none-any.whl  the package, with init.pyz inside as data
#                     (what `initapp install` writes)
#   initapp-VERSION.tar.gz            the sdist, init.pyz inside too, so that a
#                     wheel built from it is the same wheel
#   SHA256SUMS        the digests of the four, for `sha256sum -c`
# Nothing else in the directory changes.
#
# The same source and the same Pythons give the same bytes. The archives: see
# build.sh (SOURCE_DATE_EPOCH as given, unset: shiv's fixed date). The wheel and
# the sdist are built by the pinned flit_core of .venv (python -m build
# --no-isolation: no backend fetched at build time), which normalises every
# entry's mode and owner and dates each entry SOURCE_DATE_EPOCH: unset here, that
# is 1980-01-01 (the archives' entries' date); before 1980, 1980-01-01 with a
# note, as in build.sh.
#
#   ./dist.sh [--outdir DIR]     (default dist/)
#   VENV_PYTHON (default .venv/bin/python): the Python with build and flit_core;
#   SHIV and PYTHON: as for build.sh.
set -euo pipefail

root=$(cd "$(dirname "$0")" && pwd)
out=$root/dist
while [[ $# -gt 0 ]]; do
  case "$1" in
    --outdir) out=${2:?--outdir needs a directory}; shift 2 ;;
    *) echo "dist.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done
venv_python=${VENV_PYTHON:-$root/.venv/bin/python}
source "$root/tools/source-date-epoch.sh"
check_source_date_epoch dist.sh
if ! "$venv_python" -c 'import build, flit_core' 2>/dev/null; then
  echo "dist.sh: $venv_python has no build and flit_core; run 'make venv' first" >&2
  exit 1
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -f "$out"/init.pyz "$out"/init-usr-bin.pyz "$out"/initapp-*.whl "$out"/initapp-*.tar.gz \
  "$out"/SHA256SUMS
"$root/build.sh" --output "$out/init.pyz"
"$root/build.sh" --python /usr/bin/python3 --output "$out/init-usr-bin.pyz"

# The sdist and the wheel are built from a copy of what pyproject.toml names (the
# package without caches, the README, LICENSE and CHANGELOG), with the archive
# `initapp install` writes in the package directory as its data: the checkout is
# left as it is.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
stage=$work/initapp-source
mkdir "$stage"
cp "$root"/{pyproject.toml,README.md,LICENSE,CHANGELOG.md} "$stage/"
tar -C "$root" --exclude=__pycache__ --exclude='*.pyc' --exclude=initapp/init.pyz -cf - initapp \
  | tar -C "$stage" -xf -
install -m 644 "$out/init.pyz" "$stage/initapp/init.pyz"
if ! SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$zip_first} \
    "$venv_python" -m build --no-isolation --outdir "$out" "$stage" >"$work/build.log" 2>&1; then
  cat "$work/build.log" >&2
  exit 1
fi
(cd "$out" && LC_ALL=C sha256sum init.pyz init-usr-bin.pyz initapp-*.whl initapp-*.tar.gz \
  > SHA256SUMS)
echo "in $out:"
sed 's/^/  /' "$out/SHA256SUMS"
