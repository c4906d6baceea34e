"""What one HEALTHCHECK costs: `init.pyz probe http://...` against the ways images
without initapp probe the same URL (a Python one-liner with urllib, curl), and
the interpreter's own start as the floor. An HTTP server on 127.0.0.1 answers
200; each command runs RUNS times, interleaved, in a rotating order. The floors:
an empty zipapp started as init.pyz is (python3 -IS), and the bare interpreter. Wall time
from fork to reaped, and the CPU time (user + system) of the command and its
children. Figures are printed (the README's Health probe section quotes them),
never asserted.

    python3 bench/probe.py [INIT_PYZ]     (default dist/init-usr-bin.pyz: make build)"""

import http.server
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipapp
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = "/usr/bin/python3"
RUNS = int(os.environ.get("BENCH_PROBE_RUNS", "40"))
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}


class Healthy(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"ok\n")

    def log_message(self, *args):
        pass


def commands(init_pyz, url, empty):
    found = {
        "init.pyz probe URL": [str(init_pyz), "probe", url],
        "python3 -c urllib.request.urlopen(URL)": [
            PYTHON, "-c", "import urllib.request; urllib.request.urlopen(%r, timeout=5)" % url],
        "curl -fsS -o /dev/null --max-time 5 URL": ["curl", "-fsS", "-o", "/dev/null",
                                                   "--max-time", "5", url],
        "(floor) an empty zipapp, as init.pyz starts": [str(empty)],
        "(floor) python3 -I -S -c pass": [PYTHON, "-I", "-S", "-c", "pass"],
    }
    if shutil.which("curl") is None:
        del found["curl -fsS -o /dev/null --max-time 5 URL"]
    return found


def once(argv):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    done = subprocess.run(argv, env=ENV, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, timeout=30)
    took = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit("%s failed: %s" % (argv, done.stderr.decode(errors="replace")))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return took * 1000, cpu * 1000


def main():
    init_pyz = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "dist" / "init-usr-bin.pyz")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Healthy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d/healthz" % server.server_address[1]
    work = Path(tempfile.mkdtemp(prefix="initapp-bench-probe-"))
    (work / "empty").mkdir()
    (work / "empty" / "__main__.py").write_text("")
    zipapp.create_archive(work / "empty", work / "empty.pyz", interpreter=PYTHON + " -IS")
    (work / "empty.pyz").chmod(0o755)
    table = commands(init_pyz, url, work / "empty.pyz")
    names = list(table)
    results = {name: ([], []) for name in names}
    for name in names:      # a warm-up run each: page cache, bytecode
        once(table[name])
    for index in range(RUNS):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            wall, cpu = once(table[name])
            results[name][0].append(wall)
            results[name][1].append(cpu)
    server.shutdown()
    shutil.rmtree(work)
    print("%d runs each, interleaved; Python %s; %d CPUs, load %.2f" % (
        RUNS, sys.version.split()[0], os.cpu_count(), os.getloadavg()[0]))
    print("| command | wall ms: median (min–p90) | CPU ms: median |")
    print("|---|---|---|")
    for name in names:
        wall, cpu = results[name]
        p90 = sorted(wall)[int(len(wall) * 0.9) - 1]
        print("| `%s` | %.1f (%.1f–%.1f) | %.1f |" % (name, statistics.median(wall), min(wall),
                                                    p90, statistics.median(cpu)))


if __name__ == "__main__":
    main()
