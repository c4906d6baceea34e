"""How the workload is started: posix_spawnp (a vfork) when nothing has to run in
the child before its exec, fork otherwise, and fork again after a posix_spawnp that
failed (it reports, or runs a script without #! with /bin/sh). Seen from outside:
strace lists the init's own clone calls and their flags, and the child's
/proc/self/status shows the signal state it got, which is the same either way."""

import ctypes
import os
import shutil
import signal
import subprocess

import pytest

from support import CLEAN_ENV, UNSHARE

STRACE = shutil.which("strace")
pytestmark = [pytest.mark.timeout(60),
              pytest.mark.skipif(STRACE is None, reason="strace is not installed")]

# glibc's internal signals: its posix_spawn leaves them ignored in the child.
GLIBC_INTERNAL = (32, 33)
# The raw rt_sigaction (glibc's sigaction refuses 32 and 33).
RT_SIGACTION = {"x86_64": 13, "aarch64": 134}.get(os.uname().machine)


def set_internal(ignored):
    """In the child before exec: 32 and 33 ignored (as under a parent started by
    glibc's posix_spawn, make for one) or at default (as in a container)."""
    libc = ctypes.CDLL(None, use_errno=True)
    action = (ctypes.c_ulong * 4)(int(ignored), 0, 0, 0)  # handler, flags, restorer, mask
    for signo in GLIBC_INTERNAL:
        if libc.syscall(RT_SIGACTION, signo, action, None, 8) != 0:
            os._exit(99)


def glibc():
    try:
        return bool(os.confstr("CS_GNU_LIBC_VERSION"))
    except (ValueError, OSError):
        return False


class Traced:
    """init.pyz run under strace -f, as PID 1 of a new namespace or not (a subreaper)."""

    def __init__(self, init_pyz, tmp_path, args, pid1=True, internal_ignored=True,
                 blocked=(), ignored=(), env=None):
        if RT_SIGACTION is None:
            pytest.skip("rt_sigaction's number is not known for %s" % os.uname().machine)
        trace = tmp_path / "trace"

        def preexec():  # nothing else ignored, whatever this test runner ignores
            set_internal(internal_ignored)
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
            for signo in signal.valid_signals() - {signal.SIGKILL, signal.SIGSTOP}:
                signal.signal(signo, signal.SIG_IGN if signo in ignored else signal.SIG_DFL)

        command = [STRACE, "-f", "-qq", "-s", "4096", "-o", str(trace), "-e", "signal=none",
                   "-e", "trace=execve,clone,clone3,vfork,fork"]
        command += (UNSHARE if pid1 else []) + [str(init_pyz)] + list(args)
        done = subprocess.run(command, env=CLEAN_ENV if env is None else env, cwd=str(tmp_path),
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, preexec_fn=preexec, timeout=30)
        self.code = done.returncode
        self.stdout = done.stdout.decode(errors="replace")
        self.stderr = done.stderr.decode(errors="replace")
        self.starts = self._starts(trace.read_text(errors="replace").splitlines(), init_pyz)

    @staticmethod
    def _starts(lines, init_pyz):
        """How the init started processes, in order: "vfork" for a clone sharing its
        memory until exec (CLONE_VM|CLONE_VFORK), "fork" for any other."""
        calls = [line.split(None, 1) for line in lines if " " in line.strip()]
        init = next(pid for pid, call in calls if call.startswith('execve("%s", ' % init_pyz))
        starts = []
        for pid, call in calls:
            if pid == init and call.startswith(("clone(", "clone3(", "vfork(", "fork(")):
                vfork = call.startswith("vfork(") or "CLONE_VM|CLONE_VFORK" in call
                starts.append("vfork" if vfork else "fork")
        return starts

    def status(self):
        """The Sig* lines of the child's /proc/self/status, printed by cat."""
        return {key: value.strip() for key, value in
                (line.split(":", 1) for line in self.stdout.splitlines()
                 if line.startswith(("SigBlk", "SigIgn", "SigCgt")))}


def mask(signos):
    return "%016x" % sum(1 << (signo - 1) for signo in set(signos))


@pytest.mark.parametrize("pid1", [True, False], ids=["pid1", "subreaper"])
@pytest.mark.parametrize("session", [False, True], ids=["group", "session"])
def test_nothing_to_run_in_the_child_starts_it_with_vfork(init_pyz, tmp_path, pid1, session):
    # The child's /proc/self/stat: pid (comm) state ppid pgrp session ...
    args = (["--session"] if session else []) + ["cat", "/proc/self/stat"]
    run = Traced(init_pyz, tmp_path, args, pid1=pid1)
    assert run.code == 0, run.stderr
    assert run.starts == ["vfork"]
    fields = run.stdout.rsplit(")", 1)[1].split()
    pid, pgrp, sid = run.stdout.split()[0], fields[2], fields[3]
    assert pgrp == pid  # its own group (or session) as with fork
    assert (sid == pid) == session


@pytest.mark.parametrize("args, env, ignored, internal_ignored", [
    (["--workdir", "/"], None, (), True),
    (["--user", "0"], None, (), True),
    (["--env", "PATH=/bin:/usr/bin"], None, (), True),       # the child's PATH is searched
    ([], dict(CLEAN_ENV, LISTEN_PID="1"), (), True),          # its own pid goes in LISTEN_PID
    ([], None, (signal.SIGHUP,), True),                       # posix_spawn cannot ignore
    ([], None, (), False),                                    # glibc would ignore 32 and 33
], ids=["workdir", "user", "path", "listen-pid", "ignored-signal", "internal-at-default"])
def test_code_to_run_in_the_child_starts_it_with_fork(init_pyz, tmp_path, args, env, ignored,
                                                       internal_ignored):
    if not internal_ignored and not glibc():
        pytest.skip("only glibc's posix_spawn ignores 32 and 33")
    run = Traced(init_pyz, tmp_path, args + ["true"], env=env, ignored=ignored,
                 internal_ignored=internal_ignored)
    assert run.code == 0, run.stderr
    assert run.starts == ["fork"]


@pytest.mark.parametrize("pid1", [True, False], ids=["pid1", "subreaper"])
@pytest.mark.parametrize("ignored", [(), (signal.SIGHUP, signal.SIGUSR2, signal.SIGTERM)],
                         ids=["none-ignored", "some-ignored"])
@pytest.mark.parametrize("internal_ignored", [True, False], ids=["32-33-ignored", "32-33-default"])
def test_child_signal_state_is_the_same_on_both_paths(init_pyz, tmp_path, pid1, ignored,
                                                      internal_ignored):
    blocked = (signal.SIGUSR1, signal.SIGRTMIN + 2, signal.SIGPIPE)
    direct = not ignored and (internal_ignored or not glibc())
    seen = {}
    for way, args in (("direct", []), ("fork", ["--workdir", "/"])):
        run = Traced(init_pyz, tmp_path, args + ["cat", "/proc/self/status"], pid1=pid1,
                     blocked=blocked, ignored=ignored, internal_ignored=internal_ignored)
        assert run.code == 0, run.stderr
        assert run.starts == ["vfork" if direct and way == "direct" else "fork"]
        seen[way] = run.status()
    assert seen["direct"] == seen["fork"]
    internal = GLIBC_INTERNAL if internal_ignored else ()
    assert seen["fork"] == {"SigBlk": mask(blocked), "SigIgn": mask(ignored + internal),
                            "SigCgt": mask(())}


def test_a_script_without_interpreter_line_still_runs_with_sh(init_pyz, tmp_path):
    # glibc's and musl's posix_spawnp do not try /bin/sh after ENOEXEC: fork does.
    script = tmp_path / "job"
    script.write_text('echo "ran with $# args: $*"\nexit 5\n')
    script.chmod(0o755)
    run = Traced(init_pyz, tmp_path, [str(script), "a", "b c"])
    assert (run.code, run.stdout) == (5, "ran with 2 args: a b c\n")
    assert run.starts == ["vfork", "fork"]
    on_path = Traced(init_pyz, tmp_path, ["job", "x"],
                     env=dict(CLEAN_ENV, PATH="%s:/usr/bin:/bin" % tmp_path))
    assert (on_path.code, on_path.stdout) == (5, "ran with 1 args: x\n")
    assert on_path.starts == ["vfork", "fork"]


def test_what_cannot_run_is_reported_as_before(init_pyz, tmp_path):
    missing = Traced(init_pyz, tmp_path, ["no-such-command-here"])
    assert missing.code == 127
    assert missing.stderr == "[initapp] error: no-such-command-here: command not found\n"
    assert missing.starts == ["vfork", "fork"]
    target = tmp_path / "target"
    target.write_text("#!/bin/sh\necho should not run\n")
    target.chmod(0o644)
    denied = Traced(init_pyz, tmp_path, [str(target)])
    assert denied.code == 126
    assert denied.stderr.startswith("[initapp] error: %s: cannot execute: " % target)
    assert denied.starts == ["vfork", "fork"]
