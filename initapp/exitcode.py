"""From a wait status to the exit code of the init, as a shell would report it,
and the words for how the run ended: the main child's end (an OOM kill named as
one) and one summary event at exit.

The loop hands over what it already knows (the wait status, a reap, a SIGKILL
death); nothing here runs on the path of a forwarded signal."""

import os

from initapp import cgroup, log, signals
from initapp.defaults import (EXIT_TIMEOUT, EXIT_UNREAPED, MSG_EXIT, MSG_MAIN, MSG_OOM,
                              MSG_OOM_TREE, MSG_SUMMARY_FORCED, MSG_SUMMARY_KILLED,
                              MSG_TIMED_OUT, MSG_UNREAPED, SIGNAL_EXIT_BASE)
from initapp.tree import shorten

# The raw wait status of a process killed by SIGKILL (no core dump is possible):
# the reap path compares against it without decoding every status.
KILLED = signals.SIGKILL
# A shell reports a child it saw die of SIGKILL with this code.
SHELL_KILLED = SIGNAL_EXIT_BASE + signals.SIGKILL


def from_status(status):
    if os.WIFSIGNALED(status):
        return SIGNAL_EXIT_BASE + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def describe(status):
    if os.WIFSIGNALED(status):
        name = signals.name(os.WTERMSIG(status))
        core = " (core dumped)" if os.WCOREDUMP(status) else ""
        return "killed by %s%s" % ("signal " + name if name.isdigit() else name, core)
    return "exited with %d" % os.WEXITSTATUS(status)


# Wait statuses worth a look at the cgroup's OOM counter: killed by SIGKILL, or a
# shell (or any parent) that reports a child it saw killed so, as exit 137.
_MAYBE_OOM = frozenset((KILLED, SHELL_KILLED << 8))


class Ending:
    def __init__(self, pid, command, oom, clock):
        self.pid = pid
        self.command = shorten(" ".join(command))
        self.oom = oom             # a cgroup.OomWatch
        self.clock = clock
        self.reaped = 0            # processes reaped, the main child included
        self.main = None           # the main child's end, in words
        self.main_oom = False
        self.limit = None          # the memory limit, read when an OOM kill is found
        self.processes = None      # several processes: each one's summary (procs.py)
        self.tree_gone = None      # ... and when the last was gone (the relay then writes)

    def other_killed(self, pid):
        """A process of the tree other than the main child died of SIGKILL (not
        initapp's: those at the deadline are not looked at)."""
        if self.oom.killed():
            limit = self.oom.limit()
            log.warning(MSG_OOM.format(who="process %d" % pid, limit=cgroup.size(limit)), "oom",
                        pid=pid, oom=True, memory_limit=limit)

    def main_ended(self, status, killed_by_init):
        who = MSG_MAIN.format(pid=self.pid, command=self.command)
        what = describe(status)
        if not killed_by_init:
            self.main = self.oom_killed(who, status, "reaped", pid=self.pid, status=what,
                                        main=True)
            if self.main:
                self.main_oom = True
                return
        self.main = "%s %s" % (who, what)
        log.info(self.main, "reaped", pid=self.pid, status=what, main=True)

    def oom_killed(self, who, wait_status, event="oom", **fields):
        """When the OOM killer ended who (its wait status says SIGKILL, or 137 from
        a shell, and the cgroup's counter rose): warn, and return the words; else
        None. Not for a process initapp itself killed at the deadline."""
        if wait_status not in _MAYBE_OOM or not self.oom.killed():
            return None
        self.limit = self.oom.limit()
        words = cgroup.size(self.limit)
        message = MSG_OOM.format(who=who, limit=words) if wait_status == KILLED \
            else MSG_OOM_TREE.format(who=who, code=from_status(wait_status), limit=words)
        log.warning(message, event, oom=True, memory_limit=self.limit, **fields)
        return message

    def exit_code(self, status, shutdown, success_codes):
        """The init's exit code, told in one summary event."""
        code, why = self.outcome(status, shutdown, success_codes)
        self.summarize(code, why, status, shutdown)
        return code

    def outcome(self, status, shutdown, success_codes):
        """(code, why): the init's exit code and the reason in words."""
        if status is None:
            code, why = EXIT_UNREAPED, MSG_UNREAPED.format(pid=self.pid, command=self.command)
        else:
            code, why = from_status(status), self.main
            if code in success_codes:
                code, why = 0, why + ", a --success-code"
        if shutdown.timed_out:
            code, why = EXIT_TIMEOUT, MSG_TIMED_OUT.format(seconds=shutdown.limit, why=why)
        return code, why

    def summarize(self, code, why, status, shutdown):
        if not (log.json_format or log.enabled(log.INFO)):
            return
        now = self.clock()
        gone = now if self.tree_gone is None else self.tree_gone
        oom_kills = self.oom.since_start()
        killed = shutdown.killed
        fields = {
            "code": code, "reason": why, "pid": self.pid,
            "status": None if status is None else describe(status),
            "oom": self.main_oom, "memory_limit": self.limit, "oom_kills": oom_kills,
            "runtime": round(now - shutdown.started, 3), "reaped": self.reaped,
            "timed_out": shutdown.timed_out, "stop": shutdown.why,
            "stop_at": None if shutdown.began is None else round(shutdown.began - shutdown.started, 3),
            "stop_took": None if shutdown.began is None else round(gone - shutdown.began, 3),
            "killed": killed[1] if killed else [], "killed_count": killed[2] if killed else 0,
            "forced_by": shutdown.forced_by,
        }
        parts = [MSG_EXIT.format(code=code, why=why), "ran %.2fs" % fields["runtime"]]
        if shutdown.began is not None:
            parts.append("stop: %s at %.2fs, the tree took %.2fs to exit"
                         % (shutdown.why, fields["stop_at"], fields["stop_took"]))
        if self.tree_gone is not None:
            fields["output_took"] = round(now - gone, 3)
            if fields["output_took"] >= 0.01:
                parts.append("the processes' output took %.2fs more to write"
                             % fields["output_took"])
        parts.append("%d process(es) reaped" % self.reaped)
        if killed:
            parts.append(MSG_SUMMARY_KILLED.format(processes=killed[0]) if shutdown.forced_by is None
                         else MSG_SUMMARY_FORCED.format(signal=shutdown.forced_by,
                                                        processes=killed[0]))
        if self.processes:
            fields["processes"] = self.processes
            parts.append("processes: " + ", ".join(
                ("%(name)s %(ended)s" if proc["pid"] is None else
                 "%(name)s (pid %(pid)s) %(ended)s") % proc
                + ", %d restart(s)" % proc["restarts"] for proc in self.processes))
        if oom_kills:
            parts.append("the OOM killer killed %d process(es) of the cgroup" % oom_kills)
        log.summary("; ".join(parts), "exit", **fields)
