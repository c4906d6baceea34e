"""The core behaviour of init.pyz as PID 1 of its own PID namespace."""

import json
import os
import signal
import time

import pytest

from support import (AT_ONCE, INIT_PYTHON, PYTHON, TRAP, alive, children, read_lines, state,
                     timing, wait_file, wait_for)

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("signo, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_stop_signal_ends_sleep_child(start, signo, code):
    init = start("--", "sleep", "30")
    init.child("sleep")
    sent = time.monotonic()
    init.signal(signo)
    assert init.wait() == code
    # Forwarded at once; sleep dies of it. Measured: 0.001-0.016 s over 20 runs of
    # each signal, at most 0.016 s in 10 more each on 3.8 and 3.13.
    assert 0 < timing("stop-forward", time.monotonic() - sent) < AT_ONCE


@pytest.mark.parametrize("code", [0, 1, 42, 255])
def test_exit_code_passes_through(start, code):
    init = start(PYTHON, "-c", "import sys; sys.exit(%d)" % code)
    assert init.wait() == code


@pytest.mark.parametrize("signo", [signal.SIGKILL, signal.SIGSEGV, signal.SIGUSR1])
def test_death_by_signal_gives_128_plus_n(start, signo):
    init = start(PYTHON, "-c", "import os; os.kill(os.getpid(), %d)" % signo)
    assert init.wait() == 128 + signo


@pytest.mark.parametrize("signo, words", [(signal.SIGTERM, "killed by SIGTERM"),
                                          (signal.SIGSEGV, "killed by SIGSEGV (core dumped)")])
def test_signals_are_named_in_messages(start, signo, words):
    # A core file, if the kernel writes one, goes to the test's own directory.
    init = start("-v", "sh", "-c", "ulimit -c unlimited 2>/dev/null; kill -%d $$" % signo)
    assert init.wait() == 128 + signo
    stderr = init.stderr()
    if signo == signal.SIGSEGV and "core dumped" not in stderr:
        words = "killed by SIGSEGV"       # a core_pattern may refuse to dump
    assert "main child 2 (sh -c ulimit -c unlimited 2>/dev/null; kill -%d $$) %s\n" \
        % (signo, words) in stderr
    assert "exiting with %d (main child 2 (" % (128 + signo) in stderr
    assert "signal %d" % signo not in stderr


def test_missing_command_gives_127_and_names_it(start):
    init = start("no-such-command-here")
    assert init.wait() == 127
    lines = init.stderr().splitlines()
    assert lines == ["[initapp] error: no-such-command-here: command not found"]


def test_a_name_cannot_forge_a_log_line(start):
    # A newline in the command name must not start a second, fake message.
    init = start("nosuch\n[initapp] error: fake\x1b[2K")
    assert init.wait() == 127
    assert init.stderr() == ("[initapp] error: nosuch\\n[initapp] error: fake\\x1b[2K: "
                             "command not found\n")


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_log_lines_are_valid_utf8_for_names_that_are_not(start, log_format):
    init = start("-v", "--log-format", log_format, "bad\udcffname")   # the byte 0xff
    assert init.wait() == 127
    raw = init.stderr_path.read_bytes()
    lines = raw.decode("utf-8").splitlines()        # strict: fails on any invalid byte
    if log_format == "text":
        assert "[initapp] error: bad\\xffname: command not found" in lines
        return
    records = [json.loads(line) for line in lines]
    for record in records:                          # no lone surrogate in any string
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    by_event = {record["event"]: record for record in records}
    assert by_event["started"]["command"] == ["bad\\xffname"]
    assert by_event["message"]["message"] == "bad\\xffname: command not found"


def test_empty_command_name_is_not_found(start):
    init = start("")
    assert init.wait() == 127
    assert init.stderr() == "[initapp] error: '': command not found\n"


@pytest.mark.parametrize("make", ["not_executable", "directory"])
def test_unexecutable_command_gives_126_and_names_it(start, tmp_path, make):
    target = tmp_path / "target"
    if make == "directory":
        target.mkdir()
    else:
        target.write_text("#!/bin/sh\necho should not run\n")
        target.chmod(0o644)
    init = start(str(target))
    assert init.wait() == 126
    assert init.stderr().startswith("[initapp] error: %s: cannot execute: " % target)
    assert init.stdout() == ""


def test_command_found_on_path_without_double_dash(start):
    init = start("true")
    assert init.wait() == 0
    assert init.stderr() == ""


def test_signals_are_forwarded_including_fault_signals(start, box):
    work = box()
    names = ["HUP", "USR1", "USR2", "ABRT", "SEGV", "BUS", "WINCH", "QUIT"]
    init = start(*TRAP, str(work), "--keep", "--handle", *names)
    wait_file(work / "ready")
    for name in names:
        init.signal(getattr(signal, "SIG" + name))
        wait_for(lambda: len(read_lines(work / "got")) == names.index(name) + 1,
                 what="SIG%s at the child" % name)
    assert [line.split()[0] for line in read_lines(work / "got")] == ["SIG" + n for n in names]
    assert alive(init.pid)
    init.signal(signal.SIGKILL)


def test_realtime_signal_forwarded(start, tmp_path):
    # The workload reports the realtime signal it receives, by number.
    script = ("import signal, sys, time\n"
              "signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGRTMIN + 5])\n"
              "open(sys.argv[1], 'w').close()\n"
              "info = signal.sigtimedwait([signal.SIGRTMIN + 5], 20)\n"
              "sys.exit(0 if info and info.si_signo == signal.SIGRTMIN + 5 else 9)\n")
    ready = tmp_path / "rt-ready"
    init = start(PYTHON, "-c", script, str(ready))
    wait_file(ready)
    init.signal(signal.SIGRTMIN + 5)
    assert init.wait() == 0


ORPHANS = """
import os, sys, time
for _ in range(5):
    if os.fork() == 0:          # the child leaves at once ...
        if os.fork() == 0:      # ... so this grandchild is an orphan for PID 1
            time.sleep(0.5)
            os._exit(0)
        os._exit(0)
open(sys.argv[1], "w").close()
time.sleep(20)
"""


def test_orphans_are_reaped_by_pid1(start, tmp_path):
    ready = tmp_path / "ready"
    init = start(PYTHON, "-c", ORPHANS, str(ready))
    main = init.child()
    wait_file(ready)
    # The orphans were re-parented to init.pyz ...
    wait_for(lambda: len(children(init.pid)) > 1, what="orphans re-parented to PID 1")
    # ... and once they exit, none is left as a zombie: only the main child remains.
    wait_for(lambda: children(init.pid) == [main], what="orphans reaped")
    assert state(main) == "S"
    init.signal(signal.SIGTERM)
    assert init.wait() == 143


def _mask(signals, base=0):
    bits = base
    for signo in signals:
        bits |= 1 << (signo - 1)
    return "%016x" % bits


def _sig_state(text):
    return {key: value.strip() for key, value in
            (line.split(":", 1) for line in text.splitlines() if line.startswith("Sig"))}


def _started_ignoring():
    """What init.pyz is started ignoring by this test process: its own SigIgn less
    SIGPIPE and SIGXFSZ, which Popen resets (a parent like make may have left
    glibc's internal signals 32 and 33 ignored; they pass through as they are)."""
    own = int(_sig_state(open("/proc/self/status").read())["SigIgn"], 16)
    return own & ~int(_mask([signal.SIGPIPE, signal.SIGXFSZ]), 16)


def test_child_gets_default_signal_state(start):
    init = start("cat", "/proc/self/status")
    assert init.wait() == 0
    got = _sig_state(init.stdout())
    # Python ignores SIGPIPE and SIGXFSZ for itself; the child must not inherit that.
    assert got["SigBlk"] == _mask([])
    assert got["SigIgn"] == _mask([], _started_ignoring())
    assert got["SigCgt"] == _mask([])


@pytest.mark.parametrize("way", ["shebang", "python3 init.pyz"])
def test_child_inherits_what_init_was_started_with(start, init_pyz, way):
    # Started by python3, the archive starts Python again with every signal blocked:
    # the mask it was started with must still reach the child.
    blocked = [signal.SIGUSR1, signal.SIGRTMIN + 2]
    ignored = [signal.SIGHUP, signal.SIGUSR2, signal.SIGTERM]

    def preexec():
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        for signo in ignored:
            signal.signal(signo, signal.SIG_IGN)

    if way == "shebang":
        init = start("cat", "/proc/self/status", preexec=preexec)
    else:
        init = start(str(init_pyz), "cat", "/proc/self/status", preexec=preexec, argv0=INIT_PYTHON)
    assert init.wait() == 0
    got = _sig_state(init.stdout())
    assert got["SigBlk"] == _mask(blocked)
    assert got["SigIgn"] == _mask(ignored, _started_ignoring())


def test_sigpipe_and_sigxfsz_always_reach_the_child_at_default(start):
    # Python ignores both at its start, so initapp cannot know whether its own
    # parent ignored them: the child always gets them back at default.
    def preexec():
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    init = start("cat", "/proc/self/status", preexec=preexec)
    assert init.wait() == 0
    assert _sig_state(init.stdout())["SigIgn"] == _mask([], _started_ignoring())


def test_init_still_forwards_a_signal_it_was_started_ignoring(start, box):
    # An inherited SIG_IGN must not make the init deaf: SIGTERM still reaches the child.
    work = box()
    init = start(*TRAP, str(work), preexec=lambda: signal.signal(signal.SIGTERM, signal.SIG_IGN))
    wait_file(work / "ready")
    init.signal(signal.SIGTERM)
    assert init.wait() == 0
    assert read_lines(work / "got")[0].startswith("SIGTERM")


def test_child_has_its_own_process_group(start, box):
    work = box()
    init = start(*TRAP, str(work))
    child = int(wait_file(work / "ready"))
    host_child = init.child()
    with open("/proc/%d/stat" % host_child) as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    # NSpgid: the child's group id inside the namespace is its own pid there.
    nspgid = [line for line in open("/proc/%d/status" % host_child) if line.startswith("NSpgid")]
    assert nspgid[0].split()[-1] == str(child)
    assert int(fields[2]) == host_child  # its group on the host is its own pid too
    init.signal(signal.SIGKILL)


def test_init_does_not_pin_the_working_directory(start):
    init = start("sleep", "30")
    init.child("sleep")
    # initapp changes to / right after the fork; the child may exec before it does.
    wait_for(lambda: os.readlink("/proc/%d/cwd" % init.pid) == "/", what="initapp's cwd /")
    init.signal(signal.SIGTERM)
    assert init.wait() == 143


# rt_sigtimedwait's number in /proc/PID/syscall, where this suite has run.
RT_SIGTIMEDWAIT = {"x86_64": 128, "aarch64": 137}


def test_no_wakeups_while_idle(start):
    init = start("sleep", "30")
    init.child("sleep")
    time.sleep(0.3)
    before = int(open("/proc/%d/status" % init.pid).read().split("voluntary_ctxt_switches:")[1].split()[0])
    time.sleep(2.0)
    after = int(open("/proc/%d/status" % init.pid).read().split("voluntary_ctxt_switches:")[1].split()[0])
    assert after == before
    # And no timer at all, however long: the idle init waits in rt_sigtimedwait with
    # no timeout (its third argument, the timeout's address, is NULL). A loop that
    # polls every few seconds would show a timeout here.
    call = open("/proc/%d/syscall" % init.pid).read().split()
    if os.uname().machine in RT_SIGTIMEDWAIT:
        assert int(call[0]) == RT_SIGTIMEDWAIT[os.uname().machine]
    assert call[3] == "0x0", call
    init.signal(signal.SIGTERM)
    assert init.wait() == 143


def test_sigchld_is_never_forwarded(start, box):
    # SIGCHLD is the init's own business (its children's ends), whoever sends it.
    work = box()
    init = start(*TRAP, str(work), "--keep", "--handle", "CHLD", "WINCH")
    wait_file(work / "ready")
    init.signal(signal.SIGCHLD)
    # SIGWINCH comes after it: initapp takes them in that order (the lower number
    # first when both wait), and the child would run a forwarded SIGCHLD's handler first.
    init.signal(signal.SIGWINCH)
    wait_for(lambda: read_lines(work / "got"), what="SIGWINCH at the child")
    assert [line.split()[0] for line in read_lines(work / "got")] == ["SIGWINCH"]
    init.signal(signal.SIGKILL)


def test_arguments_reach_the_command_without_a_shell(start):
    # Words a shell would split, expand or run pass as they are, to the command itself.
    words = ["$HOME", "a b", "*", "; echo injected", "`id`", "'", '"']
    init = start("printf", "[%s]\\n", *words)
    assert init.wait() == 0
    assert init.stdout() == "".join("[%s]\n" % word for word in words)
