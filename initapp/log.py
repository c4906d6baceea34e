"""Messages of the init, to stderr only (never stdout: it belongs to the workload).

Each message is one line, `[initapp] LEVEL: text`, or with --log-format json one
object a line with the event's fields. In text, characters that are not printable
(a newline in a command name) are written as escapes, so no message can forge a
second line; in JSON, an undecodable byte of a name is written as the text \\xNN,
so every line is valid UTF-8 JSON.

Each message is one write of at most PIPE_BUF bytes, which a pipe takes whole or
not at all, so the workload's output on the same stderr never lands inside a
line: a name a message quotes is cut (clip), and a line still too long has its
JSON fields, or in text its end, cut, each cut marked with "...".

Logging must never stop the init: a closed stderr or a vanished reader are
ignored, and a message that cannot be written at once (a log collector that
stalls, a pipe nobody reads) is dropped; the count of dropped messages is
reported when writing works again."""

import errno
import os
import time

from initapp.defaults import (LOG_FIELD_BYTES, LOG_LINE_BYTES, LOG_NAME_CHARS, LOG_PREFIX,
                              MSG_DROPPED)

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


def clip(text, chars=LOG_NAME_CHARS):
    """A name or value as a message quotes it: at most chars characters, the cut
    marked with "..."."""
    return text if len(text) <= chars else text[:chars - 3] + "..."


def quoted(text):
    """A value in quotes, as a usage error shows it: clipped and escaped as repr()
    escapes, but an undecodable byte as \\xNN, as everywhere else (not \\udcNN)."""
    text = repr(clip(text))
    if "\\udc" not in text:
        return text
    import re

    # Escapes read from the left, so a backslash typed before "udcff" stays as it is.
    return re.sub(r"\\(\\|udc([89a-f][0-9a-f])|.)",
                  lambda match: "\\x" + match.group(2) if match.group(2) else match.group(0),
                  text)


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
    """The message's line, as bytes: at most LOG_LINE_BYTES."""
    if json_format:
        return _json_line(level, message, event, fields)
    stamp = _now() + " " if timestamps else ""
    line = ("%s%s %s: %s\n" % (stamp, LOG_PREFIX, _NAMES[level], printable(message))).encode(
        "utf-8", "backslashreplace")
    if len(line) <= LOG_LINE_BYTES:
        return line
    # Cut between characters (a partial one at the end is left out).
    return line[:LOG_LINE_BYTES - 4].decode("utf-8", "ignore").encode() + b"...\n"


_UNCUT = ("time", "level", "event")


def _json_line(level, message, event, fields):
    import json

    record = {"time": _now()} if timestamps else {}
    record.update(level=_NAMES[level], event=event or "message", message=message)
    record.update(fields)
    record = {key: _valid_utf8(value) for key, value in record.items()}
    line = json.dumps(record, default=str)   # ASCII: as many bytes as characters
    size = LOG_FIELD_BYTES
    while len(line) >= LOG_LINE_BYTES:       # one byte more for the newline
        if size < 16:  # not reached with initapp's events; a line that fits all the same
            least = {key: record[key] for key in _UNCUT if key in record}
            least.update(message=_cut(record["message"], LOG_FIELD_BYTES), truncated=True)
            line = json.dumps(least, default=str)
            break
        cut = {key: value if key in _UNCUT else _cut(value, size) for key, value in record.items()}
        cut["truncated"] = True
        line = json.dumps(cut, default=str)
        size //= 2
    return (line + "\n").encode()


def _cut(value, size):
    """value with each string at most size bytes of JSON, each list of strings at
    most twice that (the strings left out marked by a last item "...")."""
    from json import dumps

    if isinstance(value, str):
        if len(dumps(value)) <= size:
            return value
        low, high = 0, min(len(value), size)   # the longest start that fits with "..."
        while low < high:
            middle = (low + high + 1) // 2
            if len(dumps(value[:middle] + "...")) <= size:
                low = middle
            else:
                high = middle - 1
        return value[:low] + "..."
    if isinstance(value, dict):
        return {key: _cut(item, size) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        if not all(isinstance(item, str) for item in value):
            return [_cut(item, size) for item in value]   # records: at most a few
        kept, used = [], len('["..."]')
        for item in value:
            item = _cut(item, size)
            used += len(dumps(item)) + 2
            if used > 2 * size:
                kept.append("...")
                break
            kept.append(item)
        return kept
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return _cut(str(value), size)


def _write(level, message, event, fields):
    if level > verbosity:
        return
    _emit(_format(level, message, event, fields))


def _emit(data):
    """One system call: the message, after what is left of earlier ones (only a
    socket or a terminal takes part of a message: a pipe takes all or nothing)."""
    global _pending, _dropped, _send
    if _dropped:
        data = _format(WARNING, MSG_DROPPED.format(count=_dropped), "dropped",
                       {"count": _dropped}) + data
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

def stderr_replaced():
    """In a child whose fd 2 is no longer initapp's stderr (the log relay's pipe, an
    exec: check's): its messages go to the new fd 2, not to initapp's stderr opened
    again (kept_fd), and nothing initapp had not written yet goes with them."""
    global _send, _pending, _dropped, kept_fd
    _send, _pending, _dropped, kept_fd = None, b"", 0, None


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
        _emit(_format(INFO, message, event, fields))
