#!/usr/bin/env bash
# make dist: everything a release publishes, in dist/:
#   init.pyz          for /usr/local/bin/python3 (the python:* images)
#   init-usr-bin.pyz  for /usr/bin/python3 (a distribution's Python)
#   initapp-VERSION-py3-none-any.whl  the package, with init.pyz inside as data
#                     (what `initapp install` writes)
#   initapp-VERSION.tar.gz            the sdist, init.pyz inside too, so that a
#                     wheel built from it is the same wheel
#   SHA256SUMS        the digests of the four, for `sha256sum -c`
#
# The same source and the same Pythons give the same bytes. The archives: see
# build.sh (SOURCE_DATE_EPOCH as given, unset: shiv's fixed date). The wheel and
# the sdist are built by the pinned flit_core of .venv (python -m build
# --no-isolation: no backend fetched at build time), which normalises every
# entry's mode and owner and dates each entry SOURCE_DATE_EPOCH: unset here, that
# is 1980-01-01 (the archives' entries' date); before 1980, 1980-01-01 with a
# note, as in build.sh.
#
#   VENV_PYTHON (default .venv/bin/python): the Python with build and flit_core;
#   SHIV and PYTHON: as for build.sh.
set -euo pipefail

root=$(cd "$(dirname "$0")" && pwd)
out=$root/dist
venv_python=${VENV_PYTHON:-$root/.venv/bin/python}
source "$root/tools/source-date-epoch.sh"
check_source_date_epoch dist.sh
if ! "$venv_python" -c 'import build, flit_core' 2>/dev/null; then
  echo "dist.sh: $venv_python has no build and flit_core; run 'make venv' first" >&2
  exit 1
fi

mkdir -p "$out"
rm -f "$out"/init.pyz "$out"/init-usr-bin.pyz "$out"/initapp-*.whl "$out"/initapp-*.tar.gz \
  "$out"/SHA256SUMS
"$root/build.sh" --output "$out/init.pyz"
"$root/build.sh" --python /usr/bin/python3 --output "$out/init-usr-bin.pyz"

# The package's data: the archive `initapp install` writes, in the package
# directory while the sdist and the wheel are built (build.sh leaves it out of
# the archive itself).
data=$root/initapp/init.pyz
trap 'rm -f "$data"' EXIT
install -m 644 "$out/init.pyz" "$data"
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$zip_first} \
  "$venv_python" -m build --quiet --no-isolation --outdir "$out" "$root" >/dev/null
(cd "$out" && LC_ALL=C sha256sum init.pyz init-usr-bin.pyz initapp-*.whl initapp-*.tar.gz \
  > SHA256SUMS)
echo "in $out:"
sed 's/^/  /' "$out/SHA256SUMS"
