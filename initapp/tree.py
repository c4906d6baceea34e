"""The init's process tree, read from /proc, and signals sent to all of it.

As PID 1 the tree is every other process of the namespace. Otherwise it is the
init's descendants only: nothing outside them is ever signalled, and kill(-1)
is never used (outside a PID namespace it would reach the whole host)."""

import os

from initapp import log, signals
from initapp.defaults import (FREEZE_SCANS, LIST_COMMAND_CHARS, LIST_PROCESSES, MSG_BAD_PROC,
                              MSG_BAD_PROC_PID1)


class Process:
    __slots__ = ("pid", "state", "ppid", "pgid", "start")

    def __init__(self, pid, state, ppid, pgid, start):
        self.pid, self.state, self.ppid, self.pgid, self.start = pid, state, ppid, pgid, start


def read_stat(pid):
    """A Process from /proc/PID/stat, or None if it is gone."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as stat:
            data = stat.read()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: split after the last ')'.
    fields = data[data.rfind(b")") + 2:].split()
    # fields[0] is field 3 of proc(5): state, ppid, pgrp, ..., starttime is field 22.
    return Process(pid, fields[0].decode(), int(fields[1]), int(fields[2]), int(fields[19]))


def shorten(text):
    """A command line cut to a length a log line can carry."""
    if len(text) <= LIST_COMMAND_CHARS:
        return text
    return text[:LIST_COMMAND_CHARS - 3] + "..."


def read_command(pid):
    """The command line of a process; its name in brackets when it has none
    (a zombie, a kernel thread, or one stuck on its way out)."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as cmdline:
            words = cmdline.read(4 * LIST_COMMAND_CHARS).rstrip(b"\0").split(b"\0")
        if words != [b""]:
            return shorten(b" ".join(words).decode("utf-8", "backslashreplace"))
        with open("/proc/%d/comm" % pid, "rb") as comm:
            return "[%s]" % comm.read().strip().decode("utf-8", "backslashreplace")
    except OSError:
        return "?"


def key(process):
    """What tells a process apart from a later one given the same pid."""
    return process.pid, process.start


def listing(processes):
    """The processes in words and as records (pid, state, command), at most
    LIST_PROCESSES of them: for the deadline's warning, the give-up and the summary."""
    records = [{"pid": process.pid, "state": process.state, "command": read_command(process.pid)}
               for process in sorted(processes, key=lambda process: process.pid)[:LIST_PROCESSES]]
    text = ", ".join("%(pid)d (%(state)s, %(command)s)" % record for record in records)
    if len(processes) > len(records):
        text += " and %d more" % (len(processes) - len(records))
    return text, records


def proc_is_ours():
    """True when /proc shows this PID namespace (its 'self' is our own pid)."""
    try:
        return os.readlink("/proc/self") == str(os.getpid())
    except OSError:
        return False


def all_processes():
    processes = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            process = read_stat(int(entry))
            if process is not None:
                processes.append(process)
    return processes


def descendants(root, processes):
    """The processes below root, parents before children."""
    children = {}
    for process in processes:
        children.setdefault(process.ppid, []).append(process)
    found, queue = [], [root]
    while queue:
        for process in children.get(queue.pop(), ()):
            found.append(process)
            queue.append(process.pid)
    return found


def children(pid):
    """The pids of pid's children, from each of its threads' children file; None
    when the kernel has no such file (built without CONFIG_PROC_CHILDREN)."""
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return []  # it exited
    found = []
    for task in tasks:
        try:
            with open("/proc/%d/task/%s/children" % (pid, task), "rb") as listed:
                found.extend(int(word) for word in listed.read().split())
        except FileNotFoundError:
            if not os.path.exists("/proc/self/task/%d/children" % os.getpid()):
                return None
        except OSError:
            pass  # the thread exited
    return found


def walk(root, visit=None):
    """The processes below root, parents before children, found by following the
    children files: a walk as long as the tree, not as long as the machine's /proc
    (a fork-and-exit loop outruns a whole scan). visit(process) is called on each
    the moment it is found. None without children files."""
    found, queue = [], [root]
    while queue:
        kids = children(queue.pop())
        if kids is None:
            return None
        # Newest first: the kernel lists children oldest first, and the newest is
        # the one most likely to fork and exit before the walk reaches it (its
        # child, re-parented meanwhile, would be missed by this walk).
        for pid in reversed(kids):
            process = read_stat(pid)
            if process is None:
                continue
            if visit is not None:
                visit(process)
            found.append(process)
            if process.state != "Z":  # a zombie's children are someone else's now
                queue.append(pid)
    return found


def members(pid1):
    """Every process the init answers for: the namespace as PID 1, else descendants."""
    me = os.getpid()
    if pid1:
        return [process for process in all_processes() if process.pid != me]
    found = walk(me)
    return descendants(me, all_processes()) if found is None else found


def send(process, signo):
    """Signal one process found by a scan, unless its pid now names another process.

    Between the scan and the kill the process may exit and its pid be reused; a
    pidfd pins the process, and its start time proves it is the one scanned."""
    pidfd = None
    try:
        if hasattr(os, "pidfd_open") and signals.pidfd_send_signal is not None:
            pidfd = os.pidfd_open(process.pid)
        now = read_stat(process.pid)
        if now is None or now.start != process.start:
            return False
        if pidfd is None:
            os.kill(process.pid, signo)
        else:
            signals.pidfd_send_signal(pidfd, signo)
        return True
    except OSError:
        return False  # it exited meanwhile
    finally:
        if pidfd is not None:
            os.close(pidfd)


class Tree:
    """Signals to every process the init answers for (with --single-child, the
    main child alone: its pid stays its own until initapp reaps it)."""

    def __init__(self, pid1, child_pid, single_child=False):
        self.pid1 = pid1
        self.child_pid = child_pid
        self.single_child = single_child
        self._proc_usable = None
        self._proc_ours = None

    @property
    def proc_ours(self):
        """Whether /proc shows this namespace: asked once, when first needed."""
        if self._proc_ours is None:
            self._proc_ours = proc_is_ours()
        return self._proc_ours

    @property
    def proc_usable(self):
        """Checked when first needed, not at start (most containers never need it)."""
        if self._proc_usable is None:
            self._proc_usable = self.single_child or self.proc_ours
            if not self._proc_usable:
                log.warning(MSG_BAD_PROC_PID1 if self.pid1 else MSG_BAD_PROC)
        return self._proc_usable

    def signal_all(self, signo, skip=(), record=None):
        """Send signo to every member of the tree, except the processes in skip (keys
        of key()); add the key of each one signalled to record, if given. Returns
        how many processes were signalled (-1 when unknown: kill(-1))."""
        if self.single_child:
            return self._signal_child(signo)
        if not self.proc_usable:
            return self._signal_without_proc(signo)
        count = 0
        for process in members(self.pid1):
            if key(process) not in skip and send(process, signo):
                count += 1
                if record is not None:
                    record.add(key(process))
        return count

    def group(self, pgid):
        """The keys of the tree's members in process group pgid, as they are now
        (empty when /proc cannot tell)."""
        if self.single_child or not self.proc_usable:
            return set()
        return {key(process) for process in members(self.pid1) if process.pgid == pgid}

    def stopped(self, pid):
        """True or False for a process of the tree; None when /proc cannot tell."""
        if not self.proc_usable:
            return None
        process = read_stat(pid)
        return process is not None and process.state in ("T", "t")

    def continue_stopped(self, pgid=None):
        """SIGCONT to the stopped members of the tree (of group pgid only, if given).
        Without a usable /proc the stopped ones cannot be told: all get it."""
        if self.single_child:
            return self._signal_child(signals.SIGCONT) if self.stopped(self.child_pid) else 0
        if not self.proc_usable:
            if pgid is None:
                return self._signal_without_proc(signals.SIGCONT)
            try:
                os.killpg(pgid, signals.SIGCONT)
            except OSError:
                pass
            return -1
        count = 0
        for process in members(self.pid1):
            if process.state in ("T", "t") and pgid in (None, process.pgid) \
                    and send(process, signals.SIGCONT):
                count += 1
        return count

    def alive(self):
        """The processes of the tree that have not exited, or None when /proc
        cannot tell (it does not show this namespace)."""
        if not self.proc_ours:
            return None
        if self.single_child:
            found = [read_stat(self.child_pid)]
        else:
            found = members(self.pid1)
        return [process for process in found if process is not None and process.state != "Z"]

    def kill_all(self):
        """SIGKILL the tree. As PID 1 one kill(-1) does it atomically, forks included."""
        if self.pid1 and not self.single_child:
            return self._signal_namespace(signals.SIGKILL)
        if self.single_child or not self.proc_usable:
            return self.signal_all(signals.SIGKILL)
        return self._freeze_and_kill()

    def _freeze_and_kill(self):
        """Not PID 1 there is no atomic kill(-1): a process may fork between the scan
        that finds it and its SIGKILL, and a fork whose parent then exits is a new
        orphan the next scan may find only after initapp has exited. So SIGSTOP
        first: a stopped process cannot fork, and once a scan finds no member it has
        not stopped, the tree is closed; then SIGKILL each (a stopped process dies
        of it at once). Returns how many got SIGKILL."""
        stopped = {}  # every process found, by key, its SIGSTOP sent or refused

        def stop(process):
            # At once, as the walk finds it: a process that forks and exits every
            # millisecond is still the one found when the SIGSTOP comes.
            if key(process) not in stopped:
                send(process, signals.SIGSTOP)
                stopped[key(process)] = process

        quiet = 0     # walks in a row that found nothing new
        for _ in range(FREEZE_SCANS):
            before = len(stopped)
            if walk(os.getpid(), stop) is None:
                for process in descendants(os.getpid(), all_processes()):
                    stop(process)
            quiet = 0 if len(stopped) > before else quiet + 1
            if quiet == 2:  # twice: a process re-parented during one walk shows in the next
                break
        else:
            log.debug("the tree still forked after %d scans: killing what was found"
                      % FREEZE_SCANS)
        return sum(1 for process in stopped.values() if send(process, signals.SIGKILL))

    def _signal_namespace(self, signo):
        # kill(-1) reaches every process but ourselves: only ever as PID 1, where
        # "every process" is this namespace, never the host.
        assert self.pid1
        try:
            os.kill(-1, signo)
        except OSError:
            pass
        return -1

    def _signal_child(self, signo):
        try:
            os.kill(self.child_pid, signo)
        except OSError:
            return 0
        return 1

    def _signal_without_proc(self, signo):
        if self.pid1:
            return self._signal_namespace(signo)
        try:
            os.killpg(self.child_pid, signo)
        except OSError:
            return 0
        return -1
