"""Becoming a child subreaper when the init is not PID 1 (under docker-init, a
pod's pause process, a shell), so orphans of the workload are re-parented to it.

ctypes is imported only here and only on that path: it costs milliseconds."""

PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37


def _libc():
    import ctypes
    import ctypes.util

    # dlopen(NULL) sees the interpreter's own libc on glibc and on musl, where
    # find_library finds nothing; the names are fallbacks for static interpreters.
    candidates = [None, ctypes.util.find_library("c"), "libc.so.6"]
    for name in candidates:
        try:
            libc = ctypes.CDLL(name, use_errno=True)
            libc.prctl  # noqa: B018 - raises AttributeError when missing
            return ctypes, libc
        except (OSError, AttributeError):
            continue
    raise OSError("no C library with prctl found")


def register():
    """Make this process a child subreaper. Returns None, or the error as text."""
    import os

    try:
        ctypes, libc = _libc()
    except OSError as error:
        return str(error)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        return os.strerror(ctypes.get_errno())
    return None
