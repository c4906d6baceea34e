"""The log relay: with several processes, each line a process writes reaches
initapp's stdout (its stderr, initapp's stderr) as `NAME | line`.

Imported only when two or more processes run: one process keeps stdout and
stderr as they are, with nothing of initapp in its way.

One daemon thread reads every process's pipes (selectors) and writes to fd 1 and
fd 2 with blocking writes; nothing else in initapp waits on it. The main thread
only creates pipes (pipes(), started()), and at exit waits for the relay with a
deadline (finish()): the signal and reaping path never waits on log I/O.

- Bytes pass untouched: no decoding, no trimming. A last line without a newline
  gets one; a line longer than RELAY_LINE_BYTES (64 KiB) is written in pieces,
  each prefixed.
- Nothing is lost: while a write waits (a log collector that stalls), the thread
  reads no pipe, so a process blocks on its own write once its pipe is full, as
  it would with no initapp in between. Only a destination that fails (closed,
  no reader) loses what was meant for it; finish() says how much.
- Lines never mix: only this thread writes the processes' output, and it writes
  whole lines, at most PIPE_BUF bytes a write where lines allow. A pipe takes such
  a write whole, so initapp's own messages (log.py: one write of at most
  PIPE_BUF) never land inside a line of up to PIPE_BUF bytes with its prefix; a
  longer line is one write that a pipe may take in parts, and only a message of
  initapp's can come between two parts (relay lines come one after another).
- Signals: the thread is created with every catchable signal blocked, so a
  signal sent to initapp stays pending for the main thread's sigwaitinfo and is
  never delivered to (and lost in) the relay thread."""

import os
import selectors
import threading

try:
    import _signal as _sig
except ImportError:  # pragma: no cover - other Python implementations
    import signal as _sig

from initapp.defaults import (MSG_RELAY_LOST, PIPE_BUF, RELAY_LINE_BYTES, RELAY_READ_BYTES,
                              RELAY_SEPARATOR)

_STREAMS = ((1, "stdout"), (2, "stderr"))


class _Stream:
    """One read end: a process's stdout or stderr, its prefix and the start of a
    line not ended yet."""

    __slots__ = ("fd", "out", "prefix", "partial", "empty")

    def __init__(self, fd, out, prefix):
        self.fd, self.out, self.prefix = fd, out, prefix
        self.partial = b""
        self.empty = False   # read to EAGAIN or EOF once finish() began


class Relay:
    def __init__(self, names, stdout=1, stderr=2):
        names = list(names)
        width = max((len(name) for name in names), default=0)
        # Names as bytes the way the file system and argv take them (surrogate
        # escapes of undecodable bytes back to those bytes).
        self.prefixes = {name: os.fsencode(name.ljust(width)) + RELAY_SEPARATOR
                         for name in names}
        self.outputs = (stdout, stderr)
        self.write_ends = {}     # name -> initapp's copies of its pipes' write ends
        self.lost = {}           # output fd -> [bytes lost, the error]
        self._new = []           # streams for the thread to adopt (list.append is atomic)
        self._streams = {}       # read fd -> _Stream (the thread's own)
        self._finishing = False
        self._done = threading.Event()
        self._thread = None
        self._selector = selectors.DefaultSelector()
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        self._selector.register(self._wake_read, selectors.EVENT_READ, None)

    # -- the main thread's side: never blocks ------------------------------------------

    def pipes(self, name):
        """Two new pipes for name; the write ends (close-on-exec in initapp) for the
        child's fd 1 and fd 2. Call again for a process started again. Raises
        OSError when no pipe can be made (out of descriptors)."""
        prefix = self.prefixes[name]
        made = []
        try:
            for _ in self.outputs:
                made.append(os.pipe())   # both ends close-on-exec (PEP 446)
        except OSError:
            for read_end, write_end in made:
                os.close(read_end)
                os.close(write_end)
            raise
        self.started(name)   # the write ends of an earlier start, if still open
        for (read_end, _), out in zip(made, self.outputs):
            os.set_blocking(read_end, False)
            self._new.append(_Stream(read_end, out, prefix))
        self.write_ends[name] = [write_end for _, write_end in made]
        self._wake()
        return tuple(self.write_ends[name])

    def fds(self):
        """The descriptors the relay keeps open in initapp (its wake-up pipe, its
        selector, the read ends): whatever closes initapp's inherited descriptors
        must spare them."""
        found = {self._wake_read, self._wake_write, self._selector.fileno()}
        found.update(stream.fd for stream in list(self._new))
        found.update(self._streams)
        for ends in self.write_ends.values():
            found.update(ends)
        return found

    def started(self, name):
        """The child has its copies: close initapp's, so the pipe ends when the
        process (and whatever inherited its output) is gone."""
        for fd in self.write_ends.pop(name, ()):
            try:
                os.close(fd)
            except OSError:
                pass

    def start(self):
        """Start the relay thread, with every signal blocked (a thread inherits
        its creator's mask, then keeps its own)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="initapp-relay", daemon=True)
        mask = _sig.pthread_sigmask(_sig.SIG_BLOCK, _catchable())
        try:
            self._thread.start()
        finally:
            _sig.pthread_sigmask(_sig.SIG_SETMASK, mask)

    def finish(self, deadline):
        """At exit: wait until every pipe is empty (at its end, or with nothing
        left to read) and all of it was written, or until deadline (a
        time.monotonic() value); then report what a failed output lost. Never
        raises."""
        import time

        try:
            for name in list(self.write_ends):
                self.started(name)
            self._finishing = True
            self._wake()
            self.start()
            if self._thread is not None:
                self._done.wait(max(0.0, deadline - time.monotonic()))
            self._report_lost()
        except Exception:  # noqa: BLE001 - the exit must go on whatever happens here
            pass

    def _report_lost(self):
        from initapp import log

        for out, name in _STREAMS:
            lost = self.lost.get(self.outputs[out - 1])
            if lost:
                log.warning(MSG_RELAY_LOST.format(output=name, error=lost[1], count=lost[0]),
                            "relay-lost", stream=name, bytes=lost[0])

    def _wake(self):
        try:
            os.write(self._wake_write, b"x")
        except OSError:
            pass  # full: the thread is to wake anyway

    # -- the relay thread ---------------------------------------------------------------

    def _run(self):
        try:
            while True:
                self._adopt()
                if self._finishing:
                    self._drain()
                    return
                for key, _ in self._selector.select():
                    if key.data is None:
                        self._clear_wake()
                        continue
                    try:
                        self._read(key.data)
                    except Exception:  # noqa: BLE001 - a bug must not stop the others
                        # Its process then gets EPIPE instead of hanging on a full pipe.
                        self._forget(key.data)
        finally:
            self._done.set()

    def _adopt(self):
        while self._new:
            stream = self._new.pop(0)
            self._streams[stream.fd] = stream
            self._selector.register(stream.fd, selectors.EVENT_READ, stream)

    def _clear_wake(self):
        try:
            while os.read(self._wake_read, 512):
                pass
        except OSError:
            pass

    def _drain(self):
        """Read every pipe until it is empty; the processes are gone, so what is in
        a pipe now is all there will be (a pipe a process outside the tree still
        holds open must not keep initapp waiting for its end)."""
        while self._streams:
            for stream in list(self._streams.values()):
                if not self._read(stream):
                    self._close(stream)
            self._adopt()

    def _read(self, stream):
        """One read of stream, written on; False when the pipe is empty or ended."""
        try:
            data = os.read(stream.fd, RELAY_READ_BYTES)
        except BlockingIOError:
            return False
        except OSError:
            data = b""
        if not data:
            self._close(stream)
            return False
        self._lines(stream, data)
        return True

    def _close(self, stream):
        if stream.partial:   # a last line without its newline gets one
            self._emit(stream, stream.partial + b"\n")
            stream.partial = b""
        if self._streams.pop(stream.fd, None) is not None:
            self._selector.unregister(stream.fd)
            os.close(stream.fd)

    def _forget(self, stream):
        if self._streams.pop(stream.fd, None) is not None:
            try:
                self._selector.unregister(stream.fd)
            finally:
                os.close(stream.fd)

    def _lines(self, stream, data):
        end = data.rfind(b"\n") + 1
        if not end:
            stream.partial += data
            if len(stream.partial) > RELAY_LINE_BYTES:
                # Whole pieces out, at least one byte kept: the newline that ends a
                # line of exactly RELAY_LINE_BYTES must not make an empty line.
                cut = (len(stream.partial) - 1) // RELAY_LINE_BYTES * RELAY_LINE_BYTES
                self._emit(stream, _pieces(stream.partial[:cut]) + b"\n")
                stream.partial = stream.partial[cut:]
            return
        if stream.partial:
            first = data.find(b"\n") + 1
            head = stream.partial + data[:first]
            stream.partial = b""
            # A line read whole is at most RELAY_READ_BYTES long; only this one, the
            # end of a line begun in an earlier read, can be longer than RELAY_LINE_BYTES.
            if len(head) > RELAY_LINE_BYTES + 1:
                head = _pieces(head[:-1]) + b"\n"
            self._emit(stream, head)
            data = data[first:]
            end -= first
        if end:
            # data[:end] is data itself, no copy, when the read ended with a line.
            self._emit(stream, data[:end])
        stream.partial = data[end:]

    def _emit(self, stream, block):
        """block: whole lines, each ending with a newline, none over RELAY_LINE_BYTES."""
        prefix = stream.prefix
        # One copy for the newlines, one for the first prefix; the prefix the last
        # newline gets is left out of the write. (Each copy of 64 KiB costs: the
        # memory a large one takes is often fresh from the kernel.)
        out = prefix + block.replace(b"\n", b"\n" + prefix)
        self._write(stream.out, out, len(out) - len(prefix))

    def _write(self, fd, data, size):
        """data[:size] in writes of whole lines of at most PIPE_BUF bytes (a longer
        line alone in one write); blocks while fd cannot take more."""
        if fd in self.lost:
            self.lost[fd][0] += size
            return
        view = memoryview(data)
        start = 0
        while start < size:
            end = size
            if size - start > PIPE_BUF:
                end = data.rfind(b"\n", start, start + PIPE_BUF) + 1
                if end <= start:   # one line longer than PIPE_BUF: alone
                    end = data.find(b"\n", start, size) + 1 or size
            start = self._write_all(fd, view, start, end)
            if start < 0:
                self.lost[fd][0] += size - end
                return

    def _write_all(self, fd, view, start, end):
        """view[start:end] written; end, or -1 when fd failed (counted as lost)."""
        while start < end:
            try:
                start += os.write(fd, view[start:end])
            except BlockingIOError:   # an output left non-blocking by whoever made it
                _wait_writable(fd)
            except OSError as error:
                self.lost[fd] = [end - start, error.strerror]
                return -1
        return end


def _pieces(line):
    """A line without its newline cut into RELAY_LINE_BYTES pieces joined by newlines."""
    size = RELAY_LINE_BYTES
    return b"\n".join(line[at:at + size] for at in range(0, len(line), size))


def _wait_writable(fd):
    import select

    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    poller.poll()


def _catchable():
    return set(_sig.valid_signals()) - {_sig.SIGKILL, _sig.SIGSTOP}
