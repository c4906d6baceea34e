"""The workload of the container tests. First it leaves an orphan behind and logs
which process adopted it and whether it was reaped; then says "ready" and logs
every signal it gets with the time (the host's clock: containers share it). On SIGTERM it
cleans up for APP_CLEANUP seconds (default 1) and exits 0, or, with
APP_IGNORE_TERM set, carries on. Ends by itself after 60 s (exit 9)."""

import os
import signal
import sys
import time

CAUGHT = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1)


def log(*words):
    print(*words, "%.3f" % time.time(), flush=True)


def on_signal(signo, frame):
    log("got", signal.Signals(signo).name)
    if signo == signal.SIGTERM and not os.environ.get("APP_IGNORE_TERM"):
        time.sleep(float(os.environ.get("APP_CLEANUP", "1")))
        log("cleanup done")
        sys.exit(0)


def leave_an_orphan():
    orphan_pid = os.pipe()
    if os.fork() == 0:
        orphan = os.fork()
        if orphan == 0:
            time.sleep(0.2)    # its parent is gone by now
            with open("/proc/%d/cmdline" % os.getppid(), "rb") as cmdline:
                adopter = cmdline.read().split(b"\0")[:3]     # the program, not its command
            log("orphan adopted by", b" ".join(adopter).decode())
            os._exit(0)
        os.write(orphan_pid[1], b"%d" % orphan)
        os._exit(0)
    orphan = int(os.read(orphan_pid[0], 16))
    os.wait()
    time.sleep(0.5)
    log("orphan not reaped" if os.path.exists("/proc/%d" % orphan) else "orphan reaped")


leave_an_orphan()
for caught in CAUGHT:
    signal.signal(caught, on_signal)
log("ready")
time.sleep(60)
sys.exit(9)
