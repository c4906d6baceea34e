"""The start-up window: from exec to every signal blocked.

Until initapp blocks its signals, a SIGTERM to PID 1 is dropped by the kernel
(and one to another pid ends initapp), and a SIGINT ends it with KeyboardInterrupt.
The archive's __main__ blocks them right after its version check; this measures how long
after exec that is, against what any Python program needs to get there: the
interpreter alone (`python3 -IS -c`), and a zipapp whose __main__ only blocks.

Each program writes CLOCK_MONOTONIC to fd 3 right after blocking (init.pyz: a copy
of this checkout built with that one line added); the clock is read again here
the moment posix_spawn returns, which is once the exec is done. Interleaved runs,
reported, never asserted."""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = "/usr/bin/python3"
RUNS = int(os.environ.get("BENCH_STARTS", "100"))
BLOCK = "import _signal; _signal.pthread_sigmask(_signal.SIG_BLOCK, _signal.valid_signals())\n"
STAMP = ("import time as _t, os as _o; "
         "_o.write(3, b'%d\\n' % _t.clock_gettime_ns(_t.CLOCK_MONOTONIC))\n")


def stamped_init(work):
    """init.pyz from this checkout, stamping right after its first statement."""
    source = work / "src"
    for part in ("initapp", "tools"):
        shutil.copytree(ROOT / part, source / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "build.sh", source / "build.sh")
    finisher = source / "tools" / "finish_pyz.py"
    lines = finisher.read_text().splitlines(True)
    first = next(i for i, line in enumerate(lines) if line.startswith("STARTUP_SIGNAL_MASK = "))
    lines.insert(first + 1, STAMP.replace("\\n", "\\\\n"))
    finisher.write_text("".join(lines))
    output = work / "init.pyz"
    subprocess.run([str(source / "build.sh"), "--python", PYTHON, "--output", str(output)],
                   check=True, stdout=subprocess.DEVNULL,
                   env=dict(os.environ, SHIV=str(Path(sys.executable).parent / "shiv")))
    return output


def stamped_zipapp(work):
    path = work / "floor.pyz"
    with open(path, "wb") as out:
        out.write(b"#!" + PYTHON.encode() + b" -IS\n")
        with zipfile.ZipFile(out, "w") as archive:
            archive.writestr("__main__.py", BLOCK + STAMP)
    path.chmod(0o755)
    return path


def window_ms(argv):
    read_end, write_end = os.pipe()
    pid = os.posix_spawn(argv[0], argv, {"PATH": "/usr/bin:/bin"},
                         file_actions=[(os.POSIX_SPAWN_DUP2, write_end, 3)])
    exec_done = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as stamps:
        first = stamps.read().split()[0]
    os.waitpid(pid, 0)
    return (int(first) - exec_done) / 1e6


def main():
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        init = str(stamped_init(work))
        cases = {
            "python3 -IS -c BLOCK (the interpreter alone)": [PYTHON, "-IS", "-c", BLOCK + STAMP],
            "zipapp whose __main__ only blocks": [str(stamped_zipapp(work))],
            "init.pyz true": [init, "/bin/true"],
            "python3 init.pyz true": [PYTHON, init, "/bin/true"],
        }
        for argv in cases.values():
            window_ms(argv)  # warm the page cache
        times = {name: [] for name in cases}
        for _ in range(RUNS):
            for name, argv in cases.items():
                times[name].append(window_ms(argv))
    print("exec to every signal blocked, %d interleaved runs, ms:" % RUNS)
    for name, values in times.items():
        values.sort()
        print("  %-46s median %6.2f   p10 %6.2f   p90 %6.2f" % (
            name, statistics.median(values), values[RUNS // 10], values[RUNS * 9 // 10]))


if __name__ == "__main__":
    main()
