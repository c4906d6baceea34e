"""The slim-image recipes (images/Dockerfile, images/Dockerfile.build, and from
make dist's files images/Dockerfile.wheel, .wheel-onestage and .release) and the
entrypoint recipe (images/entrypoint/) in podman with runc, one container at a
time."""

import pytest

from engine import PODMAN_STOP_SIGNAL, TINI
from scenarios import (ENTRYPOINT_CHECK, ENTRYPOINT_DIGEST, ENTRYPOINT_SECRET, RUNS, check_default,
                       check_entrypoint_logs, check_hup, check_run, check_stop,
                       check_stop_during_start_up, check_wrapper_stop)
from scenarios import (RUNS, check_default, check_healthcheck, check_hup, check_run, check_stop,
                       check_wrapper_stop)

pytestmark = pytest.mark.timeout(120, func_only=True)

SLIM = ["copy", "multistage", "wheel"]
# The other recipes for python:*-slim: each image's default command.
OTHERS = ["wheel-onestage", "release"]


@pytest.mark.parametrize("case", sorted(RUNS))
@pytest.mark.parametrize("image", SLIM)
def test_run(podman, podman_images, image, case):
    check_run(podman, podman_images[image], case)


@pytest.mark.parametrize("image", SLIM + OTHERS)
def test_default_entrypoint_and_cmd(podman, podman_images, image):
    check_default(podman, podman_images, image)


@pytest.mark.parametrize("image", SLIM)
def test_stop_in_systemd_mode(podman, podman_images, containers, image):
    # An ENTRYPOINT at /sbin/init makes podman stop with signal 37: initapp
    # treats it as SIGTERM, so the app cleans up and exits 0 (not 165).
    name = containers(podman, "initapp-stop-systemd-" + image)
    check_stop(podman, podman_images[image], name)
    assert podman.inspect(name, ".Config.StopSignal") == str(PODMAN_STOP_SIGNAL)


@pytest.mark.parametrize("options", [["--systemd=false"], ["--init"],
                                     ["--init", "--init-path", TINI]],
                         ids=["sigterm", "catatonit", "tini"])
def test_stop(podman, podman_images, containers, options):
    check_stop(podman, podman_images["copy"], containers(podman, "initapp-stop"), *options)


@pytest.mark.parametrize("options", [[], ["--init"]], ids=["pid1", "catatonit"])
def test_stop_waits_for_the_app_behind_a_shell_wrapper(podman, podman_images, containers,
                                                       options):
    check_wrapper_stop(podman, podman_images["copy"], containers(podman, "initapp-wrapper"),
                       *options)


def test_kill_hup_is_forwarded(podman, podman_images, containers):
    check_hup(podman, podman_images["copy"], containers(podman, "initapp-hup"))


def test_secret_file_and_pre_start_scripts(podman, podman_images, tmp_path):
    # The entrypoint recipe with its secret's file mounted read-only where Compose
    # puts it, as `podman run -v` (a Compose secret is this bind mount).
    secret = tmp_path / "db_password"
    secret.write_bytes(ENTRYPOINT_SECRET)
    secret.chmod(0o400)   # read by initapp as root; the app runs as 1000
    result = podman.run("--rm", "-v", "%s:/run/secrets/db_password:ro" % secret,
                        "-e", "DB_PASSWORD_FILE=/run/secrets/db_password",
                        "-e", "INITAPP_VERBOSITY=3", podman_images["entrypoint"],
                        "python3", "-c", ENTRYPOINT_CHECK, ENTRYPOINT_DIGEST, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    check_entrypoint_logs(result.stdout + result.stderr)


def test_stop_during_start_up(podman, podman_images, containers, tmp_path):
    # Its ENTRYPOINT is /sbin/init: podman stops it with 37, which is SIGTERM.
    check_stop_during_start_up(podman, podman_images["entrypoint"],
                               containers(podman, "initapp-stop-start-up"), tmp_path)
def test_healthcheck_with_probe_turns_healthy(podman, podman_images, containers):
    # images/Dockerfile.healthcheck built with --format docker; podman runs the
    # HEALTHCHECK from a systemd timer, which this machine has not: podman
    # healthcheck run runs it, as the timer would.
    check_healthcheck(podman, podman_images["healthcheck"], containers(podman, "initapp-healthy"),
                      containers(podman, "initapp-unhealthy"), run_check=True,
                      options=["--health-retries", "2"])
