"""The container engines the tests drive: podman, and Docker's own daemon (Debian's
docker.io) started by the tests on a private socket, data root and exec root,
without a bridge or iptables rules, and stopped by its pid at the end."""

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

DOCKERD = "/usr/sbin/dockerd"
DOCKER = "/usr/bin/docker"      # Debian's client; another one may come first on PATH
COMPOSE = "/usr/bin/docker-compose"
TINI = "/usr/bin/tini-static"   # Debian's tini, for podman --init-path: runs on any root
# podman's systemd mode (an ENTRYPOINT at /sbin/init) stops with this signal number.
PODMAN_STOP_SIGNAL = 37


class Engine:
    """One engine's command line. Every container runs without a network."""

    def __init__(self, name, command, env=None, read_only=("--read-only",)):
        self.name = name
        self.command = list(command)
        self.env = env
        self.read_only = list(read_only)

    def __call__(self, *args, timeout=120, check=True):
        result = subprocess.run(self.command + list(args), capture_output=True, text=True,
                                timeout=timeout, env=self.env)
        if check and result.returncode != 0:
            raise AssertionError("%s %s: %d\n%s%s" % (self.name, " ".join(args), result.returncode,
                                                      result.stdout, result.stderr))
        return result

    def run(self, *args, **kwargs):
        return self("run", "--network", "none", *args, **kwargs)

    def logs(self, name):
        result = self("logs", name, check=False)
        return result.stdout + result.stderr

    def inspect(self, name, field):
        return self("inspect", "--format", "{{%s}}" % field, name).stdout.strip()

    def exit_code(self, name):
        return int(self.inspect(name, ".State.ExitCode"))

    def wait_log(self, name, text, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            logs = self.logs(name)
            if text in logs:
                return logs
            time.sleep(0.1)
        raise AssertionError("%s: no %r in the logs of %s:\n%s" % (self.name, text, name, logs))

    def remove(self, *names):
        for name in names:
            self("rm", "-f", name, check=False)


def release_digest(directory, name):
    """name's digest in directory's SHA256SUMS (make dist's)."""
    for line in (Path(directory) / "SHA256SUMS").read_text().splitlines():
        digest, listed = line.split("  ", 1)
        if listed == name:
            return digest
    raise AssertionError("%s is not in SHA256SUMS" % name)


def podman_engine():
    return Engine("podman", ["podman"], read_only=("--read-only", "--read-only-tmpfs=false"))


class DockerDaemon:
    """dockerd (and the containerd it starts) in a directory of its own; the
    client and docker-compose reach it through DOCKER_HOST."""

    def __init__(self):
        # Short: the socket's path must fit in a sockaddr_un.
        self.dir = Path(tempfile.mkdtemp(prefix="initapp-docker-"))
        socket = self.dir / "docker.sock"
        (self.dir / "daemon.json").write_text("{}\n")   # not /etc/docker/daemon.json
        (self.dir / "client").mkdir()
        self.log = self.dir / "dockerd.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [DOCKERD, "--host", "unix://%s" % socket, "--data-root", str(self.dir / "data"),
                 "--exec-root", str(self.dir / "exec"), "--pidfile", str(self.dir / "dockerd.pid"),
                 "--config-file", str(self.dir / "daemon.json"), "--bridge=none",
                 "--iptables=false", "--ip6tables=false", "--log-level", "warn"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        env = dict(os.environ, DOCKER_HOST="unix://%s" % socket,
                   DOCKER_CONFIG=str(self.dir / "client"))
        self.engine = Engine("docker", [DOCKER], env=env)
        self.compose = Engine("docker-compose", [COMPOSE], env=env)
        self._wait_ready()

    def _wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while self.engine("version", check=False, timeout=30).returncode != 0:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError("dockerd did not start:\n" + self.log.read_text())
            time.sleep(0.2)

    def stop(self):
        """SIGTERM to dockerd by its pid (it stops its containers and its containerd),
        SIGKILL if it does not end; then its directory goes."""
        containerd = self.dir / "exec" / "containerd" / "containerd.pid"
        containerd_pid = int(containerd.read_text()) if containerd.exists() else None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        if containerd_pid and _alive(containerd_pid):
            os.kill(containerd_pid, signal.SIGKILL)
        shutil.rmtree(self.dir, ignore_errors=True)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def versions(docker, podman):
    """The engines' versions, as docs/install.md names them (Debian's suffix dropped)."""
    found = {
        "podman": podman("version", "--format", "{{.Client.Version}}").stdout,
        "Docker": docker.engine("version", "--format", "{{.Server.Version}}").stdout,
        "docker-compose": docker.compose("version", "--short").stdout,
    }
    return {name: version.strip().split("+")[0] for name, version in found.items()}
