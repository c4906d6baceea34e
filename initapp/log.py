"""Messages of the init to stderr. Logging must never kill the init: a closed
stderr, a full pipe or a vanished reader are ignored."""

import os

from initapp.defaults import LOG_PREFIX

ERROR, WARNING, INFO, DEBUG = 0, 1, 2, 3
_NAMES = ("error", "warning", "info", "debug")
verbosity = WARNING


def configure(level):
    global verbosity
    verbosity = level


def _write(level, message):
    if level > verbosity:
        return
    line = "%s %s: %s\n" % (LOG_PREFIX, _NAMES[level], message)
    try:
        os.write(2, line.encode("utf-8", "backslashreplace"))
    except OSError:
        pass


def error(message):
    _write(ERROR, message)


def warning(message):
    _write(WARNING, message)


def info(message):
    _write(INFO, message)


def debug(message):
    _write(DEBUG, message)
