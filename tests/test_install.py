"""make dist and initapp install: the release files, reproducible; the wheel, which
carries the archive; `initapp install` (console script, python -m initapp, and
init.pyz install), which writes it for a Python; and the console script as the
init itself."""

import os
import shutil
import signal
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from support import CLEAN_ENV, PYTHON, ROOT, cpythons
from support import dist as make_dist

sys.path.insert(0, str(ROOT / "tools"))

pytestmark = pytest.mark.timeout(300)

VERSION = "0.2.0"
WHEEL = "initapp-%s-py3-none-any.whl" % VERSION
SDIST = "initapp-%s.tar.gz" % VERSION
RELEASED = ["init.pyz", "init-usr-bin.pyz", WHEEL, SDIST]
PYTHONS = cpythons()
BY_VERSION = sorted(PYTHONS, key=lambda version: int(version.split(".")[1]))
OLD_PYTHONS = cpythons(("2.7", "3.7"))


def run(command, env=None, **kwargs):
    return subprocess.run([str(part) for part in command], capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL,
                          env=CLEAN_ENV if env is None else env, **kwargs)


def copy_checkout(target):
    shutil.copytree(ROOT, target, ignore=shutil.ignore_patterns(
        ".venv", ".git", "dist", "build", "__pycache__", ".pytest_cache", "init.pyz"))
    return target


# -- make dist ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def copied_dist(tmp_path_factory):
    """make dist run in a copy of the checkout at another path (with a space), its
    archives with one Python's set: (the copy, what it held before, the dist
    directory). The sets' own reproducibility, every version's, is
    test_packaging's test_build_is_reproducible."""
    base = tmp_path_factory.mktemp("copied")
    copy = copy_checkout(base / "checkout with space")
    before = sorted(str(path.relative_to(copy)) for path in copy.rglob("*"))
    out, _ = make_dist(base / "out", root=copy, one_python=True)
    return copy, before, out


def test_make_dist_twice_gives_identical_sha256sums(tmp_path, copied_dist):
    # Another run, from another checkout path: the same four files, byte for byte.
    # (Two runs alike at two paths: a third run would add nothing.)
    first = copied_dist[2]
    dist, _ = make_dist(tmp_path / "dist", one_python=True)
    sums = (dist / "SHA256SUMS").read_text()
    assert (first / "SHA256SUMS").read_text() == sums
    assert [line.split("  ")[1] for line in sums.splitlines()] == RELEASED
    for name in RELEASED:
        assert (first / name).read_bytes() == (dist / name).read_bytes(), name
    assert run(["sha256sum", "-c", "SHA256SUMS"], cwd=str(dist)).returncode == 0
    assert sorted(path.name for path in first.iterdir()) == sorted(RELEASED + ["SHA256SUMS"])


def test_make_dist_leaves_the_checkout_as_it_is(copied_dist):
    copy, before, _ = copied_dist
    assert sorted(str(path.relative_to(copy)) for path in copy.rglob("*")) == before


def test_the_wheel_and_the_sdist_carry_the_archive(dist):
    with zipfile.ZipFile(dist / WHEEL) as wheel:
        assert wheel.read("initapp/init.pyz") == (dist / "init.pyz").read_bytes()
        names = wheel.namelist()
        entry_points = wheel.read("initapp-%s.dist-info/entry_points.txt" % VERSION).decode()
    assert "initapp=initapp.main:main" in entry_points
    # The runtime package as it is in the checkout, nothing else.
    package = sorted(path.name for path in (ROOT / "initapp").glob("*.py"))
    assert sorted(n.split("/")[1] for n in names if n.startswith("initapp/")) == sorted(
        package + ["init.pyz"])
    with tarfile.open(str(dist / SDIST)) as sdist:
        data = sdist.extractfile("initapp-%s/initapp/init.pyz" % VERSION).read()
    assert data == (dist / "init.pyz").read_bytes()


def dates(directory):
    """Every date in the wheel and the sdist: zip entries, tar members, gzip header."""
    with zipfile.ZipFile(str(directory / WHEEL)) as wheel:
        zipped = {info.date_time for info in wheel.infolist()}
    with tarfile.open(str(directory / SDIST)) as sdist:
        members = {member.mtime for member in sdist.getmembers() if member.name.endswith(".py")}
        owners = {(member.uid, member.gid, member.uname, member.gname)
                  for member in sdist.getmembers()}
    header = int.from_bytes((directory / SDIST).read_bytes()[4:8], "little")
    return zipped, members, header, owners


def test_dist_dates_every_entry_by_source_date_epoch(tmp_path, dist):
    # Unset: 1980-01-01, the archives' entries' date. Set: that date. Before 1980:
    # 1980-01-01 with a note, as build.sh.
    assert dates(dist) == ({(1980, 1, 1, 0, 0, 0)}, {315532800}, 315532800, {(0, 0, "", "")})
    dated, stderr = make_dist(tmp_path / "dated", epoch="1700000000", one_python=True)
    assert stderr == ""
    assert dates(dated) == ({(2023, 11, 14, 22, 13, 20)}, {1700000000}, 1700000000,
                            {(0, 0, "", "")})
    early, stderr = make_dist(tmp_path / "early", epoch="0", one_python=True)
    assert stderr.count("dist.sh: SOURCE_DATE_EPOCH=0 is before 1980, which a zip cannot "
                        "hold: the build date is 315532800 (1980-01-01)\n") == 1
    assert dates(early)[:3] == ({(1980, 1, 1, 0, 0, 0)}, {315532800}, 315532800)
    with zipfile.ZipFile(str(early / "init.pyz")) as archive:
        assert b'"built_at": "1980-01-01 00:00:00"' in archive.read("environment.json")


def test_dist_refuses_a_source_date_epoch_that_is_no_date(tmp_path):
    env = dict(os.environ, VENV_PYTHON=sys.executable, SOURCE_DATE_EPOCH="1.5")
    result = run([ROOT / "dist.sh", "--outdir", tmp_path / "out"], env=env)
    assert result.returncode == 2
    assert result.stderr == ("dist.sh: SOURCE_DATE_EPOCH: expected whole seconds since 1970 up "
                             "to 4354819199 (2107), got '1.5'\n")
    assert not (tmp_path / "out").exists()


# -- the wheel installed, and initapp install ---------------------------------------------

@pytest.fixture(scope="module")
def venv(dist, tmp_path_factory):
    """A virtual environment of Debian's Python with the wheel installed from the
    dist directory, as pip does it without an index. The test run's own pip
    installs into it (--python): a pip of the environment's own would cost seconds
    to install and play no part in the tests."""
    path = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run([PYTHON, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120)
    done = run([sys.executable, "-m", "pip", "--python", path / "bin" / "python", "install",
                "--quiet", "--disable-pip-version-check", "--no-index", "--find-links", dist,
                "initapp"])
    assert done.returncode == 0, done.stderr
    return path


def listing(directory):
    return sorted(path.name for path in Path(directory).iterdir())


def test_initapp_install_writes_the_archive_for_the_python_running_it(tmp_path, venv, dist):
    # The venv's python is a link to /usr/bin/python3.11: the shebang names
    # /usr/bin/python3, the file is the release's init-usr-bin.pyz byte for byte.
    target = tmp_path / "init"
    result = run([venv / "bin" / "initapp", "install", target])
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "installed %s: #!/usr/bin/python3 -IS (Python %s), from the package's init.pyz; "
        "that version's bytecode in the archive\n" % (target, platform_version(PYTHON)))
    assert target.read_bytes() == (dist / "init-usr-bin.pyz").read_bytes()
    assert target.stat().st_mode & 0o7777 == 0o755
    assert listing(tmp_path) == ["init"]   # no temporary file left
    assert run([target, "sh", "-c", "exit 3"]).returncode == 3


@pytest.mark.parametrize("way", ["python -m initapp", "init.pyz install", "wheel on PYTHONPATH"])
def test_every_way_to_install_writes_the_same_file(tmp_path, venv, dist, way):
    # The wheel imported as a zip: the package's data read through zipimport.
    target = tmp_path / "init"
    command = {"python -m initapp": [venv / "bin" / "python", "-m", "initapp"],
               "init.pyz install": [dist / "init-usr-bin.pyz"],
               "wheel on PYTHONPATH": [PYTHON, "-m", "initapp"]}[way]
    env = dict(CLEAN_ENV, PYTHONPATH=str(dist / WHEEL))
    result = run(command + ["install", target], cwd=str(tmp_path), env=env)
    assert result.returncode == 0, result.stderr
    assert target.read_bytes() == (dist / "init-usr-bin.pyz").read_bytes()


def platform_version(python):
    return run([python, "-c", "import platform; print(platform.python_version())"]).stdout.strip()


def test_the_shebang_names_the_interpreter_by_its_real_file(tmp_path, dist):
    # A copy of a CPython beside a python3 that is another one: the real file's name.
    # (Beside a python3 that is the same file, as in /usr/bin or /usr/local/bin, the
    # name python3: the tests above and the container tests.)
    version = BY_VERSION[-1]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    copy = bin_dir / ("python" + version)
    shutil.copy2(PYTHONS[version], copy)
    (bin_dir / "python3").symlink_to(PYTHON)
    # A precondition, not a gap to skip: every CPython this machine has runs copied.
    assert run([copy, "-c", "pass"]).returncode == 0, "a copy of %s does not run" % PYTHONS[version]
    target = tmp_path / "init"
    result = run([copy, "-IS", dist / "init-usr-bin.pyz", "install", target])
    assert result.returncode == 0, result.stderr
    assert target.read_bytes().split(b"\n")[0] == b"#!%s -IS" % str(copy).encode()


def strip_set(source, target, version):
    """A copy of the archive source without version's set of bytecode."""
    from compile_set import load_archive_module

    archive = load_archive_module()
    files = archive.read(str(source))
    tag = "bytecode/cpython-%s-" % version.replace(".", "")
    dropped = {name: data for name, data in files.items() if name.startswith(tag)}
    assert len(dropped) == 1
    with open(str(source), "rb") as f:
        shebang = f.readline()[2:-1]
    with open(str(target), "wb") as out:
        archive.write(out, shebang, {n: d for n, d in files.items() if n not in dropped})
    target.chmod(0o755)
    return dropped


@pytest.mark.parametrize("version", BY_VERSION)
def test_a_version_without_its_set_gets_the_one_the_build_makes(tmp_path, dist, version):
    # As for a Python newer than the build's: that interpreter compiles the set from
    # the archive's sources, the very bytes the build compiled for it; twice, the
    # same file.
    stripped = tmp_path / "stripped.pyz"
    dropped = strip_set(dist / "init-usr-bin.pyz", stripped, version)
    python = PYTHONS[version]
    installed = []
    for name in ("first", "second"):
        target = tmp_path / name
        result = run([stripped, "install", "--python", python, target])
        assert result.returncode == 0, result.stderr
        assert result.stdout.endswith("that version's bytecode compiled now and added\n")
        installed.append(target.read_bytes())
    assert installed[0] == installed[1]
    with zipfile.ZipFile(str(tmp_path / "first")) as archive:
        for name, data in dropped.items():
            assert archive.read(name) == data
    result = run([tmp_path / "first", "--version"])
    assert "bytecode for CPython %s;" % ", ".join(BY_VERSION) in result.stdout
    assert installed[0].split(b"\n")[0] == b"#!%s -IS" % python.encode()
    assert run([tmp_path / "first", "sh", "-c", "exit 4"]).returncode == 4


def test_a_file_that_is_not_initapps_is_refused_unless_forced(tmp_path, dist):
    target = tmp_path / "init"
    target.write_text("#!/bin/sh\necho the image's own init\n")
    result = run([dist / "init-usr-bin.pyz", "install", target])
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == ("[initapp] error: install: %s exists and is not an initapp archive "
                             "(--force replaces it)\n" % target)
    assert target.read_text() == "#!/bin/sh\necho the image's own init\n"
    assert listing(tmp_path) == ["init"]
    result = run([dist / "init-usr-bin.pyz", "install", "--force", target])
    assert result.returncode == 0, result.stderr
    assert target.read_bytes() == (dist / "init-usr-bin.pyz").read_bytes()


def test_an_initapp_archive_is_replaced_without_force(tmp_path, dist):
    # An upgrade: the file there is initapp's (here with another shebang).
    target = tmp_path / "init"
    shutil.copy2(str(dist / "init.pyz"), str(target))
    result = run([dist / "init-usr-bin.pyz", "install", target])
    assert result.returncode == 0, result.stderr
    assert target.read_bytes() == (dist / "init-usr-bin.pyz").read_bytes()


def test_alpines_busybox_link_is_named_and_never_written_through(tmp_path, dist):
    # Alpine's /sbin/init is a link to /bin/busybox, every command's program.
    (tmp_path / "bin").mkdir()
    (tmp_path / "sbin").mkdir()
    busybox = tmp_path / "bin" / "busybox"
    busybox.write_bytes(b"\x7fELF busybox")
    link = tmp_path / "sbin" / "init"
    link.symlink_to("../bin/busybox")
    result = run([dist / "init-usr-bin.pyz", "install", link])
    assert result.returncode == 1
    assert result.stderr == (
        "[initapp] error: install: %s is a link to %s: on Alpine /sbin/init is busybox, the "
        "program behind /bin/sh and every other command; --force replaces the link (busybox "
        "stays), or install to /usr/local/sbin/init\n" % (link, busybox))
    assert os.readlink(str(link)) == "../bin/busybox"
    result = run([dist / "init-usr-bin.pyz", "install", "--force", link])
    assert result.returncode == 0, result.stderr
    assert not link.is_symlink()
    assert link.read_bytes() == (dist / "init-usr-bin.pyz").read_bytes()
    assert busybox.read_bytes() == b"\x7fELF busybox"


def test_a_file_that_does_not_start_is_never_installed(tmp_path, dist):
    # An interpreter that answers initapp's questions but cannot run the file: the
    # install fails on its check, and PATH keeps what it held.
    wrapper = tmp_path / "python3"
    wrapper.write_text('#!/bin/sh\ncase "$*" in *--version*) echo broken >&2; exit 7 ;; esac\n'
                       'exec %s "$@"\n' % PYTHON)
    wrapper.chmod(0o755)
    target = tmp_path / "init"
    shutil.copy2(str(dist / "init.pyz"), str(target))
    result = run([dist / "init-usr-bin.pyz", "install", "--python", wrapper, target])
    assert result.returncode == 1
    assert result.stderr == ("[initapp] error: install: the new file (#!%s -IS) did not run; %s "
                             "is unchanged: exit 7: broken\n" % (wrapper, target))
    assert target.read_bytes() == (dist / "init.pyz").read_bytes()
    assert listing(tmp_path) == ["init", "python3"]


@pytest.mark.parametrize("version", ["2.7", "3.7", "none"])
def test_an_interpreter_initapp_cannot_run_on_is_refused(tmp_path, dist, version):
    if version == "none":
        python, message = "/nonexistent/python3", (
            "cannot run /nonexistent/python3: No such file or directory")
    else:
        if version not in OLD_PYTHONS:
            pytest.skip("needs a CPython %s" % version)
        python = OLD_PYTHONS[version]
        message = "%s is Python %s; initapp needs Python 3.8 or newer" % (
            python, platform_version(python))
    result = run([dist / "init-usr-bin.pyz", "install", "--python", python, tmp_path / "init"])
    assert (result.returncode, result.stderr) == (1, "[initapp] error: install: %s\n" % message)
    assert listing(tmp_path) == []


USAGE = "(usage: initapp install [--python INTERPRETER] [--force] PATH)"


@pytest.mark.parametrize("argv, message", [
    ([], "expected one PATH, got 0 %s" % USAGE),
    (["a", "b"], "expected one PATH, got 2 %s" % USAGE),
    (["--bogus", "a"], "unknown option: '--bogus' %s" % USAGE),
    (["a", "--python"], "--python needs an interpreter"),
    (["--python", "python3", "a"],
     "--python: the shebang needs an absolute path without spaces: 'python3'"),
    (["--python=/usr/bin/env python3", "a"],
     "--python: the shebang needs an absolute path without spaces: '/usr/bin/env python3'"),
])
def test_install_usage_errors(tmp_path, dist, argv, message):
    result = run([dist / "init-usr-bin.pyz", "install"] + argv, cwd=str(tmp_path))
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "[initapp] error: install: %s\n" % message
    assert listing(tmp_path) == []


def test_install_help_and_a_missing_directory(tmp_path, dist):
    result = run([dist / "init-usr-bin.pyz", "install", "--help"])
    assert result.returncode == 0
    assert result.stdout.startswith("usage: initapp install [--python INTERPRETER] [--force] PATH")
    result = run([dist / "init-usr-bin.pyz", "install", tmp_path / "no" / "init"])
    assert (result.returncode, result.stderr) == (1, (
        "[initapp] error: install: cannot write %s: %s is not a directory\n"
        % (tmp_path / "no" / "init", tmp_path / "no")))


def test_dash_dash_install_runs_a_program_named_install(dist):
    result = run([dist / "init-usr-bin.pyz", "--", "install", "--version"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("install (GNU coreutils)")


@pytest.mark.parametrize("pid1", [True, False], ids=["pid1", "subreaper"])
def test_the_installed_file_is_the_init(start, tmp_path, venv, pid1):
    target = tmp_path / "init"
    assert run([venv / "bin" / "initapp", "install", target]).returncode == 0
    init = start("-v", "--", "sleep", "30", init_pyz=target, pid1=pid1)
    init.child("sleep")
    init.signal(signal.SIGTERM)
    assert init.wait() == 128 + signal.SIGTERM, init.stderr()
    assert "forwarded SIGTERM to child" in init.stderr()


# -- the console script as the init -------------------------------------------------------

def test_the_console_script_says_what_it_would_install(venv):
    result = run([venv / "bin" / "initapp", "--version"])
    package = venv / "lib" / ("python%s" % platform_version(PYTHON).rsplit(".", 1)[0]) / \
        "site-packages" / "initapp"
    assert result.stdout == (
        "initapp %s\nrun from the package in %s; initapp install writes an archive with "
        "bytecode for CPython %s\n" % (VERSION, package, ", ".join(BY_VERSION)))


@pytest.mark.parametrize("pid1", [True, False], ids=["pid1", "subreaper"])
def test_the_console_script_is_the_init(start, venv, pid1):
    init = start("-v", "--", "sleep", "30", argv0=venv / "bin" / "initapp", pid1=pid1)
    init.child("sleep")
    init.signal(signal.SIGTERM)
    assert init.wait() == 128 + signal.SIGTERM, init.stderr()
    assert "forwarded SIGTERM to child" in init.stderr()


def test_pythonpath_reaches_the_console_script_not_the_installed_file(tmp_path, venv):
    # What the README says the console script costs: it is an ordinary program of
    # the environment's Python, whose site and PYTHONPATH apply.
    shadow = tmp_path / "path"
    shadow.mkdir()
    (shadow / "sitecustomize.py").write_text("import sys; sys.stderr.write('PYTHONPATH RAN\\n')\n")
    target = tmp_path / "init"
    assert run([venv / "bin" / "initapp", "install", target]).returncode == 0
    env = dict(CLEAN_ENV, PYTHONPATH=str(shadow))
    script = run([venv / "bin" / "initapp", "true"], env=env)
    installed = run([target, "true"], env=env)
    assert (script.returncode, script.stderr) == (0, "PYTHONPATH RAN\n")
    assert (installed.returncode, installed.stderr) == (0, "")
