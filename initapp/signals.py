"""Signals: names, taking them over synchronously, and handing the original
state to the child.

The init blocks every catchable signal and takes them one at a time with
sigwaitinfo, so no handler can race the main loop and an idle init never wakes.
The C module _signal is used instead of signal: same functions, without the
enum layer that costs milliseconds at every start."""

import os
import sys

from initapp.log import quoted

try:
    import _signal as _sig
except ImportError:  # pragma: no cover - other Python implementations
    import signal as _sig

SIGCHLD = _sig.SIGCHLD
SIGCONT = _sig.SIGCONT
SIGHUP = _sig.SIGHUP
SIGSTOP = _sig.SIGSTOP
SIGKILL = _sig.SIGKILL
SIGTERM = _sig.SIGTERM
SIGTSTP = _sig.SIGTSTP

# Real-time signals are named as the kernel and the engines number them (Docker,
# podman, systemd: RTMIN is 34, RTMAX 64), not by the C library's SIGRTMIN, which is
# 35 on musl: engines send raw numbers, so RTMIN+3 must mean 37 on every libc.
SIGRTMIN = 34
SIGRTMAX = 64
# Only RTMIN+0 to RTMIN+30 and RTMAX-0 to RTMAX-30 exist: RTMIN-20 is no SIGALRM.
RT_OFFSETS = SIGRTMAX - SIGRTMIN
# podman's stop signal for an entrypoint at /sbin/init (its systemd mode), and
# systemd's: the number 37 on every libc. initapp treats it as SIGTERM.
PODMAN_STOP = SIGRTMIN + 3

# Every signal the init can block and receive. KILL and STOP cannot be caught.
CATCHABLE = frozenset(_sig.valid_signals()) - {_sig.SIGKILL, _sig.SIGSTOP}

# Python ignores these two at its own start-up; they were not ignored by whoever
# started the init (that cannot be told apart), so the child gets them back at default.
PYTHON_IGNORED = frozenset((_sig.SIGPIPE, getattr(_sig, "SIGXFSZ", _sig.SIGPIPE)))


def _name_table():
    table = {}
    for name in dir(_sig):
        if name.startswith("SIG") and not name.startswith(("SIG_", "SIGRT")) and name[3:].isalnum():
            table.setdefault(getattr(_sig, name), name)
    # Prefer the common spelling where Linux has aliases.
    for name in ("SIGABRT", "SIGCHLD", "SIGIO", "SIGSYS"):
        if hasattr(_sig, name):
            table[getattr(_sig, name)] = name
    return table


_NAMES = _name_table()
_NUMBERS = {name: number for number, name in _NAMES.items()}
for _alias in ("SIGIOT", "SIGPOLL", "SIGCLD", "SIGPWR", "SIGSTKFLT"):
    if hasattr(_sig, _alias):
        _NUMBERS[_alias] = getattr(_sig, _alias)


def name(signo):
    """SIGTERM, SIGRTMIN+3, or the number for a signal without a name."""
    if signo in _NAMES:
        return _NAMES[signo]
    # The engines' names: RTMIN, RTMIN+1 .. RTMIN+15, RTMAX-14 .. RTMAX-1, RTMAX.
    if signo == SIGRTMIN or signo == SIGRTMAX:
        return "SIGRTMIN" if signo == SIGRTMIN else "SIGRTMAX"
    if SIGRTMIN < signo <= SIGRTMIN + 15:
        return "SIGRTMIN+%d" % (signo - SIGRTMIN)
    if SIGRTMIN + 15 < signo < SIGRTMAX:
        return "SIGRTMAX-%d" % (SIGRTMAX - signo)
    return str(signo)


def parse(text):
    """A signal from a name or number: TERM, SIGTERM, sigterm, 15, RTMIN+3, SIGRTMAX-2
    (as given: no spaces). Raises ValueError with a message naming what is wrong."""
    word = text.upper()
    if word.isascii() and word.isdigit():
        signo = int(word)
    else:
        if not word.startswith("SIG"):
            word = "SIG" + word
        signo = _NUMBERS.get(word)
        if signo is None:
            signo = _parse_realtime(word, text)
    if signo not in CATCHABLE and signo not in (_sig.SIGKILL, _sig.SIGSTOP):
        if signo is not None and 32 <= signo < SIGRTMAX:
            # glibc keeps 32 and 33 for itself, musl 32 to 34 (RTMIN+0 there): not
            # in valid_signals().
            raise ValueError("signal %d is reserved by the C library: %s" % (signo, quoted(text)))
        raise ValueError("not a valid signal: %s" % quoted(text))
    return signo


def _parse_realtime(word, text):
    for base_name, base, sign in (("SIGRTMIN", SIGRTMIN, "+"), ("SIGRTMAX", SIGRTMAX, "-")):
        if word == base_name:
            return base
        rest = word[len(base_name):]
        if word.startswith(base_name) and rest[:1] in ("+", "-") and rest[1:].isascii() \
                and rest[1:].isdigit():
            if rest[0] != sign or int(rest[1:]) > RT_OFFSETS:
                raise ValueError("real-time signals are RTMIN+0 to RTMIN+%d and RTMAX-0 to "
                                 "RTMAX-%d: %s" % (RT_OFFSETS, RT_OFFSETS, quoted(text)))
            return base + int(rest)
    return None


class Inherited:
    """What the init was started with, to give back to the child unchanged."""

    def __init__(self, mask, ignored):
        self.mask = mask          # signals blocked when the init started
        self.ignored = ignored    # signals whose disposition was SIG_IGN


def take_over():
    """Block every catchable signal and set the init's own dispositions to default.

    An inherited SIG_IGN would make the kernel discard the signal before sigwaitinfo
    sees it (SIGTERM would never reach the workload, SIGCHLD would auto-reap), so
    the init resets them for itself and remembers them for the child."""
    mask = frozenset(_sig.pthread_sigmask(_sig.SIG_BLOCK, CATCHABLE))
    exec_mask = mask_at_exec()
    if exec_mask is not None:
        mask = exec_mask
    ignored = set()
    for signo in CATCHABLE:
        handler = _sig.getsignal(signo)
        if handler == _sig.SIG_IGN and signo not in PYTHON_IGNORED:
            ignored.add(signo)
        if handler != _sig.SIG_DFL:  # None: a handler not Python's (it reads them at start)
            _sig.signal(signo, _sig.SIG_DFL)
    return Inherited(mask, frozenset(ignored))


def mask_at_exec():
    """The signals blocked when the init was exec'd, when the archive's __main__ has
    blocked every signal since (it keeps the mask it found, and a restart of the
    interpreter hands that on in -X); None otherwise."""
    text = getattr(sys, "_xoptions", {}).get("initapp-sigmask")
    if text is not None:
        try:
            bits = int(text, 16)
        except ValueError:
            return None
        return frozenset(signo for signo in range(1, _sig.NSIG) if bits >> (signo - 1) & 1)
    found = getattr(sys.modules.get("__main__"), "STARTUP_SIGNAL_MASK", None)
    return None if found is None else frozenset(found)


def unblock():
    """Back to the signal mask as exec'd: for a subcommand that is an ordinary program."""
    mask = mask_at_exec()
    if mask is not None:
        _sig.pthread_sigmask(_sig.SIG_SETMASK, mask)


def restore(inherited):
    """In the child, before exec: the dispositions and mask the init inherited.
    Only those that differ are set (Python's record of each is exact: take_over
    set them all), so the forked child runs little code before its exec."""
    for signo in CATCHABLE:
        wanted = _sig.SIG_IGN if signo in inherited.ignored else _sig.SIG_DFL
        if _sig.getsignal(signo) != wanted:
            _sig.signal(signo, wanted)
    _sig.pthread_sigmask(_sig.SIG_SETMASK, inherited.mask)


def wait(timeout=None):
    """The next signal for the init (a struct_siginfo, or a Noted one), or None when
    timeout passes. Those taken while the mask was open come first, in order."""
    if _taken:
        return _taken.pop(0)
    if timeout is None:
        return _sig.sigwaitinfo(CATCHABLE)
    return _sig.sigtimedwait(CATCHABLE, max(timeout, 0.0))


def stop_self():
    """Stop initapp with SIGTSTP at its default action (take_over set it), which
    the kernel discards when initapp's process group is orphaned. Returns once
    resumed, or at once when discarded. Unblocked only for the time it is
    delivered: on the return from the unblocking call."""
    _sig.raise_signal(SIGTSTP)
    _sig.pthread_sigmask(_sig.SIG_UNBLOCK, (SIGTSTP,))
    _sig.pthread_sigmask(_sig.SIG_BLOCK, (SIGTSTP,))


def pending():
    """The signals waiting in initapp's queue (all blocked, so none is lost), and
    those taken while the mask was open that wait() has not returned yet."""
    return _sig.sigpending() | {info.si_signo for info in _taken}


def discard(signos):
    """Take pending signals out of the queue without acting on them."""
    for _ in range(2 * len(signos)):  # bounded: a steady stream must not hang the init
        if _sig.sigtimedwait(signos, 0) is None:
            return


pidfd_send_signal = getattr(_sig, "pidfd_send_signal", None)


def block_all_in_thread():
    """Block every catchable signal in the calling thread (a thread started now
    inherits that mask, so no signal is ever delivered to it); returns the mask
    to restore."""
    return _sig.pthread_sigmask(_sig.SIG_BLOCK, CATCHABLE)


def restore_thread_mask(mask):
    _sig.pthread_sigmask(_sig.SIG_SETMASK, mask)


# Signals taken while the mask was open for a vfork (with_inherited_mask): wait()
# returns them before any other, in the order they came.
_taken = []
# At most this many signals already pending are taken with sigtimedwait before the
# mask opens (a steady stream must not hold the start): the rest are noted.
_TAKE_PENDING = 64


class Noted:
    """A signal noted by a handler while the mask was open: its number, in the
    shape of sigwaitinfo's answer. A handler of Python's is not told the sender."""

    si_pid = None

    def __init__(self, signo):
        self.si_signo = signo


def _note(signo, frame):
    """The handler while the mask is open: the C half of Python's handlers has
    already written the signal's number to the wakeup pipe, one byte a delivery."""


def with_inherited_mask(inherited, call, *args):
    """call(*args) with this thread's signal mask as initapp inherited it, so that
    a child started by vfork in the call (whose mask is the caller's) gets that
    mask, as a forked child that restores it does. Blocked only, a signal is never
    lost: while the mask is open, every signal it leaves open has a handler whose
    C half writes one byte a delivery to a wakeup pipe, read afterwards in order
    (Python's own handler would run once for two deliveries of one real-time
    signal). The signals already pending are taken first, with what sigtimedwait
    tells of them (the sender: initapp's own SIGPIPE is dropped by it). wait()
    returns them all before any new one: as if it had returned them, one after
    another, none acted on before its turn. None may be inherited-ignored: SIG_IGN
    set here would discard what is pending and what comes, so those starts fork.
    Signals 32 and 33 are glibc's and stay as they are (Python cannot set them)."""
    opened = CATCHABLE - inherited.mask
    for _ in range(_TAKE_PENDING):
        info = _sig.sigtimedwait(CATCHABLE, 0)
        if info is None:
            break
        _taken.append(info)
    read_end, write_end = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        previous = _sig.set_wakeup_fd(write_end, warn_on_full_buffer=False)
        try:
            for signo in opened:
                _sig.signal(signo, _note)
            _sig.pthread_sigmask(_sig.SIG_SETMASK, inherited.mask)
            try:
                return call(*args)
            finally:
                # Blocked again: whatever came is noted, and pthread_sigmask has run
                # Python's half of the handlers (so none runs after SIG_DFL below,
                # which Python would report as a signal lost to a race).
                _sig.pthread_sigmask(_sig.SIG_BLOCK, CATCHABLE)
                for signo in opened:
                    _sig.signal(signo, _sig.SIG_DFL)
        finally:
            _sig.set_wakeup_fd(previous)
            _taken.extend(Noted(signo) for signo in _drain(read_end))
    finally:
        os.close(read_end)
        os.close(write_end)


def _drain(fd):
    """Every byte in the non-blocking pipe fd (64 KiB: more than can come while
    the mask is open)."""
    data = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except BlockingIOError:
            return data
        if not chunk:
            return data
        data += chunk
