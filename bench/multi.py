"""make bench's multi-process case: initapp running three processes (--run), as PID 1.

- start: start-to-exit of `init.pyz --run a=true --run b=true --run c=true`
  against `init.pyz -- true` (one process: what the start of the mode costs),
  back to back (bench/starts.py), the ratio taken pair by pair.
- forwarding: SIGUSR1 to the init, to process a's sigwaitinfo, with b and c
  running beside it; p50 and p99.
- relay: one process writes RELAY_MB MB of 100-byte lines to its stdout in writes
  of 65,500 bytes, beside two idle ones; the wall time until everything, with its
  prefixes, reached the reader of initapp's stdout, as MB/s of the process's bytes,
  against the same bytes through `cat`; and the CPU the relay took (the init's
  CPU time, without the producer's) per MB, against cat's.

When the built init.pyz has no --run yet, the relay is measured alone: a small
harness (every signal blocked, as initapp does) runs the same producer through
initapp.relay.Relay from this checkout; the start and forwarding figures are then
absent. The result says which ("path").

    python3 bench/multi.py [INIT_PYZ]   # this case alone, printed as JSON"""

import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import starts as timing

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PYTHON = "/usr/bin/python3"
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
UNSHARE = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"]
STARTS = int(os.environ.get("BENCH_MULTI_STARTS", "24"))      # per round and command
SIGNALS = int(os.environ.get("BENCH_MULTI_SIGNALS", "300"))   # per round
RELAY_MB = int(os.environ.get("BENCH_RELAY_MB", "100"))       # per round and path
LINE = 100
WRITE = 65500

PRODUCER = """
import os, resource, sys
line = b"p" * %d + b"\\n"
chunk = line * (%d // len(line))
left = %d
while left > 0:
    data = chunk[:left]
    written = 0
    while written < len(data):
        written += os.write(1, data[written:])
    left -= len(data)
usage = resource.getrusage(resource.RUSAGE_SELF)
with open(sys.argv[1], "w") as out:
    out.write("%%f" %% (usage.ru_utime + usage.ru_stime))
""" % (LINE - 1, WRITE, RELAY_MB * 1000000)

# The relay alone, as initapp would run it: every signal blocked, three names.
HARNESS = """
import os, subprocess, sys, time
sys.path.insert(0, %r)
from initapp import signals
from initapp.relay import Relay
signals.take_over()
relay = Relay(["a", "b", "c"])
out, err = relay.pipes("a")
child = subprocess.Popen(sys.argv[1:], stdout=out, stderr=err)
relay.started("a")
for name in ("b", "c"):
    for fd in relay.pipes(name):
        os.close(fd)
    relay.started(name)
relay.start()
child.wait()
relay.finish(time.monotonic() + 600)
""" % str(ROOT)

RECEIVER = """
import os, signal, sys, time
out = os.open(sys.argv[1], os.O_WRONLY)
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
os.write(out, b"ready---")
for _ in range(%d):
    signal.sigwaitinfo([signal.SIGUSR1])
    os.write(out, time.monotonic_ns().to_bytes(8, "little"))
"""

# b and c beside the receiver: initapp forwards SIGUSR1 to every process, and a
# `sleep` it killed would be an ending process that stops them all.
BESIDE = """
import signal, time
signal.signal(signal.SIGUSR1, signal.SIG_IGN)
time.sleep(60)
"""


def has_run_option(init_pyz):
    done = subprocess.run([str(init_pyz), "--run", "a=true", "--run", "b=true"], env=ENV,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    return done.returncode == 0


def three(init_pyz, a, b="sleep 60", c="sleep 60", pid1=True):
    return (UNSHARE if pid1 else []) + [str(init_pyz), "--run", "a=" + a, "--run", "b=" + b,
                                        "--run", "c=" + c]


def starts(init_pyz, repeats):
    """Median start-to-exit in ms (wall and CPU) of three processes and of one, and
    the median of three / one taken pair by pair."""
    group = {"three": three(init_pyz, "true", "true", "true"),
             "one": UNSHARE + [str(init_pyz), "--", "true"]}
    # Three processes starting at once on two CPUs wait for them by themselves:
    # CPU pressure says nothing about other work here, so nothing is run again.
    times, tally = timing.measure({"three": group}, repeats, ENV, rerun=False)
    figures = timing.summary(times["three"], [("three/one", "three", "one")])
    return {"three_ms": figures["ms"]["three"], "one_ms": figures["ms"]["one"],
            "three_cpu_ms": figures["cpu_ms"]["three"], "one_cpu_ms": figures["cpu_ms"]["one"],
            "ratio": figures["ratio"]["three/one"], "disturbed": tally}


def forwarding(init_pyz, work):
    """kill(init, SIGUSR1) to process a's sigwaitinfo, b and c beside it: p50, p99 in ms."""
    fifo = work / "signals.fifo"
    os.mkfifo(str(fifo))
    receiver, beside = work / "receiver.py", work / "beside.py"
    receiver.write_text(RECEIVER % SIGNALS)
    beside.write_text(BESIDE)
    idle = "%s %s" % (PYTHON, beside)
    outer = subprocess.Popen(three(init_pyz, "%s %s %s" % (PYTHON, receiver, fifo), idle, idle),
                             env=ENV, stdout=subprocess.DEVNULL)
    try:
        reading = os.open(str(fifo), os.O_RDONLY)
        assert os.read(reading, 8) == b"ready---"
        pid = _init_pid(outer.pid)
        _wait_ignoring(pid, 2)
        latencies = []
        for _ in range(SIGNALS):
            sent = time.monotonic_ns()
            os.kill(pid, signal.SIGUSR1)
            arrived = int.from_bytes(os.read(reading, 8), "little")
            latencies.append((arrived - sent) / 1e6)
            time.sleep(0.002)
        os.close(reading)
        outer.wait(timeout=60)
    finally:
        if outer.poll() is None:
            outer.kill()
            outer.wait()
        fifo.unlink()
    latencies.sort()
    return {"p50_ms": latencies[len(latencies) // 2],
            "p99_ms": latencies[int(len(latencies) * 0.99)]}


def _wait_ignoring(pid, count):
    """Until count of pid's children ignore SIGUSR1 (b and c are ready)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        ready = 0
        for kid in children(pid):
            try:
                with open("/proc/%d/status" % kid) as f:
                    ignored = [line.split()[1] for line in f if line.startswith("SigIgn:")]
            except OSError:
                continue
            ready += bool(ignored and int(ignored[0], 16) & (1 << (signal.SIGUSR1 - 1)))
        if ready >= count:
            return
        time.sleep(0.01)
    raise RuntimeError("the processes beside a did not start")


def children(pid):
    """pid's children, from /proc (none once it is gone)."""
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(kid) for kid in f.read().split()]
    except OSError:
        return []


def _init_pid(unshare_pid):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        kids = children(unshare_pid)
        if kids:
            return kids[0]
        time.sleep(0.01)
    raise RuntimeError("no init inside the namespace")


def _through(argv, expected, work):
    """Run argv with its stdout read and discarded; the seconds until expected
    bytes arrived, and the CPU seconds of argv's whole tree (wait4) without the
    producer's own (which it wrote to a file)."""
    cpu_file = work / "producer.cpu"
    if cpu_file.exists():
        cpu_file.unlink()
    read_end, write_end = os.pipe()
    began = time.perf_counter()
    process = subprocess.Popen([part.replace("{cpu}", str(cpu_file)) for part in argv],
                               env=ENV, stdout=write_end, stderr=subprocess.DEVNULL)
    os.close(write_end)
    got, arrived = 0, None
    while True:
        chunk = os.read(read_end, 1 << 20)
        if not chunk:
            break
        got += len(chunk)
        if got >= expected and arrived is None:
            arrived = time.perf_counter() - began
    os.close(read_end)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = status
    if got != expected:
        raise RuntimeError("%s: %d bytes arrived, %d expected" % (argv[0], got, expected))
    producer = float(cpu_file.read_text())
    return arrived, usage.ru_utime + usage.ru_stime - producer


def relay(init_pyz, work, use_run):
    """MB/s of the producer's bytes through the relay and through cat, and the CPU
    each took per MB."""
    producer = work / "producer.py"
    producer.write_text(PRODUCER)
    size = RELAY_MB * 1000000
    lines = size // LINE
    if use_run:
        argv = three(init_pyz, "%s %s {cpu}" % (PYTHON, producer))
        expected = size + lines * len(b"a | ")
    else:
        harness = work / "harness.py"
        harness.write_text(HARNESS)
        argv = [PYTHON, str(harness), PYTHON, str(producer), "{cpu}"]
        expected = size + lines * len(b"a | ")
    cat = ["sh", "-c", '"$0" "$1" "$2" | cat', PYTHON, str(producer), "{cpu}"]
    relayed_s, relayed_cpu = _through(argv, expected, work)
    cat_s, cat_cpu = _through(cat, size, work)
    mb = size / 1e6
    return {"path": "init.pyz --run" if use_run else "relay module alone",
            "mb": mb, "relay_mb_s": mb / relayed_s, "cat_mb_s": mb / cat_s,
            "relay_cpu_ms_per_mb": relayed_cpu * 1000 / mb,
            "cat_cpu_ms_per_mb": cat_cpu * 1000 / mb}


def one_round(init_pyz):
    """This round's figures of the multi-process case."""
    work = Path(tempfile.mkdtemp(prefix="initapp-bench-multi-"))
    try:
        use_run = has_run_option(init_pyz)
        figures = {"relay": relay(init_pyz, work, use_run)}
        if use_run:
            figures["start"] = starts(init_pyz, STARTS)
            figures["forwarding"] = forwarding(init_pyz, work)
        return figures
    finally:
        for entry in work.iterdir():
            entry.unlink()
        work.rmdir()


def main(argv):
    if os.geteuid() != 0:
        sys.exit("bench: needs root (unshare makes PID namespaces)")
    signal.alarm(1800)
    if argv:
        init_pyz = Path(argv[0])
    else:
        init_pyz = Path(tempfile.mkdtemp(prefix="initapp-bench-")) / "init.pyz"
        subprocess.run([str(ROOT / "build.sh"), "--python", PYTHON, "--output", str(init_pyz)],
                       check=True, stdout=subprocess.DEVNULL)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    print(json.dumps(one_round(init_pyz), indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
