"""log: each way of writing to stderr without blocking, on a real stderr nobody reads."""

import os
import socket
import subprocess

import pytest

from support import PYTHON, ROOT

pytestmark = pytest.mark.timeout(60)

FILL = """
import sys
sys.path.insert(0, sys.argv[1])
from initapp import log
send = getattr(log, sys.argv[2])()
written = 0
try:
    while written < 10_000_000:
        written += send(b"x" * 100)
except BlockingIOError:
    print(written)
"""


def stderr_of(kind, where):
    """(the end nobody reads, the stderr end) of a pipe, FIFO, socket or terminal."""
    if kind == "pipe":
        return os.pipe()
    if kind == "fifo":
        os.mkfifo(where / "fifo")
        return (os.open(where / "fifo", os.O_RDONLY | os.O_NONBLOCK),
                os.open(where / "fifo", os.O_WRONLY))
    if kind == "socket":
        left, right = socket.socketpair()
        return left.detach(), right.detach()
    return os.openpty()


@pytest.mark.parametrize("sender, kind", [
    ("_choose_sender", "pipe"), ("_choose_sender", "fifo"), ("_choose_sender", "socket"),
    ("_choose_sender", "terminal"), ("_fallback_sender", "pipe"), ("_socket_sender", "socket"),
    ("_room_checked_sender", "pipe"), ("_room_checked_sender", "fifo"),
])
def test_a_full_stderr_refuses_instead_of_blocking(tmp_path, sender, kind):
    unread, stderr = stderr_of(kind, tmp_path)
    try:
        result = subprocess.run([PYTHON, "-c", FILL, str(ROOT), sender], stderr=stderr,
                                capture_output=False, stdout=subprocess.PIPE, timeout=20)
    finally:
        os.close(unread)
        os.close(stderr)
    assert result.returncode == 0
    assert 0 < int(result.stdout) < 10_000_000
