"""initapp's entry point: a checklist of steps, as an init's main should read.

Only what the workload's start needs is imported before it: the loop and what
it uses (loop, tree, shutdown, exitcode, cgroup) are imported once the child
runs, while it runs."""

import os
import sys
import time

from initapp import cli, log, signals, spawn
from initapp.defaults import (EXIT_INTERNAL, EXIT_USAGE, LICENSE, MSG_BAD_USER,
                              MSG_BAD_WORKDIR, MSG_FORK_FAILED, MSG_NO_COMMAND,
                              MSG_PDEATHSIG_FAILED, MSG_RELAY_FAILED, MSG_SUBREAPER_FAILED)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] in (["inspect"], ["probe"], ["install"]):
        collect_garbage()  # ordinary programs: the collector as usual
    if argv[:1] == ["inspect"]:  # a subcommand; `init.pyz -- inspect` runs a program
        from initapp import inspect

        signals.unblock()  # Ctrl-C stops it
        return inspect.main(argv[1:])
    if argv[:1] == ["probe"]:  # a subcommand too; `init.pyz -- probe` runs a program
        from initapp import probe

        signals.unblock()  # an engine's kill of a probe ends it; its command gets the mask
        return probe.main(argv[1:])
    if argv[:1] == ["install"]:  # `init.pyz -- install` runs a program named install
        from initapp import install

        signals.unblock()  # its interpreter runs and the new file get the mask as exec'd
        return install.main(argv[1:])
    config = parse_arguments(argv)
    if not isinstance(config, cli.Config):
        return config
    # Before anything else can raise a signal: releasing the terminal for
    # --session sends SIGHUP to initapp's own group.
    inherited = signals.take_over()
    before = None
    if config.file_env or config.pre_start is not None:
        before = plan_before(config)
        if before is None:
            return EXIT_USAGE
    launch = plan_launch(config, inherited, before)
    if launch is None:
        return EXIT_USAGE
    if config.plan is not None and any(proc.check for proc in config.plan[0]):
        # READY=1 is initapp's to send, once every checked process is ready.
        launch.env_changes["NOTIFY_SOCKET"] = None
    pid1 = os.getpid() == 1
    set_parent_death_signal(config)
    if not pid1:
        register_subreaper()
    oom = None
    if before is not None and before.scripts is not None:
        collect_garbage()
        oom = watch_oom()
        code = before.run_scripts(config, launch, pid1, oom)   # children of the init
        if code is not None:
            return code
    if config.plan is not None:
        collect_garbage()
        return run_several(config, launch, pid1, oom or watch_oom())
    child = spawn_workload(config, launch)
    if child is None:
        return EXIT_INTERNAL
    began = time.monotonic()   # --timeout counts from here, not from the loop's start
    collect_garbage()
    if oom is None:
        oom = watch_oom()
    close_inherited_fds()
    keep_relative_archive()
    os.chdir("/")  # do not pin the workload's directory or its mount
    return supervise(config, child, pid1, launch, oom, began)


def parse_arguments(argv):
    """The Config to run (the log configured by it), or the exit code when there is
    nothing to run. A usage error is reported as --log-format and --log-time say."""
    try:
        config = cli.parse(argv)
    except cli.UsageError as error:
        log.configure(log.ERROR, error.log_format, error.log_time)
        log.error(str(error), "usage")
        return EXIT_USAGE
    log.configure(config.verbosity, config.log_format, config.log_time)
    if config.action == "help":
        sys.stdout.write(cli.usage())
        return 0
    if config.action == "version":
        from initapp import install

        sys.stdout.write(install.describe())
        return 0
    if config.action == "license":
        sys.stdout.write(LICENSE)
        return 0
    config.plan = None
    if config.several():
        from initapp import procs

        try:
            config.plan = procs.plan(config)
        except cli.UsageError as error:
            log.error(str(error), "usage")
            return EXIT_USAGE
        if config.plan[0]:
            config.command = config.plan[0][config.plan[1]].argv
    if not config.command:
        log.error(MSG_NO_COMMAND, "usage")
        return EXIT_USAGE
    return config


def release_set(config):
    """The set of bytecode is one block of memory, read whole at start, from which
    each module is unmarshalled as it is imported. Once the loop's modules are in,
    the init keeps only the code it may still import (a copy, small) and lets the
    block go: the other modes' and subcommands' modules stay out of its idle
    memory (216 KiB less RssAnon as PID 1 on 3.11). A module left out would still
    import, from its source."""
    # Lists, not set constants: a frozenset's order in the bytecode varies from
    # build to build (string hashing), and the build must give the same bytes.
    unused = ["inspect", "probe", "install", "archive", "set_finder", "__main__",
              "startup", "privileges"]   # the last two: imported at the start or never
    if not config.several():
        unused += ["procs", "relay", "checks"]
        if config.pre_stop is None and config.post_stop is None:
            unused += ["hooks", "command"]
    for finder in sys.meta_path:
        if hasattr(finder, "keep_only"):   # the set's finder (none when run from source)
            finder.keep_only([name for name in finder.modules
                              if name.rpartition(".")[2] not in unused])


def collect_garbage():
    """The archive's __main__ turns the cyclic garbage collector off for the start:
    it finds nothing there, and each of its runs took 0.1 ms. It runs again from
    here, over what is made from now: what the start made lives as long as
    initapp, and is frozen out of its scans."""
    import gc

    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def watch_oom():
    """The OOM kill counter of initapp's memory cgroup, read now (the single
    command's is read just after its start, while it starts); read again only when
    a process dies of SIGKILL: a rise tells that the OOM killer did it."""
    from initapp import cgroup

    return cgroup.OomWatch(cgroup.locate())


def plan_before(config):
    """--file-env and --pre-start: the secrets read and the scripts found, or None
    after a one-line error."""
    from initapp import startup

    return startup.plan(config)


def plan_launch(config, inherited, before=None):
    """What the child needs, or None after a one-line error (a bad --user or
    --workdir: what can be checked before anything starts is a usage error)."""
    spawn.undo_locale_coercion()
    credentials, env_changes = None, {}
    if before is not None:
        env_changes.update(before.secrets)   # below --user's and --env's
    if config.user is not None:
        from initapp import privileges

        try:
            credentials = privileges.resolve(config.user)
        except (ValueError, OverflowError) as error:
            log.error(MSG_BAD_USER.format(where=config.origin["user"], error=error), "usage")
            return None
        env_changes.update(privileges.environment(credentials))
    # Whether the child may enter it (as --user) shows only after the fork: exit 1.
    if config.workdir is not None and not os.path.isdir(config.workdir):
        log.error(MSG_BAD_WORKDIR.format(where=config.origin["workdir"],
                                         dir=log.quoted(config.workdir)), "usage")
        return None
    env_changes.update(item.split("=", 1) for item in config.env)
    foreground = spawn.owns_terminal()
    if foreground and config.session:
        spawn.release_terminal()
    return spawn.Launch(config.command, inherited, foreground, config.session, credentials,
                        config.workdir, env_changes, config.origin)


def set_parent_death_signal(config):
    if config.parent_death_signal is not None:
        from initapp.prctl import PR_SET_PDEATHSIG, prctl

        error = prctl(PR_SET_PDEATHSIG, config.parent_death_signal)
        if error is not None:
            log.warning(MSG_PDEATHSIG_FAILED.format(error=error))


def register_subreaper():
    from initapp import subreaper

    error = subreaper.register()
    if error is not None:
        log.warning(MSG_SUBREAPER_FAILED.format(error=error))


def spawn_workload(config, launch):
    try:
        child = spawn.spawn(launch)
    except OSError as error:
        log.error(MSG_FORK_FAILED.format(cmd=log.clip(config.command[0]), error=error.strerror))
        return None
    log.info("started %s as pid %d" % (log.clip(config.command[0]), child), "started",
             pid=child, command=config.command)
    return child


def open_fds():
    """The descriptors open now (not the listing's own, closed once listed)."""
    try:
        fds = [int(fd) for fd in os.listdir("/proc/self/fd")]
    except OSError:
        return []
    found = []
    for fd in fds:
        try:
            os.fstat(fd)
            found.append(fd)
        except OSError:
            pass
    return found


def close_inherited_fds(fds=None):
    """The child keeps what initapp inherited (LISTEN_FDS, pipes); the init keeps
    only stdio (and its own way to stderr), so it holds no socket or file open
    behind the workload's back. fds: those open before initapp made its own."""
    if fds is None:
        fds = open_fds()
    for fd in fds:
        if fd > 2 and fd != log.kept_fd:
            try:
                os.close(fd)
            except OSError:
                pass  # the directory listing's own fd, already closed


def keep_relative_archive():
    """Started by a relative path (./init), initapp's command line no longer names
    its archive once it has changed to /: an O_PATH descriptor of the archive (it
    reads nothing) lets `init.pyz inspect` still recognise it."""
    path = sys.argv[0]
    if not path.startswith("/"):
        try:
            os.open(path, os.O_PATH)
        except OSError:
            pass


def run_several(config, launch, pid1, oom):
    """Several processes (or one with their options): the same Supervisor, with
    procs.Several for what differs. Only the processes started first get the
    descriptors initapp inherited (LISTEN_FDS): those are closed in initapp then."""
    from initapp import procs

    inherited_fds = open_fds()
    plan, main = config.plan
    if launch.workdir is None:
        # initapp leaves its directory (below); a process started later (a
        # restart, one held back by --ready) still starts where the first did.
        try:
            launch.workdir = os.getcwd()
        except OSError:
            pass
    supervisor = make_supervisor(config, 0, pid1, launch, oom)
    supervisor.terminal = False
    relay = None
    if config.log_prefix and len(plan) > 1:
        from initapp.relay import Relay

        try:
            relay = Relay([proc.name for proc in plan])
            relay.start()
        except (OSError, RuntimeError) as error:   # out of descriptors, or of threads
            log.error(MSG_RELAY_FAILED.format(error=getattr(error, "strerror", None) or error),
                      "not_started")
            return EXIT_INTERNAL
    supervisor.notify_socket = os.environ.get("NOTIFY_SOCKET")
    several = procs.Several(supervisor, plan, main, launch, relay)
    supervisor.several = several
    if not several.start() and supervisor.status is None and several.next == 1:
        return EXIT_INTERNAL
    close_inherited_fds(inherited_fds)
    keep_relative_archive()
    os.chdir("/")
    release_set(config)
    return supervisor.run()


def make_supervisor(config, child, pid1, launch, oom):
    from initapp.exitcode import Ending
    from initapp.loop import Supervisor
    from initapp.shutdown import Shutdown
    from initapp.tree import Tree

    tree = Tree(pid1, child, config.single_child)
    shutdown = Shutdown(config.grace, tree, time.monotonic, config.timeout)
    ending = Ending(child, config.command, oom, time.monotonic)
    supervisor = Supervisor(config, child, tree, shutdown, time.monotonic, ending)
    if config.pre_stop is not None or config.post_stop is not None:
        add_hooks(config, supervisor, launch)
    return supervisor


def supervise(config, child, pid1, launch, oom, began):
    supervisor = make_supervisor(config, child, pid1, launch, oom)
    supervisor.shutdown.started = began
    supervisor.terminal = spawn.on_terminal() and not config.session
    release_set(config)
    return supervisor.run()


def add_hooks(config, supervisor, launch):
    """--pre-stop and --post-stop run as initapp's user, in its environment with the
    --env items (not --user's HOME and USER): the workload's --user is its own."""
    from initapp.hooks import Hook

    changes = dict(item.split("=", 1) for item in config.env)
    if config.pre_stop is not None:
        supervisor.pre_stop = Hook("pre-stop", config.pre_stop, launch.inherited, changes)
    if config.post_stop is not None:
        supervisor.post_stop = Hook("post-stop", config.post_stop, launch.inherited, changes)
