"""init.pyz inspect: what it says about real PID 1s in their own namespaces."""

import ctypes
import json
import os
import resource
import select
import shutil
import signal
import struct
import subprocess
import threading
import time
import zipfile

import pytest

from initapp import inspect as inspect_module
from support import (CLEAN_ENV, PYTHON, TRAP, Init, alive, children, comm, read_lines, state,
                     wait_file, wait_for)

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


def inspect(init_pyz, *args, inside=None, as_user=None, timeout=30, memory=None):
    """memory: an address-space limit for inspect (bytes), so that a read without
    bound fails at once instead of filling the machine's memory."""
    command = [str(init_pyz), "inspect"] + list(args)
    if inside is not None:  # as `docker exec`: enter the namespace and its /proc
        command = ["nsenter", "-t", str(inside), "-p", "-m"] + command
    if as_user is not None:
        command = ["setpriv", "--reuid", str(as_user), "--regid", str(as_user),
                   "--clear-groups"] + command
    limit = None if memory is None else \
        (lambda: resource.setrlimit(resource.RLIMIT_AS, (memory, memory)))
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                            preexec_fn=limit)
    return result


def report(init_pyz, pid, as_user=None, **kwargs):
    result = inspect(init_pyz, "--json", str(pid), as_user=as_user, **kwargs)
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
    # One process: no names, no processes section.
    assert "processes" not in data
    assert all("process" not in line for line in data["namespace"]["tree"])


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
    # The parent is named once, with its count.
    problem, = [p for p in data["verdict"]["problems"] if "zombie" in p]
    assert problem == "3 zombie(s), not reaped by their parent(s): 3 of %d (%s -c %s)" % (
        ns.pid, PYTHON, ZOMBIE_MAKER)
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


@pytest.mark.parametrize("args", [["nope"], ["0"], ["99999999"], ["1", "self"]])
def test_bad_target(init_pyz, args):
    # "self": this test's own pid, one that exists: a second pid is refused, not
    # inspected instead of the first.
    args = [str(os.getpid()) if word == "self" else word for word in args]
    result = inspect(init_pyz, *args)
    assert result.returncode == 2
    assert result.stderr.startswith("[initapp] error: inspect: ")
    assert len(result.stderr.splitlines()) == 1
    assert result.stdout == ""
    if len(args) > 1:
        assert result.stderr == "[initapp] error: inspect: one pid at a time, not 2: %s\n" % (
            " ".join(args))


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
    assert "  re-parented to PID 1 (not started by it): %d %s -c" % (orphan, PYTHON) in text


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


def test_children_a_pid1_started_itself_are_not_called_re_parented(init_pyz, namespace, tmp_path):
    # Whether a child of a PID 1 that is no init was started by it or re-parented to
    # it cannot be read from /proc: inspect does not guess (orphans is null).
    code = ("import subprocess, sys, time\n"
            "kids = [subprocess.Popen(['sleep', '30']) for _ in range(2)]\n"
            "open(sys.argv[1], 'w').close()\n"
            "time.sleep(30)\n")
    ns = namespace(PYTHON, "-c", code, str(tmp_path / "ready"))
    wait_file(tmp_path / "ready")
    data = report(init_pyz, ns.pid)
    assert len([line for line in data["namespace"]["tree"] if line["ppid"] == ns.pid]) == 2
    assert data["namespace"]["orphans"] is None
    assert "re-parented" not in inspect(init_pyz, str(ns.pid)).stdout


def test_a_pid1_that_is_not_python_is_not_looked_up_as_a_file(init_pyz, namespace):
    # `sleep` was found on PATH: no file of its working directory is the program,
    # and a program that is not Python is no initapp, readable or not.
    ns = namespace("sleep", "30")
    wait_for(lambda: state(ns.pid) == "S", what="sleep running")
    data = report(init_pyz, ns.pid, as_user=4242)
    assert data["init"] is None
    assert not any("Python" in words for words in data["verdict"]["unknown"])
    assert [path for path in data["unreadable"] if "/cwd/" in path or "/root/" in path] == []


# -- what a container names cannot hang inspect or lead it outside the container ----

def fake_archive(path, main=""):
    """A zip application Python can run (its __main__.py is main) that inspect's
    check takes for initapp's archive."""
    with zipfile.ZipFile(str(path), "w") as archive:
        archive.writestr("__main__.py", main)
        archive.writestr("site-packages/initapp/main.py", "")
    return path


def test_a_fifo_named_by_argv0_does_not_hang_inspect(init_pyz, namespace, tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(str(fifo))
    ns = namespace("bash", "-c", "exec -a %s sleep 30" % fifo)
    wait_for(lambda: open("/proc/%d/cmdline" % ns.pid, "rb").read().startswith(
        str(fifo).encode()), what="sleep named after the FIFO")
    data = report(init_pyz, ns.pid, timeout=10)
    assert data["init"] is None and data["command"] == [str(fifo), "30"]


SWAP_AND_WAIT = """
import os, sys, time
os.rename(sys.argv[1], sys.argv[0])  # the file its command line names is now another
open(sys.argv[2], "w").close()
time.sleep(60)
"""


@pytest.mark.parametrize("kind", ["fifo", "device", "huge"])
def test_the_file_a_python_runs_is_read_only_if_regular_and_small(init_pyz, namespace, tmp_path,
                                                                   kind):
    # A Python whose script is now a FIFO (with a writer waiting for a reader: an
    # open for reading, blocking or not, would let it through), /dev/zero (endless),
    # or a 3 GiB file that ends with an archive inspect would take for initapp's.
    script, other = tmp_path / "script.py", tmp_path / "other"
    script.write_text(SWAP_AND_WAIT)
    writer = None
    if kind == "fifo":
        os.mkfifo(str(other))
    elif kind == "device":
        other.symlink_to("/dev/zero")
    else:
        with open(str(other), "wb") as f:
            f.seek(3 << 30)  # sparse: no disk
            f.write(fake_archive(tmp_path / "archive").read_bytes())
    ns = namespace(PYTHON, str(script), str(other), str(tmp_path / "ready"))
    wait_file(tmp_path / "ready")
    if kind == "fifo":
        writer = subprocess.Popen([PYTHON, "-c", "import sys; open(sys.argv[1], 'w'); "
                                   "open(sys.argv[2], 'w').close()", str(script),
                                   str(tmp_path / "opened")])
        wait_for(lambda: state(writer.pid) == "S", what="the writer waiting for a reader")
    try:
        data = report(init_pyz, ns.pid, timeout=10, memory=1 << 30)
        assert data["init"] is None and data["command"][1] == str(script)
        assert not (tmp_path / "opened").exists()  # the FIFO was never opened
    finally:
        if writer is not None:
            writer.kill()
            writer.wait()


CHROOT_AND_WAIT = """
import os, sys, time
os.chroot(sys.argv[1])
os.chdir("/")
open("/ready", "w").close()
time.sleep(60)
"""


@pytest.mark.parametrize("link, found", [
    ("{host}", None),                 # an absolute link to a file outside its root
    ("{up}{host}", None),             # a relative one, up past its root
    ("/inner/fakeinit", "initapp"),   # one that stays inside: followed as it would be
], ids=["absolute", "dot-dot", "inside"])
def test_links_resolve_inside_the_process_root(init_pyz, namespace, tmp_path, link, found):
    # A Python that runs NAMED (on this machine a link to an archive inspect takes
    # for initapp's), then changes its root: inside that root NAMED is the link
    # under test. inspect must see what the process sees, never this machine's file.
    host = fake_archive(tmp_path / "fakeinit", CHROOT_AND_WAIT)
    named, root = tmp_path / "named", tmp_path / "root"
    named.symlink_to(host)
    inside = root / str(named).lstrip("/")
    inside.parent.mkdir(parents=True)
    (root / "inner").mkdir()
    fake_archive(root / "inner" / "fakeinit")
    # Up past the root's top, then past the root itself on this machine.
    inside.symlink_to(link.format(host=host, up="../" * (len(named.parts) + len(root.parts))))
    ns = namespace(PYTHON, str(named), str(root))
    wait_file(root / "ready")
    data = report(init_pyz, ns.pid, timeout=10)
    assert (data["init"] or {}).get("name") == found


class OpenGate:
    """Holds every open of one file for reading until the test has acted: the
    kernel's fanotify permission events stop the opener at a known point."""

    def __init__(self, path, action):
        libc = ctypes.CDLL(None, use_errno=True)
        # FAN_CLASS_CONTENT | FAN_CLOEXEC; FAN_MARK_ADD, FAN_OPEN_PERM, AT_FDCWD
        self.fd = libc.fanotify_init(0x08 | 0x01, os.O_RDONLY)
        if self.fd < 0 or libc.fanotify_mark(self.fd, 0x01, 0x10000, -100,
                                             str(path).encode()) < 0:
            raise OSError(ctypes.get_errno(), "fanotify: " + os.strerror(ctypes.get_errno()))
        self.action, self.opened, self.done = action, 0, threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.done.is_set():
            if not select.select([self.fd], [], [], 0.05)[0]:
                continue
            data = os.read(self.fd, 4096)
            for offset in range(0, len(data), 24):
                fd = struct.unpack_from("IBBHQii", data, offset)[5]
                try:
                    if not self.opened:
                        self.action()
                    self.opened += 1
                finally:
                    os.write(self.fd, struct.pack("iI", fd, 0x01))  # FAN_ALLOW
                    os.close(fd)

    def close(self):
        self.done.set()
        self.thread.join(timeout=10)
        os.close(self.fd)  # lets any open still held go on


BLOCK_TERM_AND_WAIT = """
import os, signal, sys, time
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM])
open(sys.argv[1], "w").close()
time.sleep(60)
"""


def test_a_target_that_exits_while_inspected_is_said_to_have_exited(init_pyz, namespace,
                                                                   tmp_path):
    # The target ends (and is reaped) while inspect reads the file its Python runs:
    # every later read of its /proc fails with ENOENT. Not "could not read", nor a
    # report mixing the living and the dead: it exited, a pid inspect cannot see.
    script = tmp_path / "script.py"
    script.write_text(BLOCK_TERM_AND_WAIT)
    ns = namespace(PYTHON, str(script), str(tmp_path / "ready"))
    wait_file(tmp_path / "ready")

    def end_target():
        os.kill(ns.pid, signal.SIGKILL)
        wait_for(lambda: not os.path.exists("/proc/%d" % ns.pid), what="the target reaped")

    gate = OpenGate(script, end_target)
    try:
        result = inspect(init_pyz, str(ns.pid), timeout=10)
    finally:
        gate.close()
    assert gate.opened == 1
    assert (result.returncode, result.stdout) == (2, ""), result.stdout
    assert result.stderr == "[initapp] error: inspect: process %d exited while it was " \
                            "inspected\n" % ns.pid


def test_a_process_that_exits_is_gone_not_unreadable():
    # A member of the namespace that ends between the listing and its reads.
    sleeper = subprocess.Popen(["sleep", "30"])
    reader = inspect_module.Reader()
    try:
        process = inspect_module.Process(reader, sleeper.pid)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert reader.listdir(sleeper.pid, "fd") is None
    assert reader.read(sleeper.pid, "environ") is None
    with pytest.raises(LookupError):
        inspect_module.Process(reader, sleeper.pid)
    assert reader.unreadable == []
    assert reader.gone == {sleeper.pid} and not reader.same(process)


LONG_ARGS = ["%s" % letter * 100000 for letter in "abc"]  # 300 kB, each under 128 KiB


def test_command_lines_are_read_in_bounded_amounts(init_pyz, namespace, tmp_path):
    # Forked processes with long command lines cost a namespace little: inspect reads
    # 256 KiB of the target's, 4 KiB of each other process's, and marks the cut.
    code = ("import subprocess, sys, time\n"
            "kid = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)']"
            " + sys.argv[2:])\n"
            "open(sys.argv[1], 'w').close()\n"
            "time.sleep(30)\n")
    ns = namespace(PYTHON, "-c", code, str(tmp_path / "ready"), *LONG_ARGS)
    wait_file(tmp_path / "ready")
    data = report(init_pyz, ns.pid)
    command = data["command"]
    assert command[:4] == [PYTHON, "-c", code, str(tmp_path / "ready")]
    assert command[4:6] == LONG_ARGS[:2] and command[6].endswith("c...")
    assert len("\0".join(command).encode()) == (256 << 10) + len("...")
    kid, = [line for line in data["namespace"]["tree"] if line["ppid"] == ns.pid]
    assert kid["command"].startswith(PYTHON + " -c import time") and kid["command"].endswith("a...")
    assert len(kid["command"].encode()) == (4 << 10) + len("...")


# -- initapp's several processes, by name -----------------------------------------------

# cron: exits 1 at its first start, is restarted (a new pid, the same name), then runs.
# Its first run leaves a process behind that leads a group of its own (as a shell's
# job control makes): an older group leader with cron's name, re-parented to initapp.
LEFT_BEHIND = "%s -c \"import os, time; os.setpgid(0, 0); time.sleep(30)\"" % PYTHON
CRON = ("cron=sh -c 'echo $$ >> cron.pids; test -e once || { touch once; %s & exit 1; }; "
        "exec sleep 30'" % LEFT_BEHIND)


def test_initapp_names_its_several_processes_restarted_ones_included(init_pyz, namespace,
                                                                     tmp_path):
    # From each of the four sources: the Procfile, INITAPP_RUN, --run and the COMMAND.
    # worker leaves a grandchild re-parented to initapp (it carries worker's name in
    # its environment, but is no process of initapp's), as cron's first run does;
    # deaf ignores SIGTERM.
    web = tmp_path / "web"
    web.mkdir()
    (tmp_path / "Procfile").write_text("web: %s\n" % " ".join(TRAP + [str(web)]))
    ns = namespace(str(init_pyz), "--procfile", "Procfile", "--restart", "cron=always",
                   "--run", "worker=sh -c '(sleep 30 &); exec sleep 30'",
                   "--run", "deaf=sh -c 'trap \"\" TERM; exec sleep 30'", "--", "sleep", "30",
                   env=dict(CLEAN_ENV, INITAPP_RUN=CRON))
    wait_file(web / "ready")
    wait_for(lambda: len(read_lines(tmp_path / "cron.pids")) == 2
             and len(children(ns.pid)) == 7
             and all(comm(kid) in ("sleep", "python3") for kid in children(ns.pid)),
             what="every process running, cron restarted")
    result = inspect(init_pyz, "--json", inside=ns.pid)
    assert result.returncode == 1, result.stderr      # deaf is a problem
    data = json.loads(result.stdout)
    processes = {process["name"]: process for process in data["processes"]}
    # In the order they started: the restarted cron last.
    assert [process["name"] for process in data["processes"]] == [
        "web", "worker", "deaf", "sleep", "cron"]
    first, again = map(int, read_lines(tmp_path / "cron.pids"))
    assert processes["cron"]["pid"] == again != first
    assert processes["web"]["command"].startswith(" ".join(TRAP))
    assert processes["sleep"]["command"] == "sleep 30"
    # What inspect tells of its target, told of each process.
    assert processes["web"]["stop_signal"] == "SIGTERM"
    assert processes["web"]["stop"] == {"reaches": True,
                                        "explanation": "SIGTERM is caught by a handler"}
    assert "SIGTERM" in processes["web"]["signals"]["caught"]
    assert processes["deaf"]["stop"] == {
        "reaches": False, "explanation": "SIGTERM is ignored: it will not stop the process"}
    assert "SIGTERM" in processes["deaf"]["signals"]["ignored"]
    assert processes["sleep"]["stop"]["reaches"] is True
    deaf = processes["deaf"]["pid"]
    assert data["verdict"]["problems"] == [
        "deaf (pid %d): SIGTERM is ignored: it will not stop the process" % deaf]
    assert any(advice.startswith("deaf will be SIGKILLed") for advice in data["verdict"]["advice"])
    # Only worker's grandchild and what cron left were re-parented; the five
    # processes were started.
    named = {process["pid"] for process in data["processes"]}
    orphan, left = sorted(data["namespace"]["orphans"], key=lambda o: o["command"] != "sleep 30")
    assert orphan["command"] == "sleep 30" and left["command"] == LEFT_BEHIND.replace('"', "")
    assert not named & {orphan["pid"], left["pid"]}
    tree = {line["pid"]: line.get("process") for line in data["namespace"]["tree"]}
    assert {pid: name for pid, name in tree.items() if name} == {
        process["pid"]: name for name, process in processes.items()}
    text = inspect(init_pyz, inside=ns.pid).stdout.splitlines()
    assert "processes: 5, named by initapp" in text
    assert "  cron: pid %d, state S: sleep 30" % again in text
    assert "    at a stop: SIGTERM is ignored: it will not stop the process" in text
    assert "    %d S cron: sleep 30" % again in text
    assert "  re-parented to PID 1 (not started by it): %d sleep 30" % orphan["pid"] in text
    assert not any(line.startswith("  re-parented") and "%d " % again in line for line in text)
    # Another user may not read their environments: which child is which cannot be
    # told, and inspect says so rather than call them all re-parented.
    other = report(init_pyz, ns.pid, as_user=4242)
    assert other["processes"] == [] and other["namespace"]["orphans"] is None
    assert inspect_module.UNREAD_PROCESSES in other["verdict"]["unknown"]


def test_initapp_names_its_processes_when_not_pid1(init_pyz, start, tmp_path):
    a = tmp_path / "a"
    a.mkdir()
    init = start("--stop-with", "b=QUIT", "--run", "a=" + " ".join(TRAP + [str(a)]),
                 "--run", "b=sleep 30", pid1=False)
    wait_file(a / "ready")
    wait_for(lambda: len(children(init.pid)) == 2
             and all(comm(kid) in ("sleep", "python3") for kid in children(init.pid)),
             what="both processes")
    data = report(init_pyz, init.pid)
    processes = [(p["name"], p["pid"], p["stop_signal"]) for p in data["processes"]]
    a_pid = int(wait_file(a / "ready"))
    b_pid, = [kid for kid in children(init.pid) if kid != a_pid]
    assert processes == [("a", a_pid, "SIGTERM"), ("b", b_pid, "SIGQUIT")]
    assert data["processes"][1]["stop"]["explanation"].startswith("SIGQUIT has the default action")
    assert data["namespace"]["orphans"] is None
    assert data["verdict"]["ok"] is True
