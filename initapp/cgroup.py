"""The memory cgroup a process runs in: its OOM kill counter and its memory limit.

Inside a container this is the container's own cgroup. The kernel counts the
processes its OOM killer kills there (cgroup v2 `memory.events`, cgroup v1
`memory.oom_control` since Linux 4.13) but does not say which: a process that
died of SIGKILL was the OOM killer's when the counter rose since it was last read.
Only read when a process dies of SIGKILL, never on the signal loop's common path."""

import os

# cgroup v1 shows "no limit" as LONG_MAX rounded down to a page: anything this
# large is no limit at all.
V1_UNLIMITED = 1 << 62
# Where the engines and systemd mount the hierarchies: tried first, so that the
# start rarely pays for parsing the mount table.
V2_MOUNT = "/sys/fs/cgroup"
V1_MEMORY_MOUNT = "/sys/fs/cgroup/memory"


def _read(path):
    from initapp.spawn import read_file   # os.read: no first open() at the start

    try:
        return read_file(path).decode("ascii", "replace")
    except OSError:
        return None


def field(text, name):
    """The number after `name` in a `key value` file (memory.events, memory.stat)."""
    for line in (text or "").splitlines():
        key, _, value = line.partition(" ")
        if key == name and value.strip().isdigit():
            return int(value)
    return None


def _unescape(path):
    # mountinfo writes space, tab, newline and backslash as octal escapes.
    for code in ("\\040", "\\011", "\\012", "\\134"):
        path = path.replace(code, chr(int(code[1:], 8)))
    return path


def _mounts():
    """(fstype, super options, mount root, mount point) of every cgroup mount."""
    found = []
    for line in (_read("/proc/self/mountinfo") or "").splitlines():
        fields = line.split()
        if "-" not in fields:
            continue
        dash = fields.index("-")
        fstype, options = fields[dash + 1], fields[dash + 3:dash + 4]
        if fstype in ("cgroup", "cgroup2"):
            found.append((fstype, set((options or [""])[0].split(",")),
                          _unescape(fields[3]), _unescape(fields[4])))
    return found


def _directory(mount_root, mount_point, path):
    """Where the cgroup `path` (as /proc/PID/cgroup names it) sits under the mount.
    A container's mount usually has the container's own cgroup as its root."""
    if mount_root != "/" and (path + "/").startswith(mount_root + "/"):
        path = path[len(mount_root):]
    return os.path.normpath(mount_point + "/" + path.lstrip("/"))


class Cgroup:
    def __init__(self, version, path, top):
        self.version = version   # 1 or 2
        self.path = path         # the cgroup's directory
        self.top = top           # the mount point: ancestors are read up to here

    def oom_kills(self):
        """How many processes the OOM killer has killed in this cgroup, or None."""
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        return field(_read(os.path.join(self.path, name)), "oom_kill")

    def memory_limit(self):
        """The lowest memory limit of the cgroup and its ancestors in bytes, None if none."""
        if self.version == 1:
            value = field(_read(os.path.join(self.path, "memory.stat")),
                          "hierarchical_memory_limit")
            return None if value is None or value >= V1_UNLIMITED else value
        lowest, path = None, self.path
        while True:
            value = (_read(os.path.join(path, "memory.max")) or "").strip()
            if value.isdigit() and (lowest is None or int(value) < lowest):
                lowest = int(value)
            if len(path) <= len(self.top):
                return lowest
            path = os.path.dirname(path)


def locate(pid="self"):
    """The memory cgroup of a process (v2 when it has the memory controller), or None."""
    text = _read("/proc/%s/cgroup" % pid)
    if text is None:
        return None
    v1_path = v2_path = None
    for line in text.splitlines():
        _, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if controllers == "":
            v2_path = path
        elif "memory" in controllers.split(","):
            v1_path = path
    for version, point, path, name in ((2, V2_MOUNT, v2_path, "memory.events"),
                                       (1, V1_MEMORY_MOUNT, v1_path, "memory.oom_control")):
        if path is not None:
            directory = _directory("/", point, path)
            if os.path.exists(os.path.join(directory, name)):
                return Cgroup(version, directory, point)
    # Elsewhere, or a mount whose root is the container's cgroup (cgroup v1 without
    # a cgroup namespace): the mount table says where the cgroup is.
    for fstype, options, root, point in _mounts():
        if fstype == "cgroup2" and v2_path is not None:
            directory = _directory(root, point, v2_path)
            if os.path.exists(os.path.join(directory, "memory.events")):
                return Cgroup(2, directory, point)
        elif fstype == "cgroup" and "memory" in options and v1_path is not None:
            directory = _directory(root, point, v1_path)
            if os.path.exists(os.path.join(directory, "memory.oom_control")):
                return Cgroup(1, directory, point)
    return None


def size(limit):
    """A memory limit in words: 256 MiB, 1.5 GiB, or none."""
    if limit is None:
        return "no memory limit"
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if limit >= scale:
            return "memory limit %g %s" % (round(limit / scale, 1), unit)
    return "memory limit %d bytes" % limit


class OomWatch:
    """The counter read once at start, then again only when a process dies of SIGKILL."""

    def __init__(self, cgroup):
        self.cgroup = cgroup
        self.start = self.seen = cgroup.oom_kills() if cgroup is not None else None

    def killed(self):
        """True when the counter rose: the SIGKILL just reaped was the OOM killer's.
        Each kill the counter shows is given to one death only."""
        if self.seen is None:
            return False
        count = self.cgroup.oom_kills()
        if count is None or count <= self.seen:
            return False
        self.seen += 1
        return True

    def limit(self):
        return self.cgroup.memory_limit() if self.cgroup is not None else None

    def since_start(self):
        """How many OOM kills the cgroup saw during the run (None if unknown)."""
        if self.start is None:
            return None
        count = self.cgroup.oom_kills()
        return None if count is None else count - self.start


def report(pid):
    """For `inspect`: the memory cgroup of a process, or None when none is found."""
    group = locate(pid)
    if group is None:
        return None
    return {"version": group.version, "path": group.path, "oom_kills": group.oom_kills(),
            "memory_limit": group.memory_limit()}
