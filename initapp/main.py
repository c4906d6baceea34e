"""initapp's entry point: a checklist of steps, as an init's main should read."""

import os
import sys
import time

from initapp import cli, log, signals, spawn, subreaper
from initapp.loop import Supervisor
from initapp.shutdown import Shutdown
from initapp.tree import Tree
from initapp.defaults import (EXIT_INTERNAL, EXIT_USAGE, MSG_FORK_FAILED, MSG_NO_COMMAND,
                              MSG_SUBREAPER_FAILED)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    config = parse_arguments(argv)
    if not isinstance(config, cli.Config):
        return config
    log.configure(config.verbosity)
    inherited = signals.take_over()
    pid1 = os.getpid() == 1
    if not pid1:
        register_subreaper()
    child = spawn_workload(config, inherited)
    if child is None:
        return EXIT_INTERNAL
    os.chdir("/")  # do not pin the workload's directory or its mount
    return supervise(config, child, pid1)


def parse_arguments(argv):
    """The Config to run, or the exit code when there is nothing to run."""
    try:
        config = cli.parse(argv)
    except cli.UsageError as error:
        log.error(str(error))
        return EXIT_USAGE
    if config.action == "help":
        sys.stdout.write(cli.usage())
        return 0
    if config.action == "version":
        from initapp import __version__
        sys.stdout.write("initapp %s\n" % __version__)
        return 0
    if not config.command:
        log.error(MSG_NO_COMMAND)
        return EXIT_USAGE
    return config


def register_subreaper():
    error = subreaper.register()
    if error is not None:
        log.warning(MSG_SUBREAPER_FAILED.format(error=error))


def spawn_workload(config, inherited):
    try:
        child = spawn.spawn(config.command, inherited, spawn.owns_terminal())
    except OSError as error:
        log.error(MSG_FORK_FAILED.format(cmd=config.command[0], error=error.strerror))
        return None
    log.info("started %s as pid %d" % (config.command[0], child))
    return child


def supervise(config, child, pid1):
    tree = Tree(pid1, child)
    shutdown = Shutdown(config.grace, tree, time.monotonic)
    return Supervisor(config, child, tree, shutdown, time.monotonic).run()
