"""Several processes (--run, --procfile) and the per-process options: what the
one loop (loop.Supervisor) does differently when it answers for more than one
process. Imported only when one of those options is used: the start of a
single command does not pay for this module, the Procfile's parsing, the
restarts, the --ready checks or the log relay.

The loop keeps its one path: it reaps, routes signals and runs the stop
sequence as it does for one child; at the few points where several processes
differ (a process's end, a forwarded signal, a timer), it asks Several.

- A process's end: restarted (--restart, within its budget), ended alone
  (--may-exit and exit 0), or an ending process: the stop sequence for all, and
  its exit code is initapp's.
- A forwarded signal reaches every running process (each in its own process
  group; -g: the group); a stop signal (or --stop-with's) starts the stop, in
  --stop-order.
- --ready checks: an exec: check is a child of the loop (reaped by it, so no
  second waitpid competes with the loop's), started as its process is (signal
  state, --user, --workdir, environment; checks.start_command) and never waited
  for: a timer kills its process group when it runs past READY_CHECK_SECONDS,
  and its end, reaped as any child's, counts it as not ready yet; the stop kills
  it at once. What it writes goes to a thread of its own (checks.Output), told
  only in initapp's messages. The others run in a daemon thread with every
  signal blocked, which only sets the answer of the run it checks (a restart
  is a new run), read by the loop's timer. The signal and reaping path never
  waits on a check, nor on the log relay (its own thread, relay.py)."""

import os
import threading
import time

from initapp import log, signals, spawn
from initapp.cli import UsageError
from initapp.defaults import (EXIT_INTERNAL, MSG_CHECK_COMMAND_TIMED_OUT, MSG_CHECK_OUTPUT,
                              MSG_NOTIFY_FAILED, MSG_PROCESS_CANNOT_START,
                              MSG_PROCESS_CHECK_FAILED, MSG_PROCESS_CHECK_NOT_RUN,
                              MSG_PROCESS_CHECK_NOT_STARTED,
                              MSG_PROCESS_CHECK_RUNNING,
                              MSG_PROCESS_ENDED, MSG_PROCESS_GAVE_UP, MSG_PROCESS_LAST_CHECK,
                              MSG_PROCESS_MAY_EXIT, MSG_PROCESS_NOT_CHECKED, MSG_PROCESS_NOT_READY,
                              MSG_PROCESS_NOT_READY_AT_STOP, MSG_PROCESS_NOT_RESTARTED,
                              MSG_PROCESS_NOT_STARTED,
                              MSG_PROCESS_OPTION_TWICE, MSG_PROCESS_READY,
                              MSG_PROCESS_RESTART, MSG_PROCESS_STARTED,
                              MSG_PROCESS_TERMINAL_STOP, MSG_PROCESS_TWICE,
                              MSG_PROCESS_UNKNOWN, MSG_PROCFILE_EMPTY, MSG_PROCFILE_LINE,
                              MSG_PROCFILE_NAME, MSG_PROCFILE_UNREADABLE,
                              MSG_SEVERAL_SINGLE_CHILD, MSG_SEVERAL_TO_ALL, PROCESS_NAME_VARIABLE,
                              READY_CHECK_SECONDS, READY_POLL_SECONDS,
                              RESTART_FIRST_SECONDS, RESTART_GIVE_UP_ENDS,
                              RESTART_GIVE_UP_SECONDS, RESTART_MAX_SECONDS,
                              RESTART_RESET_SECONDS)
from initapp.exitcode import describe, from_status
from initapp.log import quoted


# The terminal's stops of a background process: reading it (or writing it under
# stty tostop, or changing its settings).
_TERMINAL_STOPS = frozenset(signals.parse(name) for name in ("SIGTTIN", "SIGTTOU"))


class Proc:
    """One process: its options, and its state (pid, last wait status, restarts)."""

    def __init__(self, name, text, argv):
        self.name, self.text, self.argv = name, text, argv
        self.restart = "no"
        self.may_exit = False
        self.stop_with = None       # the signal it gets when the stop begins
        self.check = None           # --ready's checks.Check
        self.check_hung = False     # an exec: check ran past its limit (told once)
        self.check_last = None      # why its last check failed (-v, and at the stop)
        self.check_not_run = False  # a check could not be started (told once)
        self.pid = None
        self.status = None          # the last wait status
        self.running = False
        self.done = False           # ended for good (no restart ahead)
        self.ready = False
        self.restarts = 0
        self.started_at = None
        self.ends = []              # when it ended, within the give-up window
        self.backoff = RESTART_FIRST_SECONDS
        self.restart_at = None
        self.stop_pending = None    # --stop-order reverse: the signal it waits to get
        self.how = None             # how it ended, in words, for the summary
        self.oom = False            # the kernel's OOM killer ended it
        # A --may-exit exit 0 before --ready passed: the check's one last answer
        # decides whether it was ready (the next start) or not (an ending process).
        self.awaiting = False
        self.answer = _Answer()     # its check thread's answer (for this run only)
        self.told_stop = None       # the pid whose stop on the terminal was reported

    @property
    def passed(self):
        return self.answer.passed

    @property
    def failed(self):
        return self.answer.failed

    def summary(self):
        return {"name": self.name, "pid": self.pid, "ended": self.how or "running",
                "restarts": self.restarts, "oom": self.oom}


# -- the plan: which processes, with which options --------------------------------------

def plan(config):
    """The processes in start order, and the main one's index. Raises UsageError."""
    procs = []
    if config.procfile is not None:
        procs += read_procfile(config.procfile, config.origin.get("procfile", "--procfile"))
    from initapp import command

    for item in config.runs:
        name, _, text = item.partition("=")
        procs.append(Proc(name, text, command.argv(text)))
    main = 0
    if config.command:
        procs.append(Proc(os.path.basename(config.command[0]) or "command", None,
                          list(config.command)))
        main = len(procs) - 1
    if not procs:
        return procs, main
    by_name = {}
    for proc in procs:
        if proc.name in by_name:
            raise UsageError(MSG_PROCESS_TWICE.format(name=quoted(proc.name)))
        by_name[proc.name] = proc
    if len(procs) > 1:
        for attr, flag in (("single_child", "-c/--single-child"), ("session", "--session")):
            if getattr(config, attr):
                raise UsageError(MSG_SEVERAL_SINGLE_CHILD.format(where=config.origin.get(attr, flag)))
    _per_process(config.restart, "--restart", by_name, "restart")
    _per_process([(name, True) for name in config.may_exit], "--may-exit", by_name, "may_exit")
    _per_process(config.stop_with, "--stop-with", by_name, "stop_with")
    _per_process(config.ready, "--ready", by_name, "check")
    if config.to_all & config.stop_signals:
        what = None
        if any(proc.stop_with for proc in procs):
            what = config.origin.get("stop_with", "--stop-with")
        elif config.stop_order == "reverse":
            what = config.origin.get("stop_order", "--stop-order")
            what += "=reverse" if what.startswith("INITAPP_") else " reverse"
        if what is not None:
            raise UsageError(MSG_SEVERAL_TO_ALL.format(
                to_all=config.origin.get("to_all", "--to-all"), what=what))
    return procs, main


def _per_process(items, flag, by_name, attr):
    seen = set()
    for name, value in items:
        proc = by_name.get(name)
        if proc is None:
            raise UsageError(MSG_PROCESS_UNKNOWN.format(where=flag, name=quoted(name)))
        if name in seen and attr != "may_exit":
            raise UsageError(MSG_PROCESS_OPTION_TWICE.format(where=flag, name=quoted(name)))
        seen.add(name)
        setattr(proc, attr, value)


def read_procfile(path, where):
    """The Procfile's processes: `NAME: COMMAND` lines; blank lines and # comments
    skipped; any other line is a usage error naming its number."""
    from initapp import cli, command

    try:
        with open(path, "rb") as source:
            data = source.read()
    except OSError as error:
        raise UsageError(MSG_PROCFILE_UNREADABLE.format(where=where, file=quoted(path),
                                                        error=error.strerror)) from None
    procs = []
    for number, raw in enumerate(data.split(b"\n"), 1):
        line = os.fsdecode(raw).strip()
        if not line or line.startswith("#"):
            continue
        name, sep, text = line.partition(":")
        text = text.strip()
        try:
            if not sep or not text:
                raise ValueError
            cli.process_name(name.strip())
            argv = command.argv(text)
        except ValueError as error:
            message = str(error)
            if not message or not sep:
                raise UsageError(MSG_PROCFILE_LINE.format(where=where, file=quoted(path),
                                                          line=number, text=quoted(line))) from None
            raise UsageError(MSG_PROCFILE_NAME.format(where=where, file=quoted(path),
                                                      line=number, error=message)) from None
        procs.append(Proc(name.strip(), text, argv))
    if not procs:
        raise UsageError(MSG_PROCFILE_EMPTY.format(where=where, file=quoted(path)))
    return procs


# -- running them ------------------------------------------------------------------------

class Several:
    """The loop's part for its processes (see the module's docstring)."""

    def __init__(self, supervisor, procs, main, launch, relay=None):
        self.sup = supervisor
        self.procs = procs
        self.main = procs[main]
        self.launch = launch        # the shared Launch (--user, --workdir, --env...)
        self.relay = relay
        self.clock = supervisor.clock
        self.stopping = False
        self.cause = None           # the ending process, when one started the stop
        self.next = 0               # the next process to start (--ready holds it back)
        self.reverse_until = None   # --stop-order reverse: when every stop goes out
        self.checks = {}            # pid of an exec: check -> its process
        self.check_until = {}       # pid of an exec: check -> when it is killed
        self.check_due = {}         # process -> when its next exec: check runs
        self.outputs = {}           # pid of an exec: check -> its checks.Output
        self.checks_ended = False   # the stop began: no check runs any more
        self.notified = not any(proc.check for proc in procs)
        self.order = supervisor.config.stop_order
        # On a terminal: the main process gets its foreground (when initapp's group
        # held it), as one command does; the others run in the background, and one
        # stopped for reading (or writing) it is named.
        self.terminal = spawn.on_terminal()

    # -- starting -----------------------------------------------------------------------

    def start(self):
        """Start every process that is not held back by a --ready before it.
        False when the first one could not be started."""
        while self.next < len(self.procs) and not self.stopping:
            if any(proc.check is not None and not proc.ready for proc in self.procs[:self.next]):
                break
            proc = self.procs[self.next]
            self.next += 1
            if not self.spawn(proc):
                return False
        self.notify_if_ready()
        return True

    def spawn(self, proc):
        env_changes = self.launch.env_changes
        if len(self.procs) > 1:
            # Its name, set at every start (a restart has a new pid, the same name):
            # inspect reads it from /proc/PID/environ. One process gets none.
            env_changes = dict(env_changes, **{PROCESS_NAME_VARIABLE: proc.name})
        launch = spawn.Launch(proc.argv, self.launch.inherited,
                              self.launch.foreground and proc is self.main, False,
                              self.launch.credentials, self.launch.workdir,
                              env_changes, self.launch.names)
        launch.name = proc.name
        try:
            # Inside the try: the relay's pipes fail as a fork does (out of descriptors).
            if self.relay is not None:
                launch.stdio = self.relay.pipes(proc.name)
            pid = spawn.spawn(launch)
        except OSError as error:
            if self.relay is not None:
                self.relay.started(proc.name)
            self.not_started(proc, error)
            return False
        if self.relay is not None:
            self.relay.started(proc.name)
        proc.pid, proc.running, proc.started_at = pid, True, self.clock()
        proc.status = proc.restart_at = None
        if proc is self.main:
            self.sup.child = pid
            self.sup.ending.pid = pid
        log.info(MSG_PROCESS_STARTED.format(name=proc.name, command=log.clip(proc.argv[0]),
                                            pid=pid), "started", name=proc.name, pid=pid,
                 command=proc.argv)
        if proc.check is not None and not proc.ready:   # checked until ready, never after
            self.schedule_check(proc, self.clock())
        return True

    def not_started(self, proc, error):
        """proc could not be started: an ending process, with EXIT_INTERNAL (as one
        command that cannot be started), whether at the start or at a restart."""
        log.error(MSG_PROCESS_CANNOT_START.format(name=proc.name, command=log.clip(proc.argv[0]),
                                                  error=error.strerror), "not_started",
                  name=proc.name)
        proc.done, proc.running, proc.restart_at = True, False, None
        proc.how = "could not be started (%s)" % error.strerror
        proc.status = EXIT_INTERNAL << 8   # the wait status of an exit with that code
        if not self.stopping:
            self.ended(proc)
        self.check_all_done()

    # -- a process's end ----------------------------------------------------------------

    def reaped(self, pid, status):
        """True when pid was one of the processes (or a check of one)."""
        if pid in self.checks:
            self.check_until.pop(pid, None)
            self.check_ended(self.checks.pop(pid), status, pid)
            return True
        proc = next((proc for proc in self.procs if proc.pid == pid and proc.running), None)
        if proc is None:
            return False
        proc.running, proc.status = False, status
        what = describe(status)
        if self.sup.shutdown.killed_at is None:
            oom = self.sup.ending.oom_killed("%s (pid %d)" % (proc.name, pid), status,
                                             name=proc.name)
            if oom:
                proc.oom = True
                what += ", by the kernel's OOM killer"
        proc.how = what
        if proc is self.main and self.launch.foreground:
            spawn.take_terminal_back(pid)
        now = self.clock()
        fields = {"name": proc.name, "pid": pid, "status": what}
        if not self.stopping and self.restarts(proc, status):
            if now - proc.started_at >= RESTART_RESET_SECONDS:
                proc.backoff = RESTART_FIRST_SECONDS
            proc.ends = [when for when in proc.ends if now - when < RESTART_GIVE_UP_SECONDS]
            proc.ends.append(now)
            if len(proc.ends) >= RESTART_GIVE_UP_ENDS:
                log.error(MSG_PROCESS_GAVE_UP.format(name=proc.name, pid=pid, what=what,
                                                     ends=len(proc.ends),
                                                     seconds=RESTART_GIVE_UP_SECONDS),
                          "gave_up_restarting", **fields)
                proc.how = what + ", failed for good"
            else:
                proc.restart_at = now + proc.backoff
                log.warning(MSG_PROCESS_RESTART.format(name=proc.name, pid=pid, what=what,
                                                       count=proc.restarts + 1,
                                                       seconds=proc.backoff),
                            "restarting", restart=proc.restarts + 1, seconds=proc.backoff,
                            **fields)
                proc.backoff = min(proc.backoff * 2, RESTART_MAX_SECONDS)
                return True
        if not self.stopping and proc.may_exit and status == 0 and self.unready(proc):
            # Ended before it was ready: what its check says now decides.
            proc.awaiting = True
            log.info(MSG_PROCESS_LAST_CHECK.format(name=proc.name, pid=pid), "last_check",
                     **fields)
            self.schedule_check(proc, self.clock())
            return True
        proc.done = True
        if not self.stopping and proc.may_exit and status == 0:
            log.info(MSG_PROCESS_MAY_EXIT.format(name=proc.name, pid=pid), "ended", **fields)
        else:
            log.info(MSG_PROCESS_ENDED.format(name=proc.name, pid=pid, what=what), "ended",
                     **fields)
            if not self.stopping:
                self.ended(proc)
        self.release_stops()
        self.check_all_done()
        return True

    @staticmethod
    def restarts(proc, status):
        return proc.restart == "always" or proc.restart == "on-failure" and status != 0

    def unready(self, proc):
        """Whether proc has a --ready check that has not passed (one its thread saw
        pass, not yet read by the loop's timer, makes it ready now)."""
        if proc.check is None or proc.ready:
            return False
        if proc.passed:
            self.now_ready(proc, proc.passed)
            return False
        return True

    def last_answer(self, proc, ok, reason):
        """The check of a process that exited with 0 before it was ready answered:
        passed, it was ready (the others start); failed, it is an ending process."""
        proc.awaiting, proc.done = False, True
        fields = {"name": proc.name, "pid": proc.pid, "status": proc.how}
        if ok:
            self.now_ready(proc, reason)
            log.info(MSG_PROCESS_MAY_EXIT.format(name=proc.name, pid=proc.pid), "ended",
                     **fields)
        else:
            proc.how += " before it was ready"
            log.warning(MSG_PROCESS_NOT_READY.format(name=proc.name, pid=proc.pid,
                                                     check=proc.check.text, reason=reason),
                        "not_ready", **fields)
            self.ended(proc)
        self.release_stops()
        self.check_all_done()

    def ended(self, proc):
        """An ending process: the stop sequence for all, its code initapp's."""
        self.cause = proc
        self.sup.shutdown.begin("%s %s" % (proc.name, proc.how))
        sup = self.sup
        # Held by --pre-stop as a stop signal (the one --stop-signal names when it
        # is not TERM), so that it goes out as the stop when the hook ends.
        if sup.pre_stop is not None and sup.hold_for_pre_stop(sup.stop_signal(), signals.SIGTERM,
                                                              False):
            self.stop_began()   # (a stop signal and --timeout began it before holding)
            return
        self.stop_all(signals.SIGTERM)

    def stop_began(self):
        """The stop began, and its signals may not go out yet (--pre-stop holds
        them, --delay puts them off) or go to the whole tree (--to-all): from now
        on nothing starts (a process becoming ready meanwhile starts no other),
        nothing restarts, no check runs, and a process's end is no ending
        process (the exit code is the main process's). A process waiting for its
        restart or for its last check is done now: the tree may be empty."""
        self.stopping = True
        self.cancel_restarts()
        self.end_checks()
        self.check_all_done()

    def cancel_restarts(self):
        """The stop has begun: no process starts again, and no answer of a last
        check is waited for (its process's exit 0 ended it)."""
        for proc in self.procs:
            if proc.restart_at is not None:
                proc.restart_at, proc.done = None, True
                proc.how += ", " + MSG_PROCESS_NOT_RESTARTED
            if proc.awaiting:
                proc.awaiting, proc.done = False, True

    def check_all_done(self):
        if self.sup.status is not None:
            return
        if self.next < len(self.procs) and not self.stopping:
            return
        if not all(proc.done or not proc.running and proc.pid is None for proc in self.procs):
            return
        for proc in self.procs:
            if proc.pid is None and not proc.done:
                proc.done, proc.how = True, "never started"
                log.info(MSG_PROCESS_NOT_STARTED.format(name=proc.name))
        decisive = self.cause or self.main
        status = decisive.status
        if status is None:   # the main process never started: the stop signal's code
            status = signals.SIGTERM
        self.sup.status = status
        self.sup.ending.pid = decisive.pid
        self.sup.ending.main = _who(decisive) + " " + (decisive.how or describe(status))
        if decisive.oom:
            self.sup.ending.main_oom = True
        if self.sup.delayed:
            self.sup.delayed.clear()

    # -- signals ------------------------------------------------------------------------

    def forward(self, signo, sent, stop, termed):
        if stop:
            # A repeated stop signal reaches each running process again, as it
            # reaches one command (--force-on-repeat aside); with --stop-order
            # reverse, those whose turn has not come still wait for it.
            for proc in self.procs:
                if proc.running and proc.stop_pending is True:
                    proc.stop_pending = None
            self.stop_all(sent, termed)
            return
        for proc in self.procs:
            if proc.running:
                self.send(proc, sent)
                self.sup._forwarded(signo, sent, proc.name, proc.pid, "(pid %d)" % proc.pid)

    def stop_all(self, sent, termed=None):
        """The stop sequence reaches the processes: each gets its stop signal (and
        SIGCONT if stopped), in --stop-order."""
        self.stopping = True
        self.cancel_restarts()
        for proc in self.procs:
            if proc.running and proc.stop_pending is None:
                proc.stop_pending = proc.stop_with or sent
        if self.order == "reverse" and self.reverse_until is None:
            self.reverse_until = self.sup.shutdown.began + self.sup.shutdown.grace / 2
        self.termed = termed
        self.end_checks()
        self.release_stops()
        self.check_all_done()

    def release_stops(self):
        """Send the stop signals that are due: all at once, or (reverse) each once
        every process listed after it has exited, or at half the grace period."""
        forced = self.reverse_until is not None and self.clock() >= self.reverse_until
        for index, proc in enumerate(self.procs):
            if not proc.running or proc.stop_pending is None or proc.stop_pending is True:
                continue
            if self.order == "reverse" and not forced and \
                    any(later.running for later in self.procs[index + 1:]):
                continue
            sent, proc.stop_pending = proc.stop_pending, True
            group = self.sup.config.pgroup
            members = self.sup.tree.group(proc.pid) if group and sent == signals.SIGTERM \
                else ()
            self.send(proc, sent)
            self.sup._forwarded(sent, sent, proc.name, proc.pid, "(pid %d)" % proc.pid)
            if getattr(self, "termed", None) is not None and sent == signals.SIGTERM:
                self.termed.update(members)
            if group:
                self.sup.tree.continue_stopped(proc.pid)
            elif self.sup.tree.stopped(proc.pid) is not False:
                self.send(proc, signals.SIGCONT)

    def send(self, proc, signo):
        try:
            if self.sup.config.pgroup:
                try:
                    os.killpg(proc.pid, signo)
                    return
                except ProcessLookupError:
                    pass
            os.kill(proc.pid, signo)
        except OSError as error:
            log.debug("sending %s to %s: %s" % (signals.name(signo), proc.name, error.strerror))

    def stopped_on_terminal(self):
        """On a terminal: name, once, a process that the terminal stopped (it read
        or wrote it from the background), as a shell tells of a job. waitid
        reports a stop once and never an exit (the loop's waitpid reaps)."""
        if not self.terminal:
            return
        for proc in self.procs:
            if not proc.running or proc.told_stop == proc.pid:
                continue
            try:
                info = os.waitid(os.P_PID, proc.pid, os.WSTOPPED | os.WNOHANG)
            except OSError:
                continue
            if info is None or info.si_status not in _TERMINAL_STOPS:
                continue
            proc.told_stop = proc.pid
            log.warning(MSG_PROCESS_TERMINAL_STOP.format(name=proc.name, pid=proc.pid,
                                                         signal=signals.name(info.si_status)),
                        "stopped", name=proc.name, pid=proc.pid,
                        signal=signals.name(info.si_status))

    # -- timers: restarts, checks, the reverse order's limit ----------------------------

    def due(self):
        when = [proc.restart_at for proc in self.procs if proc.restart_at is not None]
        when += list(self.check_due.values())
        when += list(self.check_until.values())
        if any(proc.check is not None and not proc.ready and proc.check.kind != "exec"
               and (proc.running or proc.awaiting) for proc in self.procs) \
                and not self.checks_ended:
            when.append(self.clock() + READY_POLL_SECONDS)
        if self.reverse_until is not None and any(
                proc.stop_pending not in (None, True) and proc.running for proc in self.procs):
            when.append(self.reverse_until)
        return min(when) if when else None

    def tick(self, now):
        self.end_checks()
        for proc in self.procs:
            if proc.restart_at is not None and proc.restart_at <= now and not self.stopping:
                proc.restarts += 1
                self.spawn(proc)
        for proc, when in list(self.check_due.items()):
            if when <= now:
                del self.check_due[proc]
                if proc.check.kind == "exec":
                    self.run_exec_check(proc)
                else:
                    self.start_check_thread(proc)
        for pid, until in list(self.check_until.items()):
            if until <= now:
                del self.check_until[pid]
                self.check_timed_out(pid)
        for proc in self.procs:
            if proc.awaiting:
                if proc.passed or proc.failed:
                    self.last_answer(proc, bool(proc.passed), proc.passed or proc.failed)
            elif proc.check is not None and proc.running and not proc.ready and proc.passed \
                    and not self.checks_ended:
                self.now_ready(proc, proc.passed)
        if self.reverse_until is not None:
            self.release_stops()

    # -- --ready ------------------------------------------------------------------------

    def schedule_check(self, proc, when):
        # A new answer for each run: a thread still checking an earlier run (a
        # restart) answers into that run's, which the loop no longer reads.
        proc.answer = _Answer()
        if proc.check.kind == "exec":
            self.check_due[proc] = when
            return
        self.start_check_thread(proc)

    def start_check_thread(self, proc):
        if not (proc.running or proc.awaiting) or proc.ready or self.checks_ended:
            return
        thread = threading.Thread(target=_check_thread, args=(proc, proc.answer, proc.awaiting),
                                  daemon=True, name="initapp-ready-%s" % proc.name)
        mask = signals.block_all_in_thread()
        try:
            thread.start()
        except RuntimeError as error:   # no thread to be had (a pids limit)
            self.check_not_run(proc, error)
        finally:
            signals.restore_thread_mask(mask)

    def check_not_run(self, proc, error):
        """A check that could not be started: told once a process, tried again
        (the limit it met may pass); its last one, after the process exited
        before it was ready, fails."""
        proc.check_last = MSG_PROCESS_CHECK_NOT_STARTED.format(error=error)   # (at the stop)
        if not proc.check_not_run:
            proc.check_not_run = True
            log.warning(MSG_PROCESS_CHECK_NOT_RUN.format(name=proc.name, error=error),
                        "check_not_run", name=proc.name, pid=proc.pid)
        if proc.awaiting:
            self.last_answer(proc, False, str(error))
        else:
            self.check_due[proc] = self.clock() + READY_POLL_SECONDS

    def run_exec_check(self, proc):
        if not (proc.running or proc.awaiting) or proc.ready or self.stopping \
                or self.checks_ended:
            return
        from initapp import checks

        try:
            pid, output = checks.start_command(proc.check.argv, self.launch)
        except (OSError, RuntimeError) as error:   # out of descriptors, processes, threads
            self.check_not_run(proc, getattr(error, "strerror", None) or error)
            return
        output.owner = proc.answer      # the run it checks
        self.outputs[pid] = output
        self.checks[pid] = proc
        self.check_until[pid] = self.clock() + READY_CHECK_SECONDS

    def check_timed_out(self, pid):
        """An exec: check still running at its limit: SIGKILL its group and itself
        (not reaped yet, so its pid is still its own). Not waited for: its end is
        reaped as any child's, and counts as not ready yet (for the last check of
        a process that exited before it was ready: as failed)."""
        from initapp import checks

        proc = self.checks[pid]
        checks._kill_group(pid)
        output = self.outputs[pid]
        output.reason = MSG_CHECK_COMMAND_TIMED_OUT.format(seconds=READY_CHECK_SECONDS)
        if proc.awaiting or not proc.running or output.owner is not proc.answer:
            return      # told with its last answer; or it checked a run that has ended
        # A warning once a process: a check that always hangs would fill the log.
        report = log.debug if proc.check_hung else log.warning
        proc.check_hung = True
        report(MSG_PROCESS_CHECK_FAILED.format(
            name=proc.name, check=log.clip(proc.check.text),
            reason=_with_output(output.reason, output.last_line())),
            "not_ready", name=proc.name, pid=proc.pid)

    def check_ended(self, proc, status, pid):
        from initapp import checks

        output = self.outputs.pop(pid)
        line = output.collect()
        if self.checks_ended:
            return      # killed by the stop
        if output.owner is not proc.answer:
            return      # it checked an earlier run (its process started again): not this one
        if proc.awaiting:
            ok, reason = checks.outcome(status)
            self.last_answer(proc, ok and output.reason is None,
                             "exec: " + _with_output(output.reason or reason, line))
        elif status == 0 and proc.running and not self.stopping:
            self.now_ready(proc, "exec: exited with 0")
        elif proc.running and not proc.ready and not self.stopping:
            reason = _with_output(output.reason or checks.outcome(status)[1], line)
            if output.reason is None:   # (one killed at its limit was told then)
                # At -v each new failure, with what the check wrote; at -vv each one.
                report = log.debug if reason == proc.check_last else log.info
                report(MSG_PROCESS_CHECK_FAILED.format(name=proc.name,
                                                       check=log.clip(proc.check.text),
                                                       reason=reason),
                       "not_ready", name=proc.name, pid=proc.pid)
            proc.check_last = reason
            self.check_due[proc] = self.clock() + READY_POLL_SECONDS

    def end_checks(self):
        """Once the stop began (a stop signal, --timeout, an ending process; with
        --pre-stop too), no check runs: one still running is killed with its group
        at once, so initapp exits as soon as the processes are gone. Each process
        still waiting is named, with why its last check failed."""
        if self.checks_ended or not (self.stopping or self.sup.shutdown.active):
            return
        self.checks_ended = True
        self.check_due.clear()
        self.check_until.clear()
        if self.checks:
            from initapp import checks

            for pid in self.checks:
                checks._kill_group(pid)
        for proc in self.procs:
            if proc.check is None or proc.ready or not proc.running:
                continue    # (one that ended was told as it ended)
            last = proc.check_last
            if last is None:
                last = MSG_PROCESS_CHECK_RUNNING if proc in self.checks.values() \
                    else MSG_PROCESS_NOT_CHECKED
            log.warning(MSG_PROCESS_NOT_READY_AT_STOP.format(
                name=proc.name, check=log.clip(proc.check.text), last=last),
                "not_ready_at_stop", name=proc.name, pid=proc.pid)

    def now_ready(self, proc, reason):
        proc.ready = True
        log.info(MSG_PROCESS_READY.format(name=proc.name, pid=proc.pid, reason=reason), "ready",
                 name=proc.name, pid=proc.pid)
        self.start()

    def notify_if_ready(self):
        if self.notified or self.next < len(self.procs) or \
                not all(proc.ready for proc in self.procs if proc.check is not None):
            return
        self.notified = True
        notify(self.sup.notify_socket)

    # -- the end ------------------------------------------------------------------------

    def finish(self, deadline):
        if self.relay is not None:
            self.relay.finish(deadline)

    def summary(self):
        return [proc.summary() for proc in self.procs]


def _who(proc):
    """NAME (pid N), or NAME alone for a process never started."""
    return proc.name if proc.pid is None else "%s (pid %d)" % (proc.name, proc.pid)


class _Answer:
    """What a check thread found for one run of its process: passed or failed
    (the reason), set by the thread, read by the loop's timer."""

    __slots__ = ("passed", "failed")

    def __init__(self):
        self.passed = self.failed = None


def _check_thread(proc, answer, once=False):
    """A tcp:, http: or file: check, run until it passes or the run it checks is
    gone (its process ended or started again); once: one check only (the process
    exited before it was ready). It only sets answer's fields."""
    from initapp import checks

    while once or proc.running and proc.answer is answer:
        ok, reason = checks.run(proc.check, READY_CHECK_SECONDS)
        if ok:
            answer.passed = reason
            return
        if proc.answer is answer:
            proc.check_last = reason
        if once:
            answer.failed = reason
            return
        time.sleep(READY_POLL_SECONDS)


def _with_output(reason, line):
    """Why an exec: check failed, with the last line it wrote (if any)."""
    return reason if line is None else MSG_CHECK_OUTPUT.format(reason=reason, line=line)


def notify(address):
    """READY=1 to $NOTIFY_SOCKET (a datagram socket; @ starts an abstract name)."""
    if not address:
        return
    import socket

    target = "\0" + address[1:] if address.startswith("@") else address
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"READY=1", target)
    except OSError as error:
        log.warning(MSG_NOTIFY_FAILED.format(socket=quoted(address), error=error.strerror))
    else:
        log.info("sent READY=1 to $NOTIFY_SOCKET", "notified")
