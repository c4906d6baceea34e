"""An interactive shell under init.pyz on a real pseudo-terminal, as in
`docker run -it image bash`: the terminal, Ctrl-C, Ctrl-Z and fg behave as without
an init."""

import fcntl
import os
import select
import signal
import subprocess
import termios
import time

import pytest

from support import CLEAN_ENV, UNSHARE, children

pytestmark = pytest.mark.timeout(60)

PROMPT = "PROMPT> "


class Terminal:
    def __init__(self, command):
        self.master, slave = os.openpty()
        self.output = ""
        env = dict(CLEAN_ENV, TERM="dumb", PS1=PROMPT, HOME="/")
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

    def close(self):
        for pid in children(self.proc.pid) + [self.proc.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self.proc.wait(timeout=10)
        os.close(self.master)


@pytest.fixture
def shell(init_pyz):
    terminal = Terminal(UNSHARE + [str(init_pyz), "bash", "--norc", "--noprofile", "-i"])
    yield terminal
    terminal.close()


def test_interactive_shell_owns_the_terminal(shell):
    seen = shell.read_until(PROMPT)
    assert "no job control" not in seen and "cannot set terminal" not in seen
    shell.send("tty && : </dev/tty && echo TTY-$((40+2))\n")
    seen = shell.read_until("TTY-42")
    assert "/dev/pts/" in seen
    shell.read_until(PROMPT)


def test_typed_input_is_echoed_and_ctrl_c_reaches_the_foreground_job(shell):
    shell.read_until(PROMPT)
    shell.send("cat\n")
    time.sleep(0.3)
    shell.send("hello-cat\n")
    shell.read_until("hello-cat")          # the terminal's echo
    shell.read_until("hello-cat")          # cat's copy
    shell.send("\x03")                     # Ctrl-C: cat dies, the shell lives on
    shell.read_until(PROMPT)
    shell.send("echo ALIVE-$((1+1))\n")
    shell.read_until("ALIVE-2")


def test_ctrl_z_and_fg(shell):
    shell.read_until(PROMPT)
    shell.send("sleep 30\n")
    time.sleep(0.5)
    shell.send("\x1a")                     # Ctrl-Z stops the job, not the init
    shell.read_until("Stopped")
    shell.read_until(PROMPT)
    shell.send("fg\n")
    shell.read_until("sleep 30")
    time.sleep(0.3)
    shell.send("\x03")
    shell.read_until(PROMPT)
    shell.send("exit 7\n")
    assert shell.proc.wait(timeout=10) == 7


def test_session_mode_keeps_the_terminal(init_pyz):
    # dumb-init's mode, with initapp as the session leader owning the terminal (as
    # PID 1 under docker run -it): the child's new session must take the terminal.
    terminal = Terminal(UNSHARE + ["setsid", "--ctty", str(init_pyz), "--session",
                                   "bash", "--norc", "--noprofile", "-i"])
    try:
        seen = terminal.read_until(PROMPT)
        assert "no job control" not in seen and "cannot set terminal" not in seen
        terminal.send("tty && : </dev/tty && echo TTY-$((40+2))\n")
        assert "/dev/pts/" in terminal.read_until("TTY-42")
        terminal.send("exit 3\n")
        assert terminal.proc.wait(timeout=10) == 3
    finally:
        terminal.close()
