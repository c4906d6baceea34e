"""initapp in a real container engine: podman with runc, serially."""

import time

import pytest

from engine import IMAGES, podman, tini_path

pytestmark = pytest.mark.timeout(300)

ORPHAN_CHECK = """
import os, sys, time
if os.fork() == 0:
    if os.fork() == 0:
        time.sleep(0.2)
        os._exit(0)
    os._exit(0)
time.sleep(1.0)
# Only this process is left under PID 1: the orphan was reaped, no zombie.
with open("/proc/1/task/1/children") as f:
    kids = f.read().split()
sys.exit(0 if kids == [str(os.getpid())] else 1)
"""

HANDLER = """
import signal, sys, time
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
print("ready", flush=True)
time.sleep(60)
sys.exit(9)
"""


def wait_ready(name, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "ready" in podman("logs", name, check=False).stdout:
            return
        time.sleep(0.1)
    raise AssertionError("container %s never got ready" % name)


def exit_code(name):
    return int(podman("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip())


@pytest.mark.parametrize("image", sorted(IMAGES))
@pytest.mark.parametrize("command, code", [
    (["sh", "-c", "exit 42"], 42), (["sh", "-c", "kill -TERM $$"], 143),
    (["no-such-command"], 127), (["python3", "-c", ORPHAN_CHECK], 0),
])
def test_run_passes_exit_codes_and_reaps(images, image, command, code):
    result = podman("run", "--rm", images[image], *command, check=False)
    assert result.returncode == code, result.stderr


def test_default_entrypoint_and_cmd(images):
    result = podman("run", "--rm", images["copy"])
    assert result.stdout == "hello from under initapp\n"


def _stop(images, containers, name, *run_options):
    containers.append(name)
    podman("run", "-d", "--name", name, *run_options, images["copy"], "python3", "-c", HANDLER)
    wait_ready(name)
    began = time.monotonic()
    podman("stop", "-t", "10", name)
    return time.monotonic() - began


def test_stop_ends_a_term_handling_child_quickly(images, containers):
    took = _stop(images, containers, "initapp-stop", "--systemd=false")
    assert took < 3.0
    assert exit_code("initapp-stop") == 0


def test_systemd_mode_stop_signal_is_handled(images, containers):
    # An ENTRYPOINT at /sbin/init makes podman stop with SIGRTMIN+3 (37): initapp
    # treats it as SIGTERM, so the app exits 0 rather than dying of signal 37 (165).
    containers.append("initapp-systemd")
    podman("run", "-d", "--name", "initapp-systemd", images["copy"], "python3", "-c", HANDLER)
    assert podman("inspect", "--format", "{{.Config.StopSignal}}",
                  "initapp-systemd").stdout.strip() in ("37", "SIGRTMIN+3")
    wait_ready("initapp-systemd")
    began = time.monotonic()
    podman("stop", "-t", "10", "initapp-systemd")
    assert time.monotonic() - began < 3.0
    assert exit_code("initapp-systemd") == 0


def test_read_only_root(images):
    result = podman("run", "--rm", "--read-only", "--read-only-tmpfs=false", images["copy"],
                    "sh", "-c", "touch /probe 2>/dev/null && exit 9; exit 3", check=False)
    assert result.returncode == 3, result.stderr
    assert result.stderr == ""


def test_user_without_passwd_entry(images):
    result = podman("run", "--rm", "--user", "1000", images["copy"], "sh", "-c",
                    'test "$(id -u)" = 1000 && test "$HOME" = / && exit 4', check=False)
    assert result.returncode == 4, result.stderr
    assert result.stderr == ""


def test_under_podman_init_catatonit(images, containers):
    # catatonit is PID 1; initapp runs beneath it as a subreaper.
    result = podman("run", "--rm", "--init", images["copy"], "python3", "-c",
                    "import os, sys; sys.exit(7 if os.getppid() != 1 else 1)", check=False)
    assert result.returncode == 7, result.stderr
    took = _stop(images, containers, "initapp-under-catatonit", "--init")
    assert took < 3.0
    assert exit_code("initapp-under-catatonit") == 0


def test_under_init_path_tini(images, containers):
    took = _stop(images, containers, "initapp-under-tini", "--init", "--init-path", tini_path())
    assert took < 3.0
    assert exit_code("initapp-under-tini") == 0
    result = podman("run", "--rm", "--init", "--init-path", tini_path(), images["copy"],
                    "sh", "-c", "exit 6", check=False)
    assert result.returncode == 6


CLEANUP_APP = """
import signal, sys, time
def stop(*args):
    time.sleep(1.0)
    print("cleanup done", flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
print("ready", flush=True)
time.sleep(60)
"""


def test_stop_waits_for_the_app_behind_a_shell_wrapper(images, containers):
    # The headline case: CMD is a shell wrapper; podman stop kills the shell at
    # once, and the app still finishes its one-second cleanup before the end.
    containers.append("initapp-wrapper")
    podman("run", "-d", "--name", "initapp-wrapper", "--systemd=false", images["copy"],
           "sh", "-c", "python3 -c '%s'; echo wrapper-done" % CLEANUP_APP.replace("'", '"'))
    wait_ready("initapp-wrapper")
    began = time.monotonic()
    podman("stop", "-t", "10", "initapp-wrapper")
    took = time.monotonic() - began
    logs = podman("logs", "initapp-wrapper").stdout
    assert "cleanup done" in logs and "wrapper-done" not in logs
    assert 0.9 < took < 5.0
    assert exit_code("initapp-wrapper") == 143   # the shell's own death by SIGTERM
