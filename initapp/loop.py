"""The event loop: wait for a signal, handle it, until the main child and every
other process the init answers for are gone."""

import os

from initapp import exitcode, log, signals


class Supervisor:
    def __init__(self, config, child, tree, shutdown, clock):
        self.config = config
        self.child = child
        self.tree = tree
        self.shutdown = shutdown
        self.clock = clock
        self.status = None         # the main child's wait status, once reaped
        self.children_left = True
        self.delayed = {}          # signo -> when to forward it (coalesced, like the kernel)
        self.stop_pgid = None      # the group a stop signal already went to
        self.stop_to_all = False   # a stop signal already went to the whole tree
        self.leftovers_told = False

    def run(self):
        self.reap()
        while not self.finished():
            info = signals.wait(self.timeout())
            if info is None:
                self.on_timer()
            elif info.si_signo == signals.SIGCHLD:
                self.reap()
            else:
                self.on_signal(info.si_signo, info.si_pid)
        return exitcode.from_status(self.status)

    def finished(self):
        return self.status is not None and (not self.children_left or self.shutdown.gave_up)

    def timeout(self):
        due = [when - self.clock() for when in self.delayed.values()]
        step = self.shutdown.timeout()
        if step is not None:
            due.append(step)
        return min(due) if due else None

    # -- children ---------------------------------------------------------------

    def reap(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                self.children_left = False
                break
            if pid == 0:
                break
            log.debug("reaped %d (%s)" % (pid, exitcode.describe(status)))
            if pid == self.child:
                self.main_child_exited(status)
        if self.status is not None and self.children_left and not self.leftovers_told:
            self.leftovers_told = True
            if not self.stop_to_all:
                self.shutdown.leftovers(skip_pgid=self.stop_pgid)

    def main_child_exited(self, status):
        self.status = status
        log.info("main child %d %s" % (self.child, exitcode.describe(status)))
        if self.delayed:
            log.info("dropping delayed %s: the main child is gone"
                     % ", ".join(signals.name(signo) for signo in self.delayed))
            self.delayed.clear()

    # -- signals ----------------------------------------------------------------

    def on_signal(self, signo, sender):
        log.debug("received %s from pid %d" % (signals.name(signo), sender))
        if signo in self.config.stop_signals and not self.shutdown.stop_signal(signo):
            return
        delay = self.config.delays.get(signo)
        if delay is not None and self.status is None:
            self.delayed.setdefault(signo, self.clock() + delay)
            log.info("forwarding %s in %gs" % (signals.name(signo), delay))
            return
        self.forward(signo)

    def on_timer(self):
        now = self.clock()
        for signo, when in sorted(self.delayed.items(), key=lambda item: item[1]):
            if when <= now:
                del self.delayed[signo]
                self.forward(signo)
        self.shutdown.tick()

    def forward(self, signo):
        target = self.config.rewrites.get(signo, signo)
        if target == 0:
            log.debug("dropping %s (rewritten to 0)" % signals.name(signo))
            return
        stop = signo in self.config.stop_signals
        if signo in self.config.to_all:
            count = self.tree.signal_all(target)
            self.stop_to_all = self.stop_to_all or stop
            log.info("forwarded %s to the whole tree (%s processes)"
                     % (signals.name(target), "all" if count < 0 else count))
            return
        if self.status is not None:
            log.debug("not forwarding %s: the main child is gone" % signals.name(signo))
            return
        try:
            if self.config.pgroup:
                os.killpg(self.child, target)
                if stop:
                    self.stop_pgid = self.child
            else:
                os.kill(self.child, target)
        except OSError as error:
            log.debug("forwarding %s: %s" % (signals.name(target), error.strerror))
            return
        log.info("forwarded %s to %s %d" % (
            signals.name(target), "group" if self.config.pgroup else "child", self.child))
