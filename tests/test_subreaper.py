"""init.pyz when it is not PID 1: under another init, in a pod, in a shell."""

import signal

import pytest

from support import PYTHON, children, state, wait_file, wait_for

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
