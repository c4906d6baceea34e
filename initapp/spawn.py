"""Starting the workload: put the child in its own process group (or its own
session), in the terminal's foreground when the init had it; give it back the
signal state the init inherited; drop privileges; exec without any shell.

Three ways, each only where it gives the child exactly what fork and exec give
it: on glibc with CPython 3.11 and later, the C half of subprocess (fork_exec, a
vfork that hands glibc's signals 32 and 33 on as fork does, where glibc's
posix_spawn would ignore them); posix_spawnp when nothing but the group or session
is needed in the child (vfork in glibc and musl) elsewhere; fork otherwise (a
terminal to hand over, --user, LISTEN_PID, an inherited ignored signal), and
whenever a vfork failed: the fork path reports the failure. No copy of the
interpreter's page tables and no Python before the exec on the first two."""

import errno
import os
import sys

from initapp import log, signals
from initapp.defaults import (EXIT_CANNOT_EXEC, EXIT_INTERNAL, EXIT_NOT_FOUND,
                              MSG_CANNOT_EXEC, MSG_NOT_FOUND, MSG_SETUP_FAILED, MSG_UNNAMED_ENV)

_NOT_FOUND_ERRNOS = (errno.ENOENT, errno.ENOTDIR)
# Errors after which execvp looks in the next PATH entry (glibc's list).
_SEARCH_ON_ERRNOS = (errno.EACCES, errno.ENOENT, errno.ENOTDIR, errno.ESTALE, errno.ENODEV,
                     errno.ETIMEDOUT)
# What runs an executable file without a #! line (POSIX execvp's fallback).
SCRIPT_SHELL = "/bin/sh"
# The values Python's locale coercion may set LC_CTYPE to (PEP 538).
_COERCED_LOCALES = (b"C.UTF-8", b"C.utf8", b"UTF-8")
# glibc's posix_spawn leaves its two internal signals (32 and 33) ignored in the
# child, whatever the parent had; fork hands them on as initapp got them (musl's
# posix_spawn keeps them). Their bits in /proc's SigIgn:
_GLIBC_INTERNAL = 3 << 31
# _posixsubprocess.fork_exec (private, its arguments differ per version) sets the
# child's process group from 3.11 on; 3.10 cannot (and imports subprocess to read
# one flag), 3.8 and 3.9 fork rather than vfork.
_FORK_EXEC = sys.version_info >= (3, 11)


class Launch:
    """Everything the child needs, decided in the parent before the fork."""

    def __init__(self, argv, inherited, foreground=False, session=False, credentials=None,
                 workdir=None, env_changes=None, names=None):
        self.argv = argv
        self.inherited = inherited
        self.foreground = foreground      # make the child the terminal's foreground
        self.session = session            # setsid (and take the terminal) instead of setpgid
        self.credentials = credentials
        self.workdir = workdir
        self.env_changes = env_changes or {}
        self.names = names or {}          # "user": the flag as typed or variable, for errors
        self.stdio = None                 # (out, err): the child's fd 1 and 2 (the log relay)
        self.stdin = None                 # the child's fd 0 (an exec: check's: empty)
        self.name = None                  # several processes: its NAME, for its messages
        self.own_stderr = None            # in the child: initapp's stderr, when stdio is set
        # Socket activation: LISTEN_PID named the init; the child is the listener.
        self.rewrite_listen_pid = os.environ.get("LISTEN_PID") == str(os.getpid())


def undo_locale_coercion():
    """Python sets LC_CTYPE to a UTF-8 locale in its own environment when it starts in
    the C or POSIX locale (PEP 538), whether LC_CTYPE was unset or set to C, and -I
    does not stop it: the child would inherit a value the container never set.
    /proc/self/environ still holds the environment as exec'd: LC_CTYPE goes back to
    that value (in place, so the order stays), or away if it was not there."""
    current = os.environb.get(b"LC_CTYPE")
    if current not in _COERCED_LOCALES:
        return
    try:
        items = read_file("/proc/self/environ").split(b"\0")
    except OSError:
        return
    value = next((item[9:] for item in items if item.startswith(b"LC_CTYPE=")), None)
    if value is None:
        del os.environb[b"LC_CTYPE"]
    elif value != current:
        os.environb[b"LC_CTYPE"] = value


def c_module(name):
    """A C module of the standard library, or None. One that is not built in is
    loaded from the interpreter's lib-dynload directory by its own loader, as the
    import system would, without the import system's search: that search lists the
    standard library's directory and lib-dynload first (0.3 ms on CPython 3.13 at a
    start that imports nothing else from them). The file is the one the search
    would find: nothing before lib-dynload on the isolated sys.path holds one."""
    module = sys.modules.get(name)
    if module is not None:
        return module
    if name not in sys.builtin_module_names:
        from importlib.machinery import EXTENSION_SUFFIXES, ExtensionFileLoader
        from importlib.util import module_from_spec, spec_from_file_location

        for entry in sys.path:
            paths = [os.path.join(entry, name + suffix) for suffix in EXTENSION_SUFFIXES] \
                if os.path.basename(entry) == "lib-dynload" else ()
            for path in paths:
                if os.path.isfile(path):
                    spec = spec_from_file_location(name, path,
                                                   loader=ExtensionFileLoader(name, path))
                    try:
                        module = module_from_spec(spec)
                        spec.loader.exec_module(module)
                    except ImportError:
                        break   # the import system says why, below
                    sys.modules[name] = module
                    return module
    try:
        return __import__(name)
    except ImportError:
        return None


def read_file(path):
    """A file's bytes, read with os.read: the first open() of a process costs up to
    0.4 ms more, which the start does not pay."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunks = []
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    finally:
        os.close(fd)


def on_terminal():
    """True when stdin is initapp's controlling terminal (tcgetpgrp answers for no
    other): the child's stops on it are then a shell's job control."""
    try:
        os.tcgetpgrp(0)
        return True
    except OSError:
        return False


def owns_terminal():
    """True when stdin is initapp's controlling terminal and initapp's process
    group is the terminal's foreground group. SIGTTIN must be blocked (it always
    is in initapp, from take_over on).

    Numbers compare only where both groups are seen: in a PID namespace that does
    not hold a group's leader (initapp under `unshare --pid --fork`, in the group
    the shell made for unshare), getpgrp() and tcgetpgrp() both read 0, whether
    the shell runs unshare in the foreground or in the background; /proc's pgrp
    and tpgid and TIOCGSID read 0 there as well. Then the kernel answers itself:
    a read of 0 bytes meets the terminal's job-control check before anything
    else, which fails with EIO for a background group while SIGTTIN is blocked,
    and returns at once for the foreground group. It reads nothing and sends no
    signal."""
    try:
        foreground = os.tcgetpgrp(0)
        if foreground != os.getpgrp():
            return False
        if foreground == 0:
            os.read(0, 0)
        return True
    except OSError:
        return False


def give_terminal(pid):
    """When initapp's group holds the terminal (a shell's fg moved it there):
    hand it to the process group of pid (the child, the one that reads from it).
    True when handed."""
    if not owns_terminal():
        return False
    try:
        os.tcsetpgrp(0, os.getpgid(pid))
        return True
    except OSError as error:
        log.debug("cannot hand the terminal to the child: %s" % error.strerror)
        return False


def take_terminal_back(pid):
    """The process pid had the terminal's foreground and has ended: give it back
    to initapp's group (if that group can be named here), so that the terminal's
    Ctrl-C reaches initapp again rather than a group that is gone. SIGTTOU is
    blocked in initapp: a background group may take the terminal."""
    try:
        if os.tcgetpgrp(0) == pid and os.getpgrp():
            os.tcsetpgrp(0, os.getpgrp())
    except OSError as error:
        log.debug("cannot take the terminal back: %s" % error.strerror)


def release_terminal():
    """dumb-init's --session start: give up the terminal so the child's new session
    can take it. As session leader this sends SIGHUP and SIGCONT to our own group;
    they are blocked, so they are taken back here rather than forwarded."""
    import fcntl
    import termios

    try:
        fcntl.ioctl(0, termios.TIOCNOTTY)
    except OSError as error:
        log.debug("cannot release the terminal: %s" % error.strerror)
        return
    if os.getsid(0) == os.getpid():
        signals.discard((signals.SIGHUP, signals.SIGCONT))


def spawn(launch):
    """Start the child; return its pid. Raises OSError if fork fails."""
    env = _environment(launch)
    way = _way(launch)
    if log.enabled(log.DEBUG):
        log.debug("starting %s by %s" % (log.clip(launch.argv[0]), way), "starting",
                  command=launch.argv[0], way=way)
    pid = None
    if way == "vfork":
        pid = _spawn_vfork(launch, env)
    elif way == "posix_spawnp":
        pid = _spawn_direct(launch, env)
    if pid is not None:
        return pid  # the child made its group (or session) before this returned
    pid = os.fork()
    if pid == 0:
        _exec_child(launch, env)  # never returns
    if not launch.session:
        try:
            # Also set here, so the group exists before the parent may signal it.
            os.setpgid(pid, pid)
        except OSError:
            pass  # the child already exec'd (EACCES) or exited (ESRCH): it did it itself
    return pid


def _way(launch):
    """How the child is started: "posix_spawnp", "vfork" (fork_exec) or "fork". On
    glibc fork_exec, where it is exact, whatever glibc's 32 and 33 are: it hands them
    on as fork does, and so needs no reading of them; posix_spawnp elsewhere (musl),
    where it is exact."""
    vfork = _FORK_EXEC and _vforkable(launch)
    if vfork and _glibc():
        return "vfork"
    if _direct(launch):
        return "posix_spawnp"
    return "vfork" if vfork else "fork"


def _glibc():
    try:
        return bool(os.confstr("CS_GNU_LIBC_VERSION"))
    except (ValueError, OSError):
        return False


def _direct(launch):
    """Whether posix_spawnp gives the child exactly what the fork path would: no
    code to run in it (terminal, --user, --workdir, its own pid in LISTEN_PID), no
    signal to ignore (posix_spawn can only set default), and the same PATH search
    (the C library searches initapp's own PATH, the fork path the child's)."""
    if launch.foreground or launch.stdio is not None or launch.credentials is not None or launch.workdir is not None \
            or launch.stdin is not None or launch.rewrite_listen_pid or launch.inherited.ignored:
        return False
    if "/" not in launch.argv[0]:
        path, changed = os.environb.get(b"PATH"), launch.env_changes.get("PATH")
        if path is None or changed is not None and os.fsencode(changed) != path:
            return False
    return _ignoring_glibc_signals()


def _ignoring_glibc_signals():
    """True on other C libraries, or when initapp was started with 32 and 33 ignored
    (as whatever glibc's posix_spawn starts is: make, for one)."""
    if not _glibc():
        return True
    try:
        status = read_file("/proc/self/status")
        start = status.index(b"\nSigIgn:") + 8
        return int(status[start:status.index(b"\n", start)], 16) & _GLIBC_INTERNAL \
            == _GLIBC_INTERNAL
    except (OSError, ValueError):
        return False


def _spawn_direct(launch, env):
    """The child's pid, or None when posix_spawnp failed (the fork path then
    starts it again and reports what went wrong, as it always has)."""
    group = {"setsid": True} if launch.session else {"setpgroup": 0}
    try:
        return os.posix_spawnp(launch.argv[0], launch.argv, os.environb if env is None else env,
                               setsigmask=launch.inherited.mask, setsigdef=signals.CATCHABLE,
                               **group)
    except (OSError, ValueError, NotImplementedError):
        return None


def _vforkable(launch):
    """Whether fork_exec gives the child exactly what the fork path would: nothing
    to do in it that fork_exec does not do itself before its exec (the terminal,
    --user, its own pid in LISTEN_PID), and no signal to give it ignored (see
    signals.with_inherited_mask)."""
    return not (launch.foreground or launch.credentials is not None or launch.rewrite_listen_pid
                or launch.inherited.ignored) and bool(launch.argv[0])


def _spawn_vfork(launch, env):
    """The child's pid by _posixsubprocess.fork_exec, a vfork on 3.11 and later; None
    when it failed (the fork path then starts it again and reports what went wrong).

    In the child, before its exec, fork_exec moves the relay's pipes to fds 1 and 2,
    changes to --workdir, sets every signal it finds caught back to default (the
    mask is still the vfork's all-blocked), then the mask of the call, makes the
    session or the process group: what the fork path does, in an order nothing can
    tell apart. The descriptors initapp inherited stay open (close_fds false), as
    through fork and exec. It runs exactly one file: the one execvp would try first
    (it goes on after errors execvp stops at)."""
    module = c_module("_posixsubprocess")
    if module is None:
        return None
    fork_exec = module.fork_exec
    env = os.environb if env is None else env
    executable = _first_existing(launch.argv[0], env, launch.workdir)
    if executable is None:
        return None
    out, err = launch.stdio if launch.stdio is not None else (-1, -1)
    env_list = [name + b"=" + value for name, value in env.items()]
    read_end, write_end = os.pipe()   # close-on-exec: empty at the exec, a report otherwise
    try:
        try:
            # args, executable_list, close_fds, pass_fds, cwd, env, p2cread, p2cwrite,
            # c2pread, c2pwrite, errread, errwrite, errpipe_read, errpipe_write,
            # restore_signals, call_setsid, pgid_to_set, gid, extra_groups, uid,
            # child_umask, preexec_fn, allow_vfork
            pid = signals.with_inherited_mask(
                launch.inherited, fork_exec, launch.argv, [os.fsencode(executable)], False, (),
                launch.workdir, env_list, -1 if launch.stdin is None else launch.stdin, -1, -1, out, -1,
                err, read_end, write_end, False,
                launch.session, -1 if launch.session else 0, None, None, None, -1, None, True)
        except (OSError, ValueError, TypeError):
            return None
        os.close(write_end)
        write_end = None
        failed = os.read(read_end, 64)
    finally:
        os.close(read_end)
        if write_end is not None:
            os.close(write_end)
    if failed:
        os.waitpid(pid, 0)   # it wrote why, then _exit(255): gone before the fork path starts
        return None
    return pid


def _first_existing(command, env, workdir):
    """The first file execvp would try to run (as the child finds it: its PATH, its
    directory), or None when execvp would stop before finding one."""
    for path in _candidates(command, env):
        try:
            os.stat(path if workdir is None else os.path.join(workdir, path))
            return path
        except OSError as error:
            if error.errno not in _SEARCH_ON_ERRNOS:
                return None
    return None


def _candidates(command, env):
    """The paths execvp tries for command, in order: an empty PATH entry is the
    current directory."""
    if "/" in command:
        return [command]
    # os.get_exec_path's search, without its warnings filter (milliseconds at its
    # first use): env's keys are bytes here.
    path = env.get(b"PATH")
    entries = (os.defpath if path is None else os.fsdecode(path)).split(os.pathsep)
    return [os.path.join(entry, command) if entry else command for entry in entries]


def _take_terminal(session):
    # SIGTTOU is still blocked here, so a background group may take the terminal.
    try:
        if session:
            import fcntl
            import termios

            fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        else:
            os.tcsetpgrp(0, os.getpgrp())
    except OSError as error:
        log.debug("the child cannot take the terminal: %s" % error.strerror)


_unnamed_told = False


def _environment(launch):
    """The child's environment (None: initapp's own), made once in the parent;
    with LISTEN_PID to rewrite, a copy the child completes with its own pid."""
    unnamed = _unnamed_entry()
    if not launch.env_changes and not launch.rewrite_listen_pid and unnamed is None:
        return None
    env = dict(os.environb)
    if unnamed is not None:
        env.pop(b"", None)
        global _unnamed_told
        if not _unnamed_told:   # once: every restart and exec: check would repeat it
            _unnamed_told = True
            log.warning(MSG_UNNAMED_ENV.format(entry=log.printable(os.fsdecode(b"=" + unnamed))))
    for name, value in launch.env_changes.items():
        if value is None:  # a variable to take away (USER for a --user without a name)
            env.pop(os.fsencode(name), None)
        else:
            env[os.fsencode(name)] = os.fsencode(value)
    return env


def _unnamed_entry():
    """The value of an environment entry "=VALUE": the kernel takes it, but
    Python's os.execve and os.posix_spawn refuse an environment that holds one;
    the archive's restart passes it on as an -X option."""
    import sys

    unnamed = os.environb.get(b"")
    if unnamed is None:
        given = getattr(sys, "_xoptions", {}).get("initapp-unnamed-env")
        unnamed = bytes.fromhex(given) if isinstance(given, str) else None
    return unnamed


def _prepare_child(launch):
    if launch.stdin is not None:
        os.dup2(launch.stdin, 0)
    if launch.stdio is not None:
        out, err = launch.stdio
        os.dup2(out, 1)
        if out > 2 and out != err:
            os.close(out)   # close-on-exec anyway: its number is free for the copy below
        if launch.name is not None:
            # A process's: initapp's own stderr, kept (close-on-exec) for what
            # the child may have to report: that is initapp's message, not a
            # line of the process's. Out of descriptors, such a message goes to
            # the relay instead. An exec: check's failure is its own output.
            try:
                launch.own_stderr = os.dup(2)
            except OSError:
                pass
        os.dup2(err, 2)
        log.stderr_replaced()   # what fails from here on is told on the new fd 2
    if launch.session:
        os.setsid()
    else:
        os.setpgid(0, 0)
    if launch.foreground:
        _take_terminal(launch.session)
    signals.restore(launch.inherited)
    if launch.credentials is not None:
        from initapp import privileges

        _step(launch.names.get("user", "--user"), privileges.apply, launch.credentials)
    if launch.workdir is not None:
        _step("%s %s" % (launch.names.get("workdir", "--workdir"), launch.workdir), os.chdir,
              launch.workdir)


def _step(what, function, argument):
    try:
        function(argument)
    except OSError as error:
        raise OSError(error.errno, error.strerror, what) from None


def _execute(argv, env):
    """execvp as glibc's, which tini, dumb-init and catatonit use: search PATH, run
    an executable file the kernel cannot exec (no #! line: ENOEXEC) with /bin/sh,
    go on past entries that are missing or not permitted, stop at any other error.
    Raises the error to report when nothing ran."""
    command = argv[0]
    if not command:
        raise ValueError("empty command name")
    env = os.environb if env is None else env
    denied = None
    for path in _candidates(command, env):
        try:
            os.execve(path, argv, env)
        except OSError as error:
            if error.errno == errno.ENOEXEC:
                _execute_script(path, argv, env)  # returns only without a shell
                denied = denied or error
            elif error.errno in _SEARCH_ON_ERRNOS:
                denied = denied or (error if error.errno == errno.EACCES else None)
                last = error
            else:
                raise
    raise denied or last


def _execute_script(path, argv, env):
    try:
        os.execve(SCRIPT_SHELL, [SCRIPT_SHELL, path] + list(argv[1:]), env)
    except OSError:
        pass  # no shell (distroless): look further on PATH, as glibc does


def _exec_child(launch, env):
    code, command = EXIT_INTERNAL, log.clip(launch.argv[0])
    if launch.name is not None:   # several processes: every message names its NAME
        command = "%s: %s" % (launch.name, command)
    try:
        try:
            _prepare_child(launch)
        except OSError as error:
            _own_stderr(launch)
            log.error(MSG_SETUP_FAILED.format(cmd=command, error=error.strerror,
                                              what=log.clip(error.filename or "process setup")))
            return
        try:
            if launch.rewrite_listen_pid:  # the child's own pid, known only here
                env[b"LISTEN_PID"] = str(os.getpid()).encode()
            _execute(launch.argv, env)
        except ValueError:  # an empty command name: nothing can be found by it
            _own_stderr(launch)
            code = EXIT_NOT_FOUND
            log.error(MSG_NOT_FOUND.format(cmd=repr(command)))
        except OSError as error:
            _own_stderr(launch)
            if error.errno in _NOT_FOUND_ERRNOS:
                code = EXIT_NOT_FOUND
                log.error(MSG_NOT_FOUND.format(cmd=command))
            else:
                code = EXIT_CANNOT_EXEC
                log.error(MSG_CANNOT_EXEC.format(cmd=command, error=error.strerror))
    finally:
        # Never return into the init's code in the child, whatever happened.
        os._exit(code)


def _own_stderr(launch):
    """In the child, before it reports why it could not run: fd 2 back to
    initapp's stderr (from the log relay's pipe, when it had one)."""
    if launch.own_stderr is not None:
        try:
            os.dup2(launch.own_stderr, 2)
        except OSError:
            pass
