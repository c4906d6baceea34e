"""images/kubernetes/*.yaml run by a real engine: `podman kube play` (no cluster
is reachable), with local images in place of the registry's. What podman does
differently from a kubelet is measured here, and written in the YAML comments."""

import re
import time

import pytest

from engine import PODMAN_STOP_SIGNAL
from support import ROOT

pytestmark = pytest.mark.timeout(120, func_only=True)

KUBE = ROOT / "images" / "kubernetes"
APP_IMAGE = "registry.example/app:1.0"
SIDECAR_IMAGE = "registry.example/sidecar:1.0"
INJECTOR_IMAGE = "registry.example/initapp:0.2.0"
PAUSE_IMAGE = "localhost/podman-pause"


@pytest.fixture(scope="module")
def pods(podman):
    """kube(yaml, images) plays a pod file with the images replaced; every pod it
    made is removed at the end, and podman's pause image if podman built it."""
    made = []
    pause_before = _pause_images(podman)

    def kube(path, tmp_path, images):
        text = path.read_text()
        for registry, local in images.items():
            text = text.replace(registry, local)
        assert "registry.example" not in text
        played = tmp_path / path.name
        played.write_text(text)
        pod = re.search(r"^  name: (\S+)", text, re.M).group(1)
        podman("pod", "rm", "-f", pod, check=False)
        made.append(pod)
        podman("kube", "play", "--network", "none", str(played))
        return pod

    yield kube
    for pod in made:
        podman("pod", "rm", "-f", "-t", "0", pod, check=False)
    for image in _pause_images(podman) - pause_before:
        podman("rmi", image, check=False)


def _pause_images(podman):
    listed = podman("images", "--format", "{{.Repository}}:{{.Tag}}", PAUSE_IMAGE).stdout
    return set(listed.split())


def logged_at(logs, event):
    """The time the app logged event at (its last word)."""
    return float(re.search(r"^%s (\S+)$" % re.escape(event), logs, re.M).group(1))


def play_app(pods, podman, podman_images, tmp_path, image):
    pod = pods(KUBE / "pod.yaml", tmp_path, {APP_IMAGE: podman_images[image]})
    podman.wait_log(pod + "-app", "ready")
    return pod, pod + "-app"


def test_pod_delay_holds_for_podmans_stop_signal(podman, podman_images, pods, tmp_path):
    # INITAPP_DELAY=TERM:5 holds podman's stop signal (37, its systemd mode, as the
    # ENTRYPOINT is /sbin/init) as it holds SIGTERM; the app cleans up and the
    # pod stops within podman's own timeout.
    pod, app = play_app(pods, podman, podman_images, tmp_path, "app")
    assert podman.inspect(app, ".Config.StopSignal") == str(PODMAN_STOP_SIGNAL)
    # Measured: kube play leaves podman's 10 s default, not terminationGracePeriodSeconds.
    assert podman.inspect(app, ".Config.StopTimeout") == "10"
    began = time.time()
    podman("pod", "stop", pod, timeout=60)
    took = time.time() - began
    logs = podman.logs(app)
    assert 4.9 < logged_at(logs, "got SIGTERM") - began < 6.5, logs
    assert "cleanup done" in logs and "wrapper-done" not in logs, logs
    assert took < 9.0
    assert podman.exit_code(app) == 143    # the shell wrapper's death by SIGTERM


def test_pod_grace_ends_a_stubborn_app(podman, podman_images, pods, tmp_path):
    # An app that ignores SIGTERM: initapp SIGKILLs it at INITAPP_GRACE (28 s)
    # after the stop signal arrived, the delay included, before the engine's
    # timeout (given as the kubelet would: terminationGracePeriodSeconds, 30 s).
    pod, app = play_app(pods, podman, podman_images, tmp_path, "stubborn")
    began = time.time()
    podman("pod", "stop", "-t", "30", pod, timeout=90)
    took = time.time() - began
    logs = podman.logs(app)
    assert 4.9 < logged_at(logs, "got SIGTERM") - began < 6.5, logs
    assert 27.5 < took < 29.9
    assert podman.exit_code(app) == 137    # initapp's SIGKILL, not podman's


def play_shared(pods, podman, podman_images, tmp_path):
    pod = pods(KUBE / "pod-shared-pid.yaml", tmp_path,
               {APP_IMAGE: podman_images["app"], SIDECAR_IMAGE: podman_images["sidecar"]})
    app, sidecar = pod + "-app", pod + "-sidecar"
    podman.wait_log(app, "ready")
    podman.wait_log(sidecar, "ready")
    return pod, app, sidecar


def test_shared_pid_pod(podman, podman_images, pods, tmp_path):
    pod, app, sidecar = play_shared(pods, podman, podman_images, tmp_path)
    # PID 1 of the pod's namespace is podman's pause process, not initapp, which
    # adopts and reaps its workload's orphans as a subreaper.
    pid1 = podman("exec", app, "cat", "/proc/1/cmdline").stdout
    assert "/sbin/init" not in pid1 and "catatonit" in pid1
    logs = podman.logs(app)
    assert "orphan adopted by /usr/local/bin/python3 -IS /sbin/init" in logs, logs
    assert "orphan reaped" in logs
    # Stopping the app's container lets the app behind the shell wrapper finish.
    began = time.monotonic()
    podman("stop", "-t", "10", app, timeout=40)
    took = time.monotonic() - began
    logs = podman.logs(app)
    assert "cleanup done" in logs and "wrapper-done" not in logs, logs
    assert 0.9 < took < 5.0
    assert podman.exit_code(app) == 143
    # The sidecar, in the same PID namespace, got no signal and runs on.
    assert "got " not in podman.logs(sidecar)
    assert podman.inspect(sidecar, ".State.Running") == "true"


def test_shared_pid_pod_stop_kills_everything_at_once(podman, podman_images, pods, tmp_path):
    # Measured, and written in pod-shared-pid.yaml: `podman pod stop` stops the
    # pause process with the others; when PID 1 of the namespace ends, the kernel
    # SIGKILLs every process in it, so nobody cleans up. (A kubelet stops the app
    # containers first, the sandbox last.)
    pod, app, sidecar = play_shared(pods, podman, podman_images, tmp_path)
    began = time.monotonic()
    podman("pod", "stop", pod, timeout=60)
    assert time.monotonic() - began < 3.0
    assert "cleanup done" not in podman.logs(app)
    assert podman.exit_code(app) == 137 and podman.exit_code(sidecar) == 137


def test_injected_pod_runs_an_unchanged_image_under_initapp(podman, podman_images, pods,
                                                           tmp_path):
    # pod-injected.yaml: the init container copies /init (Dockerfile.wheel's builder
    # stage) into the emptyDir; the app's image has no initapp, and its command
    # starts with the copy, which adopts and reaps the app's orphan, then stops it.
    pod = pods(KUBE / "pod-injected.yaml", tmp_path,
               {INJECTOR_IMAGE: podman_images["injector"], APP_IMAGE: podman_images["sidecar"]})
    app = pod + "-app"
    logs = podman.wait_log(app, "ready")
    assert "orphan adopted by /usr/local/bin/python3 -IS /initapp/init" in logs, logs
    assert "orphan reaped" in logs
    assert podman("exec", app, "cat", "/proc/1/cmdline").stdout.split("\0")[:4] == [
        "/usr/local/bin/python3", "-IS", "/initapp/init", "--"]
    assert podman("exec", app, "ls", "/sbin/init", check=False).returncode != 0
    began = time.monotonic()
    podman("pod", "stop", pod, timeout=60)
    took = time.monotonic() - began
    logs = podman.logs(app)
    assert "got SIGTERM" in logs and "cleanup done" in logs, logs
    assert took < 5.0
    assert podman.exit_code(app) == 0
