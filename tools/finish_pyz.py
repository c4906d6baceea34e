"""Turn shiv's archive into one that starts without writing to disk.

shiv's own __main__ extracts site-packages to ~/.shiv (or $SHIV_ROOT) at every
start and obeys SHIV_* variables: that fails on a read-only root or without a
home, and trusts whatever sits in a shared cache. The new __main__ imports the
package straight from the archive instead. Everything else shiv wrote stays
(environment.json, _bootstrap) so shiv-info still reads the result.

Each CPython version the build found gets its own set of precompiled modules
(tools/compile_set.py, initapp/archive.py), one entry bytecode/TAG of the archive,
beside the sources in site-packages/. The new __main__ installs the running
interpreter's set, when there is one, with the finder that comes compiled in it
(initapp/set_finder.py): no module is compiled at start (several milliseconds).
Another version imports the sources, as any zipapp.

The package's own writer (initapp/archive.py's write(), which `initapp install`
uses too) puts the entries in a fixed order with fixed dates and modes, so the same
source gives the same bytes wherever it is built with the same Pythons."""

import os
import sys
import zipfile



def load_archive_module():
    """initapp/archive.py beside this directory, without importing the package (as
    compile_set.py does: -I puts no script's directory on the path)."""
    from importlib.util import module_from_spec, spec_from_file_location

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "initapp",
                        "archive.py")
    sys.dont_write_bytecode = True  # no __pycache__ in the checkout
    spec = spec_from_file_location("initapp_archive", path)
    module = module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


archive_module = load_archive_module()

MAIN = '''\
# initapp: run from inside this archive; nothing is extracted or written.
import sys

if sys.version_info < {min_python!r}:
    # Too old for the package: one line and exit 2 rather than a traceback from the
    # first call it lacks. So this whole file must parse on Python 2.7 and 3.0 and
    # up (no f-strings, no keyword-only or positional-only syntax) and stay ASCII.
    sys.stderr.write("[initapp] error: " + {message!r}.format(
        version=sys.version.split()[0]) + "\\n")
    sys.exit({exit_usage!r})
import _signal

# Every signal blocked before anything else (the check above is one comparison):
# until the init takes them over, a SIGTERM to PID 1 would be dropped by the kernel
# and a SIGINT would end it with KeyboardInterrupt. Blocked, they wait for the
# init's loop. The mask found here is the one the child gets back (a restart below
# hands it on with -X).
STARTUP_SIGNAL_MASK = _signal.pthread_sigmask(_signal.SIG_BLOCK, _signal.valid_signals())
import gc
import os

# No cyclic garbage collection while the package loads and starts the workload:
# it finds nothing then, and each run costs a tenth of a millisecond. The package
# turns it on again once the workload runs (or a subcommand starts).
gc.disable()


def _environment_as_exec_d():
    """This interpreter may have set LC_CTYPE for itself (PEP 538): the restart gets
    the environment this process was started with, in order."""
    try:
        with open("/proc/self/environ", "rb") as environ:
            items = environ.read().split(b"\\0")[:-1]
    except OSError:
        return os.environb
    exec_d = {{}}
    # As Python reads its own environment: the first of a name, and an entry
    # without "=" is no variable. One with an empty name os.execve refuses (the
    # kernel would take it): the restart is told its value, and the package says
    # it was left out.
    for name, equals, value in (item.partition(b"=") for item in items):
        if equals and name:
            exec_d.setdefault(name, value)
        elif equals:
            _unnamed.append(value)
    return exec_d


_unnamed = []


if not (sys.flags.isolated and sys.flags.no_site) and sys.executable:
    # Started as "python3 init.pyz" rather than through the shebang's "-IS":
    # start again isolated, so the environment's PYTHON* variables, the user's
    # and the image's site-packages cannot change how the init runs.
    _mask = sum(1 << (signo - 1) for signo in STARTUP_SIGNAL_MASK)
    _env = _environment_as_exec_d()
    _options = ["-Xinitapp-sigmask=%x" % _mask]
    _options += ["-Xinitapp-unnamed-env=" + _unnamed[0].hex()] if _unnamed else []
    os.execve(sys.executable, [sys.executable, "-I", "-S"] + _options + sys.argv, _env)
# This interpreter's own set of precompiled modules when the archive holds one
# (initapp/archive.py), with the finder to import them; the sources otherwise.
import marshal
from importlib.util import MAGIC_NUMBER  # imported by runpy already

_sources = os.path.join(os.path.dirname(os.path.abspath(__file__)), "site-packages")
try:  # zipimport's get_data takes a name in the archive
    _set = __loader__.get_data("bytecode/%s-%d" % (
        sys.implementation.cache_tag, int.from_bytes(MAGIC_NUMBER[:2], "little")))
except OSError:
    pass  # no set for this version
else:
    _finder, _modules = marshal.loads(_set)  # the modules' code follows
    _namespace = {{"__name__": "set_finder"}}
    exec(_finder, _namespace)
    _namespace["install"](_modules, _set, _sources)
    del _set, _finder, _modules, _namespace
sys.path.insert(0, _sources)
from {module} import {function} as _main

_code = _main()
# An init has nothing to clean up in the interpreter: skip its finalization
# (milliseconds at every exit, between the last process's exit and the init's).
try:
    sys.stdout.flush()
finally:
    os._exit(_code)
'''

def finish(source, target, interpreter, entry_point, sets):
    module, _, function = entry_point.partition(":")
    with zipfile.ZipFile(source) as archive:
        files = {name: archive.read(name) for name in archive.namelist()
                 if not name.endswith("/") and not name.endswith(".pyc")}
    defaults = package_defaults(files["site-packages/initapp/defaults.py"])
    files["__main__.py"] = MAIN.format(
        module=module, function=function, min_python=defaults["MIN_PYTHON"],
        message=defaults["MSG_UNSUPPORTED_PYTHON"], exit_usage=defaults["EXIT_USAGE"]).encode()
    files.update(read_sets(sets))
    partial = target + ".partial"
    with open(partial, "wb") as out:
        archive_module.write(out, interpreter.encode(), files)
    os.chmod(partial, 0o755)
    os.replace(partial, target)


def package_defaults(source):
    """The values of the package's defaults.py (constants only), for the checks the
    archive's __main__ makes before the package can be imported."""
    namespace = {}
    exec(compile(source, "defaults.py", "exec"), namespace)
    return namespace


def read_sets(sets):
    """bytecode/TAG for every set compile_set.py wrote into the directory sets."""
    files = {}
    for tag in os.listdir(sets):
        with open(os.path.join(sets, tag), "rb") as f:
            files["bytecode/" + tag] = f.read()
    return files


if __name__ == "__main__":
    if len(sys.argv) != 6:
        sys.exit("usage: finish_pyz.py SHIV_PYZ TARGET INTERPRETER MODULE:FUNCTION BYTECODE_DIR")
    finish(*sys.argv[1:])
