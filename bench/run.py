"""make bench: initapp against tini, dumb-init and catatonit, and initapp on every
CPython the build covers, as PID 1 and as a subreaper, each against its floor; and
initapp running three processes (bench/multi.py).

Every measure is repeated in ROUNDS rounds. Within a round the commands are
interleaved, in an order that rotates from round to round, so that a noisy moment
hurts them all alike. Start-to-exit is timed in groups (bench/starts.py): initapp,
its floor, and for Debian's Python the floor again, back to back, many times; the
round's ratio is the median of the ratios taken within each repetition, of wall
time and of the tree's CPU time. The floor against itself (A/A) is what the bench
can resolve. Each round also records what else the machine did (load average,
the CPU time other work took).

bench/report.py reports the median of the rounds' ratios with their min-max; a
target is "met" when the median meets it, and "held in 2 runs" only when the
previous full run of the same archive met it too (results.json keeps that run as
"previous"). Results: bench/results.json (every round), bench/results.md and
bench/results.svg. Figures are reported, never asserted."""

import datetime
import hashlib
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import zipapp
from pathlib import Path

import multi
import report
import starts
from multi import children
from starts import rotated

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PYTHON = "/usr/bin/python3"  # Debian's: the peers' table, the workloads, the shebang
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
UNSHARE = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"]
PEERS = {"tini": ["tini", "-g", "--"], "dumb-init": ["dumb-init"],
         "catatonit": ["catatonit", "-g", "--"]}
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
# Per round and command, after one warm-up; multiples of 12 keep every order of
# the groups of 2 and 3 (starts.orders) equally often.
STARTS = int(os.environ.get("BENCH_STARTS", "48"))
VERSION_STARTS = int(os.environ.get("BENCH_VERSION_STARTS", "24"))
WARMUP = 1
SIGNALS = int(os.environ.get("BENCH_SIGNALS", "1000"))              # per round and init
ORPHANS = int(os.environ.get("BENCH_ORPHANS", "10000"))             # per round and init
IDLE_SECONDS = float(os.environ.get("BENCH_IDLE_SECONDS", "10"))
STOP_RUNS = 2                                                       # per round, init and case
# The row without its bytecode: the archive a Debian 12 host without other Pythons
# builds (3.11's set only), run by this version, as in a python:3.12-slim image.
SOURCE_VERSION = "3.12"
MODES = ("PID 1", "subreaper")
# glibc's internal signals 32 and 33 when each command starts: "default", as a
# container engine leaves them, or "ignored", as make (glibc's posix_spawn) does.
GLIBC_SIGNALS = os.environ.get("BENCH_GLIBC_SIGNALS", "default")
# rt_sigaction's number: glibc's own sigaction refuses its internal signals.
RT_SIGACTION = {"x86_64": 13, "aarch64": 134}.get(os.uname().machine)


def log(text):
    print(text, file=sys.stderr, flush=True)


# -- setting up -----------------------------------------------------------------------

def locate_peers():
    """The peers from Debian's packages; installed when missing (root, apt)."""
    missing = [name for name in PEERS if shutil.which(name) is None]
    if missing:
        log("installing %s from Debian's packages" % " ".join(missing))
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + missing,
                       check=True, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    for name in PEERS:
        log("%-10s %s" % (name, shutil.which(name)))


def set_glibc_signals():
    """Signals 32 and 33 as GLIBC_SIGNALS says, for every command measured. initapp
    starts its workload with posix_spawnp only when they are already ignored (glibc's
    posix_spawn ignores them in the child): measured under make as it comes, initapp
    would take a path it does not take in a container."""
    if GLIBC_SIGNALS not in ("default", "ignored"):
        sys.exit("bench: BENCH_GLIBC_SIGNALS is default or ignored, not %r" % GLIBC_SIGNALS)
    if RT_SIGACTION is None:
        log("bench: cannot set signals 32 and 33 on %s; they stay as they came"
            % os.uname().machine)
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    # The kernel's struct sigaction: handler (SIG_DFL 0, SIG_IGN 1), flags, restorer, mask.
    action = (ctypes.c_ulong * 4)(int(GLIBC_SIGNALS == "ignored"), 0, 0, 0)
    for signo in (32, 33):
        if libc.syscall(RT_SIGACTION, signo, action, None, 8) != 0:
            raise OSError(ctypes.get_errno(), "rt_sigaction(%d)" % signo)


def build(work):
    """init.pyz with every version's bytecode, one with Debian's 3.11 set only, two
    empty zipapps; and {"3.N": (interpreter, "3.N.M")} for each version covered."""
    built, covered = {}, {}
    for name, extra in (("init", []), ("debian-only", ["--compile-with", PYTHON])):
        built[name] = work / (name + ".pyz")
        done = subprocess.run([str(ROOT / "build.sh"), "--python", PYTHON, "--output",
                               str(built[name])] + extra, check=True, capture_output=True, text=True)
        log(done.stdout.strip())
        if name == "init":
            covered = compiled_with(done.stdout)
    for name, main in (("empty", ""), ("empty-idle", "import time\ntime.sleep(60)\n")):
        source = work / name
        source.mkdir()
        (source / "__main__.py").write_text(main)
        built[name] = work / (name + ".pyz")
        zipapp.create_archive(source, built[name], interpreter=PYTHON + " -IS")
        built[name].chmod(0o755)
    return built, covered


def compiled_with(build_report):
    """build.sh's lines "  3.11.2 (/usr/bin/python3)" as {"3.11": (interpreter, "3.11.2")}."""
    covered = {}
    for line in build_report.splitlines():
        if line.startswith("  ") and line.endswith(")"):
            version, interpreter = line.strip()[:-1].split(" (", 1)
            covered[".".join(version.split(".")[:2])] = (interpreter, version)
    return covered


class Run:
    """One command to measure: as PID 1 of a new PID namespace, or as a plain child
    of this process (initapp then is a subreaper)."""

    def __init__(self, argv, pid1=True):
        self.argv = (UNSHARE if pid1 else []) + list(argv)
        self.pid1 = pid1

    def plus(self, *args):
        run = Run([], self.pid1)
        run.argv = self.argv + list(args)
        return run


class Setup:
    """What every round runs: the peers' table (inits and floors), and for each
    version row and mode, initapp and its floor run by that version's interpreter."""

    def __init__(self, built, covered):
        self.inits = {"initapp": Run([str(built["init"]), "-g", "--"])}
        self.init_pyz = built["init"]
        self.inits.update((name, Run(argv)) for name, argv in PEERS.items())
        self.idle_floor = Run([str(built["empty-idle"])])
        empty = Run([str(built["empty"])])
        # The peers' table's start: initapp, its floor and the floor again (A/A)
        # back to back; the other inits and the bare interpreter beside them.
        self.start_groups = {
            "initapp": {"initapp": self.inits["initapp"].plus("true").argv,
                        "empty zipapp": empty.argv, report.AGAIN: empty.argv},
            "others": dict([(name, self.inits[name].plus("true").argv) for name in PEERS]
                           + [("python3 -I -S -c pass", [PYTHON, "-I", "-S", "-c", "pass"])])}
        archives = [(version, python, built["init"]) for version, (python, _) in covered.items()]
        if SOURCE_VERSION in covered:
            archives.append((SOURCE_VERSION + " source", covered[SOURCE_VERSION][0],
                             built["debian-only"]))
        self.rows, self.version_groups, self.checked = {}, {}, None
        for row, python, archive in archives:
            for mode in MODES:
                key = row + "|" + mode
                init = Run([python, "-IS", str(archive), "--"], mode == "PID 1")
                floor = Run([python, "-IS", str(built["empty"])], init.pid1)
                self.rows[key] = {"idle": (init.plus("sleep", "60"),
                                           Run([python, "-IS", str(built["empty-idle"])],
                                               init.pid1))}
                self.version_groups[key] = {"init": init.plus("true").argv, "floor": floor.argv}
                if python == PYTHON and archive == built["init"]:
                    # Debian's Python checks the bench itself in each mode (A/A).
                    self.version_groups[key][report.AGAIN] = floor.argv
                    self.checked = row

    def row_runs(self, kind):
        """{"ROW|MODE|init": run, "ROW|MODE|floor": run} for kind "idle"."""
        runs = {}
        for key, row in self.rows.items():
            runs[key + "|init"], runs[key + "|floor"] = row[kind]
        return runs


# -- the machine ----------------------------------------------------------------------

def cpu_seconds():
    """(busy, steal) CPU seconds of all CPUs since boot, from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    tick = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / tick, steal / tick


def own_seconds():
    """The CPU time of this process and of every process it has waited for (all the
    measured ones, their trees included)."""
    return sum(u.ru_utime + u.ru_stime for u in (resource.getrusage(resource.RUSAGE_SELF),
                                                    resource.getrusage(resource.RUSAGE_CHILDREN)))


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(v) for v in f.read().split()[:3]]


class Machine:
    """What else the machine did over a stretch of the bench: the CPUs' busy time
    (/proc/stat) less the bench's own, as a number of CPUs kept busy on average; the
    hypervisor's steal the same way; the load average when the stretch began."""

    def __init__(self):
        self.loadavg = loadavg()
        self.began = time.monotonic()
        self.busy, self.steal = cpu_seconds()
        self.own = own_seconds()

    def since(self):
        seconds = time.monotonic() - self.began
        busy, steal = cpu_seconds()
        return {"loadavg": self.loadavg, "seconds": seconds,
                "other_cpus": max(0.0, busy - self.busy - (own_seconds() - self.own)) / seconds,
                "steal_cpus": (steal - self.steal) / seconds}


def before_run():
    """The machine just before the first round, over 2 s; a warning when other work
    keeps a CPU's worth of it busy (the figures still come, with that said)."""
    machine = Machine()
    time.sleep(2.0)
    found = machine.since()
    found["cpus"] = os.cpu_count()
    log("bench: %d CPUs, load average %s, other work %.2f CPUs busy over 2 s"
        % (found["cpus"], " ".join("%.2f" % v for v in found["loadavg"]), found["other_cpus"]))
    if found["other_cpus"] >= 1.0 or found["loadavg"][0] >= found["cpus"]:
        log("bench: the machine is busy; the figures will be noisier (the report says how much)")
    return found


# -- measurements ---------------------------------------------------------------------

def measured_pid(outer, run):
    """The init's pid: the child of unshare for PID 1, the process itself otherwise."""
    if not run.pid1:
        return outer.pid
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        kids = children(outer.pid)
        if kids:
            return kids[0]
        time.sleep(0.01)
    raise RuntimeError("no process inside the namespace: %s" % run.argv)


def status(pid):
    with open("/proc/%d/status" % pid) as f:
        return {k: v.strip() for k, v in (line.split(":", 1) for line in f)}


def kib(text):
    return int(text.split()[0])


def end(outer, pid):
    """SIGKILL the init's children, then the init (a PID 1 takes its namespace along)."""
    for kid in children(pid) + [pid]:
        try:
            os.kill(kid, signal.SIGKILL)
        except ProcessLookupError:
            pass    # an init that exits with its child may be gone already
    outer.wait(timeout=30)


def idle(runs, index):
    """VmRSS, RssAnon, and voluntary context switches over IDLE_SECONDS, all at once."""
    running = {}
    for name, run in rotated(runs.items(), index):
        outer = subprocess.Popen(run.argv, env=ENV, stderr=subprocess.DEVNULL)
        running[name] = (outer, measured_pid(outer, run))
    time.sleep(2.0)  # every one of them started and settled
    before = {name: status(pid) for name, (_, pid) in running.items()}
    time.sleep(IDLE_SECONDS)
    after = {name: status(pid) for name, (_, pid) in running.items()}
    results = {}
    for name, (outer, pid) in running.items():
        results[name] = {
            "vmrss_kib": kib(after[name]["VmRSS"]), "rssanon_kib": kib(after[name]["RssAnon"]),
            "wakeups": int(after[name]["voluntary_ctxt_switches"])
            - int(before[name]["voluntary_ctxt_switches"]),
        }
        end(outer, pid)
    return results


RECEIVER = """
import os, signal, sys, time
out = int(sys.argv[1])
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
os.write(out, b"ready---")
for _ in range(%d):
    signal.sigwaitinfo([signal.SIGUSR1])
    os.write(out, time.monotonic_ns().to_bytes(8, "little"))
"""


def forwarding(inits, index):
    """kill(init, SIGUSR1) to the child's sigwaitinfo, paced, p50 and p99 in ms."""
    results = {}
    for name, run in rotated(inits.items(), index):
        read_end, write_end = os.pipe()
        outer = subprocess.Popen(run.plus(PYTHON, "-c", RECEIVER % SIGNALS, str(write_end)).argv,
                                 env=ENV, pass_fds=(write_end,))
        os.close(write_end)
        pid = measured_pid(outer, run)
        assert os.read(read_end, 8) == b"ready---"
        latencies = []
        for _ in range(SIGNALS):
            sent = time.monotonic_ns()
            os.kill(pid, signal.SIGUSR1)
            arrived = int.from_bytes(os.read(read_end, 8), "little")
            latencies.append((arrived - sent) / 1e6)
            time.sleep(0.002)
        outer.wait(timeout=30)
        os.close(read_end)
        latencies.sort()
        results[name] = {"p50_ms": latencies[len(latencies) // 2],
                         "p99_ms": latencies[int(len(latencies) * 0.99)]}
    return results


ORPHAN_MAKER = """
import os, time
total, burst = %d, 100
for _ in range(total // burst):
    if os.fork() == 0:
        for _ in range(burst):
            if os.fork() == 0:
                os._exit(0)
        os._exit(0)
# Wait until PID 1 has reaped every orphan: its only child left is this process.
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    with open("/proc/1/task/1/children") as f:
        if f.read().split() == [str(os.getpid())]:
            break
    time.sleep(0.001)
with open("/proc/1/status") as f:
    print([line.split()[1] for line in f if line.startswith("VmRSS")][0], flush=True)
"""


def orphans(inits, index):
    """Time for each init to reap ORPHANS orphans made in bursts, and its RSS after."""
    results = {}
    for name, run in rotated(inits.items(), index):
        began = time.perf_counter()
        done = subprocess.run(run.plus(PYTHON, "-c", ORPHAN_MAKER % ORPHANS).argv, env=ENV,
                              capture_output=True, text=True, timeout=300)
        results[name] = {"seconds": time.perf_counter() - began,
                         "rss_after_kib": int(done.stdout.strip() or 0)}
    return results


TREE = """
import os, signal, sys, time
out = int(sys.argv[1])
signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
if os.fork() == 0:
    def late(*args):
        time.sleep(%f)
        os.write(out, time.monotonic_ns().to_bytes(8, "little"))
        os._exit(0)
    signal.signal(signal.SIGTERM, late)
    os.write(out, b"ready---")
    time.sleep(30)
    os._exit(0)
time.sleep(30)
"""


def stop(inits, index):
    """SIGTERM to exit; with a process that needs 0.5 s, also its exit to the init's."""
    results = {}
    for name, run in rotated(inits.items(), index):
        row = {}
        for case, late in (("exit_at_once", 0.0), ("tree_0_5s", 0.5)):
            totals, tails = [], []
            for _ in range(STOP_RUNS):
                read_end, write_end = os.pipe()
                outer = subprocess.Popen(run.plus(PYTHON, "-c", TREE % late, str(write_end)).argv,
                                         env=ENV, pass_fds=(write_end,))
                os.close(write_end)
                pid = measured_pid(outer, run)
                assert os.read(read_end, 8) == b"ready---"
                sent = time.monotonic_ns()
                os.kill(pid, signal.SIGTERM)
                outer.wait()  # blocking: wait(timeout) polls with sleeps of up to 50 ms
                ended = time.monotonic_ns()
                last = os.read(read_end, 8)
                os.close(read_end)
                totals.append((ended - sent) / 1e6)
                tail = (ended - int.from_bytes(last, "little")) / 1e6 if len(last) == 8 else -1
                if 0 <= tail < 10000:  # the process wrote its exit time: it was not killed
                    tails.append(tail)
            row[case] = {"ms": statistics.median(totals), "waited_runs": len(tails),
                         "runs": STOP_RUNS,
                         "after_last_exit_ms": statistics.median(tails) if tails else None}
        results[name] = row
    return results


def imports(built, repeats=15):
    """What initapp imports beyond the empty zipapp, by -X importtime: per module the
    median over repeats of its own microseconds, as PID 1 and as a subreaper."""
    def timed(argv):
        done = subprocess.run(argv, env=ENV, capture_output=True, text=True, check=True)
        found = {}
        for line in done.stderr.splitlines():
            if line.startswith("import time:") and not line.endswith("package"):
                own, _, name = line[len("import time:"):].split("|")
                found[name.strip()] = int(own)
        return found

    floor = set(timed([PYTHON, "-X", "importtime", "-IS", str(built["empty"])]))
    results = {}
    for mode in MODES:
        argv = [PYTHON, "-X", "importtime", "-IS", str(built["init"]), "true"]
        runs = [timed((UNSHARE if mode == "PID 1" else []) + argv) for _ in range(repeats)]
        names = [name for name in runs[0] if name not in floor]
        results[mode] = {name: statistics.median(run.get(name, 0) for run in runs)
                         for name in names}
    return results


def start_figures(times, again):
    """starts.summary of a group of init, floor (and the floor again when checked)."""
    init, floor = list(times)[:2]
    pairs = [("init", init, floor)] + ([("A/A", again, floor)] if again in times else [])
    return starts.summary(times, pairs)


def one_round(index, setup):
    """Every measure once, the commands interleaved; this round's raw figures."""
    def say(what):
        log("round %d/%d: %s ..." % (index + 1, ROUNDS, what))

    machine = Machine()
    say("start-to-exit, %d runs of each init and floor" % STARTS)
    times, peers_tally = starts.measure(setup.start_groups, STARTS, ENV, WARMUP, index)
    figures = {"start": start_figures(times["initapp"], report.AGAIN)}
    others = starts.summary(times["others"], [])
    for kind in ("ms", "cpu_ms"):
        figures["start"][kind].update(others[kind])
    say("start-to-exit per version and mode, %d runs of each" % VERSION_STARTS)
    times, versions_tally = starts.measure(setup.version_groups, VERSION_STARTS, ENV, WARMUP,
                                           index)
    versions = {key: start_figures(times[key], report.AGAIN) for key in times}
    figures["disturbed"] = starts.added([peers_tally, versions_tally])
    say("idle memory and wakeups, %gs" % IDLE_SECONDS)
    runs = {name: run.plus("sleep", "60") for name, run in setup.inits.items()}
    runs["empty zipapp"] = setup.idle_floor
    runs.update(setup.row_runs("idle"))
    idled = idle(runs, index)
    say("forwarding, orphans, stop")
    figures["forwarding"] = forwarding(setup.inits, index)
    figures["orphans"] = orphans(setup.inits, index)
    figures["stop"] = stop(setup.inits, index)
    say("several processes: start of 3, forwarding, the log relay (%d MB)" % multi.RELAY_MB)
    figures["multi"] = multi.one_round(setup.init_pyz)
    figures["idle"] = {name: idled[name] for name in list(setup.inits) + ["empty zipapp"]}
    figures["versions"] = {key: dict(versions[key], idle=idled[key + "|init"],
                                     floor_idle=idled[key + "|floor"])
                           for key in setup.rows}
    figures["machine"] = machine.since()
    say("done in %.0f s; other work kept %.2f CPUs busy" % (
        figures["machine"]["seconds"], figures["machine"]["other_cpus"]))
    return figures


def commit():
    """The checkout's commit, "+changes" when its runtime differs from it; None
    outside a git checkout."""
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        changed = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--",
                                  "initapp", "tools", "build.sh"],
                                 capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+changes" if changed else "")


def main():
    if os.geteuid() != 0:
        sys.exit("bench: needs root (unshare makes PID namespaces)")
    signal.alarm(3600)  # the whole bench is bounded, whatever hangs
    began = time.monotonic()
    set_glibc_signals()
    locate_peers()
    work = Path(tempfile.mkdtemp(prefix="initapp-bench-"))
    try:
        built, covered = build(work)
        archive = hashlib.sha256(built["init"].read_bytes()).hexdigest()
        setup = Setup(built, covered)
        machine = before_run()
        rounds = [one_round(index, setup) for index in range(ROUNDS)]
        log("where the start goes: -X importtime ...")
        imported = imports(built)
        machine["loadavg_after"] = loadavg()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results = {
        "python": subprocess.run([PYTHON, "--version"], capture_output=True,
                                 text=True).stdout.strip(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        # What was measured: the same source and Pythons give the same bytes.
        "archive_sha256": archive, "commit": commit(),
        "machine": machine,
        "versions": {version: full for version, (_, full) in covered.items()},
        "checked_version": setup.checked,
        "source_version": SOURCE_VERSION, "modes": list(MODES),
        "settings": {"rounds": ROUNDS, "starts": STARTS, "version_starts": VERSION_STARTS,
                     "warmup": WARMUP, "glibc_signals": GLIBC_SIGNALS,
                     "disturbed_ms": starts.DISTURBED_MS, "spare": starts.SPARE,
                     "signals": SIGNALS, "orphans": ORPHANS, "idle_seconds": IDLE_SECONDS,
                     "stop_runs": STOP_RUNS, "multi_starts": multi.STARTS,
                     "multi_signals": multi.SIGNALS, "relay_mb": multi.RELAY_MB},
        "seconds": time.monotonic() - began,
        "rounds": rounds,
        "imports_us": imported,
    }
    saved = HERE / "results.json"
    results["previous"] = report.previous_run(json.loads(saved.read_text())
                                              if saved.exists() else None)
    saved.write_text(json.dumps(results, indent=2) + "\n")
    # A full run's tables go into docs/performance.md too; a short one's do not.
    report.write(results, HERE, docs=report.full_run(results))
    print(report.markdown(results))


if __name__ == "__main__":
    main()
