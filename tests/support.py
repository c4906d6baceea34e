"""Running the built init.pyz as a real PID 1, and reading /proc from outside."""

import fcntl
import os
import select
import signal
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = "/usr/bin/python3"      # Debian's interpreter, not a pyenv shim: runs the workloads
# The interpreter init.pyz itself runs on (make test-pythons sets it per version).
INIT_PYTHON = os.environ.get("INITAPP_TEST_PYTHON", PYTHON)
PROGS = Path(__file__).resolve().parent / "progs"
TRAP = [PYTHON, str(PROGS / "trap.py")]
UNSHARE = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"]
CLEAN_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C.UTF-8"}


def build(output, interpreter=INIT_PYTHON, root=ROOT, compile_with=()):
    """Build init.pyz with root's build.sh, using the shiv of the running venv."""
    return build_reporting(output, interpreter, root, compile_with)[0]


def build_reporting(output, interpreter=INIT_PYTHON, root=ROOT, compile_with=()):
    """build(), and what build.sh printed (which versions got their bytecode)."""
    env = dict(os.environ, SHIV=str(Path(sys.executable).parent / "shiv"), PYTHON=sys.executable)
    command = [str(Path(root) / "build.sh"), "--python", interpreter, "--output", str(output)]
    for python in compile_with:
        command += ["--compile-with", python]
    done = subprocess.run(command, check=True, env=env, stdout=subprocess.PIPE, text=True,
                          timeout=120)
    return Path(output), done.stdout


def dist(outdir, root=ROOT, epoch=None, one_python=False):
    """make dist's files (dist.sh) into outdir, with the build tools of the running
    venv; SOURCE_DATE_EPOCH=epoch (None: unset); one_python: the archives carry
    the set of /usr/bin's Python only (what is tested does not depend on the
    sets: a quarter of the time). (outdir, what dist.sh wrote on stderr)."""
    env = dict(os.environ, SHIV=str(Path(sys.executable).parent / "shiv"), PYTHON=sys.executable,
               VENV_PYTHON=sys.executable)
    if one_python:
        env.update(PYENV_ROOT=str(Path(outdir).parent / "no-pyenv"), PATH="/usr/bin:/bin")
    env.pop("SOURCE_DATE_EPOCH", None)
    if epoch is not None:
        env["SOURCE_DATE_EPOCH"] = epoch
    done = subprocess.run([str(Path(root) / "dist.sh"), "--outdir", str(outdir)], env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return Path(outdir), done.stderr


def cpythons(versions=tuple("3.%d" % minor for minor in range(8, 14))):
    """{"3.N": interpreter} for each CPython 3.8 to 3.13 (or each of versions) on
    this machine: pyenv's newest build of each, else /usr/bin's or /usr/local/bin's
    (as tests/pythons.sh)."""
    pyenv = Path(os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))) / "versions"
    found = {}
    for version in versions:
        builds = sorted(pyenv.glob("%s.*/bin/python%s" % (version, version)), key=_release)
        for candidate in builds[::-1] + [Path("/usr/bin/python" + version),
                                         Path("/usr/local/bin/python" + version)]:
            if os.access(str(candidate), os.X_OK):
                found[version] = str(candidate)
                break
    return found


def _release(path):
    """.../versions/3.11.7/bin/python3.11 -> (3, 11, 7)"""
    return tuple(int(part) for part in path.parts[-3].split(".") if part.isdigit())

# Upper bounds of the timing checks. Each check was run 20 times on a 2-core
# machine with Python 3.11 (other test runs beside it), then 10 times each with
# init.pyz on 3.8, on 3.13, and on 3.11 beside two busy loops: the worst of those 50
# runs is in each test's comment. The bounds are about four times that worst, and
# far below what a step late by a second (or a delay three times too long) takes.
LATE = 0.25     # a step of the stop sequence after its time
PROMPT = 0.25   # initapp's end after the last process's
AT_ONCE = 0.25  # a signal's effect after it was sent, or leftovers' SIGTERM after the
                # main child's exit


def timing(name, seconds):
    """A measured interval, appended to $INITAPP_TIMINGS when set: how the bounds of
    the timing tests were measured (20 runs each, figures in each test's comment)."""
    path = os.environ.get("INITAPP_TIMINGS")
    if path:
        with open(path, "a") as out:
            out.write("%s %.4f\n" % (name, seconds))
    return seconds


def wait_for(predicate, timeout=10.0, what="condition"):
    """Poll predicate until it returns something true; fail the test after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %gs waiting for %s" % (timeout, what))
        time.sleep(0.01)


def status_field(pid, field):
    try:
        with open("/proc/%d/status" % pid, errors="replace") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


# /proc/PID/task/TID/children (CONFIG_PROC_CHILDREN, which initapp's own walk of
# its tree reads too).
CHILDREN_FILES = os.path.exists("/proc/self/task/%d/children" % os.getpid())


def children(pid):
    """Pids whose parent is pid (read from the host's /proc).

    The kernel's children files of pid's threads, not a scan of every process's
    status file: the scan costs milliseconds a call on a busy machine, and the
    tests' waits call this in every poll. A children file can leave a child out
    when one listed before it is reaped during the read; the reaped one is absent
    from the next read, so two reads alike are a true list. When the children
    keep changing, the scan decides."""
    previous = None
    for _ in range(5 if CHILDREN_FILES else 0):
        found = _children_files(pid)
        if found == previous:
            return found
        previous = found
    return _children_scan(pid)


def _children_files(pid):
    found = []
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return found
    for task in tasks:
        try:
            with open("/proc/%d/task/%s/children" % (pid, task)) as listing:
                found += [int(kid) for kid in listing.read().split()]
        except OSError:
            pass
    return sorted(found)


def _children_scan(pid):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and status_field(int(entry), "PPid") == str(pid):
            found.append(int(entry))
    return sorted(found)


def descendants(pid):
    """Pids below pid, children first."""
    found = children(pid)
    for kid in list(found):
        found += descendants(kid)
    return found


def state(pid):
    value = status_field(pid, "State")
    return value[0] if value else None


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid, errors="replace") as f:
            return f.read().strip()
    except OSError:
        return None


def alive(pid):
    return state(pid) not in (None, "Z")


def cmdline(pid):
    """A process's command line, its arguments joined by spaces ("" when gone)."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def blocked_in_pipe_write(pid):
    """Whether the process sleeps in a write to a full pipe."""
    try:
        with open("/proc/%d/wchan" % pid) as wchan:
            # pipe_write, anon_pipe_write from Linux 6.14
            return wchan.read().endswith("pipe_write") and status_field(pid, "State")[0] == "S"
    except OSError:
        return False


class Reader:
    """Reads a pipe to the end in a thread, as a log collector does."""

    def __init__(self, fd):
        self.fd, self.data = fd, bytearray()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            chunk = os.read(self.fd, 1 << 20)
            if not chunk:
                break
            self.data += chunk

    def result(self, timeout=20):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the output pipe never ended"
        os.close(self.fd)
        return bytes(self.data)


class Init:
    """init.pyz started as a container engine starts PID 1: in a new PID
    namespace, signalled from outside. Every process it started is killed by pid
    on close (SIGKILL to a namespace's PID 1 ends the whole namespace)."""

    def __init__(self, init_pyz, args, workdir, env=None, pid1=True, preexec=None, argv0=None,
                 setup=None, pass_fds=(), stderr=None, pod=None, stdout=None):
        self.workdir = Path(workdir)
        self.stdout_path = self.workdir / "init.stdout"
        self.stderr_path = self.workdir / "init.stderr"
        command = [str(argv0 or init_pyz)] + list(args)
        self.wrapped = bool(setup or pod)  # init.pyz is exec'd by a shell or nsenter
        if setup:  # a shell snippet run first in the namespace, which then execs init.pyz
            command = ["sh", "-c", setup + '\nexec "$@"', "sh"] + command
        if pod is not None:  # not PID 1: a process of the pod, entered from outside
            pid1 = False
            command = pod.enter(command)
        if pid1:
            command = UNSHARE + command
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(command, stdout=out if stdout is None else stdout,
                                         stdin=subprocess.DEVNULL,
                                         stderr=err if stderr is None else stderr,
                                         env=CLEAN_ENV if env is None else env,
                                         preexec_fn=preexec, cwd=str(self.workdir),
                                         pass_fds=pass_fds)
        self.started = time.monotonic()
        if pid1 or pod is not None:
            # None when it all ended before its pid was seen (a quick command on a
            # loaded machine): only wait() is meaningful then.
            pid = wait_for(lambda: self._inner_pid(), what="init.pyz in its namespace")
            self.pid = None if pid == "ended" else pid
        else:
            self.pid = self.proc.pid
        self.returncode = None

    def _inner_pid(self):
        if self.proc.poll() is not None:
            return "ended"
        kids = children(self.proc.pid)
        if not kids:
            return None
        # Wait until the setup shell or nsenter's child has exec'd init.pyz.
        return None if self.wrapped and comm(kids[0]) in (None, "sh", "nsenter") else kids[0]

    def child(self, name=None):
        """The main child's pid, once it runs (and, given name, once it exec'd name)."""
        def find():
            kids = children(self.pid)
            for kid in kids:
                if name is None or comm(kid) == name:
                    return kid
            return None
        return wait_for(find, what="the main child %s" % (name or ""))

    def signal(self, signo):
        os.kill(self.pid, signo)

    def wait(self, timeout=15.0):
        self.returncode = self.proc.wait(timeout=timeout)
        return self.returncode

    def stderr(self):
        return self.stderr_path.read_text(errors="replace")

    def stdout(self):
        return self.stdout_path.read_text(errors="replace")

    def close(self):
        for pid in (self.pid, self.proc.pid):
            if pid is None:
                continue
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


class Pod:
    """A PID namespace whose PID 1 is a pause process, as a pod with a shared PID
    namespace (or docker run --init): processes enter it from outside, as a
    container's do, so none of them is PID 1. A kill(-1) from one of them reaches
    the pod only, never this machine. own_proc=False leaves the machine's /proc
    in view (a /proc that is not the namespace's). close() ends every process of
    the pod: SIGKILL to its PID 1 ends the namespace."""

    def __init__(self, own_proc=True, life=120):
        self.own_proc = own_proc
        command = ["unshare", "--pid", "--fork", "--kill-child"]
        if own_proc:
            command.append("--mount-proc")
        self.proc = subprocess.Popen(command + ["sleep", str(life)], stdin=subprocess.DEVNULL)
        self.pid = wait_for(lambda: self._pause(), what="the pod's pause process")

    def _pause(self):
        kids = children(self.proc.pid)
        return kids[0] if kids and comm(kids[0]) == "sleep" else None

    def enter(self, command):
        """command, to be run as a process of the pod."""
        return ["nsenter", "-t", str(self.pid), "-p"] + (["-m"] if self.own_proc else []) + \
            ["--"] + list(command)

    def members(self):
        """Host pids of every process in the pod, its pause process included."""
        mine = os.readlink("/proc/%d/ns/pid" % self.pid)
        found = []
        for entry in os.listdir("/proc"):
            try:
                if entry.isdigit() and os.readlink("/proc/%s/ns/pid" % entry) == mine:
                    found.append(int(entry))
            except OSError:
                pass
        return sorted(found)

    def close(self):
        for pid in (self.pid, self.proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self.proc.wait(timeout=10)


def wait_file(path, timeout=10.0):
    path = Path(path)
    wait_for(path.exists, timeout, what=str(path))
    return path.read_text()


def read_lines(path):
    path = Path(path)
    return path.read_text().splitlines() if path.exists() else []


# -- cgroups the tests make (cgroup v1 controllers, as this project's CI machine has) --

def cgroup_v1_base(controller):
    """This process's own cgroup directory in the v1 hierarchy of controller, or None.
    New cgroups go below it, so they stay inside whatever limits the runner has."""
    point = None
    with open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            fields = line.split()
            dash = fields.index("-")
            if fields[dash + 1] == "cgroup" and controller in fields[dash + 3].split(",") \
                    and fields[3] == "/":
                point = fields[4]
    if point is None:
        return None
    with open("/proc/self/cgroup") as cgroups:
        for line in cgroups:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            if controller in controllers.split(","):
                return Path(point + path)
    return None


def cgroup_pids(path):
    try:
        return [int(pid) for pid in (Path(path) / "cgroup.procs").read_text().split()]
    except OSError:
        return []


def cpu_seconds(pid):
    """User plus system CPU time of a process (readable while it is a zombie too)."""
    with open("/proc/%d/stat" % pid) as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


SHELL_PROMPT = "PROMPT> "


class Terminal:
    """A command on a new pseudo-terminal, as its controlling terminal; the test
    reads the screen and types. env adds to the clean environment."""

    def __init__(self, command, env=None):
        self.master, slave = os.openpty()
        self.output = ""
        env = dict(CLEAN_ENV, TERM="dumb", PS1=SHELL_PROMPT, HOME="/", **(env or {}))
        self.proc = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     start_new_session=True, preexec_fn=self._take_terminal)
        os.close(slave)

    @staticmethod
    def _take_terminal():
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    def read_until(self, text, timeout=10.0):
        deadline = time.monotonic() + timeout
        while text not in self.output:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no %r on the terminal; it shows:\n%s" % (text, self.output))
            if select.select([self.master], [], [], left)[0]:
                try:
                    self.output += os.read(self.master, 4096).decode(errors="replace")
                except OSError:
                    break
        found = self.output.index(text) + len(text)
        seen, self.output = self.output[:found], self.output[found:]
        return seen

    def send(self, text):
        os.write(self.master, text.encode())

    def foreground(self, name):
        """The pid of the process name below the command, once it waits (state S:
        reading, sleeping) in the terminal's foreground group: then what is typed,
        Ctrl-C and Ctrl-Z reach it."""
        def find():
            for pid in descendants(self.proc.pid):
                try:
                    if comm(pid) == name and state(pid) == "S" and \
                            os.getpgid(pid) == os.tcgetpgrp(self.master):
                        return pid
                except OSError:   # it ended meanwhile
                    pass
            return None
        return wait_for(find, what="%s waiting in the terminal's foreground" % name)

    def close(self):
        for pid in children(self.proc.pid) + [self.proc.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self.proc.wait(timeout=10)
        os.close(self.master)
