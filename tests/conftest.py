import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

# The initapp these tests import is this checkout's (a make mutants scratch copy
# included), never the one installed in the venv.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import support  # noqa: E402


@pytest.fixture(scope="session")
def shared_dir():
    """A directory every uid may enter (pytest's own are 0700), removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="initapp-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def init_pyz(shared_dir):
    """init.pyz built by build.sh, with a shebang for this machine's Python."""
    path = support.build(shared_dir / "init.pyz")
    path.parent.chmod(0o755)
    return path


@pytest.fixture
def start(init_pyz, tmp_path):
    """start(args...) runs init.pyz as PID 1; every Init started is killed afterwards."""
    started = []

    def run(*args, **kwargs):
        init = support.Init(kwargs.pop("init_pyz", init_pyz), args,
                            kwargs.pop("workdir", tmp_path), **kwargs)
        started.append(init)
        return init

    yield run
    for init in started:
        init.close()


@pytest.fixture
def box(tmp_path):
    """A fresh directory for one workload's files."""
    counter = iter(range(1000))

    def make(name=None):
        path = tmp_path / (name or "w%d" % next(counter))
        path.mkdir()
        os.chmod(path, 0o777)
        return path

    return make


@pytest.fixture
def pod():
    """pod(own_proc=True): a PID namespace with a pause process as PID 1 (see
    support.Pod); every pod is ended afterwards."""
    made = []

    def make(**kwargs):
        made.append(support.Pod(**kwargs))
        return made[-1]

    yield make
    for each in made:
        each.close()
