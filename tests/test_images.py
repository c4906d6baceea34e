"""The images/ Dockerfiles and recipes, as files: lint and shape. (They are built
and run by a real engine in tests/container.)"""

import subprocess
import sys
from pathlib import Path

import pytest

from support import ROOT

pytestmark = pytest.mark.timeout(60)

# The recipes' Dockerfiles, those of a recipe's own directory (images/entrypoint/) too.
DOCKERFILES = sorted((ROOT / "images").glob("Dockerfile*")) + sorted(
    (ROOT / "images").glob("*/Dockerfile*"))
HADOLINT = Path(sys.executable).parent / "hadolint"


def test_there_are_dockerfiles():
    names = {path.name for path in DOCKERFILES}
    assert {"Dockerfile", "Dockerfile.build", "Dockerfile.alpine", "Dockerfile.distroless"} <= names
    assert ROOT / "images" / "entrypoint" / "Dockerfile" in DOCKERFILES


@pytest.mark.parametrize("dockerfile", DOCKERFILES,
                         ids=lambda path: str(path.relative_to(ROOT / "images")))
def test_hadolint(dockerfile):
    result = subprocess.run([str(HADOLINT), str(dockerfile)], capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES,
                         ids=lambda path: str(path.relative_to(ROOT / "images")))
def test_exec_form_entrypoint_and_base_override(dockerfile):
    text = dockerfile.read_text()
    entrypoints = [line for line in text.splitlines() if line.startswith("ENTRYPOINT")]
    assert entrypoints and all(line.startswith('ENTRYPOINT ["') for line in entrypoints)
    assert "ARG BASE_IMAGE=" in text and "FROM ${BASE_IMAGE}" in text
