"""A small init around initapp's log relay, for tests/test_relay.py: it blocks every
signal and takes them with sigwaitinfo (initapp.signals, as initapp does), runs
each NAME=COMMAND (under sh -c) with its output through the relay, and tells what
its main thread does in STATUS (a regular file: writing it never blocks).

usage: relay_host.py STATUS MODE NAME=COMMAND...
MODE:
  serve    the main loop: SIGUSR1 is acknowledged at once ("usr1 N"), SIGTERM goes to
           every child; when all are reaped, finish(now + $RELAY_FINISH seconds),
           then "finished SECONDS", exit 0.
  signals  once the relay runs, "ready"; the main thread then sleeps $RELAY_SLEEP
           seconds outside sigwaitinfo, then names each signal pending ("got NAME"),
           "threads" with the relay thread's SigBlk, and exits after serve's end.
  logs     serve, and the main thread writes initapp messages to stderr the whole
           time, each one write (log.py), until the children are gone."""

import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from initapp import log, signals  # noqa: E402
from initapp.relay import Relay  # noqa: E402


def say(text):
    fd = os.open(STATUS, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(fd, (text + "\n").encode())
    os.close(fd)


STATUS, MODE = sys.argv[1], sys.argv[2]
inherited = signals.take_over()
items = [item.split("=", 1) for item in sys.argv[3:]]
relay = Relay([name for name, _ in items])
children = {}
for name, command in items:
    out, err = relay.pipes(name)
    child = subprocess.Popen(["/bin/sh", "-c", command], stdout=out, stderr=err,
                             restore_signals=False,
                             preexec_fn=lambda: signals.restore(inherited))
    relay.started(name)
    children[child.pid] = child
relay.start()
say("started %s" % " ".join(str(pid) for pid in children))

if MODE == "signals":
    say("ready")
    time.sleep(float(os.environ.get("RELAY_SLEEP", "1")))
    while True:
        info = signals.wait(0)
        if info is None:
            break
        say("got %s" % signals.name(info.si_signo))
    tid = [task for task in os.listdir("/proc/self/task") if int(task) != os.getpid()]
    with open("/proc/self/task/%s/status" % tid[0]) as status:
        say("threads %s" % [line.split()[1] for line in status if line.startswith("SigBlk")][0])

usr1 = 0
logged = 0
while children:
    info = signals.wait(0 if MODE == "logs" else 0.5)
    if MODE == "logs":
        logged += 1
        log.warning("message %d of the init, written while the relay writes" % logged)
    if info is None:
        continue
    if info.si_signo == signals.SIGCHLD:
        for pid in list(children):
            if children[pid].poll() is not None:
                say("reaped %d %d" % (pid, children.pop(pid).returncode))
    elif info.si_signo == signals.parse("USR1"):
        usr1 += 1
        say("usr1 %d" % usr1)
    elif info.si_signo == signals.SIGTERM:
        say("stopping")
        for pid in children:
            os.kill(pid, signals.SIGTERM)
began = time.monotonic()
relay.finish(began + float(os.environ.get("RELAY_FINISH", "5")))
say("finished %.3f" % (time.monotonic() - began))
os._exit(0)
