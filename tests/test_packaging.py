"""init.pyz as a file: how it is built, started, and isolated from its environment."""

import json
import os
import shutil
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from support import (CLEAN_ENV, INIT_PYTHON, PYTHON, ROOT, UNSHARE, build, build_reporting,
                     cpythons, wait_for)

pytestmark = pytest.mark.timeout(120)


def run(command, env=None, **kwargs):
    return subprocess.run(command, env=CLEAN_ENV if env is None else env, capture_output=True,
                          timeout=30, stdin=subprocess.DEVNULL, **kwargs)


def test_build_is_reproducible(tmp_path, init_pyz):
    # Same source, same bytes: even when built from another checkout path.
    copy = tmp_path / "checkout with space"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".venv", ".git", "dist", "build",
                                                             "__pycache__", ".pytest_cache"))
    again = build(tmp_path / "again.pyz", root=copy)
    assert again.read_bytes() == init_pyz.read_bytes()


def build_dated(output, epoch):
    """build.sh with SOURCE_DATE_EPOCH=epoch (None: unset), this Python's set only;
    (exit status, stderr, the archive's build date or None)."""
    env = dict(os.environ, SHIV=str(Path(sys.executable).parent / "shiv"), PYTHON=sys.executable)
    env.pop("SOURCE_DATE_EPOCH", None)
    if epoch is not None:
        env["SOURCE_DATE_EPOCH"] = epoch
    done = subprocess.run([str(ROOT / "build.sh"), "--python", PYTHON, "--output", str(output),
                           "--compile-with", PYTHON], env=env, capture_output=True, text=True,
                          timeout=120)
    if not output.exists():
        return done.returncode, done.stderr, None
    with zipfile.ZipFile(output) as archive:
        dates = {info.date_time for info in archive.infolist()}
        built_at = json.loads(archive.read("environment.json"))["built_at"]
    assert dates == {(1980, 1, 1, 0, 0, 0)}  # every entry's own date is fixed
    return done.returncode, done.stderr, built_at


def test_source_date_epoch_is_the_build_date_and_a_zip_date(tmp_path):
    # Unset or empty: shiv's fixed date. Set: that date, the same bytes for the same
    # value. Before 1980, which a zip cannot hold: 1980-01-01, with a note.
    built = {}
    for name, epoch in [("unset", None), ("empty", ""), ("set", "1700000000"),
                        ("again", "1700000000"), ("zero", "0"), ("1980", "315532800")]:
        output = tmp_path / ("%s.pyz" % name)
        code, stderr, built_at = build_dated(output, epoch)
        assert code == 0, stderr
        built[name] = (output.read_bytes(), built_at, stderr)
    assert built["unset"][1] == "1980-01-01 06:00:00" and built["unset"][:2] == built["empty"][:2]
    assert built["set"][1] == "2023-11-14 22:13:20" and built["set"][0] == built["again"][0]
    assert built["set"][0] != built["unset"][0]
    assert built["zero"][:2] == built["1980"][:2] and built["zero"][1] == "1980-01-01 00:00:00"
    assert built["zero"][2] == ("build.sh: SOURCE_DATE_EPOCH=0 is before 1980, which a zip cannot "
                                "hold: the build date is 315532800 (1980-01-01)\n")
    assert built["1980"][2] == "" and built["set"][2] == ""


@pytest.mark.parametrize("epoch", ["abc", "1.5", "-1", " 5", "1700000000000", "4354819200"])
def test_a_source_date_epoch_that_is_no_date_is_refused(tmp_path, epoch):
    # Not whole seconds, or past 2107 (the last year a zip holds; milliseconds, say).
    code, stderr, built_at = build_dated(tmp_path / "bad.pyz", epoch)
    assert (code, built_at) == (2, None)
    assert stderr == ("build.sh: SOURCE_DATE_EPOCH: expected whole seconds since 1970 up to "
                      "4354819199 (2107), got '%s'\n" % epoch)


def test_default_shebang_is_isolated_slim_image_python(tmp_path):
    # PYTHON's set of bytecode only: the other sets change nothing of the shebang.
    default = build(tmp_path / "default.pyz", "/usr/local/bin/python3", compile_with=[PYTHON])
    first_line = default.read_bytes().split(b"\n", 1)[0]
    assert first_line == b"#!/usr/local/bin/python3 -IS"
    assert os.stat(default).st_mode & 0o777 == 0o755
    # It still runs when its interpreter is named explicitly.
    assert run([PYTHON, "-IS", str(default), "sh", "-c", "exit 3"]).returncode == 3


def test_archive_holds_only_the_runtime_package(init_pyz):
    with zipfile.ZipFile(init_pyz) as archive:
        names = archive.namelist()
        main = archive.read("__main__.py").decode()
    package = sorted(n for n in names if n.startswith("site-packages/"))
    assert all(n.startswith("site-packages/initapp/") and n.endswith(".py") for n in package)
    sets = [n for n in names if n.startswith("bytecode/")]
    assert len(sets) >= len(cpythons())  # one entry per version found, nothing else
    assert all(n.startswith("bytecode/cpython-3") for n in sets)
    assert "environment.json" in names  # shiv-info can still read it
    assert "_bootstrap" not in main     # shiv's extracting bootstrap is never run


PYTHONS = cpythons()
SABOTAGE = b"raise SystemExit(99)  # the source ran\n"


def rewrite(source, target, keep=lambda name: True, sabotage_sources=False):
    """A copy of the archive source (shebang kept) without the entries keep refuses,
    its package sources replaced by a line that exits 99 when sabotage_sources."""
    with open(str(source), "rb") as f:
        shebang = f.readline()
    with zipfile.ZipFile(source) as archive:
        files = {name: archive.read(name) for name in archive.namelist() if keep(name)}
    if sabotage_sources:
        files.update((name, SABOTAGE) for name in files if name.startswith("site-packages/"))
    with open(str(target), "wb") as out:
        out.write(shebang)
        with zipfile.ZipFile(out, "w") as archive:
            for name, data in files.items():
                archive.writestr(name, data)
    target.chmod(0o755)
    return target


def version_of(archive_name):
    """bytecode/cpython-311-3495 -> 3.11"""
    digits = archive_name.split("/")[1].split("-")[1]
    return "%s.%s" % (digits[0], digits[1:])


@pytest.mark.parametrize("version", sorted(PYTHONS, key=lambda v: int(v.split(".")[1])))
def test_each_version_runs_its_own_set(tmp_path, init_pyz, version):
    # With every source broken, each version still runs: it imported its own set.
    broken = rewrite(init_pyz, tmp_path / "broken.pyz", sabotage_sources=True)
    result = run([PYTHONS[version], "-IS", str(broken), "sh", "-c", "exit 3"])
    assert result.returncode == 3, result.stderr
    # Without its own set (the others kept), the same version runs the sources.
    others = rewrite(init_pyz, tmp_path / "others.pyz", sabotage_sources=True,
                     keep=lambda name: not (name.startswith("bytecode/")
                                            and version_of(name) == version))
    assert run([PYTHONS[version], "-IS", str(others), "true"]).returncode == 99


@pytest.fixture(scope="module")
def single_set_build(tmp_path_factory):
    """(init.pyz built with PYTHON's bytecode only, what build.sh printed)."""
    return build_reporting(tmp_path_factory.mktemp("single") / "single.pyz",
                           compile_with=[PYTHON])


def test_version_without_its_set_runs_from_source(tmp_path, single_set_build):
    # Built with one Python's bytecode only, as on a Debian host, then run by another.
    own = run([PYTHON, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"]).stdout
    others = [PYTHONS[v] for v in PYTHONS if v != own.decode().strip()]
    if not others:
        pytest.skip("needs a CPython version other than %s's" % PYTHON)
    runs_on = others[-1]
    single = single_set_build[0]
    with zipfile.ZipFile(single) as archive:
        assert len([n for n in archive.namelist() if n.startswith("bytecode/")]) == 1
    assert run([runs_on, "-IS", str(single), "sh", "-c", "exit 4"]).returncode == 4
    broken = rewrite(single, tmp_path / "broken.pyz", sabotage_sources=True)
    assert run([runs_on, "-IS", str(broken), "true"]).returncode == 99


# Interpreters initapp does not support, which must say so in one line: the
# machine's pyenv builds them beside 3.8 to 3.13.
UNSUPPORTED = ("2.7", "3.6", "3.7")
OLD_PYTHONS = cpythons(UNSUPPORTED)


def unsupported(version):
    if version not in OLD_PYTHONS:
        pytest.skip("needs a CPython %s (pyenv's, or /usr/bin/python%s)" % (version, version))
    return OLD_PYTHONS[version]


# Python 2.7 has no -I: it refuses the shebang's options itself (exit 2, its usage).
@pytest.mark.parametrize("version, way", [
    (version, way) for version in UNSUPPORTED
    for way in ["python init.pyz", "python -IS init.pyz", "python -m initapp"]
    if not (version == "2.7" and way == "python -IS init.pyz")])
def test_an_unsupported_python_says_so_in_one_line(tmp_path, init_pyz, version, way):
    # Exit 2 and one line naming the versions supported, not a traceback; nothing runs.
    python = unsupported(version)
    command = {"python init.pyz": [python, str(init_pyz)],
               "python -IS init.pyz": [python, "-IS", str(init_pyz)],
               "python -m initapp": [python, "-B", "-m", "initapp"]}[way]  # -B: no .pyc here
    started = tmp_path / "started"
    result = run(command + ["touch", str(started)], cwd=str(ROOT))
    assert result.returncode == 2
    assert result.stderr.decode() == ("[initapp] error: initapp needs Python 3.8 or newer; "
                                      "this is Python %s\n" % platform_version(python))
    assert result.stdout == b""
    assert not started.exists()


def test_build_reports_the_versions_it_compiled_with(init_pyz_build, single_set_build):
    report = init_pyz_build[1]      # every version found
    for version in PYTHONS:
        assert "\n  %s." % version in report
    report = single_set_build[1]    # the one named
    assert [line for line in report.splitlines() if line.startswith("  ")] == [
        "  %s (%s)" % (platform_version(PYTHON), PYTHON)]


def platform_version(python):
    return run([python, "-c", "import platform; print(platform.python_version())"]).stdout.decode().strip()


def test_build_refuses_a_named_python_it_cannot_use(tmp_path):
    with pytest.raises(subprocess.CalledProcessError):
        build(tmp_path / "bad.pyz", compile_with=["/bin/false"])
    assert not (tmp_path / "bad.pyz").exists()


def test_runs_through_symlink_and_path_with_spaces(tmp_path, init_pyz):
    spaced = tmp_path / "dir with space"
    spaced.mkdir()
    target = spaced / "init.pyz"
    shutil.copy2(init_pyz, target)
    link = tmp_path / "sbin-init"
    link.symlink_to(target)
    assert run([str(target), "sh", "-c", "exit 7"]).returncode == 7
    assert run([str(link), "--", "sh", "-c", "exit 5"]).returncode == 5
    relative = run(["./sbin-init", "true"], cwd=str(tmp_path))
    assert relative.returncode == 0, relative.stderr


# The package's import, held until the test lets it go on (a slow disk, a loaded host).
HELD_IMPORT = """\
import os as _os, time as _time
open("importing", "w").close()
_until = _time.monotonic() + 10
while not _os.path.exists("go") and _time.monotonic() < _until:
    _time.sleep(0.01)
"""


@pytest.fixture(scope="module")
def slow_start_pyz(tmp_path_factory):
    """init.pyz whose package, once it has written `importing` in its working
    directory, goes on with its import only when a file `go` is there (or after
    10 s)."""
    root = tmp_path_factory.mktemp("slow") / "src"
    shutil.copytree(ROOT, root, ignore=shutil.ignore_patterns(".venv", ".git", "dist", "build",
                                                             "__pycache__", ".pytest_cache"))
    package = root / "initapp" / "__init__.py"
    package.write_text(HELD_IMPORT + package.read_text())
    return build(root.parent / "slow.pyz", root=root)


# Until the archive's __main__ blocks them, a SIGTERM to PID 1 is dropped by the kernel
# and a SIGINT ends initapp with KeyboardInterrupt; after it, both wait for the loop.
@pytest.mark.parametrize("way", ["shebang", "python3 init.pyz"])
@pytest.mark.parametrize("signo", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_while_starting_is_forwarded(start, tmp_path, slow_start_pyz, signo, way):
    args = ["-v", "--", "sleep", "30"]
    if way == "shebang":
        init = start(*args, init_pyz=slow_start_pyz)
    else:
        init = start(str(slow_start_pyz), *args, argv0=INIT_PYTHON)
    wait_for((tmp_path / "importing").exists, what="initapp importing its package")
    init.signal(signo)              # pending, or taken, once kill() returns
    (tmp_path / "go").touch()       # only then may the import go on
    assert init.wait() == 128 + signo, init.stderr()
    assert "Traceback" not in init.stderr()
    assert "forwarded %s to child" % signal.Signals(signo).name in init.stderr()


SHADOW = "import sys; sys.stderr.write('SHADOWED STDLIB RAN\\n'); sys.exit(99)\n"


@pytest.fixture
def hostile(tmp_path):
    """An environment full of PYTHON* and SHIV_* traps, and a planted ~/.shiv."""
    pythonpath = tmp_path / "pythonpath"
    pythonpath.mkdir()
    for name in ("signal", "_signal", "os", "zipimport", "sitecustomize", "usercustomize",
                 "initapp", "errno"):
        (pythonpath / (name + ".py")).write_text(SHADOW)
    home = tmp_path / "home"
    planted = home / ".shiv" / "init.pyz_x" / "site-packages" / "initapp"
    planted.mkdir(parents=True)
    (planted / "main.py").write_text(SHADOW)
    (planted.parent / "evil.pth").write_text("import sys; sys.exit(98)\n")
    shiv_root = tmp_path / "shiv-root"
    shiv_root.mkdir()
    startup = tmp_path / "startup.py"
    startup.write_text(SHADOW)
    env = dict(CLEAN_ENV, HOME=str(home), PYTHONPATH=str(pythonpath), PYTHONHOME="/nonexistent",
               PYTHONWARNINGS="error", PYTHONINSPECT="1", PYTHONSTARTUP=str(startup),
               PYTHONDONTWRITEBYTECODE="", PYTHONSAFEPATH="", PYTHONNOUSERSITE="",
               PYTHONVERBOSE="1", PYTHONDEVMODE="1", PYTHONOPTIMIZE="2",
               SHIV_ROOT=str(shiv_root), SHIV_ENTRY_POINT="platform:platform",
               SHIV_MODULE="platform", SHIV_INTERPRETER="1", SHIV_FORCE_EXTRACT="1",
               SHIV_PREPEND_PYTHONPATH=str(pythonpath), SHIV_CONSOLE_SCRIPT="x")
    return env, shiv_root, home


def _check_isolated(result, env, shiv_root, home):
    assert result.returncode == 0, result.stderr
    assert b"SHADOWED" not in result.stderr
    assert result.stderr == b""
    # The child received the container's variables untouched.
    child_env = dict(line.split("=", 1) for line in result.stdout.decode().splitlines())
    assert child_env == env
    # Nothing was extracted or written.
    assert list(shiv_root.iterdir()) == []
    assert sorted(p.name for p in (home / ".shiv").iterdir()) == ["init.pyz_x"]


def test_python_and_shiv_variables_do_not_change_the_init(tmp_path, init_pyz, hostile):
    env, shiv_root, home = hostile
    result = run([str(init_pyz), "env"], env=env, cwd=str(tmp_path))
    _check_isolated(result, env, shiv_root, home)


def test_started_without_isolation_it_isolates_itself(tmp_path, init_pyz, hostile):
    # "python3 init.pyz" skips the shebang's -IS: the archive starts itself again isolated.
    # (sitecustomize is imported by python itself before the archive runs: not tested here.)
    env, shiv_root, home = hostile
    # Only what python imports after its own start can be shadowed harmlessly here:
    # _ctypes is what initapp, not PID 1 here, imports from the standard library, and
    # _posixsubprocess where it is no built-in module (lib-dynload comes after
    # PYTHONPATH on sys.path).
    env = {k: v for k, v in env.items() if k not in ("PYTHONHOME", "PYTHONSTARTUP", "PYTHONVERBOSE")}
    pythonpath = tmp_path / "pythonpath-late"
    pythonpath.mkdir()
    for name in ("signal", "initapp", "errno", "ctypes", "_ctypes", "_posixsubprocess", "fcntl",
                 "termios"):
        (pythonpath / (name + ".py")).write_text(SHADOW)
    env["PYTHONPATH"] = env["SHIV_PREPEND_PYTHONPATH"] = str(pythonpath)
    result = run([PYTHON, str(init_pyz), "env"], env=env, cwd=str(tmp_path))
    _check_isolated(result, env, shiv_root, home)



def test_started_without_isolation_it_runs_itself_again_isolated(tmp_path, init_pyz):
    # What the shadowing above no longer shows (the C modules initapp needs are
    # loaded by their own loader): the init's command line is -I -S's after the exec.
    result = run([PYTHON, str(init_pyz), "sh", "-c", 'tr "\\0" " " < /proc/$PPID/cmdline'],
                 env={"PATH": "/usr/bin:/bin"}, cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    words = os.fsdecode(result.stdout).split()
    assert words[:3] == [PYTHON, "-I", "-S"] and str(init_pyz) in words, result.stdout


ROOTLESS = """
set -e
mount --make-rprivate /
mount --bind / /
mount -o remount,bind,ro /
if touch /probe-write 2>/dev/null; then echo "root is writable"; exit 90; fi
exec setpriv --reuid 4242 --regid 4242 --clear-groups env -i PATH=/usr/bin:/bin "$@"
"""


def test_read_only_root_unknown_uid_no_home(init_pyz):
    # A read-only root, a uid with no passwd entry and no HOME, as PID 1.
    script = ["unshare", "--mount", "--pid", "--fork", "--mount-proc", "--kill-child",
              "sh", "-c", ROOTLESS, "sh", str(init_pyz), "--",
              "sh", "-c", 'test "$(id -u)" = 4242 && test -z "$HOME" && test "$PPID" = 1 && exit 3']
    result = run(script)
    assert result.returncode == 3, result.stderr
    assert result.stderr == b""


# Python itself sets LC_CTYPE when it starts in the C or POSIX locale (PEP 538), also
# for a locale this machine does not have; the child must get what initapp was given.
LOCALES = [
    {}, {b"LANG": b"C"}, {b"LC_CTYPE": b"C"}, {b"LC_CTYPE": b"POSIX"},
    {b"LC_ALL": b"POSIX", b"X": b"1"}, {b"LC_CTYPE": b"C.UTF-8"}, {b"LC_CTYPE": b"C.utf8"},
    {b"LANG": b"C.UTF-8"}, {b"LC_CTYPE": b"en_US.UTF-8"}, {b"LANG": b"POSIX", b"LC_CTYPE": b"C"},
]


@pytest.mark.parametrize("way", ["shebang", "python3 init.pyz"])
@pytest.mark.parametrize("locale", LOCALES, ids=lambda env: b" ".join(
    b"=".join(item) for item in env.items()).decode() or "none")
def test_environment_reaches_the_child_byte_for_byte(init_pyz, way, locale):
    # In order, with a name and a value that are not UTF-8, and without PATH too.
    env = dict(locale, **{"W\udcffIRD": "v\udcfe", "PATH": "/usr/bin:/bin"})
    env = {os.fsencode(name): os.fsencode(value) for name, value in env.items()}
    for environment in (env, locale):
        command = [str(init_pyz), "/bin/cat", "/proc/self/environ"]
        if way != "shebang":
            command.insert(0, INIT_PYTHON)
        result = subprocess.run(command, env=environment, capture_output=True, timeout=20)
        assert result.returncode == 0, result.stderr
        assert result.stdout == b"".join(b"%s=%s\0" % item for item in environment.items())


# execve with an environment no Python mapping can hold: an empty name, an entry
# without "=", a name twice.
ODD_ENVIRONMENT = """
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
def array(items):
    return (ctypes.c_char_p * (len(items) + 1))(*items, None)
argv = [os_arg.encode() for os_arg in sys.argv[1:]]
libc.execve(argv[0], array(argv), array([b"PATH=/usr/bin:/bin", b"=empty", b"NOEQUALS",
                                         b"A=1", b"A=2"]))
sys.exit("execve: errno %d" % ctypes.get_errno())
"""


@pytest.mark.parametrize("way", ["shebang", "python3 init.pyz"])
def test_an_environment_entry_with_an_empty_name_is_left_out_with_a_warning(init_pyz, way):
    # The kernel takes "=VALUE" (and tini passes it on); Python's os.execve refuses
    # an environment holding one. The child still runs, as Python reads an
    # environment (the first of a name, no entry without "="), and initapp says
    # what it left out, the same both ways of starting it.
    direct = run([PYTHON, "-c", ODD_ENVIRONMENT, "/bin/cat", "/proc/self/environ"])
    assert direct.stdout == b"PATH=/usr/bin:/bin\0=empty\0NOEQUALS\0A=1\0A=2\0"
    command = [str(init_pyz), "/bin/cat", "/proc/self/environ"]
    if way != "shebang":
        command.insert(0, INIT_PYTHON)
    result = run([PYTHON, "-c", ODD_ENVIRONMENT] + command)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"PATH=/usr/bin:/bin\0A=1\0"
    assert result.stderr == (b"[initapp] warning: an environment entry with an empty name "
                             b"(=empty) cannot be passed to the child: left out\n")


def test_an_environment_entry_with_an_empty_name_is_told_once_not_at_every_start(init_pyz):
    # Several processes start many children (an exec: check every 0.1 s, restarts):
    # the entry left out is the same each time, so it is told once.
    command = [str(init_pyz), "--timeout", "1", "--run", "a=sleep 5", "--ready",
               "a=exec:test -e /nonexistent/never", "--run", "b=sleep 5"]
    result = run([PYTHON, "-c", ODD_ENVIRONMENT] + command)
    assert result.returncode == 124, result.stderr
    assert result.stderr.count(b"empty name") == 1, result.stderr


TRACEBACK = """
import os, runpy, sys, traceback
os._exit = lambda code: None  # the archive's __main__ ends with it
sys.argv = [sys.argv[1], "--version"]
runpy.run_path(sys.argv[0], run_name="__main__")
from initapp import cli
try:
    cli.parse(["--grace", object()])
except Exception:
    traceback.print_exc()
"""


def test_tracebacks_from_a_set_show_the_source(init_pyz):
    # Modules come from the version's set; a traceback still quotes their lines.
    result = run([PYTHON, "-IS", "-c", TRACEBACK, str(init_pyz)])
    lines = result.stderr.decode().splitlines()
    frames = [i for i, line in enumerate(lines) if 'site-packages/initapp/cli.py", line' in line]
    assert frames, lines
    assert all(lines[i + 1].startswith("    ") and lines[i + 1].strip() for i in frames), lines


DOCSTRINGS = """
import os, runpy, sys
os._exit = lambda code: None  # the archive's __main__ ends with it
sys.argv = [sys.argv[1], "--version"]
runpy.run_path(sys.argv[0], run_name="__main__")
from initapp import cli, main, spawn
print(cli.__doc__, main.__doc__, main.main.__doc__, spawn.Launch.__doc__, spawn.spawn.__doc__)
"""


def test_a_set_carries_no_docstrings(init_pyz):
    # Each start unmarshals what it imports: the sets leave the docstrings to the
    # sources (the modules are the set's: see the test above).
    result = run([PYTHON, "-IS", "-c", DOCSTRINGS, str(init_pyz)])
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().split("\n")[-2] == "None None None None None"


@pytest.mark.parametrize("pid1", [True, False], ids=["pid1", "subreaper"])
@pytest.mark.parametrize("options", [
    [],
    ["--pre-stop", "true", "--post-stop", "true"],
    ["--run", "a=sleep 1", "--ready", "a=exec:true", "--log-prefix", "on"],
    ["--pre-start", "/bin/true"],
], ids=["one", "hooks", "several", "before"])
def test_every_module_the_init_imports_comes_from_its_set(init_pyz, pid1, options):
    # Once the loop's modules are in, the init lets its set's memory go but for what
    # its options may still import (main.release_set): a module imported later
    # than that would come from its source (compiled, milliseconds). -v names
    # each module's loader; the checks, the stop and --post-stop run after the release.
    command = [INIT_PYTHON, "-IS", "-v", str(init_pyz)] + options + ["--", "sleep", "0.5"]
    result = subprocess.run((UNSHARE if pid1 else []) + command, env=CLEAN_ENV, timeout=30,
                            capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    imported = [line for line in result.stderr.splitlines() if line.startswith("import 'initapp")]
    assert "import 'initapp.loop'" in "\n".join(imported)
    assert all("<set_finder.Bytecode object" in line for line in imported), imported
