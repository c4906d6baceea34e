"""A signal means what it means: only the stop signals start the stop sequence,
every signal is forwarded as it is, podman's 37 is SIGTERM on every libc and before
every option looks it up, a stop continues what it stopped, session mode and -c job
control work on a terminal and from the first moment. All against init.pyz as a real
PID 1 (or a subreaper), signalled from outside."""

import os
import signal
import time

import pytest

from support import (CLEAN_ENV, PYTHON, SHELL_PROMPT, TRAP, Terminal, alive, children,
                     read_lines, state, wait_file, wait_for)

pytestmark = pytest.mark.timeout(60)

PODMAN_STOP = 37  # the number podman sends, whatever the libc calls it


def got(work):
    return [line.split()[0] for line in read_lines(work / "got")]


# -- 1. only the stop signals start the stop sequence -------------------------------

def test_sigquit_is_forwarded_and_never_becomes_a_kill(start, box):
    # `docker kill -s QUIT` for a JVM thread dump: the app handles it and runs on.
    work = box()
    init = start("-t", "0.5", *TRAP, str(work), "--keep", "--handle", "QUIT", "TERM")
    wait_file(work / "ready")
    init.signal(signal.SIGQUIT)
    wait_for(lambda: got(work) == ["SIGQUIT"], what="the QUIT at the app")
    time.sleep(1.5)                      # three grace periods: no deadline was armed
    assert alive(init.pid) and init.proc.poll() is None
    init.signal(signal.SIGTERM)          # the real stop: --keep ignores it, the deadline kills
    assert init.wait() == 137


def test_every_signal_in_a_series_is_delivered(start, box):
    work = box()
    series = [signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGINT, signal.SIGQUIT,
              signal.SIGUSR1, signal.SIGTERM, signal.SIGTERM]
    init = start("-t", "30", *TRAP, str(work), "--keep", "--handle", "HUP", "INT", "QUIT",
                 "USR1", "TERM")
    wait_file(work / "ready")
    for count, signo in enumerate(series, 1):
        init.signal(signo)
        wait_for(lambda: len(got(work)) == count, what="signal %d at the app" % count)
    assert got(work) == [signal.Signals(signo).name for signo in series]
    assert alive(init.pid) and init.proc.poll() is None  # a repeated TERM does not force


@pytest.mark.parametrize("how", ["flag", "variable"])
def test_stop_signal_set_is_configurable(start, box, how):
    # nginx's STOPSIGNAL SIGQUIT: QUIT starts the sequence, TERM is only forwarded.
    work = box()
    env = dict(CLEAN_ENV)
    flags = ["-t", "0.5"]
    if how == "flag":
        flags += ["--stop-signal", "QUIT"]
    else:
        env["INITAPP_STOP_SIGNALS"] = "SIGQUIT"
    init = start(*flags, *TRAP, str(work), "--keep", "--handle", "QUIT", "TERM", env=env)
    wait_file(work / "ready")
    init.signal(signal.SIGTERM)
    wait_for(lambda: got(work) == ["SIGTERM"], what="the TERM at the app")
    time.sleep(1.0)
    assert init.proc.poll() is None      # TERM armed no deadline
    init.signal(signal.SIGQUIT)
    assert init.wait() == 137            # QUIT did; the app ignored it
    assert got(work) == ["SIGTERM", "SIGQUIT"]


# -- 2. podman's 37 is SIGTERM, on every libc, before every lookup --------------------

# init.pyz's package run by an interpreter whose C library numbers SIGRTMIN as musl
# does (35): Python exposes the libc's value, which is all that differs for initapp.
MUSL_NUMBERING = """
import _signal, os, sys
_signal.SIGRTMIN = 35
sys.path.insert(0, os.path.join(sys.argv.pop(1), "site-packages"))
from initapp.main import main
os._exit(main())
"""


def test_podman_stop_signal_is_sigterm_on_musl_numbering(start, box, init_pyz):
    work = box()
    init = start("-I", "-S", "-c", MUSL_NUMBERING, str(init_pyz), *TRAP, str(work),
                 argv0=PYTHON)
    wait_file(work / "ready")
    init.signal(PODMAN_STOP)
    assert init.wait() == 0              # not 165: the app got SIGTERM
    assert got(work) == ["SIGTERM"]


def test_delay_holds_podman_stop_signal(start, box):
    work = box()
    init = start("--delay", "TERM:1", *TRAP, str(work),
                 env=dict(CLEAN_ENV, INITAPP_VERBOSITY="2"))
    wait_file(work / "ready")
    sent = time.time()
    init.signal(PODMAN_STOP)
    assert init.wait() == 0
    arrived = float(read_lines(work / "got")[0].split()[1])
    assert got(work) == ["SIGTERM"]
    assert 0.95 <= arrived - sent < 3.0


@pytest.mark.parametrize("rewrite, sent", [("TERM:QUIT", "QUIT"), ("RTMIN+3:USR1", "USR1")])
def test_rewrites_apply_to_podman_stop_signal(start, box, rewrite, sent):
    # -r TERM:X applies to 37 as to SIGTERM; only an explicit rewrite of 37 wins.
    work = box()
    init = start("-r", rewrite, *TRAP, str(work), "--handle", sent)
    wait_file(work / "ready")
    init.signal(PODMAN_STOP)
    assert init.wait() == 0
    assert got(work) == ["SIG" + sent]


def test_delayed_signals_keep_what_each_becomes(start, box):
    # 37 rewritten explicitly and SIGTERM are one key for --delay, but two signals.
    work = box()
    init = start("-r", "RTMIN+3:USR1", "--delay", "TERM:0.5", *TRAP, str(work), "--keep",
                 "--handle", "USR1", "TERM")
    wait_file(work / "ready")
    init.signal(PODMAN_STOP)
    init.signal(signal.SIGTERM)
    wait_for(lambda: len(got(work)) == 2, what="both signals at the app")
    assert sorted(got(work)) == ["SIGTERM", "SIGUSR1"]
    init.signal(signal.SIGKILL)


# The main child starts a daemon in its own session that handles TERM, then
# becomes a workload that handles TERM too.
DAEMON = """
import os, subprocess, sys
os.mkdir(sys.argv[1] + "/daemon")
subprocess.Popen(sys.argv[2:] + [sys.argv[1] + "/daemon"], start_new_session=True)
os.execv(sys.argv[2], sys.argv[2:] + [sys.argv[1] + "/main", "--cleanup", "0.5"])
"""


def test_to_all_sigterm_applies_to_podman_stop_signal(start, tmp_path):
    (tmp_path / "main").mkdir()
    init = start("--to-all", "TERM", "-t", "10", PYTHON, "-c", DAEMON, str(tmp_path), *TRAP)
    wait_file(tmp_path / "main" / "ready")
    wait_file(tmp_path / "daemon" / "ready")
    init.signal(PODMAN_STOP)
    assert init.wait() == 0
    # The daemon got it from the to-all forward, while the main child still ran.
    daemon_got = float(read_lines(tmp_path / "daemon" / "got")[0].split()[1])
    main_done = os.stat(tmp_path / "main" / "done").st_mtime
    assert read_lines(tmp_path / "daemon" / "got")[0].startswith("SIGTERM")
    assert daemon_got < main_done


# -- 3. session mode on a terminal, and from the first moment ---------------------------

def test_session_mode_as_session_leader_on_a_terminal(init_pyz):
    # Not PID 1, leading a session with a controlling terminal (script, ssh -t):
    # giving up the terminal must not kill initapp with SIGHUP.
    terminal = Terminal([str(init_pyz), "--session", "bash", "--norc", "--noprofile", "-i"])
    try:
        seen = terminal.read_until(SHELL_PROMPT)
        assert "no job control" not in seen and "cannot set terminal" not in seen
        terminal.send("case $- in *m*) echo JOBS-$((6*7));; esac\n")
        terminal.read_until("JOBS-42")
        terminal.send("exit 0\n")
        assert terminal.proc.wait(timeout=10) == 0
    finally:
        terminal.close()


@pytest.mark.parametrize("mode", [[], ["-c"], ["-g"]])
def test_ctrl_z_on_a_terminal_gives_the_shell_back(init_pyz, mode):
    # Not PID 1, started from an interactive shell: Ctrl-Z stops the child's group
    # (which holds the terminal); initapp stops too, so the shell gets the terminal
    # back; fg continues both and hands the terminal to the child again.
    terminal = Terminal(["bash", "--norc", "--noprofile", "-i"])
    try:
        terminal.read_until(SHELL_PROMPT)
        terminal.send(" ".join([str(init_pyz)] + mode + ["cat"]) + "\n")
        terminal.foreground("cat")
        terminal.send("\x1a")
        terminal.read_until("Stopped")
        terminal.read_until(SHELL_PROMPT)
        terminal.send("echo BACK-$((6*7))\n")
        terminal.read_until("BACK-42")
        terminal.read_until(SHELL_PROMPT)
        terminal.send("fg\n")
        terminal.foreground("cat")   # continued, and the terminal's again
        terminal.send("typed-after-fg\n")
        terminal.read_until("typed-after-fg")   # the terminal's echo
        terminal.read_until("typed-after-fg")   # cat's copy: it reads the terminal again
        terminal.send("\x04")                   # end of input: cat, then initapp, exit 0
        terminal.read_until(SHELL_PROMPT)
        terminal.send("echo CODE-$?\n")
        terminal.read_until("CODE-0")
    finally:
        terminal.close()


@pytest.mark.parametrize("mode", [[], ["-c"]])
def test_ctrl_z_without_a_job_control_shell_never_stops_initapp(init_pyz, mode):
    # initapp leads the session on the terminal (script, ssh -t, setsid -c): no
    # shell could continue it, so it must not stop itself with the child; a stop
    # signal then ends the stopped child as usual.
    terminal = Terminal([str(init_pyz)] + mode + [PYTHON, "-c", "print('READY', flush=True); "
                                                  "import time; time.sleep(30)"])
    try:
        terminal.read_until("READY")
        init = terminal.proc.pid
        child = children(init)[0]
        terminal.send("\x1a")
        wait_for(lambda: state(child) == "T", what="the child stopped by Ctrl-Z")
        time.sleep(0.5)   # what initapp does about it, it has done by now
        assert state(init) != "T"
        os.kill(init, signal.SIGTERM)
        assert terminal.proc.wait(timeout=10) == 128 + signal.SIGTERM
    finally:
        terminal.close()


# Starts init.pyz with a SIGTERM already pending (sent by another process), so that
# initapp takes it the moment its loop starts: on one CPU, before the child it just
# forked has run its setsid(). The child gets the mask initapp inherited (TERM
# blocked), so the workload unblocks TERM once its handler is in place.
PENDING_TERM = """
import os, signal, sys
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM])
sender = os.fork()
if sender == 0:
    os.kill(os.getppid(), signal.SIGTERM)
    os._exit(0)
os.waitpid(sender, 0)
os.execv(sys.argv[1], sys.argv[1:])
"""
WORKLOAD = """
import os, signal, sys, time
def handle(signo, frame):
    open(sys.argv[1] + "/got", "w").write("SIGTERM")
    os._exit(0)
signal.signal(signal.SIGTERM, handle)
signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM])
time.sleep(5)
sys.exit(9)
"""


@pytest.mark.parametrize("mode", ["--session", "-g"])
def test_stop_signal_before_the_child_has_its_group(start, box, init_pyz, mode):
    work = box()
    init = start("-I", "-S", "-c", PENDING_TERM, str(init_pyz), mode, "-t", "3",
                 PYTHON, "-c", WORKLOAD, str(work), argv0=PYTHON,
                 preexec=lambda: os.sched_setaffinity(0, {0}))
    code = init.wait()
    # Killed before its exec (143) or handled (0): either way signalled, never lost.
    assert code in (0, 143), init.stderr()
    assert time.monotonic() - init.started < 2.5


def test_dumb_init_setsid_0_is_single_child(start, box):
    # DUMB_INIT_SETSID=0 is dumb-init's -c: initapp exits as soon as its child
    # does, without waiting for the orphan it left (which ignores SIGTERM).
    work = box()
    orphan = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(20)"
    script = ("import subprocess, sys; p = subprocess.Popen([sys.executable, '-c', %r]); "
              "open(sys.argv[1], 'w').write(str(p.pid)); sys.exit(4)" % orphan)
    init = start(PYTHON, "-c", script, str(work / "orphan"), pid1=False,
                 env=dict(CLEAN_ENV, DUMB_INIT_SETSID="0", INITAPP_GRACE="20"))
    try:
        assert init.wait(timeout=10) == 4
        assert time.monotonic() - init.started < 5
    finally:
        os.kill(int(wait_file(work / "orphan")), signal.SIGKILL)


# -- 4. a stop continues what it stopped ------------------------------------------------

STOPPED_MEMBER = ("sleep 100 & kill -STOP $!; "
                  "trap 'exit 0' TERM; touch {work}/ready; while :; do sleep .1; done")


@pytest.mark.parametrize("mode", [["-g"], ["--session"], ["--to-all", "TERM"]])
def test_stopped_member_of_the_group_is_continued(start, box, mode):
    work = box()
    init = start(*mode, "-t", "5", "sh", "-c", STOPPED_MEMBER.format(work=work))
    wait_file(work / "ready")
    shell = init.child("sh")
    wait_for(lambda: [pid for pid in children(shell) if state(pid) == "T"], what="a stopped sleep")
    sent = time.monotonic()
    init.signal(signal.SIGTERM)
    assert init.wait() == 0
    assert time.monotonic() - sent < 2.5  # not held up until the 5 s deadline


def test_stopped_main_child_gets_its_sigterm_with_to_all(start):
    init = start("--to-all", "TERM", "-t", "5", "sleep", "30")
    child = init.child("sleep")
    os.kill(child, signal.SIGSTOP)
    wait_for(lambda: state(child) == "T", what="the stopped child")
    init.signal(signal.SIGTERM)
    assert init.wait() == 143             # its SIGTERM, not the deadline's SIGKILL


def test_not_stopped_processes_get_no_sigcont(start, box):
    work = box()
    init = start("-g", *TRAP, str(work), "--handle", "TERM", "CONT", "--cleanup", "0.2")
    wait_file(work / "ready")
    init.signal(signal.SIGTERM)
    assert init.wait() == 0
    assert got(work) == ["SIGTERM"]


# A main child (trap, handling X) with a worker in its group that ignores X and
# handles TERM.
WORKER = """
import os, subprocess, sys
os.mkdir(sys.argv[1] + "/worker")
subprocess.Popen(sys.argv[2:] + [sys.argv[1] + "/worker", "--ignore", "USR1", "--handle", "TERM"])
os.execv(sys.argv[2], sys.argv[2:] + [sys.argv[1] + "/main", "--handle", "USR1"])
"""


@pytest.mark.parametrize("mode", ["-g", "--session"])
def test_leftovers_of_a_rewritten_stop_get_sigterm(start, tmp_path, mode):
    (tmp_path / "main").mkdir()
    init = start(mode, "-r", "TERM:USR1", "-t", "5", PYTHON, "-c", WORKER, str(tmp_path), *TRAP)
    wait_file(tmp_path / "main" / "ready")
    wait_file(tmp_path / "worker" / "ready")
    sent = time.monotonic()
    init.signal(signal.SIGTERM)
    assert init.wait() == 0
    assert time.monotonic() - sent < 2.5
    assert got(tmp_path / "worker") == ["SIGTERM"]


# -- 5. what the peers' users rely on ---------------------------------------------------

def test_script_without_interpreter_line_runs_with_sh(start, box):
    work = box()
    script = work / "job"
    script.write_text('echo "ran with $# args: $*"\nexit 5\n')
    script.chmod(0o755)
    init = start(str(script), "a", "b c")
    assert init.wait() == 5
    assert init.stdout() == "ran with 2 args: a b c\n"
    on_path = start("job", "x", env=dict(CLEAN_ENV, PATH="%s:/usr/bin:/bin" % work))
    assert on_path.wait() == 5
    assert on_path.stdout() == "ran with 1 args: x\n"


def test_podman_stop_signal_reaches_a_session_child(start, box):
    # The child leads its own session: a stop signal to initapp still reaches it.
    work = box()
    init = start("--session", *TRAP, str(work))
    wait_file(work / "ready")
    init.signal(PODMAN_STOP)
    assert init.wait() == 0
    assert got(work) == ["SIGTERM"]
