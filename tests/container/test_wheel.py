"""initapp from make dist's files, in Docker and podman: `initapp install` in an
image writes the file for that image's Python (python:*-slim's /usr/local/bin, a
distribution's /usr/bin); the wheel recipes' files; a release file whose digest
is wrong never becomes the init. (The recipes' images run every scenario in
test_docker.py and test_podman.py.)"""

import pytest

from engine import release_digest
from support import ROOT

pytestmark = pytest.mark.timeout(300, func_only=True)

# root -> (how the image installs initapp, the shebang it must get). Debian's
# Python refuses pip beside the distribution's packages (PEP 668): a virtual
# environment there, whose python is a link to /usr/bin/python3.
INSTALL = "--no-cache-dir --disable-pip-version-check --no-index --find-links /wheels initapp"
ROOTS = {
    "base-slim": ("pip install %s && initapp install /sbin/init" % INSTALL,
                  "/usr/local/bin/python3"),
    "base-debian": ("python3 -m venv /tmp/venv && /tmp/venv/bin/pip install %s "
                    "&& /tmp/venv/bin/initapp install /sbin/init && rm -r /tmp/venv" % INSTALL,
                    "/usr/bin/python3"),
}


@pytest.mark.parametrize("root", sorted(ROOTS))
def test_initapp_install_writes_the_file_for_the_images_python(each_engine, root):
    engine, images = each_engine
    directory = images.wheelhouse()[0]
    install, python = ROOTS[root]
    script = ('%s && head -n 1 /sbin/init && ls /usr/bin/python3 /usr/local/bin/python3 2>&1; '
              'exec /sbin/init -- python3 -c "import sys; sys.exit(3)"' % install)
    result = engine.run("--rm", "-v", "%s:/wheels:ro" % directory, images[root],
                        "sh", "-c", script, check=False)
    assert result.returncode == 3, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    installed = next(line for line in lines if line.startswith("installed /sbin/init: "))
    assert installed.startswith("installed /sbin/init: #!%s -IS (Python 3.11." % python)
    assert installed.endswith("that version's bytecode in the archive")
    assert "#!%s -IS" % python in lines
    # The other place holds no Python on this root: the shebang is the one that runs.
    assert sum("No such file" in line for line in lines) == 1


@pytest.mark.parametrize("kind", ["wheel", "wheel-onestage", "release"])
def test_the_recipes_file_is_for_the_images_python(each_engine, kind):
    engine, images = each_engine
    result = engine.run("--rm", "--entrypoint", "head", images[kind], "-n", "1", "/sbin/init")
    assert result.stdout == "#!/usr/local/bin/python3 -IS\n"
    result = engine.run("--rm", "--entrypoint", "/sbin/init", images[kind], "--version")
    assert result.stdout.startswith("initapp 0.2.0\nbytecode for CPython ")
    assert "3.11" in result.stdout.split("\n")[1]
    # One stage: pip uninstalled the package, the file needs nothing of it.
    if kind == "wheel-onestage":
        assert engine.run("--rm", images[kind], "python3", "-c", "import initapp",
                          check=False).returncode == 1


def test_a_release_file_with_another_digest_is_refused(each_engine, tmp_path):
    # The digest of another file of the release: sha256sum -c fails the build.
    engine, images = each_engine
    directory = images.wheelhouse()[0]
    wrong = release_digest(directory, "init-usr-bin.pyz")
    dockerfile = ROOT / "images" / "Dockerfile.release"
    result = engine("build", "--network", "none", "-f", str(dockerfile),
                    "--build-arg", "BASE_IMAGE=" + images["base-slim"],
                    "--build-arg", "INITAPP_SHA256=" + wrong,
                    "-t", "localhost/initapp-test-release-refused", str(directory),
                    check=False, timeout=300)
    engine("rmi", "-f", "localhost/initapp-test-release-refused", check=False)
    assert result.returncode != 0
    assert "/tmp/init.pyz: FAILED" in result.stdout + result.stderr


ADD_CHECKSUM = ("FROM {base}\n"
                "ADD --checksum=sha256:{digest} http://127.0.0.1:1/init.pyz /tmp/init.pyz\n")


def test_this_docker_and_podman_have_no_add_checksum(each_engine, tmp_path):
    # Why Dockerfile.release copies and checks: the engines of the tests do not know
    # ADD --checksum (BuildKit's Dockerfile syntax 1.6, Docker 23 and later).
    engine, images = each_engine
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(ADD_CHECKSUM.format(base=images["base-slim"], digest="0" * 64))
    result = engine("build", "--network", "none", "-f", str(dockerfile), str(tmp_path),
                    check=False, timeout=120)
    assert result.returncode != 0
    assert "checksum" in (result.stdout + result.stderr).lower(), result.stdout + result.stderr
