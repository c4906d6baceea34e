"""log: each way of writing to stderr without blocking, on a real stderr nobody reads;
every message one write a pipe takes whole."""

import fcntl
import json
import os
import select
import signal
import socket
import subprocess
import time

import pytest

from support import PYTHON, ROOT, children, wait_for

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


# -- one message, one write of at most PIPE_BUF bytes ------------------------------------
#
# A pipe takes a write of up to PIPE_BUF (4096) bytes whole or not at all; a longer one
# may be taken in part, and what the workload writes to the same stderr then lands
# inside initapp's line.

PIPE_BUF = 4096
F_SETPIPE_SZ = 1031


@pytest.fixture
def log_module():
    """initapp.log in this process, its settings put back afterwards."""
    from initapp import log

    saved = (log.verbosity, log.json_format, log.timestamps)
    yield log
    log.verbosity, log.json_format, log.timestamps = saved


CJK = "\u6f22\u5b57"          # each escaped as \\uXXXX (6 bytes) in JSON
LONG = [
    ("started", {"pid": 2, "command": ["java", "-cp", ":".join(["/opt/lib/x.jar"] * 600), "Main"]}),
    ("started", {"pid": 2, "command": ["x"] * 5000}),
    ("started", {"pid": 2, "command": [CJK * 3000, "\udcff" * 3000]}),
    ("deadline", {"count": 10, "processes": [{"pid": n, "state": "S", "command": CJK * 40}
                                             for n in range(10)]}),
    ("exit", {"reason": "\x1b" * 5000, "killed": [{"pid": 1, "state": "S", "command": "y" * 80}] * 10,
              "stop": "received SIGTERM", "code": 137}),
]


@pytest.mark.parametrize("json_format", [False, True], ids=["text", "json"])
@pytest.mark.parametrize("event, fields", LONG)
def test_every_line_fits_one_atomic_write_with_the_dropped_notice(log_module, json_format,
                                                                  event, fields):
    from initapp.defaults import MSG_DROPPED

    log_module.configure(log_module.DEBUG, "json" if json_format else "text", True)
    message = "%s: %s" % (event, json.dumps(fields))      # all of it, 6 to 30 KB
    line = log_module._format(log_module.INFO, message, event, fields)
    notice = log_module._format(log_module.WARNING, MSG_DROPPED.format(count=2 ** 64), "dropped",
                                {"count": 2 ** 64})
    assert len(notice) + len(line) <= PIPE_BUF
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    if not json_format:
        assert line.decode("utf-8").startswith("20") and line.endswith(b"...\n")
        return
    record = json.loads(line)
    assert (record["level"], record["event"], record["truncated"]) == ("info", event, True)
    assert set(record) >= set(fields)
    assert record["message"].startswith(event + ": ") and record["message"].endswith("...")
    if event == "started":
        assert record["command"][0] == fields["command"][0][:len(record["command"][0]) - 3] + "..." \
            or record["command"][0] == fields["command"][0]
    if event == "deadline":                     # every process kept, the commands cut
        assert [p["pid"] for p in record["processes"]] == list(range(10))


def test_short_lines_are_left_alone(log_module):
    log_module.configure(log_module.DEBUG, "json")
    fields = {"pid": 2, "command": ["sleep", "x" * 2000]}
    line = log_module._format(log_module.INFO, "started sleep as pid 2", "started", fields)
    assert json.loads(line) == {"level": "info", "event": "started",
                                "message": "started sleep as pid 2", **fields}


SHARED = """
import os, sys, time
go = sys.argv[1]
while not os.path.exists(go):
    time.sleep(0.002)
for n in range(200):
    os.write(2, b"app line %d\\n" % n)
"""


def read_all(fd, go):
    """Everything written to the pipe until its last writer closes it; go is made
    as soon as the first bytes arrive."""
    data, deadline = b"", time.monotonic() + 30
    while time.monotonic() < deadline:
        if not select.select([fd], [], [], 0.5)[0]:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            return data
        data += chunk
        go.touch()
    raise AssertionError("the pipe was not closed; read so far: %r" % data[-500:])


def test_json_lines_stay_whole_on_a_pipe_the_workload_shares(start, tmp_path):
    # A Java-like command of 7.6 KB, in a pipe of one page: the workload writes its
    # own lines while initapp's "started" event is on its way.
    classpath = ":".join("/opt/app/lib/library-%03d-1.2.3.jar" % n for n in range(218))
    assert 7000 < len(classpath) < 8000
    reader, writer = os.pipe()
    fcntl.fcntl(writer, F_SETPIPE_SZ, PIPE_BUF)
    go = tmp_path / "go"
    try:
        init = start("--log-format", "json", "-v", PYTHON, "-c", SHARED, str(go), "-cp", classpath,
                     stderr=writer)
        os.close(writer)
        writer = None
        data = read_all(reader, go)
    finally:
        os.close(reader)
        if writer is not None:
            os.close(writer)
    assert init.wait() == 0
    lines = data.decode().splitlines()
    app = [line for line in lines if line.startswith("app line ")]
    assert app == ["app line %d" % n for n in range(200)]
    records = [json.loads(line) for line in lines if not line.startswith("app line ")]
    started = records[0]
    assert started["event"] == "started" and started["truncated"] is True
    assert started["command"][:4] == [PYTHON, "-c", SHARED, str(go)]
    assert started["command"][-1] == "..." or started["command"][-1].endswith("...")
    assert all(len(line.encode()) < PIPE_BUF for line in lines)


def test_a_deadline_naming_ten_non_ascii_commands_fits_one_write(start):
    # Ten commands cut to 80 characters, each escaped to 6 bytes a character in JSON:
    # the deadline's warning and the exit summary would be about 10 KB.
    name = CJK * 60
    init = start("-v", "--grace", "0.5", "--log-format", "json", "sh", "-c",
                 'trap "" TERM; for i in $(seq 12); do sh -c "sleep 30; : %s" & done; wait' % name)
    wait_for(lambda: len(children(init.child("sh"))) == 12, what="12 shells")
    wait_for(lambda: all(children(kid) for kid in children(init.child("sh"))), what="12 sleeps")
    init.signal(signal.SIGTERM)
    assert init.wait() == 137
    raw = init.stderr_path.read_bytes().splitlines()
    assert all(len(line) + 1 < PIPE_BUF for line in raw), [len(line) for line in raw]
    events = {record["event"]: record for record in map(json.loads, raw)}
    assert events["deadline"]["count"] == 25 and len(events["deadline"]["processes"]) == 10
    assert events["exit"]["killed_count"] == 25 and len(events["exit"]["killed"]) == 10
    assert events["exit"]["code"] == 137


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_long_name_in_a_message_is_cut_and_the_message_kept(start, log_format):
    init = start("--log-format", log_format, "x" * 10000)
    assert init.wait() == 126
    lines = init.stderr_path.read_bytes().splitlines()
    assert all(len(line) + 1 < PIPE_BUF for line in lines)
    text = "%s...: cannot execute: File name too long" % ("x" * 197)
    if log_format == "text":
        assert lines == [("[initapp] error: %s" % text).encode()]
    else:
        # The exit summary follows: in JSON it is written at every verbosity.
        assert [json.loads(line)["event"] for line in lines] == ["message", "exit"]
        assert json.loads(lines[0])["message"] == text


def test_a_record_too_long_whatever_is_cut_keeps_its_message(log_module):
    # Not one of initapp's events: thousands of short fields. The last resort keeps
    # the level, the event and the message.
    log_module.configure(log_module.DEBUG, "json", True)
    fields = {"field%d" % n: n for n in range(2000)}
    line = log_module._format(log_module.ERROR, "m" * 5000, "many", fields)
    assert len(line) < 4096 - 256 and line.endswith(b"\n")
    record = json.loads(line)
    assert sorted(record) == ["event", "level", "message", "time", "truncated"]
    assert (record["event"], record["message"][-4:]) == ("many", "m...")
