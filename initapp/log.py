"""Messages of the init, to stderr only (never stdout: it belongs to the workload).

Each message is one line, `[initapp] LEVEL: text`, or with --log-format json one
object a line with the event's fields. Logging must never kill the init: a
closed stderr, a full pipe or a vanished reader are ignored."""

import os
import time

from initapp.defaults import LOG_PREFIX

ERROR, WARNING, INFO, DEBUG = 0, 1, 2, 3
_NAMES = ("error", "warning", "info", "debug")

verbosity = WARNING
json_format = False
timestamps = False


def configure(level, format="text", with_time=False):
    global verbosity, json_format, timestamps
    verbosity, json_format, timestamps = level, format == "json", with_time


def enabled(level):
    """For messages on the signal loop's path: build them only when they will show."""
    return level <= verbosity


def _now():
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + ".%03dZ" % (now % 1 * 1000)


def _format(level, message, event, fields):
    if json_format:
        import json

        record = {"time": _now()} if timestamps else {}
        record.update(level=_NAMES[level], event=event or "message", message=message)
        record.update(fields)
        return json.dumps(record, default=str) + "\n"
    stamp = _now() + " " if timestamps else ""
    return "%s%s %s: %s\n" % (stamp, LOG_PREFIX, _NAMES[level], message)


def _write(level, message, event, fields):
    if level > verbosity:
        return
    try:
        os.write(2, _format(level, message, event, fields).encode("utf-8", "backslashreplace"))
    except OSError:
        pass


def error(message, event=None, **fields):
    _write(ERROR, message, event, fields)


def warning(message, event=None, **fields):
    _write(WARNING, message, event, fields)


def info(message, event=None, **fields):
    _write(INFO, message, event, fields)


def debug(message, event=None, **fields):
    _write(DEBUG, message, event, fields)
