import os
import shutil
import signal
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

# The initapp these tests import is this checkout's (a make mutants scratch copy
# included), never the one installed in the venv.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import support  # noqa: E402

# A test skips only where this machine lacks what it needs (a cgroup v1
# hierarchy, a second CPython, pidfd_open, strace...). In CI every one of those is
# present, and a skip there would hide a gap: INITAPP_TESTS_NO_SKIP=1 (set by
# .ci/run) turns every skip into a failure that names the reason.
NO_SKIP = os.environ.get("INITAPP_TESTS_NO_SKIP") == "1"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if NO_SKIP and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = "skipped, and INITAPP_TESTS_NO_SKIP=1 forbids it: %s" % (reason,)


@pytest.fixture(scope="session")
def shared_dir():
    """A directory every uid may enter (pytest's own are 0700), removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="initapp-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def init_pyz_build(shared_dir):
    """(init.pyz built by build.sh with a shebang for this machine's Python, what
    build.sh printed): one build for the whole session."""
    path, report = support.build_reporting(shared_dir / "init.pyz")
    path.parent.chmod(0o755)
    return path, report


@pytest.fixture(scope="session")
def init_pyz(init_pyz_build):
    """init.pyz built by build.sh, with a shebang for this machine's Python."""
    return init_pyz_build[0]


@pytest.fixture(scope="session")
def dist(shared_dir):
    """make dist's files (dist.sh) from this checkout: both archives, the wheel, the
    sdist, SHA256SUMS."""
    return support.dist(shared_dir / "dist")[0]


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


@pytest.fixture
def cgroup_v1():
    """cgroup_v1(CONTROLLER) makes a new cgroup (unique name) and returns its path.
    Teardown thaws it, SIGKILLs by pid every process still in it (all started by
    the test), waits for them to leave, and removes it."""
    made = []

    def make(controller):
        base = support.cgroup_v1_base(controller)
        if base is None:
            pytest.skip("no cgroup v1 %s hierarchy is mounted" % controller)
        path = base / ("initapp-test-%d-%s" % (os.getpid(), uuid.uuid4().hex[:8]))
        try:
            path.mkdir()
        except OSError as error:
            pytest.skip("cannot make a %s cgroup: %s" % (controller, error.strerror))
        made.append((controller, path))
        return path

    yield make
    for controller, path in reversed(made):
        if controller == "freezer":
            (path / "freezer.state").write_text("THAWED")
        for pid in support.cgroup_pids(path):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        support.wait_for(lambda: not support.cgroup_pids(path), what="%s emptied" % path)
        path.rmdir()
