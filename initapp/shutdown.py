"""The stop sequence: one deadline for the whole process tree.

   stop signal (or the main child exits by itself)
   |-- t=0      deadline set to now + grace; the signal is forwarded (or, when the
   |            main child has exited, SIGTERM+SIGCONT go to every process left)
   |-- ...      initapp reaps; it exits the moment the last process is gone
   |-- t=grace  the processes still alive are named, then SIGKILLed (not PID 1:
   |            each stopped first, so none forks meanwhile), then reaped
   `-- t=grace+KILL_WAIT  give up on processes that cannot die (uninterruptible
                sleep, a frozen cgroup): name them once, then the init exits

A --timeout starts the same sequence when the main child has run that long.
With --force-on-repeat, a second stop signal during the grace period forces:
SIGKILL at once. Without it (the default) a repeated stop signal is only forwarded."""

from initapp import log, signals
from initapp.defaults import (KILL_RETRY_SECONDS, KILL_WAIT_SECONDS, MSG_DEADLINE,
                              MSG_DEADLINE_ALIVE, MSG_DEADLINE_UNKNOWN, MSG_FORCED, MSG_GAVE_UP,
                              MSG_GAVE_UP_UNKNOWN, MSG_TIME_LIMIT)
from initapp.tree import listing


class Shutdown:
    def __init__(self, grace, tree, clock, limit=None):
        self.grace = grace
        self.tree = tree
        self.clock = clock
        self.limit = limit or None  # --timeout: seconds the main child may run
        self.started = clock()   # the main child's start, within a millisecond
        self.deadline = None     # when the grace period ends, once shutting down
        self.why = None          # what started the stop
        self.began = None        # ... and when
        self.killed_at = None    # when SIGKILL went out
        self.killed = None       # (text, records, count) of those alive at the deadline
        self.forced_by = None    # the repeated stop signal that forced the kill, if one did
        self.next_kill = None    # when to kill again what was forked since the last kill
        self.stop_signals = 0    # stop signals received so far
        self.timed_out = False
        self.gave_up = False

    @property
    def active(self):
        return self.deadline is not None

    def begin(self, why, report=log.info):
        if self.deadline is None:
            self.why, self.began = why, self.clock()
            self.deadline = self.began + self.grace
            report("shutting down (%s): the tree has %gs to exit" % (why, self.grace),
                   "stopping", why=why, grace=self.grace)

    def stop_signal(self, signo, force_on_repeat=False):
        """A stop signal arrived. Returns False when it forced the end instead of
        being handed on (a repeat during the grace period, with force_on_repeat)."""
        self.stop_signals += 1
        if self.stop_signals > 1 and force_on_repeat:
            self.deadline = self.clock()
            self.kill(forced_by=signals.name(signo))
            return False
        self.begin("received %s" % signals.name(signo))
        return True

    def leftovers(self, skip=()):
        """The main child is gone but processes remain: ask them to stop (unless the
        SIGKILL has been sent already: the main child died of it). skip: the keys
        of the processes that got SIGTERM from the stop already; every other one
        gets it, those forked since (a cleanup's helper) included."""
        if self.killed_at is not None:
            return
        self.begin("main child exited, other processes remain")
        sent = self.tree.signal_all(signals.SIGTERM, skip)
        # A stopped process acts on SIGTERM only once continued.
        self.tree.signal_all(signals.SIGCONT, skip)
        log.info("sent SIGTERM to %s remaining process(es)" % ("all" if sent < 0 else sent))

    def kill(self, forced_by=None):
        """SIGKILL the tree; the first time, name what is still alive (at the
        deadline, or when a repeated stop signal forced the kill)."""
        now = self.clock()
        if self.killed_at is None:
            self.killed_at, self.forced_by = now, forced_by
            alive = self.alive()
            # Only the zombies initapp has still to reap may be left: nothing to name.
            self.killed = alive if alive is None or alive[2] else None
            if alive is None or alive[2]:
                what = MSG_DEADLINE_UNKNOWN if alive is None else MSG_DEADLINE_ALIVE.format(
                    count=alive[2], processes=alive[0])
                message = MSG_DEADLINE.format(seconds=self.grace, what=what) \
                    if forced_by is None else MSG_FORCED.format(signal=forced_by, what=what)
                log.warning(message, "deadline", **self.fields(alive))
        self.next_kill = now + KILL_RETRY_SECONDS
        self.tree.kill_all()

    def alive(self):
        """(text, records, count) naming the processes still alive, or None when
        /proc cannot tell."""
        processes = self.tree.alive()
        if processes is None:
            return None
        return listing(processes) + (len(processes),)

    @staticmethod
    def fields(alive):
        return {} if alive is None else {"processes": alive[1], "count": alive[2]}

    @property
    def scheduled(self):
        """Whether a step of the sequence lies ahead (no clock read)."""
        return (self.deadline is not None or self.limit is not None) and not self.gave_up

    def due(self):
        """When the next step of the sequence is due, or None if none is."""
        if not self.scheduled:
            return None
        if self.deadline is None:
            return self.started + self.limit
        if self.killed_at is None:
            return self.deadline
        # Processes may fork between a scan and its kills: look again soon, on a
        # clock of its own (a stream of signals never postpones it).
        return min(self.next_kill, self.killed_at + KILL_WAIT_SECONDS)

    def timeout(self):
        """Seconds until the next step of the sequence, or None if nothing is due."""
        due = self.due()  # idle without --timeout: no clock read on the loop's path
        return None if due is None else due - self.clock()

    def tick(self):
        """Take the step that is due, if one is (the loop calls it after every
        signal, not only when its wait times out). True when the time limit has
        just started the stop sequence: the caller then stops the main child as
        for a stop signal."""
        now = self.clock()
        if self.deadline is None:
            if self.limit is None or now < self.started + self.limit:
                return False
            self.timed_out = True
            self.stop_signals += 1   # it sends one: the user's next is a repeat
            self.begin(MSG_TIME_LIMIT.format(seconds=self.limit), log.warning)
            return True
        if now < self.deadline or self.gave_up:
            return False
        if self.killed_at is not None and now >= self.killed_at + KILL_WAIT_SECONDS \
                and self.give_up():
            return False
        if self.killed_at is None or now >= self.next_kill:
            self.kill()
        return False

    def give_up(self):
        """Processes that outlive SIGKILL cannot be waited for: say which, once.
        False when none is alive (only zombies left to reap): nothing to give up on,
        the kills go on until the loop has reaped the last one."""
        left = self.alive()
        if left is None:
            message = MSG_GAVE_UP_UNKNOWN.format(seconds=KILL_WAIT_SECONDS)
        elif not left[2]:
            return False
        else:
            message = MSG_GAVE_UP.format(count=left[2], seconds=KILL_WAIT_SECONDS,
                                         processes=left[0])
        self.gave_up = True
        log.error(message, "gave_up", **self.fields(left))
        return True
