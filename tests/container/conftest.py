"""Real container engines: podman with runc, and Docker's daemon started for the
session; local base images (a Debian root laid out like python:*-slim, a
distroless-style root, an Alpine-like musl root), and the images/ Dockerfiles
built on them. Every image, container and daemon the tests make is removed at
the end, by name or pid; only the root tarballs stay, cached."""

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from engine import DockerDaemon, podman_engine, release_digest
from support import PYTHON, ROOT, build, dist

HERE = Path(__file__).parent
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"

# The images/ recipes: kind -> (Dockerfile, the base it is built FROM).
RECIPES = {
    "copy": ("Dockerfile", "base-bookworm"),
    "multistage": ("Dockerfile.build", "base-bookworm-ca"),
    "distroless": ("Dockerfile.distroless", "base-distroless"),
    "alpine": ("Dockerfile.alpine", "base-musl"),
    "entrypoint": ("entrypoint/Dockerfile", "base-bookworm"),
    "healthcheck": ("Dockerfile.healthcheck", "base-bookworm"),
    # From the wheel of make dist, which pip finds on the host (wheelhouse).
    "wheel": ("Dockerfile.wheel", "base-slim"),
    "wheel-onestage": ("Dockerfile.wheel-onestage", "base-slim"),
    "injector": ("Dockerfile.wheel", "base-slim"),  # its builder stage alone: /init
    # From the release files of make dist, checked against SHA256SUMS.
    "release": ("Dockerfile.release", "base-slim"),
}
WHEEL_RECIPES = ("wheel", "wheel-onestage", "injector")
# The Debian root's Python where python:*-slim keeps it: the real file in
# /usr/local/bin (Debian's interpreter still finds its library in /usr), nothing
# in /usr/bin, pip's scripts pointing there, and no PEP 668 marker (those images
# have none). Debian's own layout: python3 in /usr/bin only, the marker kept.
SLIM_LAYOUT = (
    "RUN rm /usr/local/bin/python3 /usr/bin/python3 /usr/lib/python3.11/EXTERNALLY-MANAGED \\\n"
    "    && mv /usr/bin/python3.11 /usr/local/bin/ && ln -s python3.11 /usr/local/bin/python3 \\\n"
    "    && sed -i '1s|.*|#!/usr/local/bin/python3|' /usr/bin/pip /usr/bin/pip3 /usr/bin/pip3.11")
DEBIAN_LAYOUT = "RUN rm /usr/local/bin/python3"
# Images of the tests' own: kind -> (the base, what follows FROM).
DERIVED = {
    # The builder stage installs shiv from PyPI: this machine's CA bundle is copied
    # in, so that a proxy the machine trusts is trusted inside the build too.
    "base-bookworm-ca": ("base-bookworm", "COPY ca-certificates.crt /etc/ssl/certs/"),
    # The workload behind a shell wrapper, as the pods and compose run it.
    "app": ("copy", 'COPY app.py /app.py\n'
                    'CMD ["sh", "-c", "python3 /app.py; echo wrapper-done"]'),
    "stubborn": ("copy", 'COPY app.py /app.py\nENV APP_IGNORE_TERM=1\n'
                         'CMD ["python3", "/app.py"]'),
    "sidecar": ("base-bookworm", 'COPY app.py /app.py\nCMD ["python3", "/app.py"]'),
    "base-slim": ("base-bookworm", SLIM_LAYOUT),
    "base-debian": ("base-bookworm", DEBIAN_LAYOUT),
}


def tag(kind):
    return "localhost/initapp-test-" + kind


def run_script(name, *args, timeout):
    # In a process group of its own: a timeout (or an interrupted run) ends the
    # compilers and builders it started too, not only the script.
    process = subprocess.Popen(["bash", str(HERE / name)] + list(args), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    finally:
        if process.returncode is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 0, "%s failed:\n%s" % (name, stderr[-5000:])
    return stdout.strip().splitlines()


class Roots:
    """The roots' tarballs, made (or found in the cache) when first asked for."""

    def __init__(self, bookworm):
        self.tarballs = {"bookworm": bookworm}
        self.failed = {}

    def __getitem__(self, kind):
        if kind in self.failed:  # once is enough: every later test fails at once
            raise AssertionError("the %s root could not be made (see the first failure)"
                                 % kind)
        if kind not in self.tarballs:
            try:
                if kind == "distroless":
                    made = run_script("distroless-root.sh", self.tarballs["bookworm"],
                                      timeout=300)
                else:   # a CPython compiled against musl: minutes on a fresh machine
                    made = run_script("musl-root.sh", timeout=2400)
            except BaseException:
                self.failed[kind] = True
                raise
            self.tarballs[kind] = made[-1]
        return self.tarballs[kind]


class Images:
    """One engine's images, built when first asked for; removed by name at the end.
    wheelhouse() gives make dist's files and the URL pip finds them at."""

    def __init__(self, engine, roots, context, wheelhouse):
        self.engine = engine
        self.roots = roots
        self.context = context
        self.wheelhouse = wheelhouse
        self.made = []

    def __getitem__(self, kind):
        name = tag(kind)
        if name not in self.made:
            self._make(kind, name)
            self.made.append(name)
        return name

    def _make(self, kind, name):
        if kind in RECIPES:
            dockerfile, base = RECIPES[kind]
            context, options = self.context, []
            if kind == "multistage":   # the source tree itself is the context
                context, options = ROOT, ["--network", "host"]
            elif kind in WHEEL_RECIPES:    # pip asks the host's loopback, no index
                options = ["--network", "host", "--build-arg", "PIP_NO_INDEX=1",
                           "--build-arg", "PIP_FIND_LINKS=" + self.wheelhouse()[1]]
                if kind == "injector":
                    options += ["--target", "initapp"]
            elif kind == "release":    # the release's files are the context
                context = self.wheelhouse()[0]
                options = ["--network", "none", "--build-arg",
                           "INITAPP_SHA256=" + release_digest(context, "init.pyz")]
            if kind == "healthcheck" and self.engine.name == "podman":
                options = ["--format", "docker"]   # OCI images have no HEALTHCHECK
            self.engine("build", "-q", *options, "-f", str(ROOT / "images" / dockerfile),
                        "--build-arg", "BASE_IMAGE=" + self[base], "-t", name, str(context),
                        timeout=600)
        elif kind in DERIVED:
            base, rest = DERIVED[kind]
            dockerfile = self.context / ("Dockerfile." + kind)
            dockerfile.write_text("FROM %s\n%s\n" % (self[base], rest))
            self.engine("build", "-q", "--network", "none", "-f", str(dockerfile), "-t", name,
                        str(self.context))
        else:   # base-ROOT: a root's tarball imported as it is
            self.engine("import", self.roots[kind[len("base-"):]], name, timeout=300)

    def remove(self):
        for name in reversed(self.made):
            self.engine("rmi", "-f", name, check=False)


@pytest.fixture(scope="session")
def prepared():
    """Packages installed, containers.conf written, the Debian root's tarball made."""
    conf, bookworm = run_script("setup.sh", timeout=1800)[-2:]
    os.environ["CONTAINERS_CONF"] = conf
    return Roots(bookworm)


@pytest.fixture(scope="module")
def module_root(request, prepared):
    """The module's ROOT_KIND root, made (or found in the cache) before its first
    test, outside the tests' own time limits: compiling a CPython takes minutes."""
    return prepared[request.module.ROOT_KIND]


@pytest.fixture(scope="session")
def context(tmp_path_factory):
    """What the Dockerfiles COPY: init.pyz (built with the default shebang), the
    workload, the CA bundle, the entrypoint recipe's start-up scripts."""
    path = tmp_path_factory.mktemp("context")
    build(path / "init.pyz", "/usr/local/bin/python3")
    shutil.copytree(ROOT / "images" / "entrypoint" / "docker-entrypoint.d",
                    path / "docker-entrypoint.d")
    shutil.copy(HERE / "app.py", path / "app.py")
    shutil.copy(CA_BUNDLE, path / "ca-certificates.crt")
    return path


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory):
    """make dist's files (the wheel, the archives, SHA256SUMS) and the URL of their
    directory on the host's loopback, where the wheel recipes' pip finds the wheel
    (their builds share the host's network); the server is stopped by its pid."""
    directory = dist(tmp_path_factory.mktemp("dist") / "dist")[0]
    server = subprocess.Popen([PYTHON, "-u", "-m", "http.server", "--bind", "127.0.0.1",
                               "--directory", str(directory), "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = server.stdout.readline()   # Serving HTTP on 127.0.0.1 port N (...) ...
        port = int(line.split(" port ")[1].split()[0])
        yield directory, "http://127.0.0.1:%d/" % port
    finally:
        server.kill()
        server.wait(timeout=30)


@pytest.fixture(scope="session")
def podman(prepared):
    return podman_engine()


@pytest.fixture(scope="session")
def podman_images(podman, prepared, context, request):
    images = Images(podman, prepared, context, lambda: request.getfixturevalue("wheelhouse"))
    yield images
    images.remove()


@pytest.fixture(scope="session")
def docker_daemon(prepared):
    daemon = DockerDaemon()
    yield daemon
    daemon.stop()


@pytest.fixture(scope="session")
def docker(docker_daemon):
    return docker_daemon.engine


@pytest.fixture(scope="session")
def docker_images(docker, prepared, context, request):
    images = Images(docker, prepared, context, lambda: request.getfixturevalue("wheelhouse"))
    yield images
    images.remove()


@pytest.fixture
def containers():
    """containers(engine, name) names a container the test starts: removed before
    (a leftover of an interrupted run) and after the test, by name."""
    named = []

    def add(engine, name):
        engine.remove(name)
        named.append((engine, name))
        return name

    yield add
    for engine, name in named:
        engine.remove(name)


@pytest.fixture(params=["docker", "podman"])
def each_engine(request):
    """Each engine in turn, with its images: (engine, images)."""
    return (request.getfixturevalue(request.param),
            request.getfixturevalue(request.param + "_images"))
