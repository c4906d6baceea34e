"""Shutdown: the whole tree, one deadline (as PID 1 and as a subreaper)."""

import os
import signal
import subprocess
import time

import pytest

from support import PYTHON, TRAP, alive, read_lines, wait_file, wait_for

pytestmark = pytest.mark.timeout(60)


def got_times(work):
    return [float(line.split()[1]) for line in read_lines(work / "got")]


def test_shell_wrapper_app_finishes_its_cleanup(start, box):
    # sh dies on SIGTERM at once; the app it started must still finish its handler.
    work = box()
    app = " ".join(TRAP + [str(work), "--cleanup", "1.0"])
    init = start("sh", "-c", app + "; echo wrapper-done")
    wait_file(work / "ready")
    init.signal(signal.SIGTERM)
    assert init.wait() == 143           # the main child (sh) died of SIGTERM
    assert read_lines(work / "done")    # the app's cleanup ran to its end
    assert len(read_lines(work / "got")) == 1
    assert "wrapper-done" not in init.stdout()


def test_shell_wrapper_with_group_forwarding_gets_one_sigterm(start, box):
    work = box()
    app = " ".join(TRAP + [str(work), "--cleanup", "0.5"])
    init = start("--pgroup", "sh", "-c", app + "; echo wrapper-done")
    wait_file(work / "ready")
    init.signal(signal.SIGTERM)
    assert init.wait() == 143
    assert read_lines(work / "done")
    assert len(read_lines(work / "got")) == 1  # not signalled twice


# The main child starts workers in their own sessions (daemons), then exits by itself.
WORKERS = """
import os, subprocess, sys
for index in range(2):
    work = os.path.join(sys.argv[1], "w%d" % index)
    os.mkdir(work)
    subprocess.Popen(sys.argv[2:] + [work], start_new_session=True)
for index in range(2):
    while not os.path.exists(os.path.join(sys.argv[1], "w%d" % index, "ready")):
        pass
sys.exit(3)
"""


def test_leftover_workers_get_sigterm_and_finish(start, tmp_path):
    init = start(PYTHON, "-c", WORKERS, str(tmp_path), *TRAP, "--cleanup", "0.5")
    assert init.wait() == 3             # the main child's code, not the workers'
    for index in range(2):
        work = tmp_path / ("w%d" % index)
        assert read_lines(work / "got")[0].startswith("SIGTERM")
        assert read_lines(work / "done")


def test_child_ignoring_sigterm_is_killed_at_the_deadline(start, box):
    work = box()
    init = start("--grace", "1.5", *TRAP, str(work), "--handle", "--ignore", "TERM")
    wait_file(work / "ready")
    sent = time.monotonic()
    init.signal(signal.SIGTERM)
    assert init.wait() == 137
    took = time.monotonic() - sent
    assert 1.4 < took < 4.0
    assert "grace period of 1.5s is over" in init.stderr()


def test_exits_promptly_once_the_tree_is_gone(start, tmp_path):
    # A worker takes 0.7 s to clean up; initapp must end right after, not at the deadline.
    init = start("--grace", "20", PYTHON, "-c", WORKERS, str(tmp_path), *TRAP, "--cleanup", "0.7")
    assert init.wait() == 3
    ended = time.time()
    last_done = max(os.stat(tmp_path / ("w%d" % i) / "done").st_mtime for i in range(2))
    assert ended - last_done < 1.0


def test_second_stop_signal_kills_at_once_when_asked(start, box):
    work = box()
    init = start("--grace", "30", "--force-on-repeat", *TRAP, str(work), "--handle", "--ignore",
                 "TERM")
    wait_file(work / "ready")
    init.signal(signal.SIGTERM)
    time.sleep(0.3)
    assert alive(init.pid)
    sent = time.monotonic()
    init.signal(signal.SIGTERM)
    assert init.wait() == 137
    assert time.monotonic() - sent < 2.0


def test_podman_stop_signal_reaches_the_child_as_sigterm(start, box):
    work = box()
    init = start(*TRAP, str(work))
    wait_file(work / "ready")
    init.signal(signal.SIGRTMIN + 3)
    assert init.wait() == 0
    assert read_lines(work / "got")[0].startswith("SIGTERM")


def test_delay_holds_the_signal_back(start, box):
    work = box()
    init = start("--delay", "TERM:1", *TRAP, str(work))
    wait_file(work / "ready")
    sent = time.time()
    init.signal(signal.SIGTERM)
    assert init.wait() == 0
    assert got_times(work)[0] - sent >= 0.95


def test_deadline_counts_from_the_signal_not_the_delayed_forward(start, box):
    work = box()
    init = start("--delay", "TERM:1", "--grace", "1.5", *TRAP, str(work), "--handle", "--ignore", "TERM")
    wait_file(work / "ready")
    sent = time.monotonic()
    init.signal(signal.SIGTERM)
    assert init.wait() == 137
    assert 1.4 < time.monotonic() - sent < 4.0


# The main child starts a daemon in its own session that reports SIGHUP and
# ignores SIGTERM, then becomes a workload that exits on HUP or TERM.
DAEMON = """
import os, subprocess, sys
os.mkdir(sys.argv[1] + "/daemon")
subprocess.Popen(sys.argv[2:] + [sys.argv[1] + "/daemon", "--keep", "--handle", "HUP",
                                 "--ignore", "TERM"], start_new_session=True)
os.execv(sys.argv[2], sys.argv[2:] + [sys.argv[1] + "/main", "--handle", "HUP", "TERM"])
"""


def test_to_all_reaches_daemons_in_their_own_sessions(start, tmp_path):
    (tmp_path / "main").mkdir()
    init = start("--to-all", "HUP", PYTHON, "-c", DAEMON, str(tmp_path), *TRAP)
    wait_file(tmp_path / "main" / "ready")
    wait_file(tmp_path / "daemon" / "ready")
    init.signal(signal.SIGHUP)
    for who in ("main", "daemon"):
        wait_for(lambda: read_lines(tmp_path / who / "got"), what="SIGHUP at " + who)
        assert read_lines(tmp_path / who / "got")[0].startswith("SIGHUP")
    init.signal(signal.SIGKILL)


@pytest.mark.parametrize("end", ["second signal", "deadline"])
def test_not_pid1_never_signals_outside_its_tree(start, tmp_path, box, end):
    # A process beside init.pyz (same parent, same session) must survive the whole
    # shutdown, including the kill at the end.
    outside = box("outside")
    neighbour = subprocess.Popen(TRAP + [str(outside), "--life", "20"])
    try:
        wait_file(outside / "ready")
        (tmp_path / "main").mkdir()
        grace = "30" if end == "second signal" else "1"
        init = start("--grace", grace, "--force-on-repeat", PYTHON, "-c", DAEMON, str(tmp_path), *TRAP, pid1=False)
        wait_file(tmp_path / "main" / "ready")
        wait_file(tmp_path / "daemon" / "ready")
        init.signal(signal.SIGTERM)          # main child handles it and exits ...
        wait_for(lambda: read_lines(tmp_path / "main" / "done"), what="main child done")
        time.sleep(0.3)                      # ... the daemon ignores its SIGTERM
        assert alive(init.pid)
        if end == "second signal":
            init.signal(signal.SIGTERM)      # the second forces the kill
        assert init.wait() == 0
        assert not alive(int(wait_file(tmp_path / "daemon" / "ready")))
        assert neighbour.poll() is None
        assert read_lines(outside / "got") == []
    finally:
        neighbour.kill()
        neighbour.wait()
