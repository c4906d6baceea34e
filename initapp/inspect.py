"""init.pyz inspect [--json] [PID]: explain a container's PID 1 from /proc.

Why does the container take 10 s to stop? Where do the <defunct> processes come
from? The answers sit in /proc, in bitmasks few people read. This reads them (and
changes nothing, needs no root for processes the user may see, and says what it
could not read, and what it therefore cannot tell). Besides /proc it reads only
the memory cgroup's files and, for a Python, the file it runs, to tell whether
that is initapp: found inside the process's own root, a regular file, and
bounded. inspect often runs as root on the host, and the container's processes
choose their command lines. /proc is read as bytes: names need not be UTF-8. It
is not on the init's start path."""

import errno
import os
import stat
import sys

from initapp import cgroup, signals
from initapp.defaults import EXIT_USAGE, PROCESS_NAME_VARIABLE
from initapp.log import printable

SHELLS = ("sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "busybox")
# argv[0] basename -> the init it is.
KNOWN_INITS = {"tini": "tini", "tini-static": "tini", "docker-init": "tini",
               "dumb-init": "dumb-init", "catatonit": "catatonit", "podman-init": "catatonit",
               "my_init": "my_init", "s6-svscan": "s6-overlay", "pid1": "pid1",
               "pause": "pause (Kubernetes)", "systemd": "systemd", "init.pyz": "initapp"}
UNKNOWN_INIT = "unknown"  # a Python runs a file inspect may not read
# How many children each init starts itself: any other child of theirs was
# re-parented to it. Of any other PID 1 (a shell, a supervisor) this cannot be told.
CHILDREN_STARTED = {"initapp": 1, "tini": 1, "dumb-init": 1, "catatonit": 1,
                    "pause (Kubernetes)": 0}
CONFIG_VARIABLE_PREFIXES = ("INITAPP_", "TINI_", "DUMB_INIT_", "CATATONIT_")
EXIT_PROBLEMS = 1
EXIT_UNKNOWN = 3  # no problem found, but what decides it could not be read
UNREAD_PROCESSES = ("which children of initapp are its processes: their environments cannot "
                    "be read (run inspect as root or as their user)")
# What a process controls is read in bounded amounts: the file a Python runs only
# when a regular file this small (init.pyz is about 1 MB), its command line and
# environment up to these sizes (a namespace of many processes with long command
# lines costs them little, forked, and must not make inspect unbounded).
ARCHIVE_MAX_BYTES = 16 << 20
TARGET_CMDLINE_BYTES = 256 << 10
MEMBER_CMDLINE_BYTES = 4 << 10
ENVIRON_BYTES = 1 << 20
MAX_SYMLINKS = 40  # as the kernel's path walk (ELOOP)
O_PATH = os.O_PATH | os.O_CLOEXEC


class Reader:
    """Reads /proc, remembering what it could not read, and which processes
    exited while it read them."""

    def __init__(self, proc="/proc"):
        self.proc = proc
        self.unreadable = []
        self.gone = set()

    def _failed(self, pid, path, error):
        # ESRCH: the process ended after its file was opened; ENOENT: its directory
        # is gone, or (the process still there) this kernel lacks the file.
        if error.errno == errno.ESRCH or (error.errno == errno.ENOENT and not os.path.exists(
                "%s/%d" % (self.proc, pid))):
            self.gone.add(pid)
        elif error.errno != errno.ENOENT:
            self.unreadable.append("%s (%s)" % (path, error.strerror))

    def read(self, pid, name, limit=1 << 16):
        """At most limit bytes of the file, or None."""
        path = "%s/%d/%s" % (self.proc, pid, name)
        try:
            with open(path, "rb") as f:
                return f.read(limit)
        except OSError as error:
            self._failed(pid, path, error)
            return None

    def text(self, pid, name):
        data = self.read(pid, name)
        return None if data is None else text(data)

    def status(self, pid):
        """The fields of /proc/PID/status, or None. Read a line at a time, its Groups
        line left out: with 65536 supplementary groups (a process that may set them
        can) it is the only long one, and a namespace of such processes is cheap."""
        path = "%s/%d/status" % (self.proc, pid)
        fields = {}
        try:
            with open(path, "rb") as f:
                for line in f:
                    key, colon, value = text(line).partition(":")
                    if colon and key != "Groups":
                        fields[key] = value.strip()
        except OSError as error:
            self._failed(pid, path, error)
            return None
        return fields

    def listdir(self, pid, name):
        path = "%s/%d/%s" % (self.proc, pid, name)
        try:
            return os.listdir(path)
        except OSError as error:
            self._failed(pid, path, error)
            return None

    def link(self, pid, name):
        try:
            return os.readlink("%s/%d/%s" % (self.proc, pid, name))
        except OSError:
            return None

    def pids(self):
        return sorted(int(entry) for entry in os.listdir(self.proc) if entry.isdigit())

    def same(self, process):
        """Whether the process still runs (not a later one with its pid)."""
        return _start_time(self.read(process.pid, "stat")) == process.start


def text(data):
    """Bytes from /proc as text; a byte that is not UTF-8 shows as \\xNN."""
    return data.decode("utf-8", "backslashreplace")


def _start_time(stat_data):
    return _stat_field(stat_data, 19)


def _stat_field(stat_data, index):
    """A number of /proc/PID/stat, counted from its state (0) after the name."""
    # The name may hold spaces and parentheses: split after the last ')'.
    return int(stat_data.rsplit(b")", 1)[1].split()[index]) if stat_data else None


class Process:
    def __init__(self, reader, pid, cmdline_bytes=MEMBER_CMDLINE_BYTES):
        self.fields = reader.status(pid)
        stat_data = reader.read(pid, "stat")
        self.start = _start_time(stat_data)
        self.pgid = _stat_field(stat_data, 2)
        self.sid = _stat_field(stat_data, 3)
        raw = reader.read(pid, "cmdline", cmdline_bytes)
        if self.fields is None or self.start is None or raw is None:
            raise LookupError(pid)  # not there, or exited while it was read
        self.pid = pid
        self.ppid = int(self.fields.get("PPid", "0"))
        self.state = self.fields.get("State", "?")[:1]
        self.name = self.fields.get("Name", "?")
        # Each argument ends with a NUL; a command line cut at the size read is marked.
        self.raw_argv = raw.split(b"\0")
        if self.raw_argv[-1] == b"":
            self.raw_argv.pop()
        if len(raw) >= cmdline_bytes and self.raw_argv:
            self.raw_argv[-1] += b"..."
        self.argv = [text(part) for part in self.raw_argv]
        self.nspid = self.fields.get("NSpid", str(pid)).split()
        self.namespace = reader.link(pid, "ns/pid")

    @property
    def command(self):
        return " ".join(self.argv) if self.argv else "[%s]" % self.name

    def mask(self, field):
        bits = int(self.fields.get(field, "0"), 16)
        return [signo for signo in range(1, 65) if bits >> (signo - 1) & 1]


# -- what the target is --------------------------------------------------------------

def identify_init(reader, process):
    """(name, options, config) of a known init, or (None, [], None); ("unknown", [],
    None) when the file a Python runs cannot be read to tell. config: initapp's
    cli.Config, from its command line and variables (None for the others, and for
    an initapp whose options do not parse)."""
    argv = process.argv
    if not argv:
        return None, [], None
    name = KNOWN_INITS.get(os.path.basename(argv[0]))
    start = 1
    if name is None and _is_python(reader, process):
        # initapp is a Python running its archive; any other program is not initapp,
        # whatever file its argv[0] names (a name found on PATH is no path at all).
        script = _script(argv)
        found = False if script is None else \
            _is_initapp_archive(reader, process.pid, process.raw_argv[script])
        if found:
            name, start = "initapp", script + 1
        elif found is None:
            return UNKNOWN_INIT, [], None
    if name is None:
        return None, [], None
    options = _options(name, argv[start:])
    variables = []
    environ = reader.read(process.pid, "environ", ENVIRON_BYTES)
    if environ:
        for item in environ.split(b"\0"):
            if text(item).startswith(CONFIG_VARIABLE_PREFIXES):
                variables.append(text(item))
    config = _initapp_config(argv[start:], variables) if name == "initapp" else None
    return name, options + variables, config


def _initapp_config(words, variables):
    from initapp import cli

    try:
        return cli.parse(words, {name: value for name, _, value in
                                 (item.partition("=") for item in variables)})
    except cli.UsageError:
        return None


def _is_python(reader, process):
    """By its argv[0], or (renamed: exec -a) by its executable when that may be read."""
    return any(os.path.basename(path).startswith("python")
               for path in (process.argv[0], reader.link(process.pid, "exe") or ""))


def _script(argv):
    """The index of the file a Python command line runs: the first word that is not
    an option (nor the value of -X, -W or --check-hash-based-pycs); None for none."""
    words = iter(enumerate(argv[1:], 1))
    for index, word in words:
        if word in ("-X", "-W", "--check-hash-based-pycs"):
            next(words, None)
        elif word in ("-c", "-m"):
            return None
        elif not word.startswith("-"):
            return index
    return None


def _options(name, words):
    """The init's own options: exactly for initapp, up to the command for the others."""
    if name == "initapp":
        from initapp import cli

        try:
            command = cli.parse(words, {}).command
        except cli.UsageError:
            return words
        options = words[:len(words) - len(command)]
        return options[:-1] if options[-1:] == ["--"] else options
    options = []
    for word in words:
        if word == "--" or not word.startswith("-"):
            break
        options.append(word)
    return options


def _is_initapp_archive(reader, pid, path):
    """True, False, or None when the file cannot be read. path: bytes, as the
    process's command line names it."""
    if os.path.basename(path) == b"init.pyz":
        return True
    shown = "%s/%d/%s/%s" % (reader.proc, pid, "root" if path.startswith(b"/") else "cwd",
                             text(path.lstrip(b"/")))
    found = _holds_initapp(reader, shown, lambda: _open_inside(reader, pid, path))
    if found is not False or path.startswith(b"/"):
        return found
    # A relative path: initapp has changed to / since, and keeps a descriptor of its
    # archive (O_PATH) for this. The descriptor is the process's own open file, not
    # a name it gives: the kernel's link to it is followed.
    suffix = "/" + os.path.normpath(text(path))
    for fd in reader.listdir(pid, "fd") or ():
        if (reader.link(pid, "fd/" + fd) or "").endswith(suffix):
            fd_path = "%s/%d/fd/%s" % (reader.proc, pid, fd)
            return _holds_initapp(reader, fd_path, lambda: os.open(fd_path, O_PATH))
    return False


def _open_inside(reader, pid, path):
    """An O_PATH descriptor of path (bytes) as the process resolves it: from its
    root (/proc/PID/root) or its working directory, one name at a time, neither
    following a symbolic link nor stepping up with ".." through the kernel, which
    would resolve both from inspect's own root (the host's), not the process's.
    A link is read and resolved here, inside the process's root; ".." stops at
    that root. Only O_PATH descriptors are opened: no device is opened, no FIFO
    waited on. Raises OSError."""
    root = os.open("%s/%d/root" % (reader.proc, pid), O_PATH | os.O_DIRECTORY)
    stack = []  # the directories walked down through, the last the current one
    try:
        top = os.fstat(root)
        if path.startswith(b"/"):
            stack.append(os.dup(root))
        else:
            stack.append(os.open("%s/%d/cwd" % (reader.proc, pid), O_PATH | os.O_DIRECTORY))
        names, links = path.split(b"/"), 0
        while names:
            name = names.pop(0)
            if name in (b"", b"."):
                continue
            if name == b"..":
                if len(stack) > 1:
                    os.close(stack.pop())
                elif not os.path.samestat(os.fstat(stack[0]), top):
                    # Above the working directory it was started from (relative
                    # paths): its parent, up to the root at most.
                    parent = os.open(b"..", O_PATH | os.O_DIRECTORY, dir_fd=stack[0])
                    os.close(stack[0])
                    stack[0] = parent
                continue
            fd = os.open(name, O_PATH | os.O_NOFOLLOW, dir_fd=stack[-1])
            stack.append(fd)
            if not stat.S_ISLNK(os.fstat(fd).st_mode):
                continue
            stack.pop()
            try:
                link = os.readlink(b"", dir_fd=fd)  # this very link, not the name again
            finally:
                os.close(fd)
            links += 1
            if links > MAX_SYMLINKS:
                raise OSError(errno.ELOOP, os.strerror(errno.ELOOP))
            if link.startswith(b"/"):
                while stack:
                    os.close(stack.pop())
                stack.append(os.dup(root))
            names[:0] = link.split(b"/")
        return stack.pop()
    finally:
        for fd in stack + [root]:
            os.close(fd)


def _holds_initapp(reader, path, opener):
    """True or False; None when the file cannot be read (another user's root).
    opener returns an O_PATH descriptor of the file, shown as path. Only a regular
    file of at most ARCHIVE_MAX_BYTES is read, never more of it than that."""
    import io
    import zipfile

    try:
        fd = opener()
        try:
            found = os.fstat(fd)
            if not stat.S_ISREG(found.st_mode) or found.st_size > ARCHIVE_MAX_BYTES:
                return False
            # Opened again for reading through inspect's own link to it: the same
            # file, whatever the name now leads to.
            with open(os.open("%s/self/fd/%d" % (reader.proc, fd), os.O_RDONLY | os.O_NONBLOCK
                              | os.O_NOCTTY | os.O_CLOEXEC), "rb") as f:
                if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                    return False
                data = f.read(ARCHIVE_MAX_BYTES + 1)
        finally:
            os.close(fd)
    except PermissionError as error:
        reader.unreadable.append("%s (%s)" % (path, error.strerror))
        return None
    except OSError:
        return False
    if len(data) > ARCHIVE_MAX_BYTES:  # grew since
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "site-packages/initapp/main.py" in archive.namelist()
    except Exception:  # whatever the process wrote there, it is not our archive
        return False


def waits_synchronously(reader, process):
    """True when the process waits in sigwaitinfo (the kernel then shows the waited
    signals as not blocked), False when not, None when it cannot be told: wchan reads
    "0" to a user who may not trace the process (and for one that is running)."""
    wchan = reader.text(process.pid, "wchan")
    if wchan and wchan != "0":
        return wchan.startswith("do_sigtimedwait")
    return False if process.state == "R" else None


def signalfd_signals(reader, pid):
    """The signals the process reads from a signalfd, or None if its fds cannot be read."""
    fds = reader.listdir(pid, "fd")
    if fds is None:
        return None
    found = set()
    for fd in fds:
        if reader.link(pid, "fd/" + fd) == "anon_inode:[signalfd]":
            for line in (reader.text(pid, "fdinfo/" + fd) or "").splitlines():
                if line.startswith("sigmask:"):
                    bits = int(line.split(":", 1)[1], 16)
                    found.update(signo for signo in range(1, 65) if bits >> (signo - 1) & 1)
    return found


def delivery(signo, process, pid1, synchronous, signalfds):
    """(reaches, words) for a signal sent to the process by a container engine;
    reaches is None when it cannot be told. signalfds: see signalfd_signals."""
    name = signals.name(signo)
    if signo in process.mask("SigIgn"):
        return False, "%s is ignored: it will not stop the process" % name
    if signo in process.mask("SigBlk"):
        if signalfds and signo in signalfds:
            return True, "%s is blocked and read from a signalfd" % name
        if signalfds is None or synchronous is None:
            return None, ("unknown: %s is blocked, and whether the process waits for it "
                          "(sigwaitinfo, a signalfd) cannot be read" % name)
        return False, ("%s is blocked and the process does not wait for it (sigwaitinfo, a "
                       "signalfd): it stays pending, and the process keeps running" % name)
    if synchronous:
        return True, "%s is taken synchronously (blocked and waited for, as inits do)" % name
    if signo in process.mask("SigCgt"):
        return True, "%s is caught by a handler" % name
    if not pid1:
        return True, "%s has the default action: the process ends at once, without cleanup" % name
    if synchronous is None:
        return None, ("unknown: %s reaches this PID 1 only if it waits for it in sigwaitinfo, "
                      "and its wchan cannot be read (run inspect as root or as its user)" % name)
    return False, ("%s has the default action, which the kernel never applies to PID 1: "
                   "`docker stop` will wait for its timeout, then SIGKILL" % name)


# -- the namespace ---------------------------------------------------------------------

def namespace_members(reader, target):
    members = {}
    for pid in reader.pids():
        try:
            process = target if pid == target.pid else Process(reader, pid)
        except LookupError:
            continue  # exited since the listing, or while it was read
        members[pid] = process
    if target.namespace and any(p.namespace for p in members.values() if p.pid != target.pid):
        return {pid: p for pid, p in members.items() if p.namespace == target.namespace}
    # Without access to ns/pid: the target and its descendants.
    keep, queue = {target.pid: target}, [target.pid]
    while queue:
        parent = queue.pop()
        for process in members.values():
            if process.ppid == parent and process.pid not in keep:
                keep[process.pid] = process
                queue.append(process.pid)
    return keep


def tree_lines(members, root, names=None):
    """The target's tree first, then the other roots' (processes whose parent is not
    a member: entered the namespace from outside, as docker exec, or, not PID 1,
    the rest of the namespace), each process once. names: {pid: the name of one of
    initapp's several processes}, given as "process" in their lines."""
    names = names or {}
    children = {}
    for process in sorted(members.values(), key=lambda p: p.pid):
        children.setdefault(process.ppid, []).append(process)
    lines, seen = [], set()

    def walk(process, depth):
        if process.pid in seen:  # the target's tree, met again from a root above it
            return
        seen.add(process.pid)
        line = {"pid": process.pid, "ppid": process.ppid, "state": process.state,
                "command": process.command, "depth": depth}
        if process.pid in names:
            line["process"] = names[process.pid]
        lines.append(line)
        for child in children.get(process.pid, []):
            walk(child, depth + 1)

    walk(root, 0)
    for process in sorted(members.values(), key=lambda p: p.pid):
        if process.ppid not in members:
            walk(process, 0)
    for process in sorted(members.values(), key=lambda p: p.pid):
        walk(process, 0)  # none left but in a loop of parents, which /proc cannot show
    return lines


# -- initapp's several processes -------------------------------------------------------

def runs_several(config):
    """Whether initapp's options name more than one process (a Procfile's are not
    counted: it may hold one or many, and inspect does not read it)."""
    return config.procfile is not None or len(config.runs) + bool(config.command) > 1


def named_processes(reader, target, children):
    """([(name, Process)] of initapp's several processes, oldest first; whether
    every child that may be one could be read). initapp
    starts each one with its name in its environment, as the leader of a process
    group of its own, in initapp's session. Its descendants inherit the name: one
    re-parented to initapp still in the group of the process it came from is none
    of them (a re-parented orphan); of two group leaders with one name, the one
    in initapp's session wins (a daemon that made a session of its own does not),
    then the newer (a restarted process is newer than what its earlier run left)."""
    best, complete = {}, True
    for child in children:
        if child.pgid != child.pid:
            continue
        environ = reader.read(child.pid, "environ", ENVIRON_BYTES)
        if environ is None and child.pid not in reader.gone:
            complete = False        # another user's: which one it is cannot be told
        name = _process_name(environ)
        if name is None:
            continue
        rank = (child.sid == target.sid, child.start, child.pid)
        if name not in best or rank > best[name][0]:
            best[name] = (rank, child)
    return sorted(((name, child) for name, (_, child) in best.items()),
                  key=lambda item: (item[1].start, item[1].pid)), complete


def _process_name(environ):
    prefix = PROCESS_NAME_VARIABLE.encode() + b"="
    for item in (environ or b"").split(b"\0"):
        if item.startswith(prefix):
            return text(item[len(prefix):])
    return None


def stop_signal(config, name):
    """The signal the process gets when SIGTERM (docker stop) reaches initapp, after
    -r and --stop-with; None when -r drops SIGTERM."""
    key, sent = config.route(signals.SIGTERM)
    if sent == 0:
        return None
    if key in config.stop_signals:
        return dict(config.stop_with).get(name, sent)
    return sent


def process_report(reader, name, process, config):
    """What inspect tells of its target, for one of initapp's processes: its
    signals, and whether the one it gets at a stop reaches it."""
    synchronous = waits_synchronously(reader, process)
    signo = stop_signal(config, name)
    if signo is None:
        reaches, words = False, ("initapp drops SIGTERM (-r TERM:0): `docker stop` will wait "
                                 "for its timeout, then SIGKILL")
    else:
        signalfds = signalfd_signals(reader, process.pid) \
            if signo in process.mask("SigBlk") else set()
        reaches, words = delivery(signo, process, False, synchronous, signalfds)
    return {"name": name, "pid": process.pid, "command": process.command,
            "state": process.state, "signals": signal_masks(process, synchronous),
            "stop_signal": None if signo is None else signals.name(signo),
            "stop": {"reaches": reaches, "explanation": words}}


def signal_masks(process, synchronous):
    return {"blocked": [signals.name(s) for s in process.mask("SigBlk")],
            "ignored": [signals.name(s) for s in process.mask("SigIgn")],
            "caught": [signals.name(s) for s in process.mask("SigCgt")],
            "waits_synchronously": synchronous}


# -- the report ------------------------------------------------------------------------

class Exited(LookupError):
    """The process ended while it was inspected: what was read is not one moment."""


def examine(pid, reader):
    target = Process(reader, pid, TARGET_CMDLINE_BYTES)
    pid1 = target.nspid[-1] == "1"
    init, options, config = identify_init(reader, target)
    synchronous = waits_synchronously(reader, target)
    told = (signals.SIGTERM, signals.parse("INT"))
    # Its descriptors matter (and are read) only when one of those signals is blocked.
    signalfds = signalfd_signals(reader, pid) if set(told) & set(target.mask("SigBlk")) \
        else set()
    members = namespace_members(reader, target)
    children = [p for p in members.values() if p.ppid == target.pid]
    shell = os.path.basename(target.argv[0]) if target.argv else target.name
    wrapper = shell in SHELLS and bool(children)
    report = {
        "pid": pid, "pid_in_namespace": int(target.nspid[-1]), "pid1_of_namespace": pid1,
        "command": target.argv, "state": target.state, "shell_wrapper": wrapper,
        "init": {"name": init, "options": options} if init else None,
        "signals": signal_masks(target, synchronous),
    }
    for signo in told:
        reaches, words = delivery(signo, target, pid1, synchronous, signalfds)
        report[signals.name(signo).lower()] = {"reaches": reaches, "explanation": words}
    zombies = [{"pid": p.pid, "ppid": p.ppid, "command": p.command,
                "parent_command": members[p.ppid].command if p.ppid in members else None}
               for p in members.values() if p.state == "Z"]
    oldest_first = sorted(children, key=lambda p: (p.start, p.pid))
    names, complete = {}, True
    if config is not None and runs_several(config):
        named, complete = named_processes(reader, target, oldest_first)
        names = {process.pid: name for name, process in named}
        report["processes"] = [process_report(reader, name, process, config)
                               for name, process in named]
    # Re-parented: the children a PID 1 did not start itself. Known of initapp's
    # several processes by their names; of an init that starts a known number of
    # children, they are the oldest ones; None otherwise.
    started = CHILDREN_STARTED.get(init) if pid1 else None
    if pid1 and "processes" in report:
        orphans = [p for p in oldest_first if p.pid not in names] if complete else None
    else:
        orphans = None if started is None else oldest_first[started:]
    if orphans is not None:
        orphans = [{"pid": p.pid, "command": p.command} for p in orphans]
    report["namespace"] = {"processes": len(members), "zombies": zombies, "orphans": orphans,
                           "tree": tree_lines(members, target, names)}
    report["cgroup"] = cgroup.report(pid)
    report["verdict"] = verdict(report, target)
    if not complete:
        report["verdict"]["unknown"].append(UNREAD_PROCESSES)
    report["unreadable"] = sorted(set(reader.unreadable))
    if pid in reader.gone or not reader.same(target):
        raise Exited(pid)
    return report


def verdict(report, target):
    problems, advice, unknown = [], [], []
    pid1 = report["pid1_of_namespace"]
    init = report["init"]["name"] if report["init"] else None
    if init == UNKNOWN_INIT:
        unknown.append("which init this is: the file its Python runs cannot be read")
    for key in ("sigterm", "sigint"):
        if report[key]["reaches"] is None:
            unknown.append(report[key]["explanation"])
    if report["sigterm"]["reaches"] is False:
        problems.append(report["sigterm"]["explanation"])
        advice.append("run the workload under an init: `docker run --init`, or COPY init.pyz "
                      "/sbin/init with ENTRYPOINT [\"/sbin/init\", \"--\"]")
    deaf = []
    for process in report.get("processes", ()):
        said = "%s (pid %d): %s" % (process["name"], process["pid"],
                                    process["stop"]["explanation"])
        if process["stop"]["reaches"] is False:
            problems.append(said)
            deaf.append(process["name"])
        elif process["stop"]["reaches"] is None:
            unknown.append(said)
    if deaf:
        advice.append("%s will be SIGKILLed at the end of the grace period: let it stop on "
                      "its stop signal, or give it one it stops on (--stop-with %s=SIGNAL)"
                      % (", ".join(deaf), deaf[0]))
    if report["shell_wrapper"]:
        problems.append("PID %d is a shell that did not exec its command: signals stop at the "
                        "shell and its children may be killed mid-cleanup" % report["pid"])
        advice.append("end the entrypoint script with `exec \"$@\"` (or `exec app`), and use "
                      "the exec form of ENTRYPOINT/CMD (a JSON array)")
    zombies = report["namespace"]["zombies"]
    reaping_parents = {z["ppid"] for z in zombies}
    if reaping_parents:
        # Each parent once, with how many of the zombies are its.
        names = ", ".join("%d of %d (%s)" % (sum(z["ppid"] == ppid for z in zombies), ppid,
                                             next(z["parent_command"] for z in zombies
                                                  if z["ppid"] == ppid) or "?")
                          for ppid in sorted(reaping_parents))
        problems.append("%d zombie(s), not reaped by their parent(s): %s"
                        % (len(zombies), names))
        if target.pid in reaping_parents and init is None:
            advice.append("PID 1 does not reap orphans: run under an init that does")
    if pid1 and init == "tini" and not any(o in ("-g",) or o.startswith("TINI_KILL_PROCESS_GROUP")
                                           for o in report["init"]["options"]):
        advice.append("tini forwards signals only to its child: add -g (or use initapp, which "
                      "also stops the rest of the tree within a deadline)")
    if init in ("tini", "dumb-init", "catatonit") and pid1:
        advice.append("%s exits as soon as its child exits: other processes are SIGKILLed by "
                      "the kernel mid-cleanup; initapp waits for the whole tree" % init)
    memory = report["cgroup"]
    if memory and memory["oom_kills"]:
        problems.append("the kernel's OOM killer has killed %d process(es) in its cgroup (%s)"
                        % (memory["oom_kills"], cgroup.size(memory["memory_limit"])))
        advice.append("raise the container's memory limit or lower the workload's use; "
                      "initapp names each OOM kill of its tree in its exit message")
    if not pid1:
        advice.append("PID %d is not PID 1 of its namespace: PID 1 is what `docker stop` signals"
                      % report["pid"])
    return {"ok": not problems, "problems": problems, "advice": advice, "unknown": unknown}


def render(report):
    out = []
    add = out.append
    where = ("PID 1 of its namespace" if report["pid1_of_namespace"]
             else "pid %d in its namespace" % report["pid_in_namespace"])
    add("PID %d: %s" % (report["pid"], " ".join(report["command"]) or "?"))
    add("  %s, state %s" % (where, report["state"]))
    init = report["init"]
    add("  init: %s" % (" ".join([init["name"]] + init["options"]) if init else "none recognised"))
    if report["shell_wrapper"]:
        add("  a shell wrapper: it has children and did not exec its command")
    sig = report["signals"]
    add("  signals blocked: %s" % (" ".join(sig["blocked"]) or "-"))
    add("  signals ignored: %s" % (" ".join(sig["ignored"]) or "-"))
    add("  signals caught:  %s" % (" ".join(sig["caught"]) or "-"))
    if sig["waits_synchronously"]:
        add("  waiting in sigwaitinfo: the signals it waits for show as unblocked while it waits")
    elif sig["waits_synchronously"] is None:
        add("  waiting in sigwaitinfo: unknown (its wchan cannot be read)")
    for key in ("sigterm", "sigint"):
        add("  %s" % report[key]["explanation"])
    if "processes" in report:
        add("processes: %d, named by initapp" % len(report["processes"]))
    for process in report.get("processes", ()):
        sig = process["signals"]
        add("  %s: pid %d, state %s: %s" % (process["name"], process["pid"], process["state"],
                                          process["command"]))
        add("    signals blocked: %s; ignored: %s; caught: %s" % tuple(
            " ".join(sig[key]) or "-" for key in ("blocked", "ignored", "caught")))
        add("    at a stop: %s" % process["stop"]["explanation"])
    ns = report["namespace"]
    add("namespace: %d processes, %d zombies" % (ns["processes"], len(ns["zombies"])))
    for zombie in ns["zombies"]:
        add("  zombie %d, parent %d (%s): %s" % (zombie["pid"], zombie["ppid"],
                                                 zombie["parent_command"], zombie["command"]))
    for orphan in ns["orphans"] or ():
        add("  re-parented to PID 1 (not started by it): %d %s" % (orphan["pid"], orphan["command"]))
    memory = report["cgroup"]
    if memory is None:
        add("cgroup: no memory cgroup found")
    else:
        kills = "unknown" if memory["oom_kills"] is None else memory["oom_kills"]
        add("cgroup: %s, OOM kills %s (cgroup v%d, %s)" % (cgroup.size(memory["memory_limit"]),
                                                          kills, memory["version"], memory["path"]))
    add("tree:")
    for line in ns["tree"]:
        name = line["process"] + ": " if "process" in line else ""
        add("  %s%d %s %s%s" % ("  " * line["depth"], line["pid"], line["state"], name,
                                line["command"]))
    result = report["verdict"]
    add("verdict: %s" % ("PROBLEMS" if not result["ok"] else
                         "unknown" if result["unknown"] else "fine"))
    for problem in result["problems"]:
        add("  problem: %s" % problem)
    for unknown in result["unknown"]:
        add("  %s" % unknown)
    for advice in result["advice"]:
        add("  advice: %s" % advice)
    for path in report["unreadable"]:
        add("could not read: %s" % path)
    # Names may hold newlines and escape sequences: no line of theirs may look like ours.
    return "".join(printable(line) + "\n" for line in out)


USAGE = "usage: init.pyz inspect [--json] [PID]   (PID defaults to 1)\n"


def usage_error(words):
    sys.stderr.write("[initapp] error: inspect: %s\n" % words)
    sys.stderr.flush()  # block-buffered on a pipe before Python 3.9; the archive ends with _exit
    return EXIT_USAGE


def main(argv):
    as_json, pids = False, []
    for word in argv:
        if word == "--json":
            as_json = True
        elif word in ("-h", "--help"):
            sys.stdout.write(USAGE)
            return 0
        elif word.isascii() and word.isdigit() and int(word) > 0:
            pids.append(int(word))
        else:
            return usage_error("not a pid or option: %r" % word)
    if len(pids) > 1:
        return usage_error("one pid at a time, not %d: %s" % (len(pids), " ".join(map(str, pids))))
    pid = pids[0] if pids else 1
    try:
        report = examine(pid, Reader())
    except Exited:
        return usage_error("process %d exited while it was inspected" % pid)
    except LookupError:
        return usage_error("no process %d is visible in /proc" % pid)
    if as_json:
        import json

        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        sys.stdout.write(render(report))
    result = report["verdict"]
    return EXIT_PROBLEMS if not result["ok"] else EXIT_UNKNOWN if result["unknown"] else 0
