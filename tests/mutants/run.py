"""make mutants: break initapp on purpose, one documented property at a time, and
check that the tests meant to notice do notice.

    run.py [--group GROUP]... [--list | --check] [NAME...]

Each mutation of mutations.py is applied to a scratch copy of this checkout (so
init.pyz is built from the broken source), and the tests it names run against
it. A mutation is *caught* when at least one of them fails, *survived* when all
pass: a survivor is a property no test checks. A mutation whose old text is not
found exactly once in its file is an *error* (the source moved: update the
patch), never caught.

First the named tests run once on an unbroken copy: they must pass, or a
failure would say nothing. Every run happens in a PID namespace of its own, so
that a mutant that signals too widely (a kill(-1) outside PID 1) can reach
nothing of this machine. Mutations run one at a time. Exit status: 0 when every
mutation was caught, 1 otherwise, 2 when the unbroken copy fails its tests."""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mutations import GROUPS, MUTATIONS  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SKIP = shutil.ignore_patterns(".venv", ".git", "dist", "build", "__pycache__", ".pytest_cache",
                              ".hypothesis", "*.egg-info")
RUN_TIMEOUT = 900  # one pytest run; each test has its own pytest-timeout below this
# PID 1 of the sandbox is a shell that waits for pytest (and reaps what it is given);
# when it exits, the kernel ends every process left in the namespace.
SANDBOX = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child",
           "sh", "-c", '"$@"; exit $?', "sandbox"]


def scratch_copy(into):
    copy = Path(into) / "src"
    shutil.copytree(ROOT, copy, ignore=SKIP, symlinks=True)
    copy.chmod(0o755)
    return copy


def apply(mutation, copy):
    """Apply every edit of mutation to copy; return None or what went wrong."""
    for path, old, new in mutation.edits:
        target = copy / path
        try:
            text = target.read_text()
        except OSError as error:
            return "%s: %s" % (path, error.strerror)
        count = text.count(old)
        if count != 1:
            return "%s: old text found %d times (expected once): %r" % (path, count, old[:60])
        target.write_text(text.replace(old, new))
    return None


def pytest(copy, tests, report):
    """Run tests in copy, sandboxed; return (exit status, failed test ids)."""
    command = SANDBOX + [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                         "--basetemp", str(copy.parent / "tmp"), "--junitxml", str(report)] + list(tests)
    try:
        result = subprocess.run(command, cwd=str(copy), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                timeout=RUN_TIMEOUT, env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
    except subprocess.TimeoutExpired:
        return None, [], "the test run took over %ds" % RUN_TIMEOUT
    return result.returncode, failures(report), result.stdout.decode(errors="replace")


def failures(report):
    try:
        tree = ElementTree.parse(str(report))
    except (OSError, ElementTree.ParseError):
        return []
    failed = []
    for case in tree.iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            module = case.get("classname", "").rpartition(".")[2]
            failed.append("%s.py::%s" % (module, case.get("name")))
    return failed


def run_one(mutation):
    """(verdict, detail): caught, survived or error."""
    with tempfile.TemporaryDirectory(prefix="initapp-mutant-") as work:
        copy = scratch_copy(work)
        problem = apply(mutation, copy)
        if problem:
            return "error", problem
        status, failed, output = pytest(copy, mutation.tests, Path(work) / "report.xml")
    if status == 1 and failed:
        return "caught", ", ".join(failed)
    if status == 0:
        return "survived", "every test passed: " + " ".join(mutation.tests)
    return "error", "pytest exit status %s\n%s" % (status, tail(output))


def baseline(mutations):
    tests = sorted({test for mutation in mutations for test in mutation.tests})
    with tempfile.TemporaryDirectory(prefix="initapp-mutant-") as work:
        copy = scratch_copy(work)
        status, failed, output = pytest(copy, tests, Path(work) / "report.xml")
    return status == 0, len(tests), failed, output


def check(mutations):
    errors = 0
    for mutation in mutations:
        with tempfile.TemporaryDirectory(prefix="initapp-mutant-") as work:
            problem = apply(mutation, scratch_copy(work))
        if problem:
            errors += 1
            print("error    %-28s %s" % (mutation.name, problem))
    print("mutants: %d of %d apply" % (len(mutations) - errors, len(mutations)))
    return 1 if errors else 0


def tail(text, lines=25):
    return "\n".join(text.rstrip().splitlines()[-lines:])


def select(groups, names):
    chosen = [m for m in MUTATIONS if (not groups or m.group in groups)
              and (not names or m.name in names)]
    unknown = set(names) - {m.name for m in MUTATIONS}
    if unknown:
        sys.exit("unknown mutation(s): %s" % ", ".join(sorted(unknown)))
    return chosen


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--group", action="append", choices=sorted(GROUPS), default=[])
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    parser.add_argument("--check", action="store_true",
                        help="only check that every edit applies to the source, and exit")
    parser.add_argument("names", nargs="*")
    args = parser.parse_args()
    mutations = select(args.group, args.names)
    if args.list:
        for mutation in mutations:
            print("%-28s %-9s %s\n%39s%s" % (mutation.name, mutation.group, mutation.breaks, "",
                                             " ".join(mutation.tests)))
        return 0
    if args.check:
        return check(mutations)
    began = time.monotonic()
    print("mutants: %d mutation(s); first their tests on the unbroken source" % len(mutations),
          flush=True)
    ok, count, failed, output = baseline(mutations)
    print("baseline: %d test selection(s) %s (%.0fs)" % (count, "pass" if ok else "FAIL",
                                                         time.monotonic() - began), flush=True)
    if not ok:
        print(", ".join(failed) or tail(output))
        return 2
    verdicts = {}
    for index, mutation in enumerate(mutations, 1):
        started = time.monotonic()
        verdict, detail = run_one(mutation)
        verdicts.setdefault(verdict, []).append(mutation.name)
        print("[%2d/%d] %-8s %-28s %5.1fs  %s" % (index, len(mutations), verdict, mutation.name,
                                                  time.monotonic() - started,
                                                  ("by " if verdict == "caught" else "") + detail),
              flush=True)
    print("mutants: %d caught, %d survived, %d errors in %.0fs"
          % tuple([len(verdicts.get(v, [])) for v in ("caught", "survived", "error")]
                  + [time.monotonic() - began]))
    for verdict in ("survived", "error"):
        if verdicts.get(verdict):
            print("%s: %s" % (verdict, " ".join(verdicts[verdict])))
    return 0 if set(verdicts) <= {"caught"} else 1


if __name__ == "__main__":
    sys.exit(main())
