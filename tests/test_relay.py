"""The log relay of several processes (initapp/relay.py), with real pipes and real
child processes: in this process for what it writes, and in a small init around
it (progs/relay_host.py: every signal blocked, taken by sigwaitinfo) for what it
must never do to the signal path."""

import fcntl
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

from support import PROGS, PYTHON, Reader, blocked_in_pipe_write, wait_for

from initapp.defaults import PIPE_BUF, RELAY_LINE_BYTES
from initapp.relay import Relay

pytestmark = pytest.mark.timeout(60)

HOST = [PYTHON, str(PROGS / "relay_host.py")]


def relay_run(programs, names=None, finish=20):
    """Run each (name, argv) with its output through a Relay writing to two pipes;
    wait for the children, finish(), and return (stdout bytes, stderr bytes)."""
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    readers = Reader(out_read), Reader(err_read)
    relay = Relay(names or [name for name, _ in programs], stdout=out_write, stderr=err_write)
    children = []
    try:
        for name, argv in programs:
            out, err = relay.pipes(name)
            children.append(subprocess.Popen(argv, stdout=out, stderr=err))
            relay.started(name)
        relay.start()
        for child in children:
            assert child.wait(timeout=20) == 0
        relay.finish(time.monotonic() + finish)
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
        os.close(out_write)
        os.close(err_write)
    return readers[0].result(), readers[1].result()


def py(code):
    return [PYTHON, "-c", code]


def test_each_line_is_prefixed_with_its_name_padded_to_the_longest():
    out, err = relay_run([("web", py("print('one'); print('two', flush=True)")),
                          ("worker", py("import sys; sys.stderr.write('oops\\n')"))])
    assert out == b"web    | one\nweb    | two\n"
    assert err == b"worker | oops\n"


def test_bytes_pass_untouched_and_a_last_line_gets_its_newline():
    raw = b"\xff\xfe not utf-8 \xc3\x28\t  trailing spaces  \r\n\n\x1b[31mred\x00nul"
    code = "import os; os.write(1, %r); os.write(2, b'no newline')" % raw
    out, err = relay_run([("a", py(code)), ("bb", py("pass"))])
    assert out == (b"a  | \xff\xfe not utf-8 \xc3\x28\t  trailing spaces  \r\n"
                   b"a  | \n"
                   b"a  | \x1b[31mred\x00nul\n")
    assert err == b"a  | no newline\n"


def test_a_line_longer_than_64_kib_is_written_in_prefixed_pieces():
    size = RELAY_LINE_BYTES
    # Written in odd-sized chunks, so the pieces do not follow the writes.
    code = ("import os\n"
            "line = b'x' * %d + b'\\n' + b'y' * %d + b'\\n' + b'z' * %d\n"
            "for at in range(0, len(line), 10007):\n"
            "    os.write(1, line[at:at + 10007])\n" % (2 * size + 100, size, size + 1))
    out, _ = relay_run([("a", py(code))])
    assert out.split(b"\n") == [b"a | " + b"x" * size, b"a | " + b"x" * size,
                                b"a | " + b"x" * 100,
                                b"a | " + b"y" * size,   # exactly 64 KiB: whole
                                b"a | " + b"z" * size, b"a | z", b""]


def test_two_writers_hammering_never_mix_within_a_line():
    # Lines of many lengths, some longer than PIPE_BUF, each line written in
    # several write calls, so a relay that wrote what it read would mix them.
    code = ("import os, sys\n"
            "tag = sys.argv[1].encode()\n"
            "for n in range(3000):\n"
            "    line = b'%s %d ' % (tag, n) + tag * (n * 7 % 1500) + b'.\\n'\n"
            "    half = len(line) // 2\n"
            "    os.write(1, line[:half]); os.write(1, line[half:])\n")
    out, _ = relay_run([("left", py(code) + ["L"]), ("right", py(code) + ["R"])])
    seen = {b"L": 0, b"R": 0}
    for line in out.split(b"\n")[:-1]:
        match = re.fullmatch(rb"(left |right) \| ([LR]) (\d+) ([LR]*)\.", line)
        assert match, line[:120]
        tag, n = match.group(2), int(match.group(3))
        assert match.group(1).strip() == {b"L": b"left", b"R": b"right"}[tag]
        assert match.group(4) == tag * (n * 7 % 1500)
        assert n == seen[tag], "lines of one process out of order"
        seen[tag] += 1
    assert seen == {b"L": 3000, b"R": 3000}


def test_a_restarted_process_gets_new_pipes_and_the_old_ones_are_closed():
    out_read, out_write = os.pipe()
    reader = Reader(out_read)
    relay = Relay(["a", "b"], stdout=out_write, stderr=out_write)
    relay.start()
    before = set(os.listdir("/proc/self/fd"))
    for round in (1, 2, 3):
        out, err = relay.pipes("a")
        child = subprocess.Popen(py("print('run %d')" % round), stdout=out, stderr=err)
        relay.started("a")
        assert child.wait(timeout=20) == 0
    # The relay closes each read end at its end: no descriptor left behind.
    wait_for(lambda: set(os.listdir("/proc/self/fd")) <= before, 10, "the old pipes closed")
    relay.finish(time.monotonic() + 10)
    os.close(out_write)
    assert reader.result() == b"a | run 1\na | run 2\na | run 3\n"


def test_finish_is_bounded_by_its_deadline_when_stdout_stalls():
    out_read, out_write = os.pipe()   # nobody reads out_read
    relay = Relay(["a", "b"], stdout=out_write, stderr=out_write)
    out, err = relay.pipes("a")
    child = subprocess.Popen(py("import os\nfor _ in range(4000): os.write(1, b'x' * 99 + b'\\n')"),
                             stdout=out, stderr=err)
    relay.started("a")
    relay.start()
    try:
        # The child is held back: it blocks on its own full pipe.
        wait_for(lambda: blocked_in_pipe_write(child.pid), 10, "the writer to block")
        began = time.monotonic()
        relay.finish(began + 0.5)
        took = time.monotonic() - began
        assert 0.45 <= took < 2.0   # worst of 20 runs beside two busy loops: 0.50
        assert blocked_in_pipe_write(child.pid)
        # What reached stdout is whole lines.
        child.kill()
        child.wait()
        reader = Reader(out_read)
        # The relay writes on once read: its thread must end before its output is
        # closed, or it would write to whatever takes that descriptor number next.
        wait_for(relay._done.is_set, 10, "the relay thread to end")
        os.close(out_write)
        data = reader.result()
        # (How much a full pipe holds depends on the sizes of the writes: each
        # write that does not fit in the last page takes one of its 16.)
        assert len(data) >= 16 * 104
        assert data == (b"a | " + b"x" * 99 + b"\n") * (len(data) // 104)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_finish_writes_everything_before_it_returns():
    # The child writes 60 kB (its pipe holds them all) and exits while most of
    # it is still on its way: initapp's stdout holds one page, and nobody reads
    # it for the first 0.5 s. finish() returns only once all of it is written,
    # so closing the output then loses nothing.
    out_read, out_write = os.pipe()
    fcntl.fcntl(out_write, 1031, 4096)   # F_SETPIPE_SZ: the smallest a pipe can be
    relay = Relay(["a", "b"], stdout=out_write, stderr=out_write)
    out, err = relay.pipes("a")
    child = subprocess.Popen(py("import os\nfor _ in range(600): os.write(1, b'y' * 99 + b'\\n')"),
                             stdout=out, stderr=err)
    relay.started("a")
    relay.start()
    try:
        assert child.wait(timeout=20) == 0
        readers = []
        threading.Timer(0.5, lambda: readers.append(Reader(out_read))).start()
        relay.finish(time.monotonic() + 20)
        os.close(out_write)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    wait_for(lambda: readers, 5, "the reader")
    assert readers[0].result() == (b"a | " + b"y" * 99 + b"\n") * 600


def test_an_output_that_fails_loses_only_its_share_and_says_so(capfd):
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    os.close(out_read)                 # stdout has no reader: EPIPE
    reader = Reader(err_read)
    relay = Relay(["a"], stdout=out_write, stderr=err_write)
    out, err = relay.pipes("a")
    child = subprocess.Popen(py("import os, sys\nfor _ in range(2000): os.write(1, b'z' * 999 + b'\\n')\n"
                                "sys.stderr.write('still here\\n')"), stdout=out, stderr=err)
    relay.started("a")
    relay.start()
    try:
        assert child.wait(timeout=20) == 0   # never blocked by the dead output
        relay.finish(time.monotonic() + 10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    os.close(out_write)
    os.close(err_write)
    assert reader.result() == b"a | still here\n"
    assert ("[initapp] warning: cannot write the processes' output to stdout (Broken pipe): "
            "2008000 bytes lost\n") in capfd.readouterr().err
    assert relay.lost[out_write][0] == 2000 * 1004


def _status(path):
    try:
        return path.read_text().splitlines()
    except FileNotFoundError:
        return []


def _host(tmp_path, mode, *programs, stdout=None, stderr=None, env=None):
    status = tmp_path / "status"
    host = subprocess.Popen(HOST + [str(status), mode] + ["%s=%s" % item for item in programs],
                            stdout=stdout, stderr=stderr,
                            env=dict(os.environ, **(env or {})))
    wait_for(lambda: any(line.startswith("started") for line in _status(status)), 20,
             "the host to start")
    pids = [int(pid) for pid in _status(status)[0].split()[1:]]
    return host, status, pids


def _kill(host, pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if host.poll() is None:
        host.kill()
    host.wait()


def test_a_stalled_stdout_holds_the_writer_back_while_the_main_loop_runs_on(tmp_path):
    out_read, out_write = os.pipe()   # initapp's stdout, which nobody reads
    writer = "exec %s -c \"import os\nwhile True: os.write(1, b'w' * 99 + b'\\\\n')\"" % PYTHON
    host, status, pids = _host(tmp_path, "serve", ("writer", writer), ("idle", "exec sleep 30"),
                               stdout=out_write, env={"RELAY_FINISH": "1"})
    os.close(out_write)
    try:
        # stdout and the writer's own pipe are full: the writer is held back.
        wait_for(lambda: blocked_in_pipe_write(pids[0]), 20, "the writer to block")
        # The main loop still answers, again and again, while the relay waits.
        for count in (1, 2, 3):
            sent = time.monotonic()
            host.send_signal(signal.SIGUSR1)
            wait_for(lambda: "usr1 %d" % count in _status(status), 5, "SIGUSR1 handled")
            assert time.monotonic() - sent < 2.0   # worst of 20 runs beside two busy loops: 0.02
        # A stop reaches every process, both are reaped, and finish() gives up
        # on the stalled stdout at its deadline: the host exits in time.
        sent = time.monotonic()
        host.send_signal(signal.SIGTERM)
        assert host.wait(timeout=10) == 0
        assert time.monotonic() - sent < 4.0   # the deadline's 1 s; worst of 20 runs: 1.06
        lines = _status(status)
        assert "reaped %d -15" % pids[0] in lines and "reaped %d -15" % pids[1] in lines
        assert 0.95 <= float(lines[-1].split()[1]) < 3.0
        # What reached stdout is whole lines only.
        os.set_blocking(out_read, False)
        data = b""
        while True:
            try:
                chunk = os.read(out_read, 1 << 16)
            except BlockingIOError:
                break
            if not chunk:
                break
            data += chunk
        assert data and data.endswith(b"\n")
        assert set(data.split(b"\n")[:-1]) == {b"writer | " + b"w" * 99}
    finally:
        os.close(out_read)
        _kill(host, pids)


def test_the_relay_thread_never_takes_a_signal_sent_to_the_process(tmp_path):
    # While the main thread is outside sigwaitinfo, a signal sent to the process
    # goes to any thread that does not block it: one the relay thread took would
    # be lost (WINCH, ignored by default) or kill the host (TERM, RTMIN+2). Sent
    # while the relay is busy relaying.
    chatter = "while :; do echo chatter; done"
    host, status, pids = _host(tmp_path, "signals", ("chatty", chatter), ("quiet", "exec sleep 30"),
                               stdout=subprocess.DEVNULL, env={"RELAY_SLEEP": "1.5"})
    try:
        wait_for(lambda: "ready" in _status(status), 10, "the relay to run")
        for name in ("SIGWINCH", "SIGTERM", "SIGRTMIN+2", "SIGRTMIN+2", "SIGURG", "SIGCHLD"):
            number = 36 if name == "SIGRTMIN+2" else getattr(signal, name)
            host.send_signal(number)
        wait_for(lambda: any(line.startswith("threads") for line in _status(status)), 10,
                 "the signals to be taken")
        got = [line.split()[1] for line in _status(status) if line.startswith("got")]
        # Standard signals are pending once each, real-time ones queue.
        assert sorted(got) == ["SIGCHLD", "SIGRTMIN+2", "SIGRTMIN+2", "SIGTERM", "SIGURG",
                               "SIGWINCH"]
        blocked = int([line for line in _status(status) if line.startswith("threads")][0]
                      .split()[1], 16)
        catchable = set(signal.valid_signals()) - {signal.SIGKILL, signal.SIGSTOP}
        assert all(blocked >> (signo - 1) & 1 for signo in catchable)
        # The TERM taken above was not acted on; this one stops the host.
        host.send_signal(signal.SIGTERM)
        assert host.wait(timeout=10) == 0
    finally:
        _kill(host, pids)


def test_initapps_own_messages_never_land_inside_a_relayed_line(tmp_path):
    # initapp's messages (log.py, from the main thread) and the processes' stderr
    # lines (the relay thread) share one pipe: each line is one or the other.
    err_read, err_write = os.pipe()
    reader = Reader(err_read)
    code = ("import os\n"
            "for n in range(20000):\n"
            "    line = b'line %%d ' %% n + b'e' * (n * 13 %% %d) + b'.\\n'\n"
            "    os.write(2, line[:7]); os.write(2, line[7:])\n" % (PIPE_BUF - 200))
    host, status, pids = _host(tmp_path, "logs", ("noisy", "exec %s -c \"%s\"" % (PYTHON, code)),
                               stderr=err_write)
    os.close(err_write)
    try:
        assert host.wait(timeout=40) == 0
        data = reader.result()
    finally:
        _kill(host, pids)
    relayed = messages = 0
    for line in data.split(b"\n")[:-1]:
        if line.startswith(b"noisy | "):
            match = re.fullmatch(rb"noisy \| line (\d+) (e*)\.", line)
            assert match and len(match.group(2)) == int(match.group(1)) * 13 % (PIPE_BUF - 200), \
                line[:120]
            relayed += 1
        else:
            assert re.fullmatch(rb"\[initapp\] warning: (message \d+ of the init, written while "
                                rb"the relay writes|\d+ message\(s\) dropped: stderr was full)",
                                line), line[:120]
            messages += 1
    assert relayed == 20000 and messages > 0


def test_the_start_of_one_process_imports_nothing_of_the_relay():
    # The relay, its thread and its selector are for two or more processes only.
    done = subprocess.run([PYTHON, "-IS", "-c",
                           "import sys; sys.path.insert(0, %r); import initapp.main\n"
                           "print(sorted(m for m in ('initapp.relay', 'threading', 'selectors')"
                           " if m in sys.modules))" % str(PROGS.parent.parent)],
                          capture_output=True, text=True, timeout=30)
    assert done.stdout == "[]\n", done.stderr


def test_fds_names_every_descriptor_the_relay_keeps():
    # initapp closes what it inherited once the processes run: fds() is what it
    # must spare, or the relay would lose its pipes.
    # (Each listing has a descriptor of its own, closed once read.)
    before = {fd for fd in map(int, os.listdir("/proc/self/fd")) if _is_open(fd)}
    relay = Relay(["a", "b"])
    relay.pipes("a")
    relay.pipes("b")
    relay.start()
    relay.started("a")
    opened = {fd for fd in map(int, os.listdir("/proc/self/fd")) if _is_open(fd)} - before
    assert opened and opened <= relay.fds()
    relay.finish(time.monotonic() + 10)


def _is_open(fd):
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True
