#!/usr/bin/env bash
# Run the core tests with init.pyz on every CPython from 3.8 to 3.13 on this
# machine (pyenv's versions, or python3.X on PATH). A missing version is an error,
# reported by name, unless INITAPP_ALLOW_MISSING_PYTHONS=1 makes it a warning.
set -uo pipefail
cd "$(dirname "$0")/.."
pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}
failed=() missing=() passed=()
for minor in 8 9 10 11 12 13; do
  version=3.$minor
  interpreter=$(ls -d "$pyenv_root"/versions/"$version".*/bin/python"$version" 2>/dev/null | sort -V | tail -n 1)
  if [[ -z $interpreter ]]; then
    for candidate in /usr/bin/python"$version" /usr/local/bin/python"$version"; do
      [[ -x $candidate ]] && interpreter=$candidate && break
    done
  fi
  if [[ -z $interpreter ]]; then
    echo "python$version: NOT FOUND on this machine"
    missing+=("$version")
    continue
  fi
  echo "== init.pyz on $("$interpreter" --version 2>&1) ($interpreter)"
  if INITAPP_TEST_PYTHON=$interpreter .venv/bin/python -m pytest -q -p no:cacheprovider \
      tests/test_core.py tests/test_shutdown.py tests/test_subreaper.py tests/test_signal_route.py \
      tests/test_spawn.py "$@"; then
    passed+=("$version")
  else
    failed+=("$version")
  fi
done
echo "pythons: passed ${passed[*]:-none}; failed ${failed[*]:-none}; missing ${missing[*]:-none}"
[[ ${#failed[@]} -eq 0 ]] || exit 1
if [[ ${#missing[@]} -gt 0 && ${INITAPP_ALLOW_MISSING_PYTHONS:-0} != 1 ]]; then exit 1; fi
exit 0
