"""The slim-image recipes (images/Dockerfile, images/Dockerfile.build, and from
make dist's files images/Dockerfile.wheel, .wheel-onestage and .release) in podman
with runc, one container at a time."""

import pytest

from engine import PODMAN_STOP_SIGNAL, TINI
from scenarios import RUNS, check_default, check_hup, check_run, check_stop, check_wrapper_stop

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
