"""The stop sequence's timing, with a fake clock and a fake tree."""

import pytest

from initapp import signals
from initapp.defaults import KILL_RETRY_SECONDS, KILL_WAIT_SECONDS
from initapp.shutdown import Shutdown
from initapp.tree import Process

pytestmark = pytest.mark.timeout(10)


class FakeTree:
    def __init__(self):
        self.sent = []
        self.scans = 0
        self.left = [Process(9, "D", 1, 9, 100)]   # one that SIGKILL cannot end

    def alive(self):
        self.scans += 1
        return self.left

    def signal_all(self, signo, skip=(), record=None):
        self.sent.append((signo, skip))
        return 2

    def kill_all(self):
        self.sent.append((signals.SIGKILL, None))
        return -1


class Clock:
    now = 100.0

    def __call__(self):
        return self.now


@pytest.fixture
def seq():
    clock = Clock()
    return Shutdown(5.0, FakeTree(), clock), clock


@pytest.fixture
def limited():
    clock = Clock()
    return Shutdown(5.0, FakeTree(), clock, limit=10.0), clock


def test_idle_has_no_timeout(seq):
    shutdown, _ = seq
    assert shutdown.timeout() is None
    shutdown.tick()
    assert shutdown.tree.sent == []


def test_one_deadline_from_the_first_stop(seq):
    shutdown, clock = seq
    assert shutdown.stop_signal(signals.SIGTERM) is True
    clock.now += 2
    shutdown.leftovers(skip={(7, 1)})    # the main child exits later: same deadline
    assert shutdown.timeout() == pytest.approx(3.0)
    assert shutdown.tree.sent == [(signals.SIGTERM, {(7, 1)}), (signals.SIGCONT, {(7, 1)})]


def test_kill_at_deadline_then_retry_then_give_up(seq):
    shutdown, clock = seq
    shutdown.begin("test")
    clock.now += 4.9
    shutdown.tick()
    assert shutdown.tree.sent == []
    clock.now += 0.1
    shutdown.tick()
    assert shutdown.tree.sent == [(signals.SIGKILL, None)]
    assert shutdown.timeout() == pytest.approx(KILL_RETRY_SECONDS)
    clock.now += KILL_RETRY_SECONDS / 2
    shutdown.tick()                       # the retry is not due yet
    assert shutdown.tree.sent == [(signals.SIGKILL, None)]
    clock.now += KILL_RETRY_SECONDS / 2
    shutdown.tick()                       # now it is: forks since the first kill die too
    assert shutdown.tree.sent == [(signals.SIGKILL, None)] * 2
    clock.now += KILL_WAIT_SECONDS
    shutdown.tick()
    assert shutdown.gave_up


def test_the_retry_keeps_its_time_whatever_wakes_the_loop(seq):
    # The loop ticks after every signal: a stream of them neither postpones the
    # retry nor makes it come early.
    shutdown, clock = seq
    shutdown.begin("test")
    clock.now += 5.0
    shutdown.tick()
    for _ in range(9):
        clock.now += KILL_RETRY_SECONDS / 10
        assert 0 < shutdown.timeout() <= KILL_RETRY_SECONDS
        shutdown.tick()
    assert len(shutdown.tree.sent) == 1
    clock.now += KILL_RETRY_SECONDS / 5
    shutdown.tick()
    assert len(shutdown.tree.sent) == 2


def test_no_give_up_while_nothing_is_alive(seq):
    # Only zombies left to reap: no give-up with an empty list; the kills go on.
    shutdown, clock = seq
    shutdown.tree.left = []
    shutdown.begin("test")
    clock.now += 5.0
    shutdown.tick()
    clock.now += KILL_WAIT_SECONDS + 1.0
    shutdown.tick()
    assert not shutdown.gave_up and shutdown.timeout() <= KILL_RETRY_SECONDS
    assert shutdown.killed is None and shutdown.tree.sent == [(signals.SIGKILL, None)] * 2


def test_second_stop_signal_forces_only_when_asked(seq):
    shutdown, _ = seq
    assert shutdown.stop_signal(signals.SIGTERM) is True
    assert shutdown.stop_signal(signals.SIGTERM) is True   # the default: forwarded again
    assert shutdown.tree.sent == []
    assert shutdown.stop_signal(signals.SIGTERM, force_on_repeat=True) is False
    assert shutdown.tree.sent == [(signals.SIGKILL, None)]


def test_after_giving_up_nothing_is_due(seq):
    # Once given up, no timer is left: a negative one would make the loop spin.
    shutdown, clock = seq
    shutdown.begin("test")
    clock.now += 5.0
    shutdown.tick()
    clock.now += KILL_WAIT_SECONDS + 1.0
    shutdown.tick()
    assert shutdown.gave_up and shutdown.tree.scans == 2   # the deadline's and the give-up's
    assert shutdown.timeout() is None
    for _ in range(3):
        shutdown.tick()
    assert shutdown.tree.scans == 2 and shutdown.tree.sent == [(signals.SIGKILL, None)]


def test_time_limit_starts_the_stop_once(limited):
    shutdown, clock = limited
    assert shutdown.timeout() == pytest.approx(10.0)
    clock.now += 9.9
    assert shutdown.tick() is False and not shutdown.active
    clock.now += 0.1
    assert shutdown.tick() is True
    assert shutdown.timed_out and shutdown.why == "time limit of 10s reached"
    assert shutdown.timeout() == pytest.approx(5.0)      # now the grace period runs
    assert shutdown.tick() is False


def test_time_limit_never_fires_once_stopping():
    clock = Clock()
    shutdown = Shutdown(20.0, FakeTree(), clock, limit=10.0)
    clock.now += 3.0
    shutdown.stop_signal(signals.SIGTERM)
    clock.now += 7.0
    assert shutdown.tick() is False and not shutdown.timed_out
    assert shutdown.timeout() == pytest.approx(13.0)     # the stop's own deadline


def test_no_limit_means_no_timer():
    for limit in (None, 0):
        assert Shutdown(5.0, FakeTree(), Clock(), limit=limit).timeout() is None


def test_after_the_time_limit_a_stop_signal_is_a_repeat(limited):
    # --timeout sent the stop signal: with --force-on-repeat, the user's next one
    # forces the kill (as a second one would); without, it is handed on.
    shutdown, clock = limited
    clock.now += 10
    assert shutdown.tick() is True
    assert shutdown.stop_signal(signals.SIGTERM) is True
    assert shutdown.tree.sent == []
    assert shutdown.stop_signal(signals.SIGTERM, force_on_repeat=True) is False
    assert shutdown.tree.sent == [(signals.SIGKILL, None)]


def test_after_the_time_limit_the_first_stop_signal_forces_if_asked(limited):
    shutdown, clock = limited
    clock.now += 10
    assert shutdown.tick() is True
    assert shutdown.stop_signal(signals.SIGTERM, force_on_repeat=True) is False
    assert shutdown.tree.sent == [(signals.SIGKILL, None)]
