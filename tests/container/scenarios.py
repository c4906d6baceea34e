"""The scenarios every image runs in every engine. The workloads are Python, as
the distroless image has no shell."""

import hashlib
import json
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


# -- the entrypoint recipe (images/entrypoint/) -----------------------------------

# The secret as a file holds it (the newline `echo` adds), and its digest, which the
# app compares: the secret itself is never printed.
ENTRYPOINT_SECRET = b"s3cret p4ss=\xc3\xa9\n"
ENTRYPOINT_DIGEST = hashlib.sha256(ENTRYPOINT_SECRET[:-1]).hexdigest()
# The app: DB_PASSWORD from the file, the connection string the start-up script
# made from it, the _FILE variable and INITAPP_ENV_FILE gone, user 1000, and the
# data directory the script (as root) gave to that user.
ENTRYPOINT_CHECK = """
import hashlib, os, sys
env = os.environb
password = env.get(b"DB_PASSWORD", b"")
problems = [name for name, ok in [
    ("DB_PASSWORD", hashlib.sha256(password).hexdigest() == sys.argv[1]),
    ("DATABASE_URL", env.get(b"DATABASE_URL") == b"postgresql://app:%s@db:5432/app" % password),
    ("DB_PASSWORD_FILE", b"DB_PASSWORD_FILE" not in env),
    ("INITAPP_ENV_FILE", b"INITAPP_ENV_FILE" not in env),
    ("uid", os.getuid() == 1000),
    ("/var/lib/app", os.stat("/var/lib/app").st_uid == 1000)] if not ok]
print("entrypoint check:", ", ".join(problems) or "ok")
sys.exit(1 if problems else 0)
"""


def check_entrypoint_logs(logs):
    """What the recipe's run told: the script ran, the check passed, at -vvv,
    and the secret is nowhere."""
    assert "entrypoint check: ok" in logs, logs
    assert "running pre-start script /docker-entrypoint.d/10-setup as pid" in logs, logs
    assert "set DB_PASSWORD from DB_PASSWORD_FILE='/run/secrets/db_password' (14 bytes)" in logs
    assert "s3cret" not in logs and "p4ss" not in logs, logs


# A start-up script still running when the engine stops the container.
SLOW_SETUP = """#!/bin/sh
trap 'echo "setup: got SIGTERM"; exit 0' TERM
echo "setup: migrating"
sleep 60 & wait $!
"""


def check_stop_during_start_up(engine, image, name, tmp_path):
    """The engine's stop reaches the running script, the app never starts, and
    the container exits 143 (128+SIGTERM: the script stopped cleanly, the app
    never ran) long before the engine's timeout."""
    scripts = tmp_path / "entrypoint.d"
    scripts.mkdir()
    (scripts / "10-migrate").write_text(SLOW_SETUP)
    (scripts / "10-migrate").chmod(0o755)
    engine.run("-d", "--name", name, "-v", "%s:/docker-entrypoint.d:ro" % scripts,
               "-e", "DB_PASSWORD=given-directly", "-e", "INITAPP_VERBOSITY=2", image)
    engine.wait_log(name, "setup: migrating")
    took = stop(engine, name)
    logs = engine.logs(name)
    assert "setup: got SIGTERM" in logs and "connecting to" not in logs, logs
    assert "so python3 is not started" in logs, logs
    assert took < 4.0
    assert engine.exit_code(name) == 143
# images/Dockerfile.healthcheck's app without its /healthz file: it answers 404.
NO_HEALTHZ = ["python3", "-m", "http.server", "8000", "--bind", "127.0.0.1", "--directory",
              "/tmp"]
HEALTH_URL = "http://127.0.0.1:8000/healthz"


def health(engine, name):
    """The container's health as the engine keeps it: Status and Log (each check's
    ExitCode and Output)."""
    return json.loads(engine.inspect(name, "json .State.Health"))


def wait_health(engine, name, status, run_check=False, timeout=60):
    """Wait until the engine says the container is status. run_check: run the
    HEALTHCHECK now and again (podman runs it on a systemd timer, none here)."""
    deadline = time.monotonic() + timeout
    while True:
        if run_check:
            engine("healthcheck", "run", name, check=False, timeout=30)
        found = health(engine, name)
        if found.get("Status") == status:
            return found
        if time.monotonic() > deadline:
            raise AssertionError("%s: %s is not %s: %s" % (engine.name, name, status, found))
        time.sleep(0.5)


def check_healthcheck(engine, image, healthy_name, unhealthy_name, run_check=False, options=()):
    """The image's HEALTHCHECK (init.pyz probe http://...) makes the app healthy;
    without its /healthz the app is unhealthy, and the engine's record of the check
    holds the probe's line saying why."""
    engine.run("-d", "--name", healthy_name, *options, image)
    engine.run("-d", "--name", unhealthy_name, *options, image, *NO_HEALTHZ)
    found = wait_health(engine, healthy_name, "healthy", run_check)
    assert found["Log"][-1]["ExitCode"] == 0 and found["Log"][-1]["Output"] == ""
    found = wait_health(engine, unhealthy_name, "unhealthy", run_check)
    last = found["Log"][-1]
    assert last["ExitCode"] == 1
    assert last["Output"].strip() == "[initapp] unhealthy: %s: HTTP 404" % HEALTH_URL


# Exit 3 if a process whose command line holds the text of argv[1] is alive.
LEFT_BEHIND = """
import os, sys
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        with open("/proc/%s/cmdline" % pid, "rb") as f:
            found = sys.argv[1].encode() in f.read() and int(pid) != os.getpid()
    except OSError:
        continue
    if found:
        sys.exit(3)
"""


def check_probe(engine, image, name, init, shell):
    """init.pyz probe run by exec in a running container, as an engine runs a
    HEALTHCHECK: an HTTP answer, a refused port, a command of words (run directly),
    one with shell syntax (without a shell: says so), and a command that hangs
    (killed at the timeout, nothing left of it)."""
    engine.run("-d", "--name", name, image, "python3", "-m", "http.server", "8000", "--bind",
               "127.0.0.1", "--directory", "/")

    def probe(*args):
        return engine("exec", name, *init, "probe", *args, check=False, timeout=30)

    deadline = time.monotonic() + 20
    while probe("http://127.0.0.1:8000/").returncode != 0:
        assert time.monotonic() < deadline, "the app did not answer"
        time.sleep(0.2)

    def says(result, check, reason):
        assert (result.returncode, result.stdout, result.stderr) == (
            1, "", "[initapp] unhealthy: %s: %s\n" % (check, reason))
        return True

    url = "http://127.0.0.1:8000/no-such-file"
    assert says(probe(url), url, "HTTP 404")
    assert says(probe("tcp:8001"), "tcp:8001", "connection refused (127.0.0.1:8001)")
    assert probe("exec:python3 -c 'import sys; sys.exit(0)'").returncode == 0
    check = "exec:python3 -c pass && true"
    if shell:
        assert probe(check).returncode == 0
    else:
        assert says(probe(check), check, "no /bin/sh to run a command with shell syntax")
    check = "exec:python3 -c 'import time; time.sleep(30)'"
    began = time.monotonic()
    assert says(probe("--timeout", "1", check), check,
                "timed out after 1 s (its process group was killed)")
    assert time.monotonic() - began < 10
    left = engine("exec", name, "python3", "-c", LEFT_BEHIND, "time.sleep(30)", check=False)
    assert left.returncode == 0, left.stderr
