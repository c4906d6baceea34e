"""--pre-stop and --post-stop: the stop hooks, inside the one deadline."""

import json
import signal
import time

import pytest

from support import LATE, PYTHON, TRAP, read_lines, wait_file, wait_for

pytestmark = pytest.mark.timeout(60)

# A hook that notes its pid and when it began and ended (FILE.pid, FILE.begin, FILE.end),
# taking SECONDS; it runs as a word-only command (no shell).
HOOK = """
import os, sys, time
out, seconds = sys.argv[1], float(sys.argv[2])
open(out + ".pid", "w").write(str(os.getpid()))
open(out + ".begin", "w").write("%.6f" % time.time())
time.sleep(seconds)
open(out + ".end", "w").write("%.6f %s %s" % (time.time(), os.environ.get("INITAPP_EXIT_CODE"),
                                             os.environ.get("INITAPP_EXIT_REASON")))
"""


@pytest.fixture
def hook(tmp_path):
    script = tmp_path / "hook.py"
    script.write_text(HOOK)

    def command(name, seconds):
        return "%s %s %s %s" % (PYTHON, script, tmp_path / name, seconds)
    return command


def mark(tmp_path, name, suffix):
    return (tmp_path / ("%s.%s" % (name, suffix))).read_text().split()


def got_time(work):
    return float(read_lines(work / "got")[0].split()[1])


@pytest.mark.parametrize("pid1", [True, False], ids=["pid1", "subreaper"])
def test_pre_stop_runs_first_and_the_child_gets_sigterm_when_it_ends(start, box, hook, tmp_path,
                                                                     pod, pid1):
    work = box()
    init = start("-v", "--grace", "5", "--pre-stop", hook("pre", 0.5), *TRAP, str(work),
                 **({} if pid1 else {"pod": pod()}))
    wait_file(work / "ready")
    sent = time.time()
    init.signal(signal.SIGTERM)
    assert init.wait() == 0
    began, ended = float(mark(tmp_path, "pre", "begin")[0]), float(mark(tmp_path, "pre", "end")[0])
    assert 0 <= began - sent < LATE
    # The child's SIGTERM comes once the hook has ended, not before.
    assert ended <= got_time(work) < ended + LATE
    assert "the pre-stop hook (pid %s) exited with 0" % mark(tmp_path, "pre", "pid")[0] \
        in init.stderr()


def test_a_hanging_pre_stop_is_killed_at_half_the_grace(start, box, hook, tmp_path):
    work = box()
    init = start("--grace", "2", "--pre-stop", hook("pre", 30), *TRAP, str(work))
    wait_file(work / "ready")
    sent = time.time()
    init.signal(signal.SIGTERM)
    assert init.wait() == 0                 # the child still stopped gracefully
    # Half the grace (1 s) after the signal, the hook is killed and the child told.
    assert 1.0 <= got_time(work) - sent < 1.0 + LATE
    assert not (tmp_path / "pre.end").exists()
    assert "the pre-stop hook (pid 3) is still running at its time limit: killed" in init.stderr()


def test_a_failing_pre_stop_is_logged_and_the_stop_goes_on(start, box):
    work = box()
    init = start("--pre-stop", "sh -c 'exit 4'", *TRAP, str(work))
    wait_file(work / "ready")
    init.signal(signal.SIGTERM)
    assert init.wait() == 0
    assert read_lines(work / "got")[0].startswith("SIGTERM")
    assert "warning: the pre-stop hook (pid 3) exited with 4" in init.stderr()


def test_pre_stop_does_not_run_when_the_child_exits_by_itself(start, hook, tmp_path):
    init = start("--pre-stop", hook("pre", 0), "sh", "-c", "exit 3")
    assert init.wait() == 3
    assert not (tmp_path / "pre.pid").exists()


def test_timeout_runs_the_pre_stop_hook_first(start, box, hook, tmp_path):
    work = box()
    init = start("--timeout", "1", "--pre-stop", hook("pre", 0.3), *TRAP, str(work))
    assert init.wait() == 124
    ended = float(mark(tmp_path, "pre", "end")[0])
    assert ended <= got_time(work) < ended + LATE


def test_repeated_stop_signals_during_pre_stop_give_the_child_one(start, box, hook, tmp_path):
    work = box()
    init = start("--pre-stop", hook("pre", 0.5), *TRAP, str(work), "--keep")
    wait_file(work / "ready")
    init.signal(signal.SIGTERM)
    wait_file(tmp_path / "pre.begin")
    init.signal(signal.SIGTERM)
    wait_for(lambda: read_lines(work / "got"), what="the child's SIGTERM")
    time.sleep(0.3)
    assert [line.split()[0] for line in read_lines(work / "got")] == ["SIGTERM"]
    init.signal(signal.SIGKILL)


@pytest.mark.parametrize("pid1", [True, False], ids=["pid1", "subreaper"])
def test_post_stop_sees_the_exit_code_after_a_self_exit(start, hook, tmp_path, pod, pid1):
    init = start("--log-format", "json", "--post-stop", hook("post", 0.2), "sh", "-c", "exit 3",
                 **({} if pid1 else {"pod": pod()}))
    assert init.wait() == 3
    ended = mark(tmp_path, "post", "end")
    assert ended[1] == "3" and " ".join(ended[2:]).endswith("(sh -c exit 3) exited with 3")
    assert json.loads(init.stderr().splitlines()[-1])["code"] == 3


def test_post_stop_after_a_stop_and_its_failure_does_not_change_the_code(start, box, tmp_path):
    work = box()
    out = tmp_path / "post"
    init = start("--post-stop", "sh -c 'echo $INITAPP_EXIT_CODE > %s; exit 9'" % out,
                 *TRAP, str(work), "--code", "5")
    wait_file(work / "ready")
    init.signal(signal.SIGTERM)
    assert init.wait() == 5
    assert out.read_text() == "5\n"
    assert "warning: the post-stop hook (pid" in init.stderr()
    assert "exited with 9" in init.stderr()


def test_post_stop_is_bounded_by_the_grace_after_a_self_exit(start, hook, tmp_path):
    began = time.monotonic()
    init = start("--grace", "1", "--post-stop", hook("post", 30), "sh", "-c", "exit 3")
    assert init.wait() == 3
    assert 1.0 <= time.monotonic() - began < 1.0 + 1.0
    assert not (tmp_path / "post.end").exists()
    assert "the post-stop hook (pid" in init.stderr() and "killed" in init.stderr()


def test_post_stop_is_bounded_by_the_stops_deadline(start, box, hook, tmp_path):
    # The child takes 0.8 s of the 1.2 s grace: the hook has what is left.
    work = box()
    init = start("--grace", "1.2", "--post-stop", hook("post", 30), *TRAP, str(work),
                 "--cleanup", "0.8")
    wait_file(work / "ready")
    sent = time.monotonic()
    init.signal(signal.SIGTERM)
    assert init.wait() == 0
    assert 1.2 <= time.monotonic() - sent < 1.2 + LATE + 0.5
    assert (tmp_path / "post.begin").exists() and not (tmp_path / "post.end").exists()


@pytest.mark.parametrize("option", ["--pre-stop", "--post-stop"])
def test_an_empty_hook_command_is_a_usage_error(start, option):
    init = start(option, "  ", "true")
    assert init.wait() == 2
    assert option in init.stderr() and len(init.stderr().splitlines()) == 1
