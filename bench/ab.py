"""Builds of init.pyz side by side: start-to-exit of `ARCHIVE -- true` on each
CPython, as PID 1 and as a subreaper, against the empty zipapp run the same way,
all commands interleaved run after run, glibc's signals 32 and 33 at default (as
make bench, as a container engine). Each round gives one ratio to the floor per
build; the report is the median of the rounds with their min-max, and the median
of the rounds' differences from the first build. Beside the wall time, the CPU
time each command's process tree used (user and system, of every process it
reaped): on a shared machine it moves less than the wall time, but it does not
see work done in parallel (the workload running while initapp finishes starting).
And the idle memory: each round, every build runs `-- sleep 60` beside the empty
zipapp that sleeps (as make bench's idle row), all at once, and VmRSS and RssAnon
are read 2 s after they started (BENCH_AB_MEMORY=0: not measured).

    python3 bench/ab.py OLD.pyz NEW.pyz [MORE.pyz ...] [3.11 3.13 ...]
    BENCH_ROUNDS=5 BENCH_VERSION_STARTS=20 BENCH_MODES="PID 1,subreaper"

A measuring aid for a change of the start path; make bench stays the judge."""

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipapp
from pathlib import Path

import run

MODES = tuple(os.environ.get("BENCH_MODES", ",".join(run.MODES)).split(","))
MEMORY = os.environ.get("BENCH_AB_MEMORY", "1") != "0"
run.IDLE_SECONDS = 0   # the memory only: make bench counts the wakeups


def interpreters(wanted):
    """{"3.N": interpreter} as build.sh finds them (Debian's first, then pyenv's)."""
    found = {}
    roots = [Path("/usr/bin")] + sorted(
        Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")).glob("versions/3.*/bin"))
    for root in roots:
        for minor in range(8, 14):
            version = "3.%d" % minor
            candidate = root / ("python" + version)
            if version not in found and candidate.exists() and (not wanted or version in wanted):
                found[version] = str(candidate)
    return dict(sorted(found.items(), key=lambda item: int(item[0].split(".")[1])))


def spread(values):
    return "%.3fx (%.2f-%.2f)" % (statistics.median(values), min(values), max(values))


def cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def start_to_exit(runs, repeats, index):
    """({name: median wall ms}, {name: median CPU ms}), interleaved run after run."""
    walls, cpus = {name: [] for name in runs}, {name: [] for name in runs}
    for _ in range(repeats):
        for name, command in run.rotated(runs.items(), index):
            began, used = time.perf_counter(), cpu()
            subprocess.run(command.argv, env=run.ENV, check=True, stdout=subprocess.DEVNULL)
            walls[name].append(time.perf_counter() - began)
            cpus[name].append(cpu() - used)
    return ({name: statistics.median(values) * 1000 for name, values in walls.items()},
            {name: statistics.median(values) * 1000 for name, values in cpus.items()})


def idle_memory(pythons, names, archives, floor_idle, index, memory):
    """One round of idle VmRSS and RssAnon, as ratios to the sleeping floor's, into
    memory: {(measure, version, mode, build): [ratio per round]}."""
    runs = {}
    for version, python in pythons.items():
        for mode in MODES:
            for name, archive in zip(names, archives):
                runs[version, mode, name] = run.Run([python, "-IS", archive, "--", "sleep", "60"],
                                                    mode == "PID 1")
            runs[version, mode, "floor"] = run.Run([python, "-IS", str(floor_idle)],
                                                   mode == "PID 1")
    found = run.idle(runs, index)
    for (version, mode, name), figures in found.items():
        for measure in ("vmrss_kib", "rssanon_kib"):
            memory.setdefault((measure, version, mode, name), []).append(
                figures[measure] / found[version, mode, "floor"][measure])


def table(title, ratios, names, pythons):
    print("\n%s\n" % title)
    print("| CPython | as | %s |" % " | ".join("%s / floor | - %s" % (name, names[0])
                                             for name in names))
    print("|---|---|%s" % ("---|---|" * len(names)))
    for version in pythons:
        for mode in MODES:
            first = ratios[version, mode, names[0]]
            cells = []
            for name in names:
                these = ratios[version, mode, name]
                cells += [spread(these), "%+.3f" % statistics.median(
                    b - a for a, b in zip(first, these))]
            print("| %s | %s | %s |" % (version, mode, " | ".join(cells)))


def main():
    archives = [str(Path(arg).resolve()) for arg in sys.argv[1:] if arg.endswith(".pyz")]
    names = [Path(path).stem for path in archives]
    pythons = interpreters([arg for arg in sys.argv[1:] if not arg.endswith(".pyz")])
    run.set_glibc_signals()
    work = Path(tempfile.mkdtemp(prefix="initapp-ab-"))
    try:
        empty = work / "empty"
        empty.mkdir()
        (empty / "__main__.py").write_text("")
        floor_pyz = work / "empty.pyz"
        zipapp.create_archive(empty, floor_pyz)
        idle = work / "idle"
        idle.mkdir()
        (idle / "__main__.py").write_text("import time\ntime.sleep(60)\n")
        floor_idle = work / "idle.pyz"
        zipapp.create_archive(idle, floor_idle)
        began = time.monotonic()
        walls, cpus = {}, {}   # (version, mode, build) -> [ratio per round]
        floors = {}            # (version, mode) -> [floor's wall ms per round]
        memory = {}            # (measure, version, mode, build) -> [ratio per round]
        for index in range(run.ROUNDS):
            runs = {}
            for version, python in pythons.items():
                for mode in MODES:
                    pid1 = mode == "PID 1"
                    for name, archive in zip(names, archives):
                        runs[version, mode, name] = run.Run([python, "-IS", archive, "--", "true"],
                                                            pid1)
                    runs[version, mode, "floor"] = run.Run([python, "-IS", str(floor_pyz)], pid1)
            print("round %d/%d ..." % (index + 1, run.ROUNDS), file=sys.stderr, flush=True)
            wall, used = start_to_exit(runs, run.VERSION_STARTS, index)
            for version in pythons:
                for mode in MODES:
                    floors.setdefault((version, mode), []).append(wall[version, mode, "floor"])
                    for name in names:
                        key = (version, mode, name)
                        walls.setdefault(key, []).append(wall[key] / wall[version, mode, "floor"])
                        cpus.setdefault(key, []).append(used[key] / used[version, mode, "floor"])
            if MEMORY:
                idle_memory(pythons, names, archives, floor_idle, index, memory)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    table("Start-to-exit (wall) / the floor's", walls, names, pythons)
    table("CPU time of the process tree / the floor's", cpus, names, pythons)
    for measure, title in (("vmrss_kib", "Idle VmRSS"), ("rssanon_kib", "Idle RssAnon")):
        if MEMORY:
            table(title + " / the sleeping floor's", {
                key[1:]: ratios for key, ratios in memory.items() if key[0] == measure},
                names, pythons)
    print("\nfloors (median wall ms of the rounds): %s" % ", ".join(
        "%s %s %.1f" % (version, mode, statistics.median(floors[version, mode]))
        for version in pythons for mode in MODES))
    print("%d rounds of %d interleaved starts of each command; %.0f s"
          % (run.ROUNDS, run.VERSION_STARTS, time.monotonic() - began))


if __name__ == "__main__":
    main()
