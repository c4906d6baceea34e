"""An interactive shell under init.pyz on a real pseudo-terminal, as in
`docker run -it image bash`: the terminal, Ctrl-C, Ctrl-Z and fg behave as without
an init. And init.pyz as a job of an interactive shell: started in the background,
stopped, continued with bg and fg, the child reads the terminal whenever the job is
in the foreground, and never takes it from the shell."""

import os
import signal
import time

import pytest

from support import SHELL_PROMPT, UNSHARE, Terminal, children, comm, descendants, state, wait_for

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def shell(init_pyz):
    terminal = Terminal(UNSHARE + [str(init_pyz), "bash", "--norc", "--noprofile", "-i"])
    yield terminal
    terminal.close()


def test_interactive_shell_owns_the_terminal(shell):
    seen = shell.read_until(SHELL_PROMPT)
    assert "no job control" not in seen and "cannot set terminal" not in seen
    shell.send("tty && : </dev/tty && echo TTY-$((40+2))\n")
    seen = shell.read_until("TTY-42")
    assert "/dev/pts/" in seen
    shell.read_until(SHELL_PROMPT)


def test_typed_input_is_echoed_and_ctrl_c_reaches_the_foreground_job(shell):
    shell.read_until(SHELL_PROMPT)
    shell.send("cat\n")
    shell.foreground("cat")
    shell.send("hello-cat\n")
    shell.read_until("hello-cat")          # the terminal's echo
    shell.read_until("hello-cat")          # cat's copy
    shell.send("\x03")                     # Ctrl-C: cat dies, the shell lives on
    shell.read_until(SHELL_PROMPT)
    shell.send("echo ALIVE-$((1+1))\n")
    shell.read_until("ALIVE-2")


def test_ctrl_z_and_fg(shell):
    shell.read_until(SHELL_PROMPT)
    shell.send("sleep 30\n")
    shell.foreground("sleep")
    shell.send("\x1a")                     # Ctrl-Z stops the job, not the init
    shell.read_until("Stopped")
    shell.read_until(SHELL_PROMPT)
    shell.send("fg\n")
    shell.read_until("sleep 30")
    shell.foreground("sleep")              # continued, and the terminal's again
    shell.send("\x03")
    shell.read_until(SHELL_PROMPT)
    shell.send("exit 7\n")
    assert shell.proc.wait(timeout=10) == 7


def test_session_mode_keeps_the_terminal(init_pyz):
    # dumb-init's mode, with initapp as the session leader owning the terminal (as
    # PID 1 under docker run -it): the child's new session must take the terminal.
    terminal = Terminal(UNSHARE + ["setsid", "--ctty", str(init_pyz), "--session",
                                   "bash", "--norc", "--noprofile", "-i"])
    try:
        seen = terminal.read_until(SHELL_PROMPT)
        assert "no job control" not in seen and "cannot set terminal" not in seen
        terminal.send("tty && : </dev/tty && echo TTY-$((40+2))\n")
        assert "/dev/pts/" in terminal.read_until("TTY-42")
        terminal.send("exit 3\n")
        assert terminal.proc.wait(timeout=10) == 3
    finally:
        terminal.close()


# -- init.pyz as a job of an interactive shell ------------------------------------------

@pytest.fixture
def job_shell():
    """An interactive bash on a pty; init.pyz is started as its job. Afterwards every
    process below the shell is killed by pid (a stopped child would stay)."""
    terminal = Terminal(["bash", "--norc", "--noprofile", "-i"])
    terminal.read_until(SHELL_PROMPT)
    yield terminal
    for pid in descendants(terminal.proc.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    terminal.close()


def tpgid(pid):
    """The foreground process group of pid's controlling terminal, from /proc."""
    with open("/proc/%d/stat" % pid) as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[5])


def job(terminal, name):
    """initapp (the shell's child) and its child, once that runs name."""
    initapp = wait_for(lambda: children(terminal.proc.pid)[:1], what="initapp")[0]
    child = wait_for(lambda: [kid for kid in children(initapp) if comm(kid) == name],
                     what="the child %s" % name)[0]
    return initapp, child


def wait_until_listed_stopped(terminal):
    """Until the shell lists its job as stopped (`jobs` also reports what changed)."""
    deadline = time.monotonic() + 10
    while True:
        terminal.send("jobs\n")
        seen = terminal.read_until(SHELL_PROMPT)
        if "Stopped" in seen:
            return
        assert time.monotonic() < deadline, "the job is not stopped:\n" + seen
        time.sleep(0.1)


def cat_reads_the_terminal(terminal, cat):
    """cat holds the terminal: a typed line comes back twice (the echo, cat's copy);
    Ctrl-D ends cat, then initapp, with 0."""
    wait_for(lambda: tpgid(terminal.proc.pid) == cat, what="the terminal handed to cat")
    terminal.send("typed-in-fg\n")
    terminal.read_until("typed-in-fg")   # the terminal's echo
    terminal.read_until("typed-in-fg")   # cat's copy
    terminal.send("\x04")
    terminal.read_until(SHELL_PROMPT)
    terminal.send("echo CODE-$?\n")
    terminal.read_until("CODE-0")


MODES = [[], ["-g"], ["-c"]]


@pytest.mark.parametrize("mode", MODES)
def test_fg_hands_the_terminal_to_a_child_started_in_the_background(job_shell, init_pyz,
                                                                     mode):
    # cat reads the terminal from the background and stops (SIGTTIN); initapp stops
    # with it, as the shell's own job would, so fg continues initapp (a running job
    # gets no SIGCONT), which hands cat the terminal and continues it.
    job_shell.send(" ".join([str(init_pyz)] + mode + ["cat"]) + " &\n")
    initapp, cat = job(job_shell, "cat")
    wait_for(lambda: state(cat) == "T" and state(initapp) == "T", what="the job stopped")
    job_shell.read_until(SHELL_PROMPT)
    job_shell.send("fg\n")
    cat_reads_the_terminal(job_shell, cat)


@pytest.mark.parametrize("mode", MODES)
def test_ctrl_z_bg_fg(job_shell, init_pyz, mode):
    # After bg, cat reads the terminal from the background and stops again, and the
    # job with it; its stop is read from the kernel, not from a SIGCHLD's siginfo
    # (merged with the one of cat's continue, it told only of that).
    job_shell.send(" ".join([str(init_pyz)] + mode + ["cat"]) + "\n")
    initapp, cat = job(job_shell, "cat")
    wait_for(lambda: tpgid(job_shell.proc.pid) == cat, what="the terminal handed to cat")
    job_shell.send("\x1a")
    job_shell.read_until("Stopped")
    job_shell.read_until(SHELL_PROMPT)
    job_shell.send("bg\n")
    job_shell.read_until(SHELL_PROMPT)
    wait_until_listed_stopped(job_shell)
    assert state(initapp) == state(cat) == "T"
    job_shell.send("fg\n")
    cat_reads_the_terminal(job_shell, cat)


@pytest.mark.parametrize("mode", MODES)
def test_child_that_reads_after_fg_gets_the_terminal(job_shell, init_pyz, tmp_path, mode):
    # fg moves a running job to the foreground without a signal; the child reads the
    # terminal later, while initapp's group holds it: initapp hands it over then.
    go = tmp_path / "go"
    script = "while [ ! -e %s ]; do sleep 0.02; done; exec cat" % go
    job_shell.send(" ".join([str(init_pyz)] + mode + ["sh", "-c", "'%s'" % script]) + " &\n")
    initapp, _ = job(job_shell, "sh")
    job_shell.read_until(SHELL_PROMPT)
    job_shell.send("fg\n")
    wait_for(lambda: tpgid(job_shell.proc.pid) == initapp, what="the job in the foreground")
    go.touch()
    _, cat = job(job_shell, "cat")
    cat_reads_the_terminal(job_shell, cat)


def test_initapp_in_a_background_namespace_leaves_the_terminal_alone(job_shell, init_pyz):
    # In a new PID namespace whose processes do not include the shell's job group
    # leader (unshare), getpgrp() and tcgetpgrp() both read 0: equal numbers, yet
    # initapp is in the background. The child must not take the shell's terminal.
    job_shell.send(" ".join(UNSHARE + [str(init_pyz), "sleep", "30"]) + " &\n")
    wait_for(lambda: [pid for pid in descendants(job_shell.proc.pid) if comm(pid) == "sleep"],
             what="the child sleep")   # it takes the terminal, if at all, before its exec
    job_shell.read_until(SHELL_PROMPT)
    assert tpgid(job_shell.proc.pid) == job_shell.proc.pid
    job_shell.send("echo ALIVE-$((40+2))\n")
    job_shell.read_until("ALIVE-42")
