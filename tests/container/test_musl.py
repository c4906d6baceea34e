"""images/Dockerfile.alpine on an Alpine-like root made here: musl's loader as the
only libc, busybox, and a CPython compiled against musl in /usr/local. In Docker
and in podman; with podman, the ENTRYPOINT at /sbin/init makes it stop with
signal 37, which musl does not call SIGRTMIN+3 (its SIGRTMIN is 35)."""

import pytest

from engine import PODMAN_STOP_SIGNAL, TINI
from scenarios import (RUNS, check_default, check_hup, check_probe, check_run, check_stop,
                       check_wrapper_stop, run_script_without_shebang)

pytestmark = [pytest.mark.timeout(120, func_only=True), pytest.mark.usefixtures("module_root")]
ROOT_KIND = "musl"  # the root the module's images are built on (module_root)

IS_MUSL = ("import signal, sys; maps = open('/proc/self/maps').read(); "
           "sys.exit(5 if 'ld-musl' in maps and 'libc.so.6' not in maps "
           "and signal.SIGRTMIN == 35 else 1)")


@pytest.mark.parametrize("case", sorted(RUNS))
def test_run(each_engine, case):
    engine, images = each_engine
    check_run(engine, images["alpine"], case)


def test_default_entrypoint_and_cmd_on_musl(each_engine):
    check_default(*each_engine, "alpine")
    engine, images = each_engine
    assert engine.run("--rm", images["alpine"], "python3", "-c", IS_MUSL,
                      check=False).returncode == 5


def test_busybox_is_intact(each_engine):
    # The recipe's COPY must not have written through Alpine's /sbin/init link.
    engine, images = each_engine
    result = engine.run("--rm", images["alpine"], "sh", "-c", "busybox true && exit 3",
                        check=False)
    assert result.returncode == 3, result.stderr


def test_script_without_shebang_runs_with_busybox_sh(each_engine, tmp_path):
    engine, images = each_engine
    result = run_script_without_shebang(engine, images["alpine"], tmp_path)
    assert result.returncode == 3, result.stderr


@pytest.mark.parametrize("options", [[], ["--init"]], ids=["pid1", "engine-init"])
def test_stop(each_engine, containers, options):
    engine, images = each_engine
    name = containers(engine, "initapp-musl-stop")
    check_stop(engine, images["alpine"], name, *options)
    if engine.name == "podman" and not options:
        assert engine.inspect(name, ".Config.StopSignal") == str(PODMAN_STOP_SIGNAL)


def test_stop_under_tini(podman, podman_images, containers):
    check_stop(podman, podman_images["alpine"], containers(podman, "initapp-musl-tini"),
               "--init", "--init-path", TINI)


@pytest.mark.parametrize("options", [[], ["--init"]], ids=["pid1", "engine-init"])
def test_stop_waits_for_the_app_behind_a_shell_wrapper(each_engine, containers, options):
    engine, images = each_engine
    check_wrapper_stop(engine, images["alpine"], containers(engine, "initapp-musl-wrapper"),
                       *options)


def test_kill_hup_is_forwarded(each_engine, containers):
    engine, images = each_engine
    check_hup(engine, images["alpine"], containers(engine, "initapp-musl-hup"))


def test_probe_on_musl(each_engine, containers):
    engine, images = each_engine
    check_probe(engine, images["alpine"], containers(engine, "initapp-musl-probe"),
                ["/usr/local/sbin/init"], shell=True)
