"""images/Dockerfile.distroless on a distroless-style root made here: Debian's
interpreter, its standard library and the libraries they load; no shell, no
/usr/bin/env. In Docker and in podman."""

import pytest

from scenarios import (RUNS, check_default, check_hup, check_probe, check_run, check_stop,
                       run_script_without_shebang)

pytestmark = [pytest.mark.timeout(120, func_only=True), pytest.mark.usefixtures("module_root")]
ROOT_KIND = "distroless"  # the root the module's images are built on (module_root)

NO_SHELL = ("import os, sys; sys.exit(5 if not any(map(os.path.exists, "
            "['/bin/sh', '/usr/bin/sh', '/usr/bin/env'])) else 1)")


@pytest.mark.parametrize("case", sorted(RUNS))
def test_run(each_engine, case):
    engine, images = each_engine
    check_run(engine, images["distroless"], case)


def test_default_entrypoint_and_cmd(each_engine):
    check_default(*each_engine, "distroless")


def test_there_is_no_shell_to_fall_back_on(each_engine):
    engine, images = each_engine
    assert engine.run("--rm", images["distroless"], "python3", "-c", NO_SHELL,
                      check=False).returncode == 5
    result = engine.run("--rm", images["distroless"], "sh", "-c", "exit 0", check=False)
    assert result.returncode == 127 and "sh" in result.stderr


def test_script_without_shebang_cannot_run(each_engine, tmp_path):
    engine, images = each_engine
    result = run_script_without_shebang(engine, images["distroless"], tmp_path)
    assert result.returncode == 126 and "Exec format error" in result.stderr


def test_named_user(each_engine):
    # distroless's nonroot account, by name: the engine resolves it in /etc/passwd.
    engine, images = each_engine
    result = engine.run("--rm", "--user", "nonroot", images["distroless"], "python3", "-c",
                        "import os; print(os.getuid(), os.environ['HOME'])")
    assert result.stdout == "65532 /home/nonroot\n"


def test_stop(each_engine, containers):
    engine, images = each_engine
    check_stop(engine, images["distroless"], containers(engine, "initapp-distroless-stop"))


def test_kill_hup_is_forwarded(each_engine, containers):
    engine, images = each_engine
    check_hup(engine, images["distroless"], containers(engine, "initapp-distroless-hup"))


def test_probe_without_a_shell(each_engine, containers):
    # A HEALTHCHECK here names the interpreter, as the ENTRYPOINT does.
    engine, images = each_engine
    check_probe(engine, images["distroless"], containers(engine, "initapp-distroless-probe"),
                ["/usr/bin/python3", "-IS", "/sbin/init"], shell=False)
