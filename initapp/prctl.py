"""prctl(2) through ctypes, for the two settings the standard library lacks.

ctypes is imported only when one of them is needed: it costs milliseconds."""

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36


def _libc():
    import ctypes

    # dlopen(NULL) sees the interpreter's own libc, on glibc and on musl alike
    # (where find_library finds nothing). The names are fallbacks for an interpreter
    # linked statically; ctypes.util is slow to import, so it comes last.
    for name in (None, "libc.so.6", "libc.so"):
        libc = _open(ctypes, name)
        if libc is not None:
            return ctypes, libc
    import ctypes.util

    libc = _open(ctypes, ctypes.util.find_library("c"))
    if libc is None:
        raise OSError("no C library with prctl found")
    return ctypes, libc


def _open(ctypes, name):
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        libc.prctl  # noqa: B018 - raises AttributeError when missing
        return libc
    except (OSError, AttributeError):
        return None


def prctl(option, value):
    """Call prctl(option, value). Returns None, or the error as text."""
    import os

    try:
        ctypes, libc = _libc()
    except OSError as error:
        return str(error)
    if libc.prctl(option, value, 0, 0, 0) != 0:
        return os.strerror(ctypes.get_errno())
    return None
