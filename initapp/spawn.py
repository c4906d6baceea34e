"""Starting the workload: fork, put it in its own process group (in the
terminal's foreground when the init had it), give it back the signal state the
init inherited, and exec it without any shell."""

import errno
import os

from initapp import log, signals
from initapp.defaults import (EXIT_CANNOT_EXEC, EXIT_INTERNAL, EXIT_NOT_FOUND,
                              MSG_CANNOT_EXEC, MSG_NOT_FOUND)

_NOT_FOUND_ERRNOS = (errno.ENOENT, errno.ENOTDIR)


def owns_terminal():
    """True when stdin is a terminal whose foreground group is the init's own."""
    try:
        return os.tcgetpgrp(0) == os.getpgrp()
    except OSError:
        return False


def spawn(argv, inherited, foreground):
    """Fork and exec argv; return the child's pid. Raises OSError if fork fails."""
    pid = os.fork()
    if pid == 0:
        _exec_child(argv, inherited, foreground)  # never returns
    try:
        # Also set here, so the group exists before the parent may signal it.
        os.setpgid(pid, pid)
    except OSError:
        pass  # the child already exec'd (EACCES) or exited (ESRCH): it did it itself
    return pid


def _take_terminal():
    # SIGTTOU is still blocked here, so a background group may take the terminal.
    try:
        os.tcsetpgrp(0, os.getpgrp())
    except OSError as error:
        log.debug("cannot make the child the terminal's foreground: %s" % error.strerror)


def _exec_child(argv, inherited, foreground):
    code = EXIT_INTERNAL
    try:
        os.setpgid(0, 0)
        if foreground:
            _take_terminal()
        signals.restore(inherited)
        os.execvp(argv[0], argv)
    except OSError as error:
        if error.errno in _NOT_FOUND_ERRNOS:
            code = EXIT_NOT_FOUND
            log.error(MSG_NOT_FOUND.format(cmd=argv[0]))
        else:
            code = EXIT_CANNOT_EXEC
            log.error(MSG_CANNOT_EXEC.format(cmd=argv[0], error=error.strerror))
    finally:
        # Never return into the init's code in the child, whatever happened.
        os._exit(code)
