"""A workload for the tests: records the signals it gets, then exits.

usage: trap.py DIR [options]
  --handle SIG...   signals to catch (default TERM INT); each is appended to DIR/got
  --ignore SIG...   signals to ignore
  --cleanup S       seconds spent "cleaning up" in the handler before DIR/done is written
  --code N          exit code after cleanup (default 0)
  --life S          exit by itself after S seconds (default 30): nothing runs unbounded
  --keep            keep running after a handled signal (record and carry on)
  --chatter TAG     write numbered lines "TAG N ..." to stdout without pause (blocking
                    when it is full); a handled signal appends to DIR/wrote how many
                    writes had returned
DIR/ready is written once the handlers are installed; DIR/pid holds the pid."""

import argparse
import os
import signal
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("dir")
parser.add_argument("--handle", nargs="*", default=["TERM", "INT"])
parser.add_argument("--ignore", nargs="*", default=[])
parser.add_argument("--cleanup", type=float, default=0.0)
parser.add_argument("--code", type=int, default=0)
parser.add_argument("--life", type=float, default=30.0)
parser.add_argument("--keep", action="store_true")
parser.add_argument("--chatter")
args = parser.parse_args()


def path(name):
    return os.path.join(args.dir, name)


def append(name, text):
    with open(path(name), "a") as out:
        out.write(text + "\n")


written = 0


def handler(signo, frame):
    append("got", "%s %.6f" % (signal.Signals(signo).name, time.time()))
    if args.chatter:
        append("wrote", str(written))
    if args.keep:
        return
    time.sleep(args.cleanup)
    append("done", "%d" % os.getpid())
    os._exit(args.code)


for name in args.handle:
    signal.signal(getattr(signal, "SIG" + name), handler)
for name in args.ignore:
    signal.signal(getattr(signal, "SIG" + name), signal.SIG_IGN)
append("pid", str(os.getpid()))
with open(path("ready.tmp"), "w") as out:
    out.write(str(os.getpid()))
os.rename(path("ready.tmp"), path("ready"))
deadline = time.monotonic() + args.life
while time.monotonic() < deadline:
    if args.chatter:
        os.write(1, b"%s %d %s\n" % (args.chatter.encode(), written + 1, b"." * 60))
        written += 1
    else:
        time.sleep(0.05)
append("timeout", "%d" % os.getpid())
sys.exit(99)
