#!/usr/bin/env bash
# Build init.pyz: shiv packs the initapp package, then tools/finish_pyz.py gives
# it a __main__ that runs from inside the archive (no extraction to disk).
#
#   ./build.sh [--python INTERPRETER] [--output FILE]
#
# --python: the interpreter named in the shebang, run with -IS (isolated, no
#   site). Default /usr/local/bin/python3, as in the official python:*-slim
#   images; use /usr/bin/python3 for Debian's or Alpine's packaged Python.
set -euo pipefail

root=$(cd "$(dirname "$0")" && pwd)
interpreter=/usr/local/bin/python3
output="$root/dist/init.pyz"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --python) interpreter=${2:?--python needs a path}; shift 2 ;;
    --output) output=${2:?--output needs a path}; shift 2 ;;
    *) echo "build.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done
shiv=${SHIV:-$root/.venv/bin/shiv}
if [[ ! -x $shiv ]]; then
  echo "build.sh: shiv not found at $shiv; run 'make venv' first" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/site-packages" "$(dirname "$output")"
# Only the runtime package goes in, without caches.
tar -C "$root" --exclude=__pycache__ --exclude='*.pyc' -cf - initapp | tar -C "$work/site-packages" -xf -
"$shiv" --reproducible --site-packages "$work/site-packages" \
  -e initapp.main:main -p "$interpreter -IS" -o "$work/shiv.pyz" >/dev/null
# The .pyc files are compiled by the shebang's interpreter when this machine has
# it, so they match the Python that will run them; otherwise by the build's.
finisher=${PYTHON:-python3}
if [[ -x $interpreter ]] && "$interpreter" -c 'import sys; sys.exit(sys.version_info < (3, 8))'; then
  finisher=$interpreter
fi
"$finisher" -IS "$root/tools/finish_pyz.py" "$work/shiv.pyz" "$output" \
  "$interpreter -IS" initapp.main:main
echo "built $output (#!$interpreter -IS)"
