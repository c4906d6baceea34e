"""init.pyz when it is not PID 1: under another init, in a pod, in a shell."""

import signal
import subprocess

import pytest

import seccomp
from support import (CLEAN_ENV, INIT_PYTHON, PYTHON, UNSHARE, children, state, wait_file,
                     wait_for)

PR_SET_CHILD_SUBREAPER = 36

pytestmark = pytest.mark.timeout(60)

# The main child orphans a grandchild that reports its parent, then waits.
ORPHAN = """
import os, sys, time
if os.fork() == 0:
    if os.fork() == 0:
        time.sleep(0.3)
        with open(sys.argv[1] + ".tmp", "w") as out:
            out.write("%d %d" % (os.getpid(), os.getppid()))
        os.rename(sys.argv[1] + ".tmp", sys.argv[1])
        time.sleep(0.5)
        os._exit(0)
    os._exit(0)
time.sleep(20)
"""


def test_not_pid1_becomes_subreaper_and_reaps_orphans(start, tmp_path):
    report = tmp_path / "orphan"
    init = start(PYTHON, "-c", ORPHAN, str(report), pid1=False)
    main = init.child()
    orphan, parent = map(int, wait_file(report).split())
    assert parent == init.pid  # re-parented to init.pyz, not to the machine's init
    wait_for(lambda: children(init.pid) == [main], what="the orphan reaped")
    assert state(orphan) is None
    init.signal(signal.SIGTERM)
    assert init.wait() == 143
    assert init.stderr() == ""


def imported_modules(init_pyz, pid1):
    command = [INIT_PYTHON, "-IS", "-X", "importtime", str(init_pyz), "true"]
    result = subprocess.run((UNSHARE if pid1 else []) + command, env=CLEAN_ENV, timeout=30,
                            capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    return {line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines()
            if line.startswith("import time:") and "|" in line}


def ctypes_loaded(start, pid1):
    """Whether a running initapp has _ctypes: its library in the process's maps, or,
    where it is part of the interpreter, its module named by -X importtime."""
    init = start(INIT_PYTHON, "-c", "import time; time.sleep(30)", pid1=pid1)
    init.child()
    with open("/proc/%d/maps" % init.pid) as maps:
        mapped = "/_ctypes." in maps.read()
    init.signal(signal.SIGTERM)
    assert init.wait() == 143
    return mapped


def test_prctl_loads_only_the_c_half_of_ctypes(init_pyz, start):
    # The ctypes package costs milliseconds at every start as a subreaper. _ctypes
    # comes from lib-dynload without the import system's search (spawn.c_module),
    # which -X importtime does not list: its library is in the process's maps.
    subreaper = imported_modules(init_pyz, pid1=False)
    assert not {"ctypes", "struct", "ctypes.util"} & subreaper
    assert ctypes_loaded(start, pid1=False) or "_ctypes" in subreaper
    # As PID 1 there is no prctl to call: not even _ctypes.
    assert not ctypes_loaded(start, pid1=True)
    assert "_ctypes" not in imported_modules(init_pyz, pid1=True)


@pytest.mark.skipif(not seccomp.supported(), reason="no seccomp filter for this architecture")
def test_subreaper_refused_by_the_kernel_is_a_warning_not_an_exit(start):
    # Some sandboxes refuse PR_SET_CHILD_SUBREAPER (EPERM); tini dies there. A seccomp
    # filter makes this kernel refuse it: initapp warns, runs the workload, and
    # exits with its code.
    init = start(PYTHON, "-c", "raise SystemExit(7)", pid1=False,
                 preexec=seccomp.refuse_prctl(PR_SET_CHILD_SUBREAPER))
    assert init.wait() == 7
    assert init.stderr() == (
        "[initapp] warning: cannot become a child subreaper (Operation not permitted); "
        "orphans of the workload will not be reaped by initapp\n")
