"""prctl(2), for the two settings the standard library lacks.

No module of the standard library makes this system call, so it goes through
_ctypes, the C half of ctypes, with only what one call needs: a function type and
two C integer types. The ctypes package around it (struct, byte order, dozens of
types built at import) costs milliseconds more at a start that needs one call;
none of it is imported, and nothing at all when initapp is PID 1. _ctypes is
loaded as spawn.c_module loads a C module: without the import system's search."""

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36

# dlopen(NULL) sees the interpreter's own libc, on glibc and on musl alike (where
# find_library finds nothing); the names are for an interpreter linked statically.
LIBRARIES = (None, "libc.so.6", "libc.so")


def prctl(option, value):
    """Call prctl(option, value). Returns None, or the error as text."""
    import os

    from initapp.spawn import c_module

    _ctypes = c_module("_ctypes")
    if _ctypes is None:  # a Python built without ctypes
        return "No module named '_ctypes'"
    call = _function(_ctypes)
    if call is None:
        return "no C library with prctl found"
    if call(option, value, 0, 0, 0) != 0:
        return os.strerror(_ctypes.get_errno())
    return None


def _function(_ctypes):
    """prctl as a callable of five unsigned longs returning an int, or None."""

    class ULong(_ctypes._SimpleCData):
        _type_ = "L"

    class Int(_ctypes._SimpleCData):
        _type_ = "i"

    class Prctl(_ctypes.CFuncPtr):
        # What ctypes.CFUNCTYPE(c_int, *[c_ulong] * 5, use_errno=True) would build.
        _flags_ = _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_USE_ERRNO
        _restype_ = Int
        _argtypes_ = (ULong,) * 5

    address = _find(_ctypes, LIBRARIES)
    if address is None:
        # Last resort, slow to import: whatever file name the system reports.
        import ctypes.util

        address = _find(_ctypes, (ctypes.util.find_library("c"),))
    return None if address is None else Prctl(address)


def _find(_ctypes, names):
    for name in names:
        try:
            return _ctypes.dlsym(_ctypes.dlopen(name), "prctl")
        except OSError:
            continue
    return None
