"""The stop hooks: --pre-stop runs when the stop sequence begins, before the
workload gets its stop signal; --post-stop runs once the workload's whole tree is
gone, before initapp exits. Imported only when one of them is given.

A hook is a child of initapp like the workload: started by the same code (its own
process group, the signal state initapp inherited, no shell for a word-only
command), reaped by the same loop, and bounded by a time of its own on the loop's
clock. The signal and reaping path never waits for one: a hook that does not end
is killed at its time, by its process group, and the stop goes on."""

import os

from initapp import log, signals, spawn
from initapp.defaults import (MSG_HOOK_CANNOT_START, MSG_HOOK_ENDED, MSG_HOOK_KILLED,
                              MSG_HOOK_SKIPPED)


def argv(text):
    """A COMMAND string's argument vector: split like a shell when made of words
    only (no shell is needed: it runs on distroless), else /bin/sh -c."""
    from initapp import command

    return command.argv(text)


class Hook:
    """One run of a hook command: its pid while it runs, and when it must end."""

    def __init__(self, name, text, inherited, env_changes):
        self.name = name            # "pre-stop" or "post-stop"
        self.text = text
        self.inherited = inherited  # the signal state initapp was started with
        self.env_changes = env_changes
        self.pid = None
        self.until = None           # when it is killed if still running
        self.status = None          # its wait status, once reaped
        self.tried = False          # the post-stop hook runs once at most

    @property
    def running(self):
        return self.pid is not None and self.status is None

    def start(self, until, extra_env=None):
        """Start the command; False (after one line saying why) if it could not be."""
        changes = dict(self.env_changes)
        changes.update(extra_env or {})
        launch = spawn.Launch(argv(self.text), self.inherited, env_changes=changes)
        launch.rewrite_listen_pid = False  # socket activation is the workload's only
        try:
            self.pid = spawn.spawn(launch)
        except OSError as error:
            log.warning(MSG_HOOK_CANNOT_START.format(hook=self.name, error=error.strerror))
            return False
        self.until = until
        log.info("started the %s hook as pid %d" % (self.name, self.pid), "hook",
                 hook=self.name, pid=self.pid, state="started")
        return True

    def ended(self, status):
        """The hook was reaped: its failure is logged, nothing more."""
        self.status = status
        from initapp.exitcode import describe

        what = describe(status)
        level = log.info if status == 0 else log.warning
        level(MSG_HOOK_ENDED.format(hook=self.name, pid=self.pid, what=what), "hook",
              hook=self.name, pid=self.pid, state="ended", status=what)

    def expire(self, now):
        """Kill the hook's process group when its time is up. True when it did."""
        if not self.running or self.until is None or now < self.until:
            return False
        try:
            os.killpg(self.pid, signals.SIGKILL)
        except OSError:
            pass  # it ended meanwhile (not yet reaped)
        log.warning(MSG_HOOK_KILLED.format(hook=self.name, pid=self.pid), "hook",
                    hook=self.name, pid=self.pid, state="killed")
        self.until = None
        return True

    def forward(self, signo):
        """A signal received while the post-stop hook runs goes to its group."""
        try:
            os.killpg(self.pid, signo)
        except OSError:
            pass


def skipped(name, why):
    log.warning(MSG_HOOK_SKIPPED.format(hook=name, why=why), "hook", hook=name, state="skipped")
