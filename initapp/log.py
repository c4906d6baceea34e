"""Messages of the init, to stderr only (never stdout: it belongs to the workload).

Each message is one line, `[initapp] LEVEL: text`, or with --log-format json one
object a line with the event's fields. In text, characters that are not printable
(a newline in a command name) are written as escapes, so no message can forge a
second line; in JSON, an undecodable byte of a name is written as the text \\xNN,
so every line is valid UTF-8 JSON.

Logging must never stop the init: a closed stderr or a vanished reader are
ignored, and a message that cannot be written at once (a log collector that
stalls, a pipe nobody reads) is dropped; the count of dropped messages is
reported when writing works again."""

import errno
import os
import time

from initapp.defaults import LOG_PREFIX, MSG_DROPPED

ERROR, WARNING, INFO, DEBUG = 0, 1, 2, 3
_NAMES = ("error", "warning", "info", "debug")
_UNSUPPORTED = (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS)

verbosity = WARNING
json_format = False
timestamps = False

_send = None        # writes bytes to stderr without blocking; chosen at the first message
_pending = b""      # the end of a message the pipe took only in part
_dropped = 0        # messages dropped since the last one written
kept_fd = None      # stderr opened again without blocking, when that is how it is written


def configure(level, format="text", with_time=False):
    global verbosity, json_format, timestamps
    verbosity, json_format, timestamps = level, format == "json", with_time


def enabled(level):
    """For messages on the signal loop's path: build them only when they will show."""
    return level <= verbosity


def printable(text):
    """text with each character that is not printable as an escape (\\n, \\x1b,
    \\u2028), and each undecodable byte (a surrogate escape) as \\xNN."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else _escape(char) for char in text)


def _escape(char):
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:
        return "\\x%02x" % (code - 0xDC00)
    return char.encode("unicode_escape").decode("ascii")


def _valid_utf8(value):
    """A JSON field's value with each undecodable byte of a string as the text \\xNN."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "".join(_escape(char) if 0xD800 <= ord(char) <= 0xDFFF else char
                           for char in value)
        return value
    if isinstance(value, (list, tuple)):
        return [_valid_utf8(item) for item in value]
    return value


def _now():
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + ".%03dZ" % (now % 1 * 1000)


def _format(level, message, event, fields):
    if json_format:
        import json

        record = {"time": _now()} if timestamps else {}
        record.update(level=_NAMES[level], event=event or "message", message=message)
        record.update(fields)
        record = {key: _valid_utf8(value) for key, value in record.items()}
        return json.dumps(record, default=str) + "\n"
    stamp = _now() + " " if timestamps else ""
    return "%s%s %s: %s\n" % (stamp, LOG_PREFIX, _NAMES[level], printable(message))


def _write(level, message, event, fields):
    if level > verbosity:
        return
    _emit(_format(level, message, event, fields).encode("utf-8", "backslashreplace"))


def _emit(data):
    """One system call: the message, after what is left of earlier ones."""
    global _pending, _dropped, _send
    if _dropped:
        data = _format(WARNING, MSG_DROPPED.format(count=_dropped), "dropped",
                       {"count": _dropped}).encode() + data
    data = _pending + data
    if _send is None:
        _send = _choose_sender()
    try:
        written = _send(data)
    except BlockingIOError:
        _dropped += 1
        return
    except OSError:
        return  # a closed stderr or no reader: nobody to tell
    _pending, _dropped = data[written:], 0


# -- writing without blocking -------------------------------------------------------------
#
# The workload shares stderr's open file description with the init, so O_NONBLOCK
# is never set on it: the workload's own writes would start failing with EAGAIN.
# Instead, in order of preference, each with one system call a message:
#   1. pwritev2(RWF_NOWAIT): this one write does not wait (pipes from Linux 6.4,
#      sockets); the file description is untouched.
#   2. a socket: send(MSG_DONTWAIT), the same for one call.
#   3. stderr opened again through /proc/self/fd/2 with O_NONBLOCK: for a FIFO or
#      a terminal that is a new open file description, the init's alone.
#   4. a pipe that cannot be opened again (it belongs to another user): a message
#      is written only while the pipe is at most half full (FIONREAD, one more
#      system call a message).
#   5. anything else (a file, /dev/null) never fills up: a plain write.

def _choose_sender():
    import stat

    try:
        mode = os.fstat(2).st_mode
    except OSError:
        return _plain
    if stat.S_ISREG(mode) or (stat.S_ISCHR(mode) and not os.isatty(2)):
        return _plain
    return _nowait


def _plain(data):
    return os.write(2, data)


def _nowait(data):
    global _send
    try:
        return os.pwritev(2, [data], -1, os.RWF_NOWAIT)
    except OSError as error:
        if error.errno not in _UNSUPPORTED:
            raise
    except (AttributeError, NotImplementedError):  # no pwritev2 in this Python or libc
        pass
    _send = _fallback_sender()
    return _send(data)


def _fallback_sender():
    global kept_fd
    import stat

    try:
        mode = os.fstat(2).st_mode
        if stat.S_ISSOCK(mode):
            return _socket_sender()
        kept_fd = os.open("/proc/self/fd/2", os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY)
        return lambda data: os.write(kept_fd, data)
    except OSError:
        pass
    try:
        return _room_checked_sender()
    except OSError:  # not a pipe
        return _plain


def _socket_sender():
    import _socket

    stream = _socket.socket(fileno=2)   # fd 2 itself, never closed: kept for good
    return lambda data: stream.send(data, _socket.MSG_DONTWAIT)


def _room_checked_sender():
    import fcntl
    import sys
    import termios

    # A pipe holds its bytes in page-sized slots, and a slot a reader has partly
    # read cannot take new bytes: half the capacity keeps a message's slots free.
    limit = fcntl.fcntl(2, 1032) // 2   # F_GETPIPE_SZ
    count = bytearray(4)

    def send(data):
        fcntl.ioctl(2, termios.FIONREAD, count)
        if int.from_bytes(count, sys.byteorder) + len(data) > limit:
            raise BlockingIOError(errno.EAGAIN, "stderr is full")
        return os.write(2, data)

    return send


def error(message, event=None, **fields):
    _write(ERROR, message, event, fields)


def warning(message, event=None, **fields):
    _write(WARNING, message, event, fields)


def info(message, event=None, **fields):
    _write(INFO, message, event, fields)


def debug(message, event=None, **fields):
    _write(DEBUG, message, event, fields)


def summary(message, event, **fields):
    """At info level, but in JSON at every verbosity: collectors read the object."""
    if json_format or enabled(INFO):
        _emit(_format(INFO, message, event, fields).encode("utf-8", "backslashreplace"))
