"""From a wait status to the exit code of the init, as a shell would report it."""

import os

from initapp import signals
from initapp.defaults import SIGNAL_EXIT_BASE


def from_status(status):
    if os.WIFSIGNALED(status):
        return SIGNAL_EXIT_BASE + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def describe(status):
    if os.WIFSIGNALED(status):
        name = signals.name(os.WTERMSIG(status))
        core = " (core dumped)" if os.WCOREDUMP(status) else ""
        return "killed by %s%s" % ("signal " + name if name.isdigit() else name, core)
    return "exited with %d" % os.WEXITSTATUS(status)
