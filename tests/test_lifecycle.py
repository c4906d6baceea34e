"""Around the workload: --pre-start scripts and --file-env secrets, with init.pyz
as PID 1 of its own namespace and as a subreaper (not PID 1)."""

import json
import os
import signal
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from support import (CLEAN_ENV, INIT_PYTHON, LATE, PYTHON, UNSHARE, alive, children, read_lines,
                     state, wait_file, wait_for)

pytestmark = pytest.mark.timeout(60)

BOTH = pytest.mark.parametrize("pid1", [True, False], ids=["pid1", "subreaper"])
# The workload: its environment and its descriptors, as it got them.
REPORT = ("import json, os, sys\n"
          "fds = {}\n"
          "for fd in os.listdir('/proc/self/fd'):\n"
          "    try:\n"
          "        fds[fd] = os.readlink('/proc/self/fd/' + fd)\n"
          "    except OSError:\n"
          "        pass  # the listing's own descriptor\n"
          "env = open('/proc/self/environ', 'rb').read().split(b'\\0')[:-1]\n"
          "json.dump({'env': [item.hex() for item in env], 'fds': fds}, open(sys.argv[1], 'w'))\n")


def script(directory, name, body, mode=0o755):
    """An executable shell script (bytes names allowed) in directory."""
    path = os.path.join(os.fsencode(str(directory)), os.fsencode(name))
    with open(path, "wb") as out:
        out.write(b"#!/bin/sh\n" + (body.encode() if isinstance(body, str) else body) + b"\n")
    os.chmod(path, mode)
    return path


def workload_report(path):
    data = json.loads(wait_file(path))
    env = {}
    for item in data["env"]:
        name, _, value = bytes.fromhex(item).partition(b"=")
        env.setdefault(name, value)
    return env, data["fds"]


def env_start(start, *args, pid1=True, extra=None, **kwargs):
    return start(*args, pid1=pid1, env=dict(CLEAN_ENV, **(extra or {})), **kwargs)


# -- --pre-start: which scripts, in which order --------------------------------------------

@BOTH
def test_scripts_run_in_byte_order_and_other_files_are_skipped_with_a_warning(
        start, tmp_path, box, pid1):
    scripts = box("scripts")
    ran = tmp_path / "ran"
    record = 'printf "%s\\n" "$(basename "$0")" >> ' + str(ran)
    # Byte order: "10-" before "2-", upper case before lower case, UTF-8 (0xc3) last.
    names = ["2-second", "10-first", "a-lower", "B-upper", "\u00e9-accent", "_under"]
    for name in names:
        script(scripts, name, record)
    script(scripts, "README", "exit 9", mode=0o644)                  # not executable
    os.mkdir(str(scripts / "sub.d"))                                 # a directory
    os.symlink("/nonexistent/nowhere", str(scripts / "dangling"))    # no such file
    os.mkfifo(str(scripts / "fifo"))                                 # not a regular file
    os.symlink(str(scripts / "10-first"), str(scripts / "link-to-first"))   # followed
    init = env_start(start, "--pre-start", str(scripts), PYTHON, "-c",
                     "open(%r, 'a').write('workload\\n')" % str(ran), pid1=pid1)
    assert init.wait() == 0, init.stderr()
    expected = sorted(names + ["link-to-first"], key=lambda name: name.encode())
    assert expected[:4] == ["10-first", "2-second", "B-upper", "_under"]
    assert read_lines(ran) == expected + ["workload"]
    warnings = init.stderr().splitlines()
    assert warnings == ["[initapp] warning: --pre-start: skipping %s/%s: %s" % (scripts, name, why)
                        for name, why in [("README", "not executable"),
                                          ("dangling", "No such file or directory"),
                                          ("fifo", "not a regular file"),
                                          ("sub.d", "a directory")]]


def test_one_executable_file_is_a_script_too(start, tmp_path, box):
    ran = tmp_path / "ran"
    one = script(box(), "prepare", 'echo "prepare $#" >> %s' % ran)
    init = env_start(start, "--pre-start", os.fsdecode(one), "sh", "-c", "echo workload >> %s" % ran)
    assert init.wait() == 0
    assert read_lines(ran) == ["prepare 0", "workload"]
    assert init.stderr() == ""


def test_an_empty_directory_runs_nothing(start, tmp_path, box):
    init = env_start(start, "-v", "--pre-start", str(box()), "true")
    assert init.wait() == 0
    assert "pre-start" not in init.stderr()


def test_a_relative_path_and_the_variable(start, tmp_path, box):
    # Relative to initapp's directory; the scripts run there too, as an
    # entrypoint script runs in the image's WORKDIR.
    scripts = box("here")
    script(scripts, "10-where", 'pwd > "$0.out"')
    init = env_start(start, "true", extra={"INITAPP_PRE_START": "  here\n"})
    assert init.wait() == 0, init.stderr()
    assert (scripts / "10-where.out").read_text() == "%s\n" % tmp_path


@pytest.mark.parametrize("kind, message", [
    ("missing", "--pre-start: '{path}': No such file or directory"),
    ("plain", "--pre-start: '{path}' is not executable: expected a directory or an executable file"),
    ("fifo", "--pre-start: '{path}' is not a regular file: expected a directory or an executable "
             "file"),
])
def test_a_pre_start_path_that_cannot_run_is_a_usage_error(start, tmp_path, kind, message):
    path = tmp_path / kind
    if kind == "plain":
        path.write_text("#!/bin/sh\n")
    elif kind == "fifo":
        os.mkfifo(str(path))
    ran = tmp_path / "ran"
    init = env_start(start, "--pre-start", str(path), "touch", str(ran))
    assert init.wait() == 2
    assert init.stderr() == "[initapp] error: %s\n" % message.format(path=path)
    assert not ran.exists()


def test_an_empty_pre_start_is_a_usage_error(start):
    init = env_start(start, "--pre-start=", "true")
    assert init.wait() == 2
    assert init.stderr() == "[initapp] error: --pre-start: empty path\n"


def test_a_usage_error_is_the_only_line_even_with_entries_to_skip(start, tmp_path, box):
    # The skipped entries are told when the scripts run: a usage error found
    # afterwards (nothing started) is still one line.
    scripts = box()
    script(scripts, "README", "exit 9", mode=0o644)
    init = env_start(start, "--pre-start", str(scripts), "--user", "no-such-user-here", "true")
    assert init.wait() == 2
    assert init.stderr() == "[initapp] error: --user: no such user: 'no-such-user-here'\n"


# -- --pre-start: failures ------------------------------------------------------------------

@BOTH
def test_a_failing_script_ends_the_start_with_its_code(start, tmp_path, box, pid1):
    scripts, ran = box(), tmp_path / "ran"
    script(scripts, "10-ok", "echo 10 >> %s" % ran)
    script(scripts, "20-fails", "echo 20 >> %s; exit 3" % ran)
    script(scripts, "30-never", "echo 30 >> %s" % ran)
    init = env_start(start, "--pre-start", str(scripts), "sh", "-c", "echo workload >> %s" % ran,
                     pid1=pid1)
    assert init.wait() == 3
    assert read_lines(ran) == ["10", "20"]
    lines = init.stderr().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "[initapp] error: pre-start script %s/20-fails (pid " % scripts), lines
    assert lines[0].endswith(") exited with 3: not starting sh"), lines


@BOTH
@pytest.mark.parametrize("signo", [signal.SIGKILL, signal.SIGUSR1])
def test_a_script_killed_by_a_signal_ends_the_start_with_128_plus_n(start, tmp_path, box, pid1,
                                                                     signo):
    scripts, ran = box(), tmp_path / "ran"
    script(scripts, "10-dies", "kill -%d $$; sleep 5" % signo)
    script(scripts, "20-never", "echo 20 >> %s" % ran)
    init = env_start(start, "--log-format", "json", "--pre-start", str(scripts),
                     "touch", str(ran), pid1=pid1)
    assert init.wait() == 128 + signo
    assert not ran.exists()
    records = [json.loads(line) for line in init.stderr().splitlines()]
    failed = [record for record in records if record["event"] == "pre_start_failed"]
    assert len(failed) == 1
    assert failed[0]["script"] == "%s/10-dies" % scripts and failed[0]["code"] == 128 + signo
    assert failed[0]["message"].endswith(" killed by %s: not starting touch"
                                         % signal.Signals(signo).name)
    summary = records[-1]
    assert summary["event"] == "exit" and summary["code"] == 128 + signo


def test_a_script_that_cannot_be_executed_ends_the_start(start, tmp_path, box):
    # Its interpreter is missing: the child's exec reports it, as for the command.
    scripts, ran = box(), tmp_path / "ran"
    (scripts / "10-x").write_text("#!/nonexistent/interpreter\n")
    (scripts / "10-x").chmod(0o755)
    init = env_start(start, "--pre-start", str(scripts), "touch", str(ran))
    assert init.wait() == 127
    assert not ran.exists()
    assert "[initapp] error: %s/10-x: command not found\n" % scripts in init.stderr()


# -- --pre-start: variables handed on -------------------------------------------------------

HAND_ON = r"""
test -n "$INITAPP_ENV_FILE" || exit 81
case "$INITAPP_ENV_FILE" in /proc/self/fd/*) ;; *) exit 82 ;; esac
printf '%s|%s\n' "$FROM_FLAG" "$FROM_ENV" > "$0.saw"
printf 'FIRST=one\nREPLACED=old\n' >> "$INITAPP_ENV_FILE"
printf '# a comment\n\nSPACES=  a b = c  \r\nEQUALS==x=\nEMPTY=\n' >> "$INITAPP_ENV_FILE"
printf 'FROM_ENV=script\nFROM_FLAG=script\nBYTES=\377\376\n' >> "$INITAPP_ENV_FILE"
"""
SEES = r"""
printf '%s|%s|%s\n' "$FIRST" "$REPLACED" "$FROM_FLAG" > "$0.saw"
# ">" empties the file first: only this script's own lines are read after it.
printf 'REPLACED=new\n' > "$INITAPP_ENV_FILE"
ls -l /proc/self/fd/ > "$0.fds"
"""


@BOTH
def test_variables_are_handed_on_to_later_scripts_and_to_the_workload(start, tmp_path, box,
                                                                      pid1):
    scripts, report = box(), tmp_path / "report"
    script(scripts, "10-hand-on", HAND_ON)
    script(scripts, "20-sees", SEES)
    init = env_start(start, "--env", "FROM_FLAG=flag", "--pre-start", str(scripts),
                     PYTHON, "-c", REPORT, str(report), pid1=pid1,
                     extra={"FROM_ENV": "inherited", "KEPT": "inherited"})
    assert init.wait() == 0, init.stderr()
    assert init.stderr() == ""
    # A script sees --env's values; a later one, what the earlier ones handed on.
    assert (scripts / "10-hand-on.saw").read_text() == "flag|inherited\n"
    assert (scripts / "20-sees.saw").read_text() == "one|old|script\n"
    env, fds = workload_report(report)
    assert env[b"FIRST"] == b"one" and env[b"REPLACED"] == b"new"
    assert env[b"SPACES"] == b"  a b = c  " and env[b"EQUALS"] == b"=x=" and env[b"EMPTY"] == b""
    assert env[b"BYTES"] == b"\xff\xfe"
    # The scripts have the last word: over the inherited environment and --env.
    assert env[b"FROM_ENV"] == b"script" and env[b"FROM_FLAG"] == b"script"
    assert env[b"KEPT"] == b"inherited"
    assert b"INITAPP_ENV_FILE" not in env
    assert not any(b"#" in name or name == b"" for name in env)
    # The memfd was open in the scripts, and is not in the workload.
    assert "memfd:INITAPP_ENV_FILE" in (scripts / "20-sees.fds").read_text()
    assert not [target for target in fds.values() if "memfd" in target], fds


def test_initapp_env_file_from_outside_never_reaches_the_workload(start, tmp_path, box):
    report = tmp_path / "report"
    script(box("scripts"), "10-nothing", "true")
    init = env_start(start, "--pre-start", str(tmp_path / "scripts"), PYTHON, "-c", REPORT,
                     str(report), extra={"INITAPP_ENV_FILE": "/tmp/stale"})
    assert init.wait() == 0, init.stderr()
    env, _ = workload_report(report)
    assert b"INITAPP_ENV_FILE" not in env


def test_a_script_that_su_s_to_another_user_can_still_write(start, tmp_path, box):
    # The path names the writer's own descriptor, whoever it runs as.
    scripts, report = box(), tmp_path / "report"
    script(scripts, "10-as-nobody", 'exec setpriv --reuid 65534 --regid 65534 --clear-groups '
                                    'sh -c \'echo "WHO=$(id -u)" >> "$INITAPP_ENV_FILE"\'')
    init = env_start(start, "--pre-start", str(scripts), PYTHON, "-c", REPORT, str(report))
    assert init.wait() == 0, init.stderr()
    assert workload_report(report)[0][b"WHO"] == b"65534"


@pytest.mark.parametrize("line, why", [
    (b"NO_EQUALS", "has no '='"),
    (b"=value", "has no name before '='"),
    (b"export NAME=value", "has a space or a control character in its name"),
    (b"NAME=a\0b", "holds a NUL byte"),
    (b"INITAPP_ENV_FILE=/x", "sets INITAPP_ENV_FILE, which is initapp's own"),
])
@BOTH
def test_a_bad_line_ends_the_start_with_2_naming_the_script_and_the_line(
        start, tmp_path, box, pid1, line, why):
    scripts, ran = box(), tmp_path / "ran"
    writer = script(scripts, "10-writes", b"printf 'GOOD=1\\n\\n' >> \"$INITAPP_ENV_FILE\"\n"
                    b"printf '" + line.replace(b"\0", b"\\000") + b"\\n' >> \"$INITAPP_ENV_FILE\"")
    script(scripts, "20-never", "touch %s" % ran)
    init = env_start(start, "--pre-start", str(scripts), "touch", str(ran), pid1=pid1)
    assert init.wait() == 2
    assert not ran.exists()
    lines = init.stderr().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("[initapp] error: pre-start script %s (pid " % os.fsdecode(writer))
    assert lines[0].endswith("): line 3 of $INITAPP_ENV_FILE %s: not starting touch" % why)
    # Nothing of what the line holds, but for its name's mistake, is shown.
    assert "value" not in lines[0] and "/x" not in lines[0]


def test_more_than_a_mebibyte_in_the_env_file_ends_the_start(start, tmp_path, box):
    scripts, ran = box(), tmp_path / "ran"
    script(scripts, "10-floods", "head -c 1048577 /dev/zero | tr '\\0' x >> \"$INITAPP_ENV_FILE\"")
    init = env_start(start, "--pre-start", str(scripts), "touch", str(ran))
    assert init.wait() == 2
    assert not ran.exists()
    assert init.stderr().endswith(
        "): $INITAPP_ENV_FILE holds more than 1048576 bytes: not starting touch\n")


READ_ONLY_ROOT = """
set -e
mount --make-rprivate /
mount --bind / /
mount -o remount,bind,ro /
if touch /probe-write {scripts}/probe-write 2>/dev/null; then echo "root is writable"; exit 90; fi
"""


def test_handing_on_works_on_a_read_only_root(start, tmp_path, box):
    scripts = box()
    script(scripts, "10-hand-on", 'echo "HANDED=yes" >> "$INITAPP_ENV_FILE"')
    init = start("--pre-start", str(scripts), "sh", "-c",
                 'test "$HANDED" = yes && test "$$" = 2 -o "$PPID" = 1 && exit 7',
                 setup=READ_ONLY_ROOT.format(scripts=scripts), env=CLEAN_ENV)
    assert init.wait() == 7, init.stderr() + init.stdout()
    assert init.stderr() == ""


# -- --pre-start: signals, orphans, a stop during start-up -----------------------------------

SLOW = """
trap 'echo "TERM" >> "$0.got"; exit {code}' TERM
trap 'echo "HUP" >> "$0.got"' HUP
echo $$ > "$0.pid.tmp"; mv "$0.pid.tmp" "$0.pid"
sleep 20 & wait $!
sleep 20 & wait $!
"""
STUBBORN = """
trap '' TERM
echo $$ > "$0.pid.tmp"; mv "$0.pid.tmp" "$0.pid"
sleep 20
"""


# Ends 0.1 s after its HUP, whenever it comes (a HUP before a shell's `wait` has
# begun would be run only once the wait ends), or by itself after 20 s.
UNTIL_HUP = """
trap 'echo "HUP" >> "$0.got"; got=1' HUP
echo $$ > "$0.pid.tmp"; mv "$0.pid.tmp" "$0.pid"
n=0
while [ -z "$got" ] && [ $n -lt 200 ]; do sleep 0.1; n=$((n + 1)); done
"""


@BOTH
def test_signals_are_forwarded_to_the_running_script(start, tmp_path, box, pid1):
    scripts, ran = box(), tmp_path / "ran"
    slow = script(scripts, "10-slow", UNTIL_HUP)
    init = env_start(start, "--pre-start", str(scripts), "touch", str(ran), pid1=pid1)
    wait_file(os.fsdecode(slow) + ".pid")
    init.signal(signal.SIGHUP)
    assert init.wait() == 0
    assert read_lines(os.fsdecode(slow) + ".got") == ["HUP"]
    assert ran.exists()


@BOTH
@pytest.mark.parametrize("code", [0, 5])
def test_a_stop_during_start_up_reaches_the_script_and_nothing_else_starts(
        start, tmp_path, box, pid1, code):
    # The script exits on SIGTERM: with its own failure's code, or, when it exits 0,
    # with 128+15: the workload never ran, which is no success.
    scripts, ran = box(), tmp_path / "ran"
    slow = script(scripts, "10-slow", SLOW.format(code=code))
    script(scripts, "20-never", "touch %s" % ran)
    init = env_start(start, "-v", "--pre-start", str(scripts), "touch", str(ran), pid1=pid1)
    pid = int(wait_file(os.fsdecode(slow) + ".pid"))   # as the script's namespace numbers it
    init.signal(signal.SIGTERM)
    assert init.wait() == (code or 143)
    assert read_lines(os.fsdecode(slow) + ".got") == ["TERM"]
    assert not ran.exists()
    stderr = init.stderr()
    assert "pre-start script %s (pid %d) exited with %d%s: stopping, so touch is not started\n" % (
        os.fsdecode(slow), pid, code, " after SIGTERM" if code == 0 else "") in stderr, stderr
    assert "error" not in stderr


@BOTH
def test_a_script_that_ignores_the_stop_is_killed_at_the_deadline(start, tmp_path, box, pid1):
    scripts, ran = box(), tmp_path / "ran"
    stubborn = script(scripts, "10-stubborn", STUBBORN)
    init = env_start(start, "-t", "1", "--pre-start", str(scripts), "touch", str(ran), pid1=pid1)
    wait_file(os.fsdecode(stubborn) + ".pid")
    sent = time.monotonic()
    init.signal(signal.SIGTERM)
    assert init.wait() == 137
    took = time.monotonic() - sent
    assert 1 <= took < 1 + LATE, took
    assert not ran.exists()
    assert "grace period of 1s is over; killing" in init.stderr()


ORPHAN = """
(trap 'echo TERM > "$0.orphan-term"; exit 0' TERM; sleep {life} & wait $!; echo done > "$0.orphan-done") &
echo $! > "$0.orphan.tmp"; mv "$0.orphan.tmp" "$0.orphan"
"""


@BOTH
def test_orphans_of_a_script_live_on_and_are_reaped(start, tmp_path, box, pid1):
    scripts = box()
    maker = os.fsdecode(script(scripts, "10-orphan", ORPHAN.format(life=30)))
    init = env_start(start, "--pre-start", str(scripts), "sleep", "20", pid1=pid1)
    main = init.child("sleep")
    # The workload started while the orphan lived, a child of initapp's now; initapp
    # reaps it when it ends (a zombie would still be listed as its child).
    orphan = [pid for pid in children(init.pid) if pid != main]
    assert len(orphan) == 1 and not os.path.exists(maker + ".orphan-done")
    # Its sleep ended by the test rather than by its time (SIGPIPE: the shell says
    # "Killed" on stderr for a SIGKILL, nothing for it); the orphan then finishes by
    # itself.
    os.kill(wait_for(lambda: children(orphan[0]), what="the orphan's sleep")[0], signal.SIGPIPE)
    wait_file(maker + ".orphan-done")
    wait_for(lambda: children(init.pid) == [main], what="the orphan reaped")
    assert state(orphan[0]) is None
    init.signal(signal.SIGTERM)
    assert init.wait() == 143
    assert init.stderr() == ""


@BOTH
def test_orphans_of_a_script_are_stopped_with_the_tree(start, tmp_path, box, pid1):
    # A daemon a script started is part of the tree: the stop reaches it too.
    scripts = box()
    maker = os.fsdecode(script(scripts, "10-daemon", ORPHAN.format(life=30)))
    init = env_start(start, "--pre-start", str(scripts), "sleep", "20", pid1=pid1)
    wait_file(maker + ".orphan")
    init.child("sleep")
    init.signal(signal.SIGTERM)
    assert init.wait() == 143
    assert wait_file(maker + ".orphan-term") == "TERM\n"


@BOTH
def test_a_failing_script_stops_the_daemons_it_started(start, tmp_path, box, pid1):
    scripts = box()
    maker = os.fsdecode(script(scripts, "10-daemon-then-fail", ORPHAN.format(life=30) + "exit 4"))
    init = env_start(start, "-v", "--pre-start", str(scripts), "true", pid1=pid1)
    assert init.wait() == 4
    assert wait_file(maker + ".orphan-term") == "TERM\n"
    assert "sent SIGTERM to 2 remaining process(es)" in init.stderr()


# -- --file-env -----------------------------------------------------------------------------

SECRET = b"s3cr3t-\xff\xfe-value"


@BOTH
@pytest.mark.parametrize("content, value", [
    (SECRET + b"\n", SECRET),                   # one trailing newline goes
    (SECRET, SECRET),
    (SECRET + b"\n\n", SECRET + b"\n"),         # only one
    (b"\n", b""),
    (b"line one\r\nline two\n", b"line one\r\nline two"),
])
def test_file_env_sets_the_variable_from_the_file(start, tmp_path, box, pid1, content, value):
    secrets, report = box(), tmp_path / "report"
    (secrets / "db").write_bytes(content)
    init = env_start(start, "--file-env", "DB_PASSWORD", "--file-env", "DB_PASSWORD",
                     PYTHON, "-c", REPORT, str(report), pid1=pid1,
                     extra={"DB_PASSWORD_FILE": str(secrets / "db"), "OTHER_FILE": "/x"})
    assert init.wait() == 0, init.stderr()
    env, _ = workload_report(report)
    assert env[b"DB_PASSWORD"] == value
    assert b"DB_PASSWORD_FILE" not in env
    assert env[b"OTHER_FILE"] == b"/x"           # only the names given
    assert init.stderr() == ""


def test_file_env_names_from_the_variable_reach_the_scripts_too(start, box, shared_dir):
    # Read as root before anything starts: a file only root may read works, also
    # with --user; the scripts see the values, not the _FILE names.
    secrets, scripts = box(), box()
    report = Path(tempfile.mkdtemp(dir=str(shared_dir))) / "report"
    report.parent.chmod(0o777)
    for name in ("a", "b"):
        (secrets / name).write_bytes(b"value-" + name.encode() + b"\n")
        (secrets / name).chmod(0o400)
    script(scripts, "10-sees", 'printf "%s|%s|%s" "$A" "$B" "${A_FILE-unset}" > "$0.saw"')
    init = env_start(start, "--user", "4242", "--pre-start", str(scripts), PYTHON, "-c", REPORT,
                     str(report), extra={"INITAPP_FILE_ENV": " A , B ",
                                         "A_FILE": str(secrets / "a"),
                                         "B_FILE": str(secrets / "b")})
    assert init.wait() == 0, init.stderr()
    assert (scripts / "10-sees.saw").read_text() == "value-a|value-b|unset"
    env, _ = workload_report(report)
    assert (env[b"A"], env[b"B"]) == (b"value-a", b"value-b")


def test_file_env_keeps_a_variable_given_directly(start, tmp_path):
    # As file_env: NAME alone is used as it is (the same image runs without a secret file).
    report = tmp_path / "report"
    init = env_start(start, "--file-env", "TOKEN", PYTHON, "-c", REPORT, str(report),
                     extra={"TOKEN": "plain", "TOKEN_FILE": ""})
    assert init.wait() == 0, init.stderr()
    env, _ = workload_report(report)
    assert env[b"TOKEN"] == b"plain" and env[b"TOKEN_FILE"] == b""


def _fifo(path):
    os.mkfifo(str(path))


NO_DAC_OVERRIDE = 'set -- setpriv --bounding-set=-dac_override,-dac_read_search "$@"'


@pytest.mark.parametrize("case, message", [
    ("both", "TOKEN is set, and so is TOKEN_FILE='{path}': set only one"),
    ("neither", "neither TOKEN nor TOKEN_FILE is set"),
    ("missing", "cannot read TOKEN_FILE='{path}': No such file or directory"),
    ("unreadable", "cannot read TOKEN_FILE='{path}': Permission denied"),
    ("directory", "cannot read TOKEN_FILE='{path}': not a regular file"),
    ("fifo", "cannot read TOKEN_FILE='{path}': not a regular file"),
    ("nul", "TOKEN_FILE='{path}' holds a NUL byte, which no environment variable can hold"),
    ("huge", "TOKEN_FILE='{path}' holds more than the 131072 bytes one environment variable "
             "can hold"),
])
@pytest.mark.parametrize("log_format", ["text", "json"])
def test_file_env_errors_are_usage_errors_that_never_show_the_value(start, tmp_path, box, case,
                                                                    message, log_format):
    secrets, ran = box(), tmp_path / "ran"
    path = secrets / "token"
    extra = {"TOKEN_FILE": str(path)}
    content = SECRET + b"\n"
    if case == "both":
        path.write_bytes(content)
        extra["TOKEN"] = "direct-value"
    elif case == "neither":
        del extra["TOKEN_FILE"]
    elif case == "unreadable":
        path.write_bytes(content)
        path.chmod(0o000)
    elif case == "directory":
        path.mkdir()
    elif case == "fifo":
        _fifo(path)
    elif case == "nul":
        path.write_bytes(SECRET + b"\0" + SECRET)
    elif case == "huge":
        path.write_bytes(SECRET * (131072 // len(SECRET) + 1))
    args = ["--log-format", log_format, "--file-env", "TOKEN", "touch", str(ran)]
    # Unreadable: root without the capabilities that let it read any file.
    setup = NO_DAC_OVERRIDE if case == "unreadable" else None
    init = env_start(start, *args, extra=extra, setup=setup)
    assert init.wait(timeout=20) == 2
    assert not ran.exists()
    raw = init.stderr_path.read_bytes()
    assert SECRET[:7] not in raw and b"direct-value" not in raw
    expected = "--file-env TOKEN: " + message.format(path=path)
    if log_format == "text":
        assert raw.decode() == "[initapp] error: %s\n" % expected
    else:
        assert json.loads(raw) == {"level": "error", "event": "usage", "message": expected}


def test_file_env_bad_name_is_a_usage_error(start):
    init = env_start(start, "--file-env", "A=B", "true")
    assert init.wait() == 2
    assert init.stderr() == "[initapp] error: --file-env: not a variable name: 'A=B'\n"


SHOW_ALL = """
echo "EXTRA=$TOKEN-in-a-script" >> "$INITAPP_ENV_FILE"
"""


@pytest.mark.parametrize("log_format", ["text", "json"])
@BOTH
def test_no_value_read_from_a_file_is_ever_logged_or_inspected(start, init_pyz, tmp_path, box,
                                                               pid1, log_format):
    # Every event at -vvv, a stop, the exit summary, and inspect's report: the
    # secret (and what a script made of it) appears in none of them.
    secrets, scripts = box(), box()
    (secrets / "token").write_bytes(SECRET + b"\n")
    script(scripts, "10-uses-it", SHOW_ALL)
    init = env_start(start, "-vvv", "--log-format", log_format, "--file-env", "TOKEN",
                     "--pre-start", str(scripts), "--", PYTHON, "-c",
                     "import os, sys, time; open(sys.argv[1], 'w').write('ok'); time.sleep(20)",
                     str(tmp_path / "ready"), pid1=pid1,
                     extra={"TOKEN_FILE": str(secrets / "token")})
    wait_file(tmp_path / "ready")
    child = init.child()
    with open("/proc/%d/environ" % child, "rb") as environ:
        assert b"TOKEN=" + SECRET + b"\0" in environ.read()   # the workload has it
    inspected = subprocess.run([str(init_pyz), "inspect", "--json", str(init.pid)],
                               capture_output=True, timeout=30)
    # 1 or 3 when it finds a problem or cannot tell (initapp caught busy, on a loaded machine).
    assert inspected.returncode in (0, 1, 3), inspected.stderr
    assert b'"--file-env",' in inspected.stdout
    init.signal(signal.SIGTERM)
    assert init.wait() == 143
    raw = init.stderr_path.read_bytes()
    assert b"TOKEN" in raw and b"(%d bytes)" % len(SECRET) in raw     # the events were written
    for text in (inspected.stdout + inspected.stderr, raw):
        for part in (SECRET, SECRET[:7], b"\\xff\\xfe", b"in-a-script"):
            assert part not in text, part


# -- the start of a command without these options does not pay for them ------------------

def test_the_startup_module_is_imported_only_when_used(init_pyz, tmp_path):
    def imported(*args):
        command = [INIT_PYTHON, "-IS", "-X", "importtime", str(init_pyz)] + list(args)
        result = subprocess.run(command, env=dict(CLEAN_ENV, TOKEN="x"), timeout=30,
                                capture_output=True, text=True, stdin=subprocess.DEVNULL)
        assert result.returncode == 0, result.stderr
        return {line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:") and "|" in line}

    assert "initapp.startup" not in imported("true")
    assert "initapp.startup" in imported("--file-env", "TOKEN", "true")
    assert "initapp.startup" in imported("--pre-start", str(tmp_path), "true")

