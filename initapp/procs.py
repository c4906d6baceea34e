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
  signal blocked, which only sets a flag the loop's timer reads. The signal and
  reaping path never waits on a check, nor on the log relay (its own thread,
  relay.py)."""

import os
import threading
import time

from initapp import log, signals, spawn
from initapp.cli import UsageError
from initapp.defaults import (MSG_CHECK_COMMAND_TIMED_OUT, MSG_CHECK_OUTPUT, MSG_NOTIFY_FAILED,
                              MSG_PROCESS_CHECK_FAILED, MSG_PROCESS_CHECK_RUNNING,
                              MSG_PROCESS_ENDED, MSG_PROCESS_GAVE_UP, MSG_PROCESS_MAY_EXIT,
                              MSG_PROCESS_NOT_CHECKED, MSG_PROCESS_NOT_READY_AT_STOP,
                              MSG_PROCESS_NOT_STARTED,
                              MSG_PROCESS_OPTION_TWICE, MSG_PROCESS_READY,
                              MSG_PROCESS_RESTART, MSG_PROCESS_STARTED, MSG_PROCESS_TWICE,
                              MSG_PROCESS_UNKNOWN, MSG_PROCFILE_EMPTY, MSG_PROCFILE_LINE,
                              MSG_PROCFILE_NAME, MSG_PROCFILE_UNREADABLE,
                              MSG_SEVERAL_SINGLE_CHILD, PROCESS_NAME_VARIABLE,
                              READY_CHECK_SECONDS, READY_POLL_SECONDS,
                              RESTART_FIRST_SECONDS, RESTART_GIVE_UP_ENDS,
                              RESTART_GIVE_UP_SECONDS, RESTART_MAX_SECONDS,
                              RESTART_RESET_SECONDS)
from initapp.exitcode import describe, from_status
from initapp.log import quoted


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

    def summary(self):
        return {"name": self.name, "pid": self.pid, "ended": self.how or "running",
                "restarts": self.restarts}


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
        launch = spawn.Launch(proc.argv, self.launch.inherited, False, False,
                              self.launch.credentials, self.launch.workdir,
                              env_changes, self.launch.names)
        if self.relay is not None:
            launch.stdio = self.relay.pipes(proc.name)
        try:
            pid = spawn.spawn(launch)
        except OSError as error:
            log.error("cannot start %s: %s" % (proc.name, error.strerror))
            proc.done, proc.how = True, "could not be started"
            if self.relay is not None:
                self.relay.started(proc.name)
            self.ended(proc)
            return False
        finally:
            pass
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
        if proc.check is not None:
            self.schedule_check(proc, self.clock())
        return True

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
        proc.how = what
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

    def ended(self, proc):
        """An ending process: the stop sequence for all, its code initapp's."""
        self.cause = proc
        self.sup.shutdown.begin("%s %s" % (proc.name, proc.how))
        sup = self.sup
        if sup.pre_stop is not None and sup.hold_for_pre_stop(signals.SIGTERM, signals.SIGTERM,
                                                              False):
            self.stopping = True
            return
        self.stop_all(signals.SIGTERM)

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
        self.sup.ending.main = MSG_PROCESS_ENDED.format(name=decisive.name, pid=decisive.pid,
                                                        what=decisive.how or describe(status))
        if self.sup.delayed:
            self.sup.delayed.clear()

    # -- signals ------------------------------------------------------------------------

    def forward(self, signo, sent, stop, termed):
        if stop:
            self.stop_all(sent, termed)
            return
        for proc in self.procs:
            if proc.running:
                self.send(proc, sent)
                self.sup._forwarded(signo, sent, proc.name, "(pid %d)" % proc.pid)

    def stop_all(self, sent, termed=None):
        """The stop sequence reaches the processes: each gets its stop signal (and
        SIGCONT if stopped), in --stop-order."""
        self.stopping = True
        for proc in self.procs:
            if not proc.running:
                if proc.restart_at is not None:   # a restart ahead: not any more
                    proc.restart_at, proc.done = None, True
                continue
            if proc.stop_pending is None:
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
            self.sup._forwarded(sent, sent, proc.name, "(pid %d)" % proc.pid)
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

    # -- timers: restarts, checks, the reverse order's limit ----------------------------

    def due(self):
        when = [proc.restart_at for proc in self.procs if proc.restart_at is not None]
        when += list(self.check_due.values())
        when += list(self.check_until.values())
        if any(proc.check is not None and proc.running and not proc.ready
               and proc.check.kind != "exec" for proc in self.procs) and not self.checks_ended:
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
                self.run_exec_check(proc)
        for pid, until in list(self.check_until.items()):
            if until <= now:
                del self.check_until[pid]
                self.check_timed_out(pid)
        for proc in self.procs:
            if proc.check is not None and proc.running and not proc.ready \
                    and getattr(proc, "passed", None) and not self.checks_ended:
                self.now_ready(proc, proc.passed)
        if self.reverse_until is not None:
            self.release_stops()

    # -- --ready ------------------------------------------------------------------------

    def schedule_check(self, proc, when):
        if proc.check.kind == "exec":
            self.check_due[proc] = when
            return
        proc.passed = None
        thread = threading.Thread(target=_check_thread, args=(proc, proc.pid), daemon=True,
                                  name="initapp-ready-%s" % proc.name)
        mask = signals.block_all_in_thread()
        try:
            thread.start()
        finally:
            signals.restore_thread_mask(mask)

    def run_exec_check(self, proc):
        if not proc.running or proc.ready or self.stopping or self.checks_ended:
            return
        from initapp import checks

        try:
            pid, output = checks.start_command(proc.check.argv, self.launch)
        except OSError as error:
            log.debug("%s: --ready: %s" % (proc.name, error.strerror))
            self.check_due[proc] = self.clock() + READY_POLL_SECONDS
            return
        self.outputs[pid] = output
        self.checks[pid] = proc
        self.check_until[pid] = self.clock() + READY_CHECK_SECONDS

    def check_timed_out(self, pid):
        """An exec: check still running at its limit: SIGKILL its group and itself
        (not reaped yet, so its pid is still its own). Not waited for: its end is
        reaped as any child's, and counts as not ready yet."""
        from initapp import checks

        proc = self.checks[pid]
        checks._kill_group(pid)
        output = self.outputs[pid]
        output.reason = MSG_CHECK_COMMAND_TIMED_OUT.format(seconds=READY_CHECK_SECONDS)
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
        if status == 0 and proc.running and not self.stopping:
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
            if proc.check is None or proc.ready or proc.pid is None:
                continue
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


def _check_thread(proc, pid):
    """A tcp:, http: or file: check, run until it passes or the process is gone.
    It only sets proc.passed: the loop's timer reads it."""
    from initapp import checks

    while proc.running and proc.pid == pid:
        ok, reason = checks.run(proc.check, READY_CHECK_SECONDS)
        if ok:
            proc.passed = reason
            return
        proc.check_last = reason
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
