"""Start-to-exit timing for make bench: interleaved groups, a ratio per repetition.

A group is a few commands compared with each other (initapp, its floor, and the
floor again as a check of the bench itself). One repetition runs every group once,
the groups in an order that rotates, and within a group every command once, back
to back; the order within a group walks through its rotations and their reverses,
so that each command runs first, last, and after each other one equally often (a
start is slower after some commands than after others: without that, the floor
against itself is off by 1-2%). A ratio is taken within each repetition, between
starts a few tens of milliseconds apart, and the round's ratio is the median of
those: a busy moment of the machine slows both sides of a ratio or is one outlier
among many, where a ratio of two medians moves with whichever side it hit more.

Every start is timed twice: wall time from the spawn to wait4's return, and the
CPU time (user + system) wait4 reports for the whole tree the command waited for
(unshare, the init, what the init reaped), which time spent waiting for a CPU
taken by other work does not inflate.

Other work on the machine shows in the kernel's CPU pressure (PSI): the time some
task waited for a CPU. A repetition during which that grew by more than
DISTURBED_MS in one start is run again once the machine is quiet, up to SPARE
re-runs per repetition planned; the threshold is above what a start of initapp
causes by itself on a quiet machine (up to about 7 ms: after the fork, the init
and its child want both CPUs), so the re-runs do not pick initapp's faster starts."""

import os
import statistics
import subprocess
import time


def orders(names, repetition):
    """The order of a group's names at this repetition: its rotations, then the
    rotations reversed, then again."""
    names = list(names)
    count = len(names)
    shift = repetition % count
    order = names[shift:] + names[:shift]
    return order if (repetition // count) % 2 == 0 else order[::-1]


def rotated(items, index):
    items = list(items)
    shift = index % len(items)
    return items[shift:] + items[:shift]


PRESSURE = "/proc/pressure/cpu"
DISTURBED_MS = 10.0  # waited for a CPU during one start: the repetition runs again
QUIET_MS = 5.0       # waited in a 50 ms window: the machine is quiet again
SPARE = 0.5          # re-runs a measure may spend, per repetition planned


def stalled_ms():
    """The milliseconds some task has waited for a CPU since boot (PSI's "some"
    total); None where the kernel has no PSI."""
    try:
        with open(PRESSURE) as f:
            return int(f.readline().split("total=")[1]) / 1000.0
    except (OSError, IndexError, ValueError):
        return None


def timed(argv, env):
    """(wall seconds, CPU seconds of the tree, ms some task waited for a CPU or
    None) of one start-to-exit of argv."""
    stalled = stalled_ms()
    began = time.perf_counter()
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - began
    process.returncode = status  # reaped here: Popen must not wait for it again
    if status != 0:
        raise RuntimeError("%s ended with status %d" % (" ".join(argv), status))
    waited = None if stalled is None else stalled_ms() - stalled
    return wall, usage.ru_utime + usage.ru_stime, waited


def quiet(limit=1.0):
    """Until a 50 ms window passes in which tasks waited less than QUIET_MS for a
    CPU, for at most limit seconds."""
    deadline = time.monotonic() + limit
    before = stalled_ms()
    while before is not None and time.monotonic() < deadline:
        time.sleep(0.05)
        after = stalled_ms()
        if after - before < QUIET_MS:
            return
        before = after


def measure(groups, repetitions, env, warmup=1, index=0, rerun=True):
    """({group: {name: {"wall": [s...], "cpu": [s...]}}}, tally): repetitions +
    warmup times through every group, the first warmup ones dropped (the first
    starts after the round's other measures find colder caches). The lists of one
    group are aligned: item i of each comes from the same repetition. index rotates
    the groups' order from round to round. tally counts the repetitions kept, those
    run again because other work disturbed them, and those kept disturbed once the
    spare re-runs were spent (rerun False: none is run again, for commands that make
    their CPUs wait by themselves)."""
    times = {group: {name: {"wall": [], "cpu": []} for name in commands}
             for group, commands in groups.items()}
    tally = {"repetitions": 0, "rerun": 0, "disturbed_kept": 0,
             "pressure": stalled_ms() is not None}
    spare = int(SPARE * repetitions * len(groups)) if rerun else 0
    for repetition in range(warmup + repetitions):
        for group in rotated(groups, index + repetition):
            while True:
                # Counted without the warm-up: whole cycles of orders are kept.
                got = [(name, timed(groups[group][name], env))
                       for name in orders(groups[group], repetition - warmup)]
                disturbed = any(waited is not None and waited > DISTURBED_MS
                                for _, (_, _, waited) in got)
                if not disturbed or spare <= 0 or repetition < warmup:
                    break
                spare -= 1
                tally["rerun"] += 1
                quiet()
            if repetition >= warmup:
                tally["repetitions"] += 1
                tally["disturbed_kept"] += disturbed
                for name, (wall, cpu, _) in got:
                    times[group][name]["wall"].append(wall)
                    times[group][name]["cpu"].append(cpu)
    return times, tally


def added(tallies):
    """One tally of several measure() calls."""
    total = {"repetitions": 0, "rerun": 0, "disturbed_kept": 0, "pressure": True}
    for tally in tallies:
        for key in ("repetitions", "rerun", "disturbed_kept"):
            total[key] += tally[key]
        total["pressure"] = total["pressure"] and tally["pressure"]
    return total


def summary(times, pairs):
    """From measure()'s times of one group: each name's median wall and CPU ms, and
    for each (label, numerator, denominator) in pairs the median of the ratios
    repetition by repetition, of wall and of CPU time."""
    figures = {"ms": {}, "cpu_ms": {}, "ratio": {}}
    for name, runs in times.items():
        figures["ms"][name] = statistics.median(runs["wall"]) * 1000
        figures["cpu_ms"][name] = statistics.median(runs["cpu"]) * 1000
    for label, numerator, denominator in pairs:
        figures["ratio"][label] = {
            kind: statistics.median(a / b for a, b in zip(times[numerator][kind],
                                                          times[denominator][kind]) if b > 0)
            for kind in ("wall", "cpu")}
    return figures
