"""make bench: initapp against tini, dumb-init and catatonit, side by side.

Every init runs as PID 1 of a new PID namespace (unshare), as in a container;
the runs of the different inits are interleaved so that a noisy moment hurts
them all alike. Results: bench/results.json, bench/results.md, bench/results.svg.
Figures are reported, never asserted: the targets are printed beside them."""

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import zipapp
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PYTHON = "/usr/bin/python3"
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
UNSHARE = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"]
PEERS = {"tini": ["tini", "-g", "--"], "dumb-init": ["dumb-init"],
         "catatonit": ["catatonit", "-g", "--"]}
STARTS = int(os.environ.get("BENCH_STARTS", "100"))
SIGNALS = int(os.environ.get("BENCH_SIGNALS", "1000"))
ORPHANS = int(os.environ.get("BENCH_ORPHANS", "10000"))
IDLE_SECONDS = float(os.environ.get("BENCH_IDLE_SECONDS", "10"))


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


def build(work):
    """init.pyz for this machine's Python, and two empty zipapps with its shebang."""
    init = work / "init.pyz"
    subprocess.run([str(ROOT / "build.sh"), "--python", PYTHON, "--output", str(init)],
                   check=True, stdout=subprocess.DEVNULL)
    empties = {}
    for name, main in (("empty", ""), ("empty-idle", "import time\ntime.sleep(60)\n")):
        source = work / name
        source.mkdir()
        (source / "__main__.py").write_text(main)
        empties[name] = work / (name + ".pyz")
        zipapp.create_archive(source, empties[name], interpreter=PYTHON + " -IS")
        empties[name].chmod(0o755)
    return init, empties


def inits(init_pyz):
    commands = {"initapp": [str(init_pyz), "-g", "--"]}
    commands.update(PEERS)
    return commands


# -- measurements ---------------------------------------------------------------------

def start_to_exit(commands):
    """Median wall time of COMMAND true, as PID 1, interleaved."""
    times = {name: [] for name in commands}
    for _ in range(STARTS):
        for name, command in commands.items():
            began = time.perf_counter()
            subprocess.run(UNSHARE + command, env=ENV, check=True)
            times[name].append(time.perf_counter() - began)
    return {name: statistics.median(values) * 1000 for name, values in times.items()}


def inner_pid(outer):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with open("/proc/%d/task/%d/children" % (outer.pid, outer.pid)) as f:
                kids = f.read().split()
            if kids:
                return int(kids[0])
        except OSError:
            pass
        time.sleep(0.01)
    raise RuntimeError("no process inside the namespace")


def status(pid):
    with open("/proc/%d/status" % pid) as f:
        return {k: v.strip() for k, v in (line.split(":", 1) for line in f)}


def kib(text):
    return int(text.split()[0])


def idle(commands):
    """VmRSS, RssAnon, and voluntary context switches over IDLE_SECONDS, all at once."""
    running = {}
    for name, command in commands.items():
        outer = subprocess.Popen(UNSHARE + command, env=ENV, stderr=subprocess.DEVNULL)
        running[name] = (outer, inner_pid(outer))
    time.sleep(1.0)
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
        os.kill(pid, signal.SIGKILL)
        outer.wait()
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


def forwarding(commands):
    """kill(init, SIGUSR1) to the child's sigwaitinfo, paced, p50 and p99 in ms."""
    results = {}
    for name, command in commands.items():
        read_end, write_end = os.pipe()
        outer = subprocess.Popen(UNSHARE + command + [PYTHON, "-c", RECEIVER % SIGNALS,
                                                      str(write_end)], env=ENV, pass_fds=(write_end,))
        os.close(write_end)
        pid = inner_pid(outer)
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


def orphans(commands):
    """Time for COMMAND to reap ORPHANS orphans made in bursts, and its RSS after."""
    results = {}
    for name, command in commands.items():
        began = time.perf_counter()
        done = subprocess.run(UNSHARE + command + [PYTHON, "-c", ORPHAN_MAKER % ORPHANS],
                              env=ENV, capture_output=True, text=True, timeout=300)
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


def stop(commands, runs=5):
    """SIGTERM to exit; with a process that needs 0.5 s, also its exit to the init's."""
    results = {}
    for name, command in commands.items():
        row = {}
        for case, late in (("exit_at_once", 0.0), ("tree_0_5s", 0.5)):
            totals, tails, waited = [], [], 0
            for _ in range(runs):
                read_end, write_end = os.pipe()
                outer = subprocess.Popen(UNSHARE + command + [PYTHON, "-c", TREE % late,
                                                              str(write_end)],
                                         env=ENV, pass_fds=(write_end,))
                os.close(write_end)
                pid = inner_pid(outer)
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
                    waited += 1
                    tails.append(tail)
            row[case] = {"ms": statistics.median(totals), "waited_runs": waited, "runs": runs,
                         "after_last_exit_ms": statistics.median(tails) if tails else None}
        results[name] = row
    return results


# -- report -----------------------------------------------------------------------------

def ratio(value, floor):
    return value / floor if floor else float("nan")


def markdown(r):
    names = list(r["start_ms"].keys())
    inits_ = [n for n in names if n in ("initapp",) + tuple(PEERS)]
    lines = ["| measure | " + " | ".join(inits_) + " | floor | initapp / floor | target |",
             "|---|" + "---|" * (len(inits_) + 3)]

    def row(label, values, floor, target, fmt="%.2f"):
        cells = [fmt % values[n] if values.get(n) is not None else "-" for n in inits_]
        ratio_text = "%.2fx" % ratio(values["initapp"], floor) if floor else "-"
        lines.append("| %s | %s | %s | %s | %s |" % (label, " | ".join(cells),
                                                    fmt % floor if floor else "-", ratio_text, target))

    start = r["start_ms"]
    row("start-to-exit `INIT -- true`, ms (median of %d)" % STARTS, start, start["empty zipapp"],
        "<= 1.2x empty zipapp")
    lines.append("| (floors) `python3 -I -S -c pass`: %.2f ms; empty zipapp `-IS`: %.2f ms | %s |"
                 % (start["python3 -I -S -c pass"], start["empty zipapp"], " | ".join([""] * (len(inits_) + 2))))
    idle_ = r["idle"]
    row("idle VmRSS, KiB", {n: v["vmrss_kib"] for n, v in idle_.items()},
        idle_["empty zipapp"]["vmrss_kib"], "<= 1.1x", "%d")
    row("idle RssAnon, KiB", {n: v["rssanon_kib"] for n, v in idle_.items()},
        idle_["empty zipapp"]["rssanon_kib"], "<= 1.15x", "%d")
    row("wakeups in %gs idle" % IDLE_SECONDS, {n: v["wakeups"] for n, v in idle_.items()}, None,
        "0", "%d")
    fw = r["forwarding"]
    row("forwarding p50, ms (%d signals)" % SIGNALS, {n: v["p50_ms"] for n, v in fw.items()},
        fw["tini"]["p50_ms"], "(floor = tini)", "%.3f")
    row("forwarding p99, ms", {n: v["p99_ms"] for n, v in fw.items()}, fw["tini"]["p99_ms"],
        "<= 2x tini", "%.3f")
    orph = r["orphans"]
    row("reap %d orphans, s" % ORPHANS, {n: v["seconds"] for n, v in orph.items()},
        orph["tini"]["seconds"], "<= 1.5x tini")
    row("RSS after the orphans, KiB", {n: v["rss_after_kib"] for n, v in orph.items()},
        idle_["initapp"]["vmrss_kib"], "flat (floor = idle)", "%d")
    st = r["stop"]
    row("stop, child exits at once, ms", {n: v["exit_at_once"]["ms"] for n, v in st.items()},
        None, "-")
    row("stop, last process exits 0.5 s after, ms", {n: v["tree_0_5s"]["ms"] for n, v in st.items()},
        None, "waits for it")
    row("... its exit to the init's exit, ms",
        {n: v["tree_0_5s"]["after_last_exit_ms"] for n, v in st.items()}, None, "<= 50 ms")
    lines.append("")
    lines.append("A `-` under *its exit to the init's exit*: that init did not wait; the kernel "
                 "killed the process mid-cleanup (%s)." % ", ".join(
                     "%s waited %d/%d" % (n, v["tree_0_5s"]["waited_runs"], v["tree_0_5s"]["runs"])
                     for n, v in st.items()))
    return "\n".join(lines) + "\n"


def svg(r):
    """A bar chart of initapp's ratios against their floors and targets."""
    bars = [
        ("start-to-exit / empty zipapp", r["start_ms"]["initapp"] / r["start_ms"]["empty zipapp"], 1.2),
        ("idle VmRSS / empty zipapp", r["idle"]["initapp"]["vmrss_kib"] / r["idle"]["empty zipapp"]["vmrss_kib"], 1.1),
        ("idle RssAnon / empty zipapp", r["idle"]["initapp"]["rssanon_kib"] / r["idle"]["empty zipapp"]["rssanon_kib"], 1.15),
        ("forwarding p99 / tini", r["forwarding"]["initapp"]["p99_ms"] / r["forwarding"]["tini"]["p99_ms"], 2.0),
        ("reap orphans / tini", r["orphans"]["initapp"]["seconds"] / r["orphans"]["tini"]["seconds"], 1.5),
    ]
    width, left, row_h, scale = 640, 230, 34, 160.0
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">'
             % (width, row_h * len(bars) + 40),
             '<text x="10" y="18" font-weight="bold">initapp, ratio to its floor (bar) and target (line)</text>']
    for index, (label, value, target) in enumerate(bars):
        y = 30 + index * row_h
        colour = "#3a7" if value <= target else "#d63"
        parts.append('<text x="10" y="%d">%s</text>' % (y + 16, label))
        parts.append('<rect x="%d" y="%d" width="%.1f" height="18" fill="%s"/>' % (left, y + 3, value * scale, colour))
        parts.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#000" stroke-dasharray="3,2"/>'
                     % (left + target * scale, y, left + target * scale, y + 24))
        parts.append('<text x="%.1f" y="%d">%.2fx</text>' % (left + value * scale + 6, y + 16, value))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main():
    if os.geteuid() != 0:
        sys.exit("bench: needs root (unshare makes PID namespaces)")
    signal.alarm(1800)  # the whole bench is bounded, whatever hangs
    locate_peers()
    work = Path(tempfile.mkdtemp(prefix="initapp-bench-"))
    try:
        init_pyz, empties = build(work)
        commands = inits(init_pyz)
        with_floors = dict(commands)
        with_floors["empty zipapp"] = [str(empties["empty"])]
        with_floors["python3 -I -S -c pass"] = [PYTHON, "-I", "-S", "-c", "pass"]
        results = {"python": subprocess.run([PYTHON, "--version"], capture_output=True,
                                             text=True).stdout.strip()}
        log("start-to-exit, %d runs each ..." % STARTS)
        results["start_ms"] = start_to_exit({n: c + (["true"] if n in commands else [])
                                             for n, c in with_floors.items()})
        log("idle memory and wakeups, %gs ..." % IDLE_SECONDS)
        idle_commands = {n: c + ["sleep", "60"] for n, c in commands.items()}
        idle_commands["empty zipapp"] = [str(empties["empty-idle"])]
        results["idle"] = idle(idle_commands)
        log("signal forwarding, %d signals each ..." % SIGNALS)
        results["forwarding"] = forwarding(commands)
        log("reaping %d orphans ..." % ORPHANS)
        results["orphans"] = orphans(commands)
        log("stop latency ...")
        results["stop"] = stop(commands)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    (HERE / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    table = markdown(results)
    (HERE / "results.md").write_text(table)
    (HERE / "results.svg").write_text(svg(results))
    print(table)


if __name__ == "__main__":
    main()
