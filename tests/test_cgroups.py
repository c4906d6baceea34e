"""Real cgroups: OOM kills named as such, and processes SIGKILL cannot end (frozen).

Each test makes its own cgroup (cgroup v1 memory or freezer) below the runner's
own, moves init.pyz or its child into it, and removes it in teardown."""

import json
import os
import signal
import subprocess
import time

import pytest

from support import PYTHON, alive, cgroup_pids, cpu_seconds, read_lines, wait_for

pytestmark = pytest.mark.timeout(90)

LIMIT = 64 << 20
# Grows by 1 MiB steps until the OOM killer ends it (without a limit it stops at
# 1 GiB: nothing runs unbounded).
HOG = "b = [bytearray(1 << 20) for _ in range(1024)]"


def memory_cgroup(cgroup_v1, limit=LIMIT):
    path = cgroup_v1("memory")
    (path / "memory.limit_in_bytes").write_text(str(limit))
    if not (path / "memory.oom_control").read_text().count("oom_kill "):
        pytest.skip("this kernel's cgroup v1 has no oom_kill counter (needs Linux 4.13+)")
    return path


def enter(path):
    """A setup snippet: the shell joins the cgroup, then execs init.pyz."""
    return "echo $$ > %s/cgroup.procs" % path


def oom_kills(path):
    for line in (path / "memory.oom_control").read_text().splitlines():
        if line.startswith("oom_kill "):
            return int(line.split()[1])
    return None


def json_events(init):
    return [json.loads(line) for line in init.stderr().splitlines() if line.startswith("{")]


def test_oom_kill_of_the_main_child_is_named(start, cgroup_v1):
    path = memory_cgroup(cgroup_v1)
    init = start(PYTHON, "-c", HOG, setup=enter(path))
    assert init.wait(timeout=60) == 137
    assert oom_kills(path) == 1
    assert init.stderr().splitlines() == [
        "[initapp] warning: main child 2 (%s -c %s) was killed by the kernel's OOM killer "
        "(memory limit 64 MiB)" % (PYTHON, HOG)]


def test_oom_kill_fields_in_json(start, cgroup_v1):
    path = memory_cgroup(cgroup_v1)
    init = start("--log-format", "json", PYTHON, "-c", HOG, setup=enter(path))
    assert init.wait(timeout=60) == 137
    events = json_events(init)
    reaped = next(event for event in events if event["event"] == "reaped")
    assert (reaped["main"], reaped["oom"], reaped["memory_limit"]) == (True, True, LIMIT)
    assert reaped["status"] == "killed by SIGKILL"
    end = events[-1]
    assert end["event"] == "exit"   # written in JSON at the default verbosity
    assert (end["code"], end["oom"], end["memory_limit"], end["oom_kills"]) == (137, True, LIMIT, 1)
    assert "OOM killer" in end["reason"]


def test_oom_kill_of_another_process_is_named(start, cgroup_v1, tmp_path):
    path = memory_cgroup(cgroup_v1)
    # A shell wrapper starts the hog in a subshell and exits: the hog is an orphan.
    init = start("--grace", "1", "sh", "-c", "(%s -c '%s' &); exec sleep 30" % (PYTHON, HOG),
                 setup=enter(path))
    message = wait_for(lambda: [line for line in init.stderr().splitlines() if "OOM" in line],
                       timeout=60, what="the OOM message")
    assert len(message) == 1
    assert message[0].startswith("[initapp] warning: process ")
    assert message[0].endswith(" was killed by the kernel's OOM killer (memory limit 64 MiB)")
    assert alive(init.child("sleep"))      # the main child is not the one named
    init.signal(signal.SIGTERM)
    assert init.wait() == 143


def test_kill_9_is_not_an_oom_kill(start, cgroup_v1):
    path = memory_cgroup(cgroup_v1)
    # An OOM kill before initapp starts: the counter is 1, not 0, from the start.
    hog = subprocess.run(["sh", "-c", enter(path) + "; exec %s -c '%s'" % (PYTHON, HOG)],
                         timeout=60)
    assert hog.returncode == -signal.SIGKILL and oom_kills(path) == 1
    init = start("-v", "sleep", "30", setup=enter(path))
    child = init.child("sleep")
    os.kill(child, signal.SIGKILL)
    assert init.wait() == 137
    assert "main child 2 (sleep 30) killed by SIGKILL" in init.stderr()
    assert "OOM" not in init.stderr()


def test_exit_summary_counts_the_oom_kills_of_the_run(start, cgroup_v1):
    # oom_kills: the cgroup's OOM kills during the run, whoever reaped them (here
    # the main child, a shell, reaps its own hog), not those before it;
    # memory_limit only with an OOM kill of the main child.
    path = memory_cgroup(cgroup_v1)
    hog = subprocess.run(["sh", "-c", enter(path) + "; exec %s -c '%s'" % (PYTHON, HOG)],
                         timeout=60)
    assert hog.returncode == -signal.SIGKILL and oom_kills(path) == 1
    init = start("--log-format", "json", "sh", "-c", "%s -c '%s'; exit 0" % (PYTHON, HOG),
                 setup=enter(path))
    assert init.wait(timeout=60) == 0
    assert oom_kills(path) == 2
    events = json_events(init)
    assert [event["event"] for event in events] == ["exit"]  # initapp reaped no hog
    end = events[0]
    assert (end["code"], end["oom"], end["memory_limit"], end["oom_kills"]) == (0, False, None, 1)
    assert end["message"].endswith("; the OOM killer killed 1 process(es) of the cgroup")


def test_exit_summary_oom_kills_is_null_without_a_counter(start, cgroup_v1):
    # 0 in a memory cgroup that saw none; null when no counter is in view (the
    # hierarchy hidden here, in the namespace's own mounts): unknown, not 0.
    path = memory_cgroup(cgroup_v1)
    for setup, count in ((enter(path), 0), ("mount -t tmpfs none /sys/fs/cgroup", None)):
        init = start("--log-format", "json", "true", setup=setup)
        assert init.wait() == 0
        end = json_events(init)[-1]
        assert (end["event"], end["oom_kills"], end["oom"], end["memory_limit"]) == (
            "exit", count, False, None)
        assert "OOM" not in end["message"]


def test_inspect_reports_the_oom_count_and_limit(init_pyz, start, cgroup_v1):
    path = memory_cgroup(cgroup_v1)
    init = start("sleep", "30", setup=enter(path))
    init.child("sleep")
    command = [str(init_pyz), "inspect", "--json", str(init.pid)]
    before = json.loads(subprocess.run(command, capture_output=True, timeout=30).stdout)
    assert before["cgroup"] == {"version": 1, "path": str(path), "oom_kills": 0,
                                "memory_limit": LIMIT}
    assert not any("OOM" in problem for problem in before["verdict"]["problems"])
    hog = subprocess.run(["sh", "-c", enter(path) + "; exec %s -c '%s'" % (PYTHON, HOG)],
                         timeout=60)
    assert hog.returncode == -signal.SIGKILL
    result = subprocess.run(command, capture_output=True, timeout=30)
    after = json.loads(result.stdout)
    assert after["cgroup"]["oom_kills"] == 1 and result.returncode == 1
    assert "the kernel's OOM killer has killed 1 process(es) in its cgroup (memory limit 64 MiB)" \
        in after["verdict"]["problems"]
    text = subprocess.run(command[:2] + [str(init.pid)], capture_output=True, text=True,
                          timeout=30).stdout
    assert "cgroup: memory limit 64 MiB, OOM kills 1 (cgroup v1, %s)" % path in text.splitlines()


# -- processes that SIGKILL cannot end ----------------------------------------------------

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


def test_exit_summary_of_a_main_child_sigkill_cannot_end(start, cgroup_v1):
    # Never reaped: its status is null, not a guess, and the code is 137.
    path = cgroup_v1("freezer")
    init = start("--grace", "0.5", "--log-format", "json", "sh", "-c",
                 enter(path) + "; exec sleep 60", pid1=False)
    child = init.child("sleep")
    wait_for(lambda: cgroup_pids(path) == [child], what="the child in the cgroup")
    freeze(path)
    init.signal(signal.SIGTERM)
    assert init.wait() == 137
    end = json_events(init)[-1]
    assert (end["event"], end["code"], end["pid"], end["status"]) == ("exit", 137, child, None)
    assert end["reason"].startswith("main child %d (sh -c echo $$ > " % child)
    assert end["reason"].endswith(") could not be reaped after SIGKILL")
    assert (end["stop"], end["oom"]) == ("received SIGTERM", False)


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
    assert events[-1]["event"] == "exit" and events[-1]["killed"] == gave_up[0]["processes"]
    assert len(read_lines(init.stderr_path)) == 3   # deadline, give-up, exit summary
