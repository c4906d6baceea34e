"""Before the workload: secrets from files (--file-env) and start-up scripts
(--pre-start), the steps a shell entrypoint takes before its `exec "$@"`.
Imported only when one of the two is used: the start of a command without them
does not pay for this module.

--file-env NAME: initapp reads the file itself, before anything starts and
before --user applies to anything (a secret only root may read works when
initapp runs as root). A value is bytes, as the environment is.

--pre-start: each script is a child like the workload: started by spawn, in its
own process group, and supervised by the same loop (signals forwarded to it,
orphans reaped, a stop signal starting the stop sequence and its one deadline).
They run one after another, as initapp's own user. A script hands variables on
by writing NAME=VALUE lines to $INITAPP_ENV_FILE, /proc/self/fd/N: N is a memfd
initapp made (no file system: a read-only root works; only a process holding
the descriptor can open it). /proc/self is whoever opens the path, and each
script inherits the descriptor under the same number, so the path works for the
script and for what it starts with its descriptors (a `su` or `gosu` to another
user included). The descriptor is open in the scripts only: initapp closes it
before the workload starts."""

import errno
import os
import stat
import time

from initapp import log, signals, spawn
from initapp.defaults import (ENV_ENTRY_BYTES, ENV_FILE_BYTES, ENV_FILE_PATH, ENV_FILE_VARIABLE,
                              EXIT_INTERNAL, EXIT_UNREAPED, EXIT_USAGE, FILE_ENV_SUFFIX,
                              MSG_ENV_FILE_BAD, MSG_ENV_FILE_FAILED, MSG_ENV_FILE_TOO_BIG,
                              MSG_FILE_ENV_BOTH, MSG_FILE_ENV_NEITHER, MSG_FILE_ENV_NUL,
                              MSG_FILE_ENV_SET, MSG_FILE_ENV_TOO_BIG, MSG_FILE_ENV_UNREADABLE,
                              MSG_PRE_START_BAD, MSG_PRE_START_FAILED, MSG_PRE_START_HANDED,
                              MSG_PRE_START_RUNNING, MSG_PRE_START_SCRIPT, MSG_PRE_START_SKIPPED,
                              MSG_PRE_START_STOP_SIGNAL, MSG_PRE_START_STOPPED,
                              MSG_PRE_START_UNUSABLE,
                              MSG_SCRIPT_FORK_FAILED, MSG_SCRIPT_UNREAPED, SIGNAL_EXIT_BASE)
from initapp.exitcode import Ending, describe, from_status
from initapp.loop import Supervisor
from initapp.shutdown import Shutdown
from initapp.tree import Tree


class Plan:
    """What runs before the workload, found before anything starts."""

    def __init__(self, secrets, scripts, skipped=()):
        self.secrets = secrets    # {NAME: value, NAME_FILE: None (taken away)}
        self.scripts = scripts    # absolute paths (bytes), or None without --pre-start
        self.skipped = skipped    # (path, why) of the directory's other entries

    def run_scripts(self, config, launch, pid1, oom):
        return run(self, config, launch, pid1, oom)


def plan(config):
    """The Plan, or None after a one-line error (exit 2: nothing has started)."""
    secrets = {}
    for name in dict.fromkeys(config.file_env):   # a name given twice is read once
        found = read_secret(name)
        if found is None:
            return None
        secrets.update(found)
    scripts, skipped = None, []
    if config.pre_start is not None:
        scripts = find_scripts(config.pre_start, config.origin.get("pre_start", "--pre-start"),
                               skipped)
        if scripts is None:
            return None
    return Plan(secrets, scripts, skipped)


# -- --file-env -------------------------------------------------------------------------

def read_secret(name):
    """{NAME: value, NAME_FILE: None} from the file $NAME_FILE names; {} when NAME
    alone is set (it is kept as it is, as file_env does); None after an error.
    Empty counts as unset, as in file_env (`${VAR:-}`)."""
    file_name = name + FILE_ENV_SUFFIX
    value = os.environb.get(os.fsencode(name))
    path = os.environb.get(os.fsencode(file_name))
    words = {"name": name, "file": file_name, "path": log.quoted(os.fsdecode(path or b""))}
    if not path:
        if value:
            return {}
        log.error(MSG_FILE_ENV_NEITHER.format(**words), "usage")
        return None
    if value:
        log.error(MSG_FILE_ENV_BOTH.format(**words), "usage")
        return None
    try:
        content = read_bounded(path, ENV_ENTRY_BYTES)
    except OSError as error:
        log.error(MSG_FILE_ENV_UNREADABLE.format(error=error.strerror, **words), "usage")
        return None
    if content.endswith(b"\n"):   # one, as `echo secret > file` writes it
        content = content[:-1]
    if b"\0" in content:
        log.error(MSG_FILE_ENV_NUL.format(**words), "usage")
        return None
    if len(os.fsencode(name)) + len(content) + 2 > ENV_ENTRY_BYTES:   # "=" and the NUL
        log.error(MSG_FILE_ENV_TOO_BIG.format(limit=ENV_ENTRY_BYTES, **words), "usage")
        return None
    if log.enabled(log.DEBUG):   # the size only: never the value
        log.debug(MSG_FILE_ENV_SET.format(size=len(content), **words), "file_env", name=name,
                  file=file_name, path=os.fsdecode(path), size=len(content))
    return {name: os.fsdecode(content), file_name: None}


def read_bounded(path, limit):
    """At most limit + 1 bytes of a regular file (so that more can be told).
    Opened without blocking: a FIFO is refused, never waited on."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


# -- --pre-start: which scripts ---------------------------------------------------------

def find_scripts(path, where, skipped):
    """The scripts, as absolute paths: PATH itself when it is an executable file;
    when it is a directory, every executable regular file in it (symbolic links
    followed), in byte order of their names; each other entry goes to skipped
    (warned about when the scripts run: a usage error found after this one is
    still the only line). None after a one-line error."""
    full = os.path.abspath(os.fsencode(path))
    try:
        mode = os.stat(full).st_mode
        names = sorted(os.listdir(full)) if stat.S_ISDIR(mode) else None
    except OSError as error:
        log.error(MSG_PRE_START_UNUSABLE.format(where=where, path=log.quoted(path),
                                                error=error.strerror), "usage")
        return None
    if names is None:
        why = not_runnable(full, mode)
        if why is not None:
            log.error(MSG_PRE_START_BAD.format(where=where, path=log.quoted(path), why=why),
                      "usage")
            return None
        return [full]
    scripts = []
    for name in names:
        script = os.path.join(full, name)
        why = not_runnable(script)
        if why is None:
            scripts.append(script)
        else:
            skipped.append((log.clip(os.fsdecode(script)), why))
    return scripts


def not_runnable(path, mode=None):
    """Why path is no script initapp runs, or None when it is one."""
    if mode is None:
        try:
            mode = os.stat(path).st_mode
        except OSError as error:   # a dangling symbolic link
            return error.strerror
    if stat.S_ISDIR(mode):
        return "a directory"
    if not stat.S_ISREG(mode):
        return "not a regular file"
    if not os.access(path, os.X_OK):
        return "not executable"
    return None


# -- --pre-start: running them ----------------------------------------------------------

def run(plan, config, launch, pid1, oom):
    """Run the scripts one after another. None when every one succeeded: the
    workload's changes (launch.env_changes) then hold what they handed on, and
    no INITAPP_ENV_FILE. Otherwise initapp's exit code, the tree already gone."""
    for shown, why in plan.skipped:
        log.warning(MSG_PRE_START_SKIPPED.format(path=shown, why=why), "pre_start_skipped",
                    script=shown, reason=why)
    try:
        env_file = EnvFile()
    except (AttributeError, OSError) as error:   # no memfd_create (a seccomp filter)
        log.error(MSG_ENV_FILE_FAILED.format(error=getattr(error, "strerror", None)
                                             or "no memfd_create"))
        return EXIT_INTERNAL
    try:
        handed = {}
        shared = dict(plan.secrets)     # as the workload gets them, without --user's
        shared.update(item.split("=", 1) for item in config.env)
        for script in plan.scripts:
            code = run_script(script, env_file, shared, handed, config, launch, pid1, oom)
            if code is not None:
                return code
    finally:
        env_file.close()
    # The scripts have the last word, as an entrypoint's export before its exec.
    launch.env_changes.update(handed)
    launch.env_changes[ENV_FILE_VARIABLE] = None
    return None


def run_script(script, env_file, shared, handed, config, launch, pid1, oom):
    """Run one script to its end; None when it succeeded (handed then holds what
    it handed on too), else initapp's exit code."""
    name = log.clip(os.fsdecode(script))
    changes = dict(shared)
    changes.update(handed)
    changes[ENV_FILE_VARIABLE] = env_file.path
    step = spawn.Launch([os.fsdecode(script)], launch.inherited, launch.foreground,
                        launch.session, env_changes=changes, names=launch.names)
    step.rewrite_listen_pid = False   # the workload holds the sockets, not a script
    try:
        pid = spawn.spawn(step)
    except OSError as error:
        log.error(MSG_SCRIPT_FORK_FAILED.format(script=name, error=error.strerror))
        return EXIT_INTERNAL
    log.info(MSG_PRE_START_RUNNING.format(script=name, pid=pid), "pre_start", script=name,
             pid=pid)
    supervisor = ScriptSupervisor(config, pid, name, pid1, oom, env_file)
    supervisor.terminal = spawn.on_terminal() and not config.session
    code = supervisor.run()
    if code is None:
        if supervisor.handed and log.enabled(log.DEBUG):   # the names only, never a value
            names = sorted(supervisor.handed)
            log.debug(MSG_PRE_START_HANDED.format(script=name, names=", ".join(names)),
                      "pre_start_env", script=name, names=names)
        handed.update(supervisor.handed)
    return code


class ScriptSupervisor(Supervisor):
    """The loop, with a script as its main child. When the script exits 0 with no
    stop under way, run() returns None at once: its orphans live on (a daemon it
    started), and the next step starts. Otherwise the start ends as the
    workload's run would: the rest of the tree is stopped within the deadline,
    and run() returns initapp's exit code."""

    def __init__(self, config, pid, script, pid1, oom, env_file):
        tree = Tree(pid1, pid, config.single_child)
        # No --timeout: it limits the workload's run, not the start-up.
        shutdown = StartShutdown(config.grace, tree, time.monotonic)
        ending = ScriptEnding(pid, script, oom, time.monotonic, config.command)
        super().__init__(config, pid, tree, shutdown, time.monotonic, ending)
        self.env_file = env_file
        self.handed = None        # what the script handed on, once it succeeded

    def reaped(self, pid, status):
        super().reaped(pid, status)
        if pid == self.child and status == 0 and not self.shutdown.active:
            self.handed = self.env_file.take(self.ending)

    def main_passed(self):
        return self.handed is not None

    def exit_code(self):
        if self.handed is not None:
            return None
        return super().exit_code()


class StartShutdown(Shutdown):
    """The stop sequence during start-up; remembers the first stop signal, the
    exit code's 128+N when the script it stopped exits 0."""

    signo = None

    def stop_signal(self, signo, force_on_repeat=False):
        if self.signo is None:
            self.signo = signo
        return super().stop_signal(signo, force_on_repeat)


class ScriptEnding(Ending):
    """How a script ended, in words, and the exit code when it ends the start."""

    def __init__(self, pid, script, oom, clock, command):
        super().__init__(pid, [script], oom, clock)
        self.script = script
        self.who = MSG_PRE_START_SCRIPT.format(script=script, pid=pid)
        self.target = log.clip(command[0])
        self.code = None          # 2 after a bad line in $INITAPP_ENV_FILE

    def main_ended(self, status, killed_by_init):
        what = describe(status)
        self.main = "%s %s" % (self.who, what)
        log.info(self.main, "pre_start_ended", script=self.script, pid=self.pid, status=what)

    def bad_env_file(self, message):
        self.code = EXIT_USAGE
        self.main = message

    def exit_code(self, status, shutdown, success_codes):
        """A failure's own code (128+N for a signal), 2 for a bad $INITAPP_ENV_FILE;
        a script stopped during start-up that exits 0 gives 128+N of the stop
        signal: the workload never ran, which is no success. --success-code is
        the workload's, not the scripts'."""
        if status is None:
            code, why = EXIT_UNREAPED, MSG_SCRIPT_UNREAPED.format(who=self.who)
        elif self.code is not None:
            code, why = self.code, self.main
        else:
            code, why = from_status(status), self.main
            if code == 0 and shutdown.signo is not None:
                code = SIGNAL_EXIT_BASE + shutdown.signo
                why = MSG_PRE_START_STOP_SIGNAL.format(why=why, signal=signals.name(shutdown.signo))
        fields = {"script": self.script, "pid": self.pid, "code": code}
        if shutdown.signo is not None:
            log.info(MSG_PRE_START_STOPPED.format(why=why, command=self.target),
                     "pre_start_stopped", **fields)
        else:
            log.error(MSG_PRE_START_FAILED.format(why=why, command=self.target),
                      "pre_start_failed", **fields)
        self.summarize(code, why, status, shutdown)
        return code


class EnvFile:
    """$INITAPP_ENV_FILE: a memfd, read and emptied after each script."""

    def __init__(self):
        self.fd = os.memfd_create("INITAPP_ENV_FILE", 0)
        # Inherited by the scripts (initapp starts nothing else meanwhile); closed
        # before the workload starts.
        os.set_inheritable(self.fd, True)
        self.path = ENV_FILE_PATH.format(fd=self.fd)

    def close(self):
        os.close(self.fd)

    def take(self, ending):
        """The variables the script wrote, and the file emptied for the next one;
        None after a bad line or too much (said in one line, which never shows
        what the line holds: it may be a secret)."""
        size = os.fstat(self.fd).st_size
        if size > ENV_FILE_BYTES:
            data = None
        else:
            data = os.pread(self.fd, size + 1, 0)
        os.ftruncate(self.fd, 0)
        if data is None or len(data) > ENV_FILE_BYTES:
            ending.bad_env_file(MSG_ENV_FILE_TOO_BIG.format(script=ending.who,
                                                            limit=ENV_FILE_BYTES))
            return None
        try:
            return parse_env_file(data)
        except EnvFileError as error:
            ending.bad_env_file(MSG_ENV_FILE_BAD.format(script=ending.who, line=error.line,
                                                        why=error.why))
            return None


class EnvFileError(Exception):
    def __init__(self, line, why):
        super().__init__(line, why)
        self.line, self.why = line, why


def parse_env_file(data):
    """{NAME: VALUE} from lines NAME=VALUE, split on \\n only (a CRLF ends a line
    too); empty lines and lines starting with # are skipped; a name set twice
    takes its last value. VALUE is everything after the first "=", bytes kept as
    they are (no quotes, no escapes). Raises EnvFileError naming the line."""
    found = {}
    for number, line in enumerate(data.split(b"\n"), 1):
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line or line.startswith(b"#"):
            continue
        name, equals, value = line.partition(b"=")
        if b"\0" in line:
            raise EnvFileError(number, "holds a NUL byte")
        if not equals:
            raise EnvFileError(number, "has no '='")
        if not name:
            raise EnvFileError(number, "has no name before '='")
        if any(byte <= 0x20 or byte == 0x7f for byte in name):
            raise EnvFileError(number, "has a space or a control character in its name")
        if name == ENV_FILE_VARIABLE.encode():
            raise EnvFileError(number, "sets %s, which is initapp's own" % ENV_FILE_VARIABLE)
        found[os.fsdecode(name)] = os.fsdecode(value)
    return found
