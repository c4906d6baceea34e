"""The scenarios every image runs in every engine. The workloads are Python, as
the distroless image has no shell."""

import time
from pathlib import Path

APP = (Path(__file__).parent / "app.py").read_text()

# Forks an orphan and checks from the workload that its init (its parent, PID 1
# or a subreaper beneath another init) adopted it and then reaped it.
ORPHANS = """
import os, sys, time
init = os.getppid()
def children():
    with open("/proc/%d/task/%d/children" % (init, init)) as f:
        return f.read().split()
r, w = os.pipe()
if os.fork() == 0:
    orphan = os.fork()
    if orphan == 0:
        time.sleep(0.5)
        os._exit(0)
    os.write(w, str(orphan).encode())
    os._exit(0)
orphan = os.read(r, 16).decode()
os.wait()
time.sleep(0.2)
adopted = orphan in children()
time.sleep(1.0)
sys.exit(0 if adopted and children() == [str(os.getpid())] else 1)
"""

READ_ONLY = """
import errno, sys
try:
    open("/probe", "w")
except OSError as error:
    sys.exit(3 if error.errno == errno.EROFS else 8)
sys.exit(9)
"""

USER = ("import os, sys; "
        "sys.exit(4 if (os.getuid(), os.environ.get('HOME')) == (1000, '/') else 1)")

# case: (engine options, or a function of the engine giving them, command, exit
# code). Each must also leave stderr empty, but the missing command, whose message
# must name it.
RUNS = {
    "exit-42": ([], ["python3", "-c", "import sys; sys.exit(42)"], 42),
    "killed-by-term": ([], ["python3", "-c", "import os; os.kill(os.getpid(), 15)"], 143),
    "not-found": ([], ["no-such-command"], 127),
    "orphans-reaped": ([], ["python3", "-c", ORPHANS], 0),
    "read-only-root": (lambda engine: engine.read_only, ["python3", "-c", READ_ONLY], 3),
    "user-1000": (["--user", "1000"], ["python3", "-c", USER], 4),
    # docker run --init / podman run --init: initapp beneath the engine's init,
    # as a subreaper (prctl through ctypes), still adopting and reaping orphans.
    "under-init-orphans-reaped": (["--init"], ["python3", "-c", ORPHANS], 0),
    "under-init-exit-42": (["--init"], ["python3", "-c", "import sys; sys.exit(42)"], 42),
}

# What each image's default CMD prints.
GREETINGS = {
    "copy": "hello from under initapp\n",
    "multistage": "hello from under initapp\n",
    "distroless": "hello from under initapp, distroless\n",
    "alpine": "hello from under initapp on musl\n",
    "wheel": "hello from under initapp\n",
    "wheel-onestage": "hello from under initapp, one stage\n",
    "release": "hello from under initapp, from the release file\n",
}

WRAPPED_APP = ["sh", "-c", 'python3 -c "$0"; echo wrapper-done', APP]


def check_run(engine, image, case):
    options, command, code = RUNS[case]
    if callable(options):
        options = options(engine)
    result = engine.run("--rm", *options, image, *command, check=False)
    assert result.returncode == code, result.stderr
    if case == "not-found":
        assert "no-such-command" in result.stderr
    else:
        assert result.stderr == ""


def check_default(engine, images, kind):
    """The image's own ENTRYPOINT and CMD."""
    result = engine.run("--rm", images[kind])
    assert result.stdout == GREETINGS[kind]
    assert result.stderr == ""


def run_script_without_shebang(engine, image, tmp_path):
    """An executable file without a #! line, as the command: the kernel cannot run
    it, so initapp runs it with /bin/sh (as execvp does), if there is one."""
    script = tmp_path / "script"
    script.write_text("exit 3\n")
    script.chmod(0o755)
    return engine.run("--rm", "-v", "%s:/script:ro" % script, image, "/script", check=False)


def start_app(engine, image, name, *options, command=("python3", "-c", APP)):
    engine.run("-d", "--name", name, *options, image, *command)
    engine.wait_log(name, "ready")


def stop(engine, name, timeout=10):
    began = time.monotonic()
    engine("stop", "-t", str(timeout), name, timeout=timeout + 30)
    return time.monotonic() - began


def check_stop(engine, image, name, *options):
    """A TERM-handling app stops in well under the engine's timeout, exit 0."""
    start_app(engine, image, name, *options)
    took = stop(engine, name)
    logs = engine.logs(name)
    assert "got SIGTERM" in logs and "cleanup done" in logs, logs
    assert took < 4.0
    assert engine.exit_code(name) == 0


def check_wrapper_stop(engine, image, name, *options):
    """The shell wrapper dies of the stop signal at once; the app behind it gets
    SIGTERM from initapp and finishes its one-second cleanup before the end."""
    start_app(engine, image, name, *options, command=WRAPPED_APP)
    took = stop(engine, name)
    logs = engine.logs(name)
    assert "cleanup done" in logs and "wrapper-done" not in logs, logs
    assert 0.9 < took < 5.0
    assert engine.exit_code(name) == 143   # the shell's own death by SIGTERM


def check_hup(engine, image, name):
    """kill -s HUP reaches the app, which keeps running."""
    start_app(engine, image, name)
    engine("kill", "-s", "HUP", name)
    engine.wait_log(name, "got SIGHUP", timeout=10)
    assert engine.inspect(name, ".State.Running") == "true"
