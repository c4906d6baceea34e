"""init.pyz inspect: what it says about real PID 1s in their own namespaces."""

import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from support import CLEAN_ENV, PYTHON, Init, alive, children, state, wait_file, wait_for

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def namespace(tmp_path):
    """namespace(COMMAND...) runs COMMAND as PID 1 of a new PID namespace."""
    started = []

    def make(program, *args, env=None):
        ns = Init(program, args, tmp_path, env=env)
        started.append(ns)
        return ns

    yield make
    for ns in started:
        ns.close()


def inspect(init_pyz, *args, inside=None, as_user=None):
    command = [str(init_pyz), "inspect"] + list(args)
    if inside is not None:  # as `docker exec`: enter the namespace and its /proc
        command = ["nsenter", "-t", str(inside), "-p", "-m"] + command
    if as_user is not None:
        command = ["setpriv", "--reuid", str(as_user), "--regid", str(as_user),
                   "--clear-groups"] + command
    result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    return result


def report(init_pyz, pid, as_user=None):
    result = inspect(init_pyz, "--json", str(pid), as_user=as_user)
    assert result.returncode in (0, 1, 3), result.stderr
    data = json.loads(result.stdout)
    verdict = data["verdict"]
    assert result.returncode == (1 if not verdict["ok"] else 3 if verdict.get("unknown") else 0)
    return data


def test_sleep_as_pid1_ignores_sigterm(init_pyz, namespace):
    ns = namespace("sleep", "30")
    wait_for(lambda: state(ns.pid) == "S", what="sleep running")
    data = report(init_pyz, ns.pid)
    assert data["pid1_of_namespace"] is True and data["pid_in_namespace"] == 1
    assert data["command"] == ["sleep", "30"]
    assert data["init"] is None and data["shell_wrapper"] is False
    assert data["sigterm"]["reaches"] is False
    assert "never applies to PID 1" in data["sigterm"]["explanation"]
    sig = data["signals"]
    assert (sig["blocked"], sig["caught"], sig["waits_synchronously"]) == ([], [], False)
    # Only what this test runner itself ignores (make leaves glibc's 32 and 33 ignored).
    assert set(sig["ignored"]) <= {"32", "33"}
    assert data["verdict"]["ok"] is False
    assert any("--init" in advice for advice in data["verdict"]["advice"])
    assert data["namespace"]["processes"] == 1


def test_shell_wrapper_as_pid1(init_pyz, namespace):
    ns = namespace("sh", "-c", "sleep 30; echo done")
    wait_for(lambda: children(ns.pid), what="the shell's child")
    data = report(init_pyz, ns.pid)
    assert data["shell_wrapper"] is True
    assert any("exec" in advice for advice in data["verdict"]["advice"])
    tree = data["namespace"]["tree"]
    assert [(line["depth"], line["command"]) for line in tree] == [
        (0, "sh -c sleep 30; echo done"), (1, "sleep 30")]


def test_initapp_as_pid1_is_fine(init_pyz, namespace):
    ns = namespace(str(init_pyz), "-g", "--grace", "5", "sleep", "30")
    wait_for(lambda: children(ns.pid), what="the child")
    time.sleep(0.2)
    data = report(init_pyz, ns.pid)
    assert data["init"] == {"name": "initapp", "options": ["-g", "--grace", "5"]}
    assert data["signals"]["waits_synchronously"] is True
    assert data["sigterm"]["reaches"] is True and data["sigint"]["reaches"] is True
    assert data["verdict"] == {"ok": True, "problems": [], "advice": [], "unknown": []}


ZOMBIE_MAKER = """
import os, time
for _ in range(3):
    if os.fork() == 0:
        os._exit(0)
time.sleep(30)
"""


def test_zombies_of_a_pid1_that_does_not_reap(init_pyz, namespace):
    ns = namespace(PYTHON, "-c", ZOMBIE_MAKER)
    wait_for(lambda: len([c for c in children(ns.pid) if state(c) == "Z"]) == 3, what="zombies")
    data = report(init_pyz, ns.pid)
    zombies = data["namespace"]["zombies"]
    assert len(zombies) == 3
    assert all(z["ppid"] == ns.pid and z["parent_command"].startswith(PYTHON) for z in zombies)
    assert any("3 zombie(s)" in problem for problem in data["verdict"]["problems"])
    assert any("does not reap" in advice for advice in data["verdict"]["advice"])


def test_from_inside_the_namespace(init_pyz, namespace):
    ns = namespace(str(init_pyz), "sleep", "30")
    wait_for(lambda: children(ns.pid), what="the child")
    result = inspect(init_pyz, inside=ns.pid)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[1] == "  PID 1 of its namespace, state S"
    assert lines[2] == "  init: initapp"
    assert "verdict: fine" in lines
    assert "    2 S sleep 30" in lines


def test_unreadable_wchan_is_unknown_not_a_problem(init_pyz, namespace):
    # A user who may not trace initapp reads its wchan as "0": whether PID 1 waits
    # for SIGTERM cannot be told, and is not a reason for "PROBLEMS".
    ns = namespace(str(init_pyz), "sleep", "30")
    wait_for(lambda: children(ns.pid), what="the child")
    wait_for(lambda: open("/proc/%d/wchan" % ns.pid).read().startswith("do_sigtimedwait"),
             what="initapp waiting for signals")
    data = report(init_pyz, ns.pid, as_user=4242)
    assert data["init"]["name"] == "initapp"
    assert data["signals"]["waits_synchronously"] is None
    assert data["sigterm"]["reaches"] is None
    assert data["sigterm"]["explanation"].startswith("unknown: ")
    assert data["verdict"]["ok"] is True and data["verdict"]["problems"] == []
    assert data["sigterm"]["explanation"] in data["verdict"]["unknown"]
    text = inspect(init_pyz, str(ns.pid), as_user=4242)
    assert text.returncode == 3
    assert "verdict: unknown" in text.stdout.splitlines()


BLOCKS_TERM = """
import os, signal
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM, signal.SIGINT])
os.execv("/bin/sleep", ["sleep", "30"])
"""


def test_blocked_but_not_waited_for_does_not_reach(init_pyz, namespace):
    ns = namespace(PYTHON, "-c", BLOCKS_TERM)
    wait_for(lambda: open("/proc/%d/comm" % ns.pid).read() == "sleep\n", what="sleep")
    data = report(init_pyz, ns.pid)
    assert data["sigterm"]["reaches"] is False and data["sigint"]["reaches"] is False
    assert "does not wait for it" in data["sigterm"]["explanation"]
    assert data["verdict"]["ok"] is False
    # What it says is what happens: SIGTERM leaves it running.
    os.kill(ns.pid, signal.SIGTERM)
    time.sleep(0.3)
    assert alive(ns.pid)


READS_SIGNALFD = """
import ctypes, os, signal, sys
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM])
mask = ctypes.c_uint64(1 << (signal.SIGTERM - 1))
fd = ctypes.CDLL(None, use_errno=True).signalfd(-1, ctypes.byref(mask), 0)
assert fd >= 0, os.strerror(ctypes.get_errno())
open(sys.argv[1], "w").close()
info = os.read(fd, 128)
sys.exit(int.from_bytes(info[:4], "little") == signal.SIGTERM and 7)
"""


def test_blocked_and_read_from_a_signalfd_reaches(init_pyz, namespace, tmp_path):
    ns = namespace(PYTHON, "-c", READS_SIGNALFD, str(tmp_path / "ready"))
    wait_file(tmp_path / "ready")
    data = report(init_pyz, ns.pid)
    assert data["sigterm"]["reaches"] is True
    assert data["sigterm"]["explanation"] == "SIGTERM is blocked and read from a signalfd"
    os.kill(ns.pid, signal.SIGTERM)
    assert ns.wait() == 7


def test_names_that_are_not_utf8(init_pyz, namespace):
    # A name (comm) and a command line with an invalid UTF-8 byte, a newline and an
    # escape sequence: read as bytes, shown with escapes, never a crash.
    code = "import time; open('/proc/self/comm', 'wb').write(b'bad\\xffname'); time.sleep(30)"
    ns = namespace(PYTHON, "-c", code, "arg\udcff", "new\nline\x1b[0m")
    wait_for(lambda: open("/proc/%d/comm" % ns.pid, "rb").read() == b"bad\xffname\n",
             what="the new name")
    data = report(init_pyz, ns.pid)
    assert data["command"][-2:] == ["arg\\xff", "new\nline\x1b[0m"]
    text = inspect(init_pyz, str(ns.pid))
    assert text.returncode == 1, text.stderr        # problems found (a PID 1 without init)
    assert text.stderr == ""
    lines = text.stdout.splitlines()
    assert lines[0].endswith(" arg\\xff new\\nline\\x1b[0m")
    assert "verdict: PROBLEMS" in lines
    assert all(line.startswith(("PID ", "  ", "namespace: ", "cgroup: ", "tree:", "verdict: "))
               for line in lines)


def test_initapp_started_by_a_relative_path(init_pyz, start, tmp_path):
    shutil.copy2(init_pyz, tmp_path / "myinit")
    ns = start("sleep", "30", argv0="./myinit")
    wait_for(lambda: children(ns.pid), what="the child")
    wait_for(lambda: os.readlink("/proc/%d/cwd" % ns.pid) == "/", what="initapp in /")
    data = report(init_pyz, ns.pid)
    assert data["init"] == {"name": "initapp", "options": []}
    assert data["verdict"]["ok"] is True


@pytest.mark.parametrize("args", [["nope"], ["0"], ["99999999"]])
def test_bad_target(init_pyz, args):
    result = inspect(init_pyz, *args)
    assert result.returncode == 2
    assert result.stderr.startswith("[initapp] error: inspect: ")
    assert len(result.stderr.splitlines()) == 1


def test_unreadable_files_are_listed(init_pyz, namespace):
    # Run by another user, inspect cannot read root's environment: it says so.
    ns = namespace(str(init_pyz), "sleep", "30")
    wait_for(lambda: children(ns.pid), what="the child")
    result = inspect(init_pyz, "--json", str(ns.pid), as_user="4242")
    data = json.loads(result.stdout)
    assert "/proc/%d/environ (Permission denied)" % ns.pid in data["unreadable"]
    text = inspect(init_pyz, str(ns.pid), as_user="4242").stdout
    assert "could not read: /proc/%d/environ (Permission denied)" % ns.pid in text.splitlines()


@pytest.mark.parametrize("variable", [{}, {"TINI_KILL_PROCESS_GROUP": "1"}])
def test_another_init_its_variables_and_advice(init_pyz, namespace, variable):
    # A PID 1 that calls itself tini: its options come from its command line and
    # its TINI_* variables, and the advice is the one for tini.
    ns = namespace("bash", "-c", "exec -a tini sleep 30", env=dict(CLEAN_ENV, **variable))
    wait_for(lambda: "tini" in open("/proc/%d/cmdline" % ns.pid).read(), what="tini")
    data = report(init_pyz, ns.pid)
    assert data["init"] == {"name": "tini", "options": ["%s=%s" % item for item in variable.items()]}
    advice = " ".join(data["verdict"]["advice"])
    assert "tini exits as soon as its child exits" in advice
    assert ("add -g" in advice) is not bool(variable)


ORPHAN_MAKER = """
import os, sys, time
if os.fork() == 0:
    if os.fork() == 0:
        time.sleep(30)
        os._exit(0)
    os._exit(0)
time.sleep(30)
"""


def test_processes_re_parented_to_pid1(init_pyz, namespace):
    ns = namespace(str(init_pyz), PYTHON, "-c", ORPHAN_MAKER)
    wait_for(lambda: len(children(ns.pid)) == 2, what="the orphan re-parented to PID 1")
    main, orphan = children(ns.pid)
    data = report(init_pyz, ns.pid)
    assert data["namespace"]["orphans"] == [{"pid": orphan, "command": "%s -c %s" % (
        PYTHON, ORPHAN_MAKER)}]
    text = inspect(init_pyz, str(ns.pid)).stdout
    assert "  re-parented to PID 1 (not its first child): %d %s -c" % (orphan, PYTHON) in text


def test_double_dash_inspect_runs_a_program_named_inspect(init_pyz, tmp_path):
    program = tmp_path / "inspect"
    program.write_text("#!/bin/sh\necho \"a program named inspect: $*\"\n")
    program.chmod(0o755)
    env = dict(CLEAN_ENV, PATH="%s:%s" % (tmp_path, CLEAN_ENV["PATH"]))
    result = subprocess.run([str(init_pyz), "--", "inspect", "--json"], env=env,
                            capture_output=True, text=True, timeout=30)
    assert (result.returncode, result.stdout) == (0, "a program named inspect: --json\n")


def test_an_archive_it_cannot_read_makes_the_init_unknown(init_pyz, namespace, tmp_path):
    # Another user may not look into the target's root: which init this is cannot be
    # told, and inspect says so instead of "none recognised".
    shutil.copy2(init_pyz, tmp_path / "myinit")
    ns = namespace(str(tmp_path / "myinit"), "sleep", "30")
    wait_for(lambda: children(ns.pid), what="the child")
    data = report(init_pyz, ns.pid, as_user="4242")
    assert data["init"]["name"] == "unknown"
    assert any(path.startswith("/proc/%d/root/" % ns.pid) and path.endswith("myinit (Permission "
                                                                             "denied)")
               for path in data["unreadable"])
    assert report(init_pyz, ns.pid)["init"]["name"] == "initapp"


def test_the_tree_lists_each_process_once_when_not_pid1(init_pyz, start):
    # Not PID 1, the tree is this machine's: every process once, under its parent.
    ns = start("sleep", "30", pid1=False)
    wait_for(lambda: children(ns.pid), what="the child")
    tree = report(init_pyz, ns.pid)["namespace"]["tree"]
    pids = [line["pid"] for line in tree]
    assert len(pids) == len(set(pids))
    assert ns.pid in pids and children(ns.pid)[0] in pids
