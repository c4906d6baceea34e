"""Real cgroups: processes SIGKILL cannot end (frozen).

Each test makes its own cgroup (cgroup v1 freezer) below the runner's own, moves
init.pyz's child into it, and removes it in teardown."""

import json
import signal
import time

import pytest

from support import alive, cgroup_pids, cpu_seconds, read_lines, wait_for

pytestmark = pytest.mark.timeout(90)


def enter(path):
    """A setup snippet: the shell joins the cgroup, then execs init.pyz."""
    return "echo $$ > %s/cgroup.procs" % path


def json_events(init):
    return [json.loads(line) for line in init.stderr().splitlines() if line.startswith("{")]

def freeze(path):
    (path / "freezer.state").write_text("FROZEN")
    wait_for(lambda: (path / "freezer.state").read_text().strip() == "FROZEN", what="frozen")


def test_frozen_main_child_makes_one_message_and_no_busy_loop(start, cgroup_v1):
    path = cgroup_v1("freezer")
    # The main child joins the freezer cgroup itself: initapp stays outside it.
    init = start("--grace", "0.5", "sh", "-c", enter(path) + "; exec sleep 60")
    child = init.child("sleep")
    wait_for(lambda: cgroup_pids(path) == [child], what="the child in the cgroup")
    freeze(path)
    cpu_before = cpu_seconds(init.pid)
    init.signal(signal.SIGTERM)
    wait_for(lambda: "after SIGKILL" in init.stderr(), timeout=10, what="the give-up message")
    time.sleep(2.0)                              # the frozen child outlives it all
    assert alive(child) or child in cgroup_pids(path)
    assert cpu_seconds(init.pid) - cpu_before < 0.5   # was about 2 s of CPU a second
    lines = init.stderr().splitlines()
    assert lines == [
        "[initapp] warning: grace period of 0.5s is over; killing 1 process(es) still alive: "
        "2 (D, sleep 60)",
        "[initapp] error: 1 process(es) still alive 2s after SIGKILL, exiting without them: "
        "2 (D, sleep 60)"]
    # PID 1's exit completes once the namespace is empty: thaw, and the code is told.
    (path / "freezer.state").write_text("THAWED")
    assert init.wait() == 137


def test_frozen_leftover_under_a_subreaper(start, cgroup_v1, tmp_path):
    path = cgroup_v1("freezer")
    go = tmp_path / "go"
    script = ("sh -c '%s; exec sleep 60' & while [ ! -e %s ]; do sleep 0.05; done; exit 3"
              % (enter(path), go))
    init = start("--grace", "0.5", "--log-format", "json", "sh", "-c", script, pid1=False)
    wait_for(lambda: cgroup_pids(path), what="the worker in the cgroup")
    worker = cgroup_pids(path)[0]
    freeze(path)
    go.write_text("")
    assert init.wait() == 3                      # the main child's code: it was reaped
    assert alive(worker)                         # left behind, still frozen
    events = json_events(init)
    gave_up = [event for event in events if event["event"] == "gave_up"]
    assert len(gave_up) == 1
    assert gave_up[0]["processes"] == [{"pid": worker, "state": "D", "command": "sleep 60"}]
    assert len(read_lines(init.stderr_path)) == 2   # the deadline's warning, the give-up
