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
taken by other work does not inflate."""

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


def timed(argv, env):
    """(wall seconds, CPU seconds of the tree) of one start-to-exit of argv."""
    began = time.perf_counter()
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - began
    process.returncode = status  # reaped here: Popen must not wait for it again
    if status != 0:
        raise RuntimeError("%s ended with status %d" % (" ".join(argv), status))
    return wall, usage.ru_utime + usage.ru_stime


def measure(groups, repetitions, env, warmup=1, index=0):
    """{group: {name: {"wall": [s...], "cpu": [s...]}}}: repetitions + warmup times
    through every group, the first warmup ones dropped (the first starts after the
    round's other measures find colder caches). The lists of one group are aligned:
    item i of each comes from the same repetition. index rotates the groups' order
    from round to round."""
    times = {group: {name: {"wall": [], "cpu": []} for name in commands}
             for group, commands in groups.items()}
    for repetition in range(warmup + repetitions):
        for group in rotated(groups, index + repetition):
            # Counted without the warm-up: whole cycles of orders are kept.
            for name in orders(groups[group], repetition - warmup):
                wall, cpu = timed(groups[group][name], env)
                if repetition >= warmup:
                    times[group][name]["wall"].append(wall)
                    times[group][name]["cpu"].append(cpu)
    return times


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
