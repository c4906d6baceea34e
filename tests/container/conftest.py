"""A real container engine: podman with runc, a local base image laid out like
python:*-slim, and the images/ Dockerfiles built on it."""

import os
import subprocess
from pathlib import Path

import pytest

from engine import BASE, IMAGES, podman
from support import ROOT, build


@pytest.fixture(scope="session")
def engine():
    setup = subprocess.run(["bash", str(Path(__file__).parent / "setup.sh")], capture_output=True,
                           text=True, timeout=900)
    assert setup.returncode == 0, setup.stderr
    os.environ["CONTAINERS_CONF"] = setup.stdout.strip().splitlines()[-1]
    return BASE


@pytest.fixture(scope="session")
def images(engine, tmp_path_factory):
    """The images/ Dockerfiles built on the local base image."""
    context = tmp_path_factory.mktemp("context")
    build(context / "init.pyz", "/usr/local/bin/python3")  # the default shebang
    podman("build", "-q", "-f", str(ROOT / "images" / "Dockerfile"),
           "--build-arg", "BASE_IMAGE=" + BASE, "-t", IMAGES["copy"], str(context))
    # The builder stage installs shiv from PyPI; the host's CA bundle is mounted so
    # that a proxy this machine trusts is trusted inside the build too.
    podman("build", "-q", "--network", "host", "-v", "/etc/ssl/certs:/etc/ssl/certs:ro",
           "-f", str(ROOT / "images" / "Dockerfile.build"), "--build-arg", "BASE_IMAGE=" + BASE,
           "-t", IMAGES["multistage"], str(ROOT), timeout=600)
    return IMAGES


@pytest.fixture
def containers():
    """Names of containers a test starts; all removed afterwards (by name, podman's id)."""
    names = []
    yield names
    for name in names:
        podman("rm", "-f", "-t", "0", name, check=False)

