"""The slim-image recipes in Docker, the engine most users run: Debian's docker.io
daemon started for the session; docker run --init (Docker's docker-init, tini,
as PID 1), docker-compose with init: true, docker run -it on a terminal, and the
entrypoint recipe (images/entrypoint/) with a Compose secret."""

import json
import time

import pytest

from engine import versions
from scenarios import (ENTRYPOINT_CHECK, ENTRYPOINT_DIGEST, ENTRYPOINT_SECRET, RUNS,
                       WRAPPED_APP, check_default, check_entrypoint_logs, check_hup, check_run,
                       check_stop, check_stop_during_start_up, check_wrapper_stop, start_app)
from scenarios import (RUNS, WRAPPED_APP, check_default, check_healthcheck, check_hup, check_run,
                       check_stop, check_wrapper_stop, start_app)
from support import ROOT, SHELL_PROMPT, Terminal

pytestmark = pytest.mark.timeout(120, func_only=True)

SLIM = ["copy", "multistage", "wheel"]
# The other recipes for python:*-slim: each image's default command.
OTHERS = ["wheel-onestage", "release"]


@pytest.mark.parametrize("case", sorted(RUNS))
@pytest.mark.parametrize("image", SLIM)
def test_run(docker, docker_images, image, case):
    check_run(docker, docker_images[image], case)


@pytest.mark.parametrize("image", SLIM + OTHERS)
def test_default_entrypoint_and_cmd(docker, docker_images, image):
    check_default(docker, docker_images, image)


@pytest.mark.parametrize("options", [[], ["--init"]], ids=["pid1", "docker-init"])
def test_stop(docker, docker_images, containers, options):
    check_stop(docker, docker_images["copy"], containers(docker, "initapp-stop"), *options)


@pytest.mark.parametrize("options", [[], ["--init"]], ids=["pid1", "docker-init"])
def test_stop_waits_for_the_app_behind_a_shell_wrapper(docker, docker_images, containers,
                                                       options):
    check_wrapper_stop(docker, docker_images["copy"], containers(docker, "initapp-wrapper"),
                       *options)


def test_kill_hup_is_forwarded(docker, docker_images, containers):
    check_hup(docker, docker_images["copy"], containers(docker, "initapp-hup"))


def test_headline_docker_init_alone_cuts_the_cleanup_off_initapp_lets_it_finish(
        docker, docker_images, containers):
    # The same shell-wrapped app, both under `docker run --init`, stopped together.
    # docker-init alone signals only the shell; when the shell is gone, PID 1 exits
    # and the kernel kills the app before it ever cleans up. With initapp beneath
    # docker-init, the app gets SIGTERM and finishes.
    alone = containers(docker, "initapp-headline-tini-alone")
    under = containers(docker, "initapp-headline-initapp")
    start_app(docker, docker_images["base-bookworm"], alone, "--init", command=WRAPPED_APP)
    start_app(docker, docker_images["copy"], under, "--init", command=WRAPPED_APP)
    docker("stop", "-t", "10", alone, under, timeout=40)
    alone_logs, under_logs = docker.logs(alone), docker.logs(under)
    assert "cleanup done" not in alone_logs and "got SIGTERM" not in alone_logs, alone_logs
    assert "cleanup done" in under_logs, under_logs
    assert docker.exit_code(alone) == 143 and docker.exit_code(under) == 143


COMPOSE_OVERRIDE = """
services:
  app:
    image: {image}
    network_mode: none
    environment:
      APP_CLEANUP: "{cleanup}"
"""


def test_compose_init_and_stop_grace_period(docker_daemon, docker_images, tmp_path):
    # images/compose.yaml as it is, with the local image and no network. The app's
    # cleanup outlasts Docker's default 10 s: it finishes only if stop_grace_period
    # (30 s) and INITAPP_GRACE (28 s) both hold.
    cleanup = 11
    override = tmp_path / "override.yaml"
    override.write_text(COMPOSE_OVERRIDE.format(image=docker_images["app"], cleanup=cleanup))
    compose = ["-p", "initapp-compose", "--project-directory", str(tmp_path),
               "-f", str(ROOT / "images" / "compose.yaml"), "-f", str(override)]
    docker, run = docker_daemon.engine, docker_daemon.compose
    name = "initapp-compose_app_1"
    try:
        run(*compose, "up", "-d")
        docker.wait_log(name, "ready")
        assert docker.inspect(name, ".HostConfig.Init") == "true"
        began = time.monotonic()
        run(*compose, "stop", timeout=60)
        took = time.monotonic() - began
        logs = docker.logs(name)
        assert "cleanup done" in logs and "wrapper-done" not in logs, logs
        assert cleanup < took < 20
        assert docker.exit_code(name) == 143
    finally:
        run(*compose, "down", "--timeout", "0", check=False)
    assert docker("ps", "-aq", "--filter", "name=initapp-compose").stdout == ""


def test_tty_ctrl_c_reaches_the_foreground_job(docker_daemon, docker_images, containers):
    # docker run -it with an interactive shell under initapp, on a pseudo-terminal:
    # Ctrl-C stops the shell's foreground job, the shell lives on.
    docker = docker_daemon.engine
    name = containers(docker, "initapp-tty")
    terminal = Terminal([docker.command[0], "run", "-it", "--name", name, "--network", "none",
                         "-e", "PS1=" + SHELL_PROMPT, docker_images["copy"], "bash", "--norc"],
                        env={key: docker.env[key] for key in ("DOCKER_HOST", "DOCKER_CONFIG")})
    try:
        terminal.read_until(SHELL_PROMPT, timeout=30)
        terminal.send('echo "st""arted"; sleep 30\n')
        terminal.read_until("started\r\n")
        time.sleep(0.5)
        terminal.send("\x03")
        terminal.read_until(SHELL_PROMPT)
        terminal.send('echo "status-$?"\n')
        terminal.read_until("status-130")     # sleep died of SIGINT, long before 30 s
        terminal.send("exit 7\n")
        assert terminal.proc.wait(timeout=20) == 7
    finally:
        terminal.close()
    assert docker.exit_code(name) == 7


def test_healthcheck_with_probe_turns_healthy(docker, docker_images, containers):
    # images/Dockerfile.healthcheck, checked every second instead of every 30 s.
    check_healthcheck(docker, docker_images["healthcheck"], containers(docker, "initapp-healthy"),
                      containers(docker, "initapp-unhealthy"),
                      options=["--health-interval", "1s", "--health-retries", "2"])


def test_install_page_names_the_versions_that_ran_the_recipes(docker_daemon, podman):
    page = (ROOT / "docs" / "install.md").read_text()
    for name, version in versions(docker_daemon, podman).items():
        assert "%s %s" % (name, version) in page


ENTRYPOINT_OVERRIDE = """
services:
  app:
    image: {image}
    network_mode: none
    command: ["python3", "-c", {check}, "{digest}"]
    environment:
      INITAPP_VERBOSITY: "3"
"""


def test_compose_secret_and_pre_start_scripts(docker_daemon, docker_images, tmp_path):
    # images/entrypoint/compose.yaml as it is: Compose mounts the secret's file at
    # /run/secrets/db_password; initapp reads it into DB_PASSWORD, the start-up
    # script (as root) prepares and hands on DATABASE_URL, the app runs as 1000.
    (tmp_path / "db_password.txt").write_bytes(ENTRYPOINT_SECRET)
    override = tmp_path / "override.yaml"
    override.write_text(ENTRYPOINT_OVERRIDE.format(
        image=docker_images["entrypoint"], check=json.dumps(ENTRYPOINT_CHECK),
        digest=ENTRYPOINT_DIGEST))
    compose = ["-p", "initapp-entrypoint", "--project-directory", str(tmp_path),
               "-f", str(ROOT / "images" / "entrypoint" / "compose.yaml"), "-f", str(override)]
    docker, run = docker_daemon.engine, docker_daemon.compose
    name = "initapp-entrypoint_app_1"
    try:
        run(*compose, "up", "-d")
        code = docker("wait", name, timeout=60).stdout.strip()
        logs = docker.logs(name)
        assert code == "0", logs
        check_entrypoint_logs(logs)
    finally:
        run(*compose, "down", "--timeout", "0", check=False)
    assert docker("ps", "-aq", "--filter", "name=initapp-entrypoint").stdout == ""


def test_entrypoint_recipe_default_command(docker, docker_images):
    result = docker.run("--rm", "-e", "DB_PASSWORD=plain", docker_images["entrypoint"])
    assert result.stdout == "connecting to db:5432/app as uid 1000\n"
    assert result.stderr == ""


def test_stop_during_start_up(docker, docker_images, containers, tmp_path):
    check_stop_during_start_up(docker, docker_images["entrypoint"],
                               containers(docker, "initapp-stop-start-up"), tmp_path)


def test_several_processes_stop(docker, docker_images, containers, tmp_path):
    from scenarios import check_pair_stop

    check_pair_stop(docker, docker_images["copy"], containers(docker, "initapp-pair"), tmp_path)


def test_several_processes_worker_killed(docker, docker_images, containers, tmp_path):
    from scenarios import check_pair_worker_killed

    check_pair_worker_killed(docker, docker_images["copy"], containers(docker, "initapp-pair-kill"),
                             tmp_path)
