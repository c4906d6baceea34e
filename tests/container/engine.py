"""podman, as the container tests drive it."""

import shutil
import subprocess

BASE = "localhost/initapp-base:bookworm"
IMAGES = {"copy": "localhost/initapp-test-copy", "multistage": "localhost/initapp-test-multistage"}


def podman(*args, timeout=120, check=True):
    result = subprocess.run(["podman"] + list(args), capture_output=True, text=True,
                            timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError("podman %s: %d\n%s%s" % (" ".join(args), result.returncode,
                                                      result.stdout, result.stderr))
    return result


def tini_path():
    """Debian's tini for --init-path (tini-static where the image has no glibc)."""
    return shutil.which("tini-static") or shutil.which("tini")
