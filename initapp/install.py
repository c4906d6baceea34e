"""initapp install [--python INTERPRETER] [--force] PATH: write the archive to PATH
as one executable file for this image's Python; and --version's account of the
versions of bytecode the archive carries. Not on the init's start path.

Which archive: the one this process runs from (`init.pyz install`), else the one
the installed package carries as data (`initapp install`, `python -m initapp
install`: the wheel's, put there by make dist).

The shebang names the interpreter that runs the command unless --python names
another: its real file (a virtual environment's python is a link to the image's),
by the name python3 when python3 in the same directory is that file (so the file
still runs after the image's Python moves to another minor version). An archive
without bytecode for that interpreter's version (one newer than the build's, a
pre-release) gets its set, compiled by that interpreter from the archive's own
sources in the same child process the build runs (initapp/archive.py): the same
bytes the build makes for that version.
The file is written beside PATH under a temporary name, run with --version, and
only then renamed to PATH: PATH is never a file that does not start."""

import os
import sys

from initapp import __version__
from initapp.archive import SETS, read, versions, write
from initapp.defaults import (
    EXIT_INSTALL_FAILED, EXIT_USAGE, INSTALL_USAGE, MIN_PYTHON, MSG_INSTALL_BAD_PYTHON,
    MSG_INSTALL_BUSYBOX, MSG_INSTALL_CANNOT_COMPILE, MSG_INSTALL_CHECK, MSG_INSTALL_DIRECTORY,
    MSG_INSTALL_DONE, MSG_INSTALL_FAILED_RUN, MSG_INSTALL_IS_DIRECTORY, MSG_INSTALL_NO_ANSWER,
    MSG_INSTALL_NO_ARCHIVE, MSG_INSTALL_NO_EXECUTABLE, MSG_INSTALL_NO_PYTHON_VALUE,
    MSG_INSTALL_NOT_OURS, MSG_INSTALL_OLD_PYTHON, MSG_INSTALL_PRINTED, MSG_INSTALL_PYTHON,
    MSG_INSTALL_UNREADABLE, MSG_INSTALL_USAGE, MSG_INSTALL_WRITE, MSG_VERSION_ARCHIVE,
    MSG_VERSION_NO_ARCHIVE, MSG_VERSION_PACKAGE, MSG_VERSION_UNREADABLE)

DATA = "init.pyz"                   # the archive beside this module in a wheel
CHECK_SECONDS = 60                  # for the interpreter's answers and the file's first run

# Asked of the interpreter first, in code Python 2.7 still parses and options it
# knows (-E -s -S, not -I): its version, and from 3.8 on the tag of its set (as
# initapp/archive.py's COMPILER computes it), from the import machinery Python
# loaded at its start: no import that a file in the working directory could shadow.
PROBE = """\
import sys
sys.stdout.write("%d.%d.%d\\n" % tuple(sys.version_info[:3]))
if sys.version_info >= (3, 8) and sys.implementation.cache_tag:
    magic = sys.modules["_frozen_importlib_external"].MAGIC_NUMBER
    sys.stdout.write("%s-%d\\n" % (sys.implementation.cache_tag,
                                   int.from_bytes(magic[:2], "little")))
"""


class Failure(Exception):
    """One line for stderr, and the exit code."""

    def __init__(self, message, code=EXIT_INSTALL_FAILED):
        super().__init__(message)
        self.code = code


# -- which archive, and what it carries ------------------------------------------

def running_archive():
    """The path of the archive this process runs from, or None (a zip the package
    is imported from, a wheel on PYTHONPATH, is no archive of initapp's)."""
    main = sys.modules.get("__main__")
    archive = getattr(getattr(main, "__loader__", None), "archive", None)
    if archive is None or os.path.dirname(getattr(main, "__file__", "")) != archive:
        return None
    return os.path.normpath(archive)


def packaged():
    """The bytes of the archive the installed package carries, or None."""
    try:
        return __loader__.get_data(os.path.join(os.path.dirname(__file__), DATA))
    except (OSError, NameError, AttributeError):  # loaded from a set: no __file__
        return None


def describe():
    """--version: the version, then what bytecode the archive carries."""
    lines = ["initapp %s" % __version__]
    archive = running_archive()
    try:
        if archive is not None:
            lines.append(MSG_VERSION_ARCHIVE.format(versions=", ".join(versions(read(archive)))))
        else:   # the package is on the file system (a set of the archive has no __file__)
            package = os.path.dirname(os.path.abspath(__file__))
            data = packaged()
            if data is None:
                lines.append(MSG_VERSION_NO_ARCHIVE.format(package=package))
            else:
                import io

                lines.append(MSG_VERSION_PACKAGE.format(
                    package=package, versions=", ".join(versions(read(io.BytesIO(data))))))
    except ValueError as error:
        lines.append(MSG_VERSION_UNREADABLE.format(error=error))
    return "".join(line + "\n" for line in lines)


# -- the command ----------------------------------------------------------------------

def main(argv):
    try:
        path, interpreter, force = parse(argv)
        if path is None:
            sys.stdout.write(INSTALL_USAGE)
            return 0
        message = install(path, interpreter, force)
    except Failure as failure:
        sys.stderr.write("[initapp] error: install: %s\n" % failure)
        return failure.code
    sys.stdout.write(message + "\n")
    return 0


def parse(argv):
    """(PATH, interpreter or None, force); PATH None for --help."""
    paths, interpreter, force = [], None, False
    words = list(argv)
    while words:
        word = words.pop(0)
        if word in ("-h", "--help"):
            return None, None, False
        if word == "--force":
            force = True
        elif word == "--python" or word.startswith("--python="):
            if word == "--python":
                if not words:
                    raise Failure(MSG_INSTALL_NO_PYTHON_VALUE, EXIT_USAGE)
                word = "--python=" + words.pop(0)
            interpreter = word[len("--python="):]
            if not interpreter.startswith("/") or interpreter != "".join(interpreter.split()):
                raise Failure(MSG_INSTALL_BAD_PYTHON.format(python=interpreter), EXIT_USAGE)
        elif word == "--":
            paths += words
            break
        elif word.startswith("-") and word != "-":
            raise Failure(MSG_INSTALL_USAGE.format(error="unknown option: %r" % word),
                          EXIT_USAGE)
        else:
            paths.append(word)
    if len(paths) != 1:
        raise Failure(MSG_INSTALL_USAGE.format(error="expected one PATH, got %d" % len(paths)),
                      EXIT_USAGE)
    return paths[0], interpreter, force


def default_interpreter():
    """The interpreter running this command, by the name a shebang should give it."""
    if not sys.executable:
        raise Failure(MSG_INSTALL_NO_EXECUTABLE)
    real = os.path.realpath(sys.executable)
    python3 = os.path.join(os.path.dirname(real), "python3")
    if python3 != real and os.path.realpath(python3) == real:
        return python3
    return real


def source():
    """(where, {name: bytes}) of the archive to install."""
    archive = running_archive()
    try:
        if archive is not None:
            return archive, read(archive)
        data = packaged()
        if data is None:
            raise Failure(MSG_INSTALL_NO_ARCHIVE.format(
                package=os.path.dirname(os.path.abspath(__file__))))
        import io

        return "the package's " + DATA, read(io.BytesIO(data))
    except ValueError as error:
        raise Failure(MSG_INSTALL_UNREADABLE.format(archive=archive or DATA, error=error)) from None


def check_target(path, force):
    """Refuse a PATH that is a directory, or a file that is not initapp's unless
    force; a link is replaced, never written through."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise Failure(MSG_INSTALL_DIRECTORY.format(path=path, directory=directory))
    if os.path.isdir(path):
        raise Failure(MSG_INSTALL_IS_DIRECTORY.format(path=path))
    if force or not os.path.lexists(path):
        return directory
    try:
        read(path)
        return directory
    except ValueError:
        pass
    target = os.path.realpath(path)
    if os.path.basename(target) == "busybox":
        raise Failure(MSG_INSTALL_BUSYBOX.format(path=path, target=target))
    raise Failure(MSG_INSTALL_NOT_OURS.format(path=path))


def run(command, what):
    """The command's stdout (bytes); Failure naming what when it cannot run or fails."""
    import subprocess

    try:
        done = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=CHECK_SECONDS)
    except subprocess.TimeoutExpired:
        raise Failure(MSG_INSTALL_NO_ANSWER.format(what=what, seconds=CHECK_SECONDS)) from None
    except OSError as error:
        raise Failure("%s: %s" % (what, error.strerror)) from None
    if done.returncode != 0:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise Failure(MSG_INSTALL_FAILED_RUN.format(what=what, code=done.returncode,
                                                    last=": " + lines[-1] if lines else ""))
    return done.stdout


def probe(interpreter):
    """(version, tag or None) of the interpreter; Failure when it cannot run or is
    older than initapp supports."""
    answer = run([interpreter, "-E", "-s", "-S", "-c", PROBE],
                 MSG_INSTALL_PYTHON.format(python=interpreter))
    lines = answer.decode("ascii", "replace").split()
    version = lines[0] if lines else "?"
    if tuple(int(part) for part in version.split(".")[:2] if part.isdigit()) < MIN_PYTHON:
        raise Failure(MSG_INSTALL_OLD_PYTHON.format(python=interpreter, version=version))
    return version, lines[1] if len(lines) > 1 else None


def install(path, interpreter, force):
    """Write the file; the line to print."""
    interpreter = interpreter or default_interpreter()
    where, files = source()
    directory = check_target(path, force)
    version, tag = probe(interpreter)
    added = tag is not None and SETS + tag not in files
    if added:
        files[SETS + tag] = compiled(interpreter, files, tag)
    import tempfile

    temporary = None
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=".%s." % os.path.basename(path),
                                                 dir=directory)
        with open(descriptor, "wb") as out:
            write(out, (interpreter + " -IS").encode(), files)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o755)
        check(temporary, interpreter, path)
        os.replace(temporary, path)
    except OSError as error:
        _remove(temporary)
        raise Failure(MSG_INSTALL_WRITE.format(path=path, error=error.strerror)) from None
    except BaseException:
        _remove(temporary)
        raise
    return MSG_INSTALL_DONE.format(
        path=path, interpreter=interpreter, source=where, version=version,
        bytecode="compiled now and added" if added else "in the archive" if tag else "none")


def compiled(interpreter, files, tag):
    """The set of bytecode for interpreter's version, compiled by it."""
    from initapp import archive

    try:
        found, _, data = archive.compile_with(interpreter, archive.sources(files), CHECK_SECONDS)
    except archive.CompileError as error:
        raise Failure(MSG_INSTALL_CANNOT_COMPILE.format(python=interpreter, error=error))
    if found != tag:
        raise Failure("%s compiled for %s, not %s" % (interpreter, found, tag))
    return data


def _remove(path):
    if path is None:
        return
    try:
        os.unlink(path)
    except OSError:
        pass


def check(temporary, interpreter, path):
    """The new file, run as PATH will be, says its version."""
    what = MSG_INSTALL_CHECK.format(interpreter=interpreter, path=path)
    output = run([temporary, "--version"], what).decode("utf-8", "replace")
    if not output.startswith("initapp %s\n" % __version__):
        raise Failure(MSG_INSTALL_PRINTED.format(what=what, output=output[:200]))
