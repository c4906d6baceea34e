#!/usr/bin/env bash
# Build init.pyz: shiv packs the initapp package, every CPython 3.8+ found here
# compiles it (one set of bytecode per version), then tools/finish_pyz.py gives
# the archive a __main__ that runs from inside it (no extraction to disk) and
# imports the running version's set, or the source when it has none.
#
#   ./build.sh [--python INTERPRETER] [--output FILE] [--compile-with PYTHON]...
#
# --python: the interpreter named in the shebang, run with -IS (isolated, no
#   site). Default /usr/local/bin/python3, as in the official python:*-slim
#   images; use /usr/bin/python3 for Debian's or Alpine's packaged Python.
# --compile-with: compile with these Pythons only (repeatable). By default with
#   every python3.N (N >= 8) found: the shebang's interpreter, /usr/local/bin,
#   /usr/bin, pyenv's versions, then PATH (not pyenv's shims); one per version.
set -euo pipefail

root=$(cd "$(dirname "$0")" && pwd)
interpreter=/usr/local/bin/python3
output="$root/dist/init.pyz"
named=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --python) interpreter=${2:?--python needs a path}; shift 2 ;;
    --output) output=${2:?--output needs a path}; shift 2 ;;
    --compile-with) named+=("${2:?--compile-with needs a path}"); shift 2 ;;
    *) echo "build.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done
# SOURCE_DATE_EPOCH (reproducible builds) is the build date shiv writes into the
# archive's environment.json, so a value set gives other bytes than none (shiv's
# fixed 1980 date); every entry keeps its fixed 1980 date either way. The rule for
# its values (before 1980, not a date) is tools/source-date-epoch.sh's.
source "$root/tools/source-date-epoch.sh"
check_source_date_epoch build.sh
shiv=${SHIV:-$root/.venv/bin/shiv}
if [[ ! -x $shiv ]]; then
  echo "build.sh: shiv not found at $shiv; run 'make venv' first" >&2
  exit 1
fi

# Candidate compilers, in order of preference: the first of each version wins.
found_pythons() {
  local dir candidate
  [[ -x $interpreter ]] && echo "$interpreter"
  local dirs=(/usr/local/bin /usr/bin)
  mapfile -t -O ${#dirs[@]} dirs < <(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/*/bin 2>/dev/null | sort -V)
  IFS=: read -ra path_dirs <<< "${PATH:-}"
  for dir in "${dirs[@]}" "${path_dirs[@]}"; do
    [[ $dir == */shims ]] && continue  # pyenv's shims: slow, and may name no real version
    for candidate in "$dir"/python3.*; do
      [[ $candidate =~ /python3\.[0-9]+$ && -x $candidate ]] && echo "$candidate"
    done
  done
  return 0
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/site-packages" "$work/sets" "$(dirname "$output")"
# Only the runtime package goes in, without caches, and without the archive make
# dist puts beside it for the wheel.
tar -C "$root" --exclude=__pycache__ --exclude='*.pyc' --exclude=initapp/init.pyz -cf - initapp \
  | tar -C "$work/site-packages" -xf -
"$shiv" --reproducible --site-packages "$work/site-packages" \
  -e initapp.main:main -p "$interpreter -IS" -o "$work/shiv.pyz" >/dev/null

# The Python that runs the build's own tools (3.8+): each compiler is its child.
finisher=${PYTHON:-python3}
if [[ ${#named[@]} -gt 0 ]]; then candidates=("${named[@]}"); else mapfile -t candidates < <(found_pythons); fi
covered=()
# A candidate's set tag, the same expression as in the archive's __main__
# (tools/finish_pyz.py), asked before compiling: the same interpreter under
# several names (/usr/bin/python3, /usr/bin/python3.11, /bin/python3.11) or a
# second build of a version compiles nothing the first did not.
tag_of='import sys
if sys.version_info < (3, 8): sys.exit(1)
from importlib.util import MAGIC_NUMBER
print("%s-%d" % (sys.implementation.cache_tag, int.from_bytes(MAGIC_NUMBER[:2], "little")))'
for python in "${candidates[@]}"; do
  if ! tag=$("$python" -IS -c "$tag_of" 2>/dev/null); then
    if [[ ${#named[@]} -gt 0 ]]; then
      echo "build.sh: $python: not a Python 3.8 or newer" >&2
      exit 2
    fi
    continue
  fi
  [[ -e $work/sets/$tag ]] && continue  # this version has its set already
  rm -rf "$work/new"
  # A source this version cannot compile fails the build here.
  compiled=$("$finisher" -IS "$root/tools/compile_set.py" "$python" "$work/site-packages" "$work/new")
  tag=${compiled%% *}
  mv "$work/new/$tag" "$work/sets/$tag"
  covered+=("${compiled#* } ($python)")
done

"$finisher" -IS "$root/tools/finish_pyz.py" "$work/shiv.pyz" "$output" \
  "$interpreter -IS" initapp.main:main "$work/sets"
echo "bytecode for CPython:"
printf '  %s\n' "${covered[@]:-none}" | sort -V
echo "any other version imports the source"
echo "built $output (#!$interpreter -IS)"
