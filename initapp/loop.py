"""The event loop: wait for a signal, handle it, until the main child and every
other process the init answers for are gone."""

import os

from initapp import exitcode, log, signals, spawn, tree
from initapp.defaults import (JOB_CONTROL_SIGNAL_NAMES, MSG_NOT_STOPPING, MSG_POST_STOP_NO_TIME,
                              MSG_POST_STOP_STOP, PRE_STOP_SHARE)

_JOB_CONTROL = frozenset(signals.parse(name) for name in JOB_CONTROL_SIGNAL_NAMES)


class Supervisor:
    def __init__(self, config, child, tree, shutdown, clock, ending):
        self.config = config
        self.child = child
        self.tree = tree
        self.shutdown = shutdown
        self.clock = clock
        self.ending = ending       # what the exit summary will tell
        self.me = os.getpid()
        self.status = None         # the main child's wait status, once reaped
        self.children_left = True
        self.delayed = {}          # (signo, sent) -> when to forward it (coalesced, like the kernel)
        self.termed = set()        # keys (tree.key) of the processes the stop sent SIGTERM
        self.leftovers_told = False
        # stdin is initapp's controlling terminal and the child a group of initapp's
        # session (not --session): the child's stops on it are a shell's job control.
        self.terminal = False
        self.pre_stop = None       # hooks.Hook of --pre-stop, --post-stop (when given)
        self.post_stop = None
        self.held = None           # (signo, sent, arrival, delayable): a stop signal held
                                   # back while the pre-stop hook runs
        # Several processes (procs.Several): the same loop, asking it at the points
        # where they differ. None for one command: nothing of procs.py is loaded.
        self.several = None
        self.notify_socket = None

    def run(self):
        self.reap()
        while not self.finished() or self.start_post_stop():
            info = signals.wait(self.timeout())
            if info is not None:
                self.on_event(info)
            # After every signal too: a storm of them must not postpone a step.
            if self.delayed or self.shutdown.scheduled or self.hook_due() is not None \
                    or self.several is not None:
                self.on_timer()
        return self.exit_code()

    def on_event(self, info):
        if info.si_signo == signals.SIGCHLD:
            self.on_child_event()
        else:
            self.on_signal(info.si_signo, info.si_pid)

    def finished(self):
        if self.shutdown.gave_up:
            return True  # what is left cannot die: waiting would never end
        if self.status is None or self.post_stop is not None and self.post_stop.running:
            return False
        return self.config.single_child or not self.children_left or self.main_passed()

    def main_passed(self):
        """Whether the main child's end lets the start go on with the rest of the
        tree left as it is: only a start-up step's can (startup.ScriptSupervisor)."""
        return False

    def timeout(self):
        due = [when - self.clock() for when in self.delayed.values()]
        step = self.shutdown.timeout()
        if step is not None:
            due.append(step)
        hook = self.hook_due()
        if hook is not None:
            due.append(hook - self.clock())
        if self.several is not None:
            when = self.several.due()
            if when is not None:
                due.append(when - self.clock())
        return min(due) if due else None

    # -- hooks --------------------------------------------------------------------

    def hook_due(self):
        """When a running hook's time is up, or None."""
        for hook in (self.pre_stop, self.post_stop):
            if hook is not None and hook.running and hook.until is not None:
                return hook.until
        return None

    def hold_for_pre_stop(self, signo, sent, delayable):
        """A stop signal while --pre-stop has not run: start it and hold the signal
        until it ends or half the grace has passed. True when held."""
        hook = self.pre_stop
        if hook is None or self.status is not None:
            return False
        if hook.running:
            return True   # a repeat: the child gets one stop signal when the hook ends
        if hook.pid is not None:
            return False  # it ran already
        if not hook.start(self.shutdown.began + self.shutdown.grace * PRE_STOP_SHARE):
            return False
        self.children_left = True
        self.held = (signo, sent, self.clock(), delayable)
        return True

    def release_held(self):
        """The pre-stop hook is done (or out of time): deliver the stop signal it held,
        after what is left of its --delay."""
        signo, sent, arrival, delayable = self.held
        self.held = None
        if self.status is not None:
            return  # the main child is gone
        delay = self.config.delays.get(signo, None) if delayable else None
        if delay is not None and arrival + delay > self.clock():
            self.delayed.setdefault((signo, sent), arrival + delay)
            return
        self.forward(signo, sent)

    def start_post_stop(self):
        """Once the tree is gone: run --post-stop (once), with the exit code and its
        reason, within the stop's deadline (or the grace period, begun now). True
        when it was started: the loop then waits for it."""
        hook = self.post_stop
        if hook is None or hook.pid is not None or hook.tried:
            return False
        hook.tried = True
        from initapp import hooks

        code, why = self.ending.outcome(self.status, self.shutdown, self.config.success_codes)
        if self.shutdown.active and self.shutdown.deadline <= self.clock():
            hooks.skipped(hook.name, MSG_POST_STOP_NO_TIME)
            return False
        self.shutdown.begin(MSG_POST_STOP_STOP)
        if not hook.start(self.shutdown.deadline, {"INITAPP_EXIT_CODE": str(code),
                                                   "INITAPP_EXIT_REASON": why}):
            return False
        # The tree was gone: the hook (and what it starts) is no leftover to stop.
        self.children_left = self.leftovers_told = True
        return True

    def exit_code(self):
        if self.several is not None:
            # What the processes wrote reaches the output before the summary; the
            # summary tells the tree's time and the relay's apart.
            now = self.ending.tree_gone = self.clock()
            deadline = self.shutdown.deadline if self.shutdown.active else None
            self.several.finish(max(deadline or now, now + 1.0))
            self.ending.processes = self.several.summary()
        return self.ending.exit_code(self.status, self.shutdown, self.config.success_codes)

    # -- children ---------------------------------------------------------------

    def on_child_event(self):
        self.reap()
        if self.terminal and self.status is None:
            self.follow_child_stop()
        if self.several is not None:
            self.several.stopped_on_terminal()

    def follow_child_stop(self):
        """The main child stopped on the terminal: hand it the terminal, or stop
        with it so that the shell sees its job stopped."""
        signo = self.child_stop()
        if signo not in _JOB_CONTROL:
            return  # running, or stopped by SIGSTOP: whoever sent that continues it
        if signo != signals.SIGTSTP and spawn.give_terminal(self.child):
            # It read (or wrote) the terminal while initapp's group held it: a
            # shell's fg moved the job there after the child was started in the
            # background, and sent no SIGCONT (the job was running).
            self.send_to_child(signals.SIGCONT, True)
        elif signals.SIGCONT not in signals.pending():
            # (A SIGCONT already waiting, that resumed initapp before this stop
            # came in, continues the child when forwarded: stopping now would
            # leave both stopped with nothing left to resume them.)
            self.suspend_with_child()

    def child_stop(self):
        """The signal that stopped the main child, if it is stopped and that was
        not reported yet; else None. Read from the kernel, not from SIGCHLD's
        siginfo: SIGCHLDs pending together merge into one, whose siginfo tells
        of the first event (a CLD_CONTINUED), never of the stop that followed.
        waitid with WSTOPPED alone reports a stop once, and never an exit: the
        exit status stays for reap()'s waitpid, which never asks for stops."""
        try:
            info = os.waitid(os.P_PID, self.child, os.WSTOPPED | os.WNOHANG)
        except OSError:
            return None  # reaped already
        return None if info is None else info.si_status

    def reap(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                self.children_left = False
                break
            if pid == 0:
                break
            self.reaped(pid, status)
        if self.status is not None and self.children_left and not self.leftovers_told \
                and not self.main_passed():
            self.leftovers_told = True
            if not self.config.single_child:
                spared = self.termed
                if self.pre_stop is not None and self.pre_stop.running:
                    # The hook (a load balancer's deregistration) finishes in its time.
                    spared = spared | self.tree.group(self.pre_stop.pid)
                self.shutdown.leftovers(skip=spared)

    def reaped(self, pid, status):
        self.ending.reaped += 1
        if self.pre_stop is not None or self.post_stop is not None:
            if self.hook_reaped(pid, status):
                return
        if self.several is not None and self.several.reaped(pid, status):
            return
        if pid != self.child or self.several is not None:
            if status == exitcode.KILLED and self.shutdown.killed_at is None:
                self.ending.other_killed(pid)  # the OOM killer's, or a kill -9
            level = log.WARNING if self.config.warn_reap else log.DEBUG
            if log.enabled(level):
                what = exitcode.describe(status)
                report = log.warning if self.config.warn_reap else log.debug
                # tini's wording first: log filters written for it keep matching.
                report("Reaped zombie process with pid=%d (%s)" % (pid, what), "reaped",
                       pid=pid, status=what)
            return
        self.status = status
        self.ending.main_ended(status, self.shutdown.killed_at is not None)
        if self.delayed:
            log.info("dropping delayed %s: the main child is gone"
                     % ", ".join(signals.name(signo) for signo, _ in self.delayed))
            self.delayed.clear()

    def hook_reaped(self, pid, status):
        for hook in (self.pre_stop, self.post_stop):
            if hook is not None and pid == hook.pid and hook.status is None:
                hook.ended(status)
                if hook is self.pre_stop and self.held is not None:
                    self.release_held()
                return True
        return False

    # -- signals ----------------------------------------------------------------
    # One route for every signal, keyed from the first step on by its canonical
    # number, so options that meet (podman's 37 with --delay TERM, -r with -g) agree.

    def on_signal(self, received, sender):
        if sender == self.me:
            # The kernel's SIGPIPE for our own write to a broken stderr comes as if
            # sent by ourselves. Dropped without a log line: that line would raise
            # another SIGPIPE, and so on forever.
            return
        if log.enabled(log.DEBUG):
            # No sender for one noted while the mask was open for a vfork.
            source = "an unknown sender" if sender is None else "pid %d" % sender
            log.debug("received %s from %s" % (signals.name(received), source), "received",
                      signal=signals.name(received), sender=sender)
        signo, sent = self.config.route(received)
        if sent == 0:
            log.debug("dropping %s (rewritten to 0)" % signals.name(received))
            return  # dropped altogether: not even a stop signal starts the shutdown
        if self.post_stop is not None and self.post_stop.running:
            self.post_stop.forward(sent)  # the only process left to tell
            if signo in self.config.stop_signals:
                # An engine's stop now: its own timeout counts from here.
                self.shutdown.deadline = min(self.shutdown.deadline,
                                             self.clock() + self.shutdown.grace)
                self.post_stop.until = self.shutdown.deadline
            return
        if signo in self.config.stop_signals:
            if not self.shutdown.stop_signal(signo, self.config.force_on_repeat):
                return
            if self.several is not None:
                self.several.stop_began()   # whether its signals go out now or not
            if self.pre_stop is not None and self.hold_for_pre_stop(signo, sent, True):
                return
        delay = self.config.delays.get(signo)
        if delay is not None and self.status is None:
            self.delayed.setdefault((signo, sent), self.clock() + delay)
            log.info("forwarding %s in %gs" % (signals.name(signo), delay), "delayed",
                     signal=signals.name(signo), seconds=delay)
            return
        self.forward(signo, sent)

    def on_timer(self):
        now = self.clock()
        for hook in (self.pre_stop, self.post_stop):
            if hook is not None and hook.expire(now) and hook is self.pre_stop \
                    and self.held is not None:
                self.release_held()
        for (signo, sent), when in sorted(self.delayed.items(), key=lambda item: item[1]):
            if when <= now:
                del self.delayed[signo, sent]
                self.forward(signo, sent)
        if self.several is not None:
            self.several.tick(now)
        if self.shutdown.tick():
            self.stop_for_timeout()

    def stop_for_timeout(self):
        """--timeout: deliver what the engine's stop would (SIGTERM, or the one
        --stop-signal names), rewrites included."""
        signo, sent = self.config.route(self.stop_signal())
        if self.several is not None:
            # Several processes: no signal was received, none is rewritten; each
            # process gets SIGTERM (or its --stop-with), as when one's end stops all.
            # The stop begins now, whether its signal goes through Several or not
            # (--to-all: to the whole tree).
            sent = signals.SIGTERM
            self.several.stop_began()
        if sent == 0:
            log.info("not sending %s (rewritten to 0): the grace period still holds"
                     % signals.name(signo))
            return
        if self.pre_stop is not None and self.hold_for_pre_stop(signo, sent, False):
            return
        self.forward(signo, sent)

    def stop_signal(self):
        """The stop signal initapp gives when it starts the stop itself (--timeout,
        an ending process): SIGTERM, or the one --stop-signal names."""
        stops = self.config.stop_signals
        return signals.SIGTERM if signals.SIGTERM in stops else min(stops)

    def forward(self, signo, sent):
        """Deliver sent (signo after rewrites) to whom signo reaches; a stop signal also
        continues what it reached that is stopped, and remembers who got SIGTERM
        (the leftovers step then sends it to every other process, and to those
        only)."""
        stop = signo in self.config.stop_signals
        termed = self.termed if stop and sent == signals.SIGTERM else None
        if signo in self.config.to_all:
            count = self.tree.signal_all(sent, record=termed)
            if stop:
                self.tree.continue_stopped()
            self._forwarded(signo, sent, "tree", None,
                            "(%s processes)" % ("all" if count < 0 else count))
            return
        if self.status is not None:
            log.debug("not forwarding %s: the main child is gone" % signals.name(signo))
            return
        if self.several is not None:
            self.several.forward(signo, sent, stop, termed)
            return
        group = self.config.pgroup or self.config.session
        # The group's members as they are before the signal: one forked after it (by
        # a SIGTERM handler) did not get it. One forked between this scan and the
        # signal gets SIGTERM twice rather than never.
        members = self.tree.group(self.child) if group and termed is not None else ()
        if not self.send_to_child(sent, group):
            return
        self._forwarded(signo, sent, "group" if group else "child", self.child)
        if stop:
            if termed is not None:
                termed.update(members)
            self.continue_stopped(group)
        if signo in _JOB_CONTROL and (self.config.session or self.config.single_child):
            if self.stop_self() and self.terminal:
                # The terminal a shell's fg handed to initapp's group is the
                # child's. The child's stop was this signal's: the SIGCONT that
                # resumed initapp continues it once forwarded, as dumb-init's does.
                spawn.give_terminal(self.child)
                self.child_stop()

    def send_to_child(self, signo, group):
        try:
            if group:
                try:
                    os.killpg(self.child, signo)
                    return True
                except ProcessLookupError:
                    pass  # --session: the child's setsid() has not run yet; it is alone
            os.kill(self.child, signo)
            return True
        except OSError as error:
            log.debug("sending %s: %s" % (signals.name(signo), error.strerror))
            return False

    def continue_stopped(self, group):
        # A stopped process acts on a stop signal only once continued (as systemd
        # does); only the stopped ones get SIGCONT, the others see nothing extra.
        if group:
            self.tree.continue_stopped(self.child)
        elif self.tree.stopped(self.child) is not False:  # stopped, or no /proc to tell
            self.send_to_child(signals.SIGCONT, False)

    def stop_self(self):
        """dumb-init's job control: the shell that started initapp sees it stop too,
        and regains the terminal. Returns True once resumed (the shell's fg or bg).
        Never where nothing could resume it, where a stopped initapp would hang
        with the stop signals pending: as PID 1 (the kernel ignores a stop that a
        namespace's init sends itself), and when initapp's process group is
        orphaned (script, ssh -t, setsid -c: initapp leads the session)."""
        if self.me == 1 or _resumable() is False:
            log.debug(MSG_NOT_STOPPING)
            return False
        # SIGTSTP at its default action, not dumb-init's SIGSTOP: the kernel
        # discards it when initapp's group is orphaned, by its own rule, where
        # /proc cannot tell (ids outside this PID namespace read 0) and when the
        # shell exits after the check. A SIGCONT pending afterwards resumed
        # initapp (the SIGTSTP took away any that was pending before).
        signals.stop_self()
        if signals.SIGCONT not in signals.pending():
            log.debug(MSG_NOT_STOPPING)
            return False
        return True

    def suspend_with_child(self):
        # The child's group stopped on the terminal: Ctrl-Z while it held the
        # terminal, or a read or write while in the background. initapp, in
        # another group, would keep the shell that started it waiting on a
        # terminal nobody reads (or show a job running that waits for input).
        # Stop too, as the shell's own job would; fg or bg continues them.
        if self.stop_self():
            self.resume_child()

    def resume_child(self):
        spawn.give_terminal(self.child)  # when initapp's group holds it: fg, not bg
        self.send_to_child(signals.SIGCONT, True)  # the group, as the terminal stopped it

    def _forwarded(self, signo, sent, whom, pid, shown=None):
        """Told at -v: whom (child, group, tree, a process's name), its pid (a
        number, or None for the tree), shown in the text as shown says."""
        if not log.enabled(log.INFO):
            return
        name = signals.name(sent)
        if sent != signo:
            name = "%s as %s" % (signals.name(signo), name)
        log.info("forwarded %s to %s %s" % (name, whom, pid if shown is None else shown), "forwarded",
                 signal=signals.name(signo), sent=signals.name(sent), to=whom, pid=pid)


def _resumable():
    """Whether initapp's process group is not orphaned, by the kernel's own rule
    for the terminal's stop signals: some member of the group has a parent in the
    same session but in another group, as a job-control shell is to its job. Only
    such a parent can continue it. Every member counts, not only initapp: started
    by a program in a group of its own (a test runner, a supervisor) whose parent
    is the shell, initapp's parent is in its group, yet the shell continues the
    group. As for the kernel, zombies do not count. (The kernel also discounts
    the host's init as a parent: it leads session 1, which no shell's job shares.)
    None when /proc cannot tell: a group, session or parent outside this PID
    namespace reads as 0, and another namespace's /proc shows other pids."""
    try:
        group, session = os.getpgrp(), os.getsid(0)
    except OSError:
        return None
    if not group or not session:
        return None
    verdict = _parent_resumes(os.getppid(), group, session)
    if verdict:
        return True  # the common case, without reading /proc
    if not tree.proc_is_ours():
        return None
    for process in tree.all_processes():
        if process.pgid == group and process.state != "Z":
            found = _parent_resumes(process.ppid, group, session)
            if found:
                return True
            verdict = None if found is None else verdict
    return verdict


def _parent_resumes(parent, group, session):
    """Whether a member's parent is in initapp's session but not in its group;
    None for a parent outside this PID namespace."""
    if parent <= 0:
        return None
    try:
        return os.getsid(parent) == session and os.getpgid(parent) != group
    except OSError:
        return False  # gone
