"""Turn shiv's archive into one that starts without writing to disk.

shiv's own __main__ extracts site-packages to ~/.shiv (or $SHIV_ROOT) at every
start and obeys SHIV_* variables: that fails on a read-only root or without a
home, and trusts whatever sits in a shared cache. The new __main__ imports the
package straight from the archive instead. Everything else shiv wrote stays
(environment.json, _bootstrap) so shiv-info still reads the result.

Each module also gets an unchecked-hash .pyc beside it, compiled by the Python
running this script: zipimport then skips compiling at every start (several
milliseconds). A Python of another version sees a bad magic number and falls
back to the .py, so the archive still runs everywhere.

Entries are written in a fixed order with fixed dates and modes, so the same
source gives the same bytes wherever it is built with the same Python."""

import importlib.util
import os
import sys
import zipfile
from importlib._bootstrap_external import _code_to_hash_pyc

MAIN = '''\
# initapp: run from inside this archive; nothing is extracted or written.
import os
import sys

if not (sys.flags.isolated and sys.flags.no_site) and sys.executable:
    # Started as "python3 init.pyz" rather than through the shebang's "-IS":
    # start again isolated, so the environment's PYTHON* variables, the user's
    # and the image's site-packages cannot change how the init runs.
    os.execv(sys.executable, [sys.executable, "-I", "-S"] + sys.argv)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "site-packages"))
from {module} import {function} as _main

_code = _main()
# An init has nothing to clean up in the interpreter: skip its finalization
# (milliseconds at every exit, between the last process's exit and the init's).
try:
    sys.stdout.flush()
finally:
    os._exit(_code)
'''

DATE = (1980, 1, 1, 0, 0, 0)


def finish(source, target, interpreter, entry_point):
    module, _, function = entry_point.partition(":")
    with zipfile.ZipFile(source) as archive:
        files = {name: archive.read(name) for name in archive.namelist()
                 if not name.endswith("/") and not name.endswith(".pyc")}
    files["__main__.py"] = MAIN.format(module=module, function=function).encode()
    for name in [n for n in files if n.startswith("site-packages/") and n.endswith(".py")]:
        files[name + "c"] = compile_unchecked(files[name], name)
    partial = target + ".partial"
    with open(partial, "wb") as out:
        out.write(b"#!" + interpreter.encode() + b"\n")
        with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
            for name in sorted(files):
                info = zipfile.ZipInfo(name, DATE)
                info.external_attr = 0o644 << 16
                archive.writestr(info, files[name])
    os.chmod(partial, 0o755)
    os.replace(partial, target)


def compile_unchecked(source, name):
    code = compile(source, name, "exec", dont_inherit=True, optimize=0)
    return bytes(_code_to_hash_pyc(code, importlib.util.source_hash(source), checked=False))


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit("usage: finish_pyz.py SHIV_PYZ TARGET INTERPRETER MODULE:FUNCTION")
    finish(*sys.argv[1:])
