"""initapp as a drop-in for tini and dumb-init: their flags and variables, privileges,
file descriptors, logging. All against the built init.pyz as a real PID 1."""

import calendar
import json
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from support import (CLEAN_ENV, PYTHON, ROOT, TRAP, UNSHARE, alive, children, comm, read_lines,
                     state, status_field, wait_file, wait_for)

pytestmark = pytest.mark.timeout(60)


def host_pid(init, pid_in_namespace):
    """The machine's pid of a process in init's PID namespace."""
    def find():
        for pid in [init.pid] + children_all(init.pid):
            if status_field(pid, "NSpid").split()[-1] == str(pid_in_namespace):
                return pid
        return None
    return wait_for(find, what="pid %d of the namespace" % pid_in_namespace)


def children_all(pid):
    found = children(pid)
    for kid in list(found):
        found += children_all(kid)
    return found


def status_fields(text):
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


# -- tini's flags ----------------------------------------------------------------------

def test_tini_exit_code_remap(start, box):
    work = box()
    init = start("-e", "143", "-e", "3", *TRAP, str(work), "--handle")
    wait_file(work / "ready")
    init.signal(signal.SIGTERM)
    assert init.wait() == 0              # 143 remapped


def test_success_code_from_environment(start):
    init = start(PYTHON, "-c", "raise SystemExit(3)", env=dict(CLEAN_ENV, INITAPP_SUCCESS_CODES="1,3"))
    assert init.wait() == 0


def test_tini_pgroup_flag_and_variable(start, box):
    # A grandchild in the child's group gets the signal only with -g.
    for args, env, expected in ((["-g"], {}, True), ([], {"TINI_KILL_PROCESS_GROUP": "1"}, True),
                                ([], {"TINI_KILL_PROCESS_GROUP": "0"}, False), ([], {}, False)):
        work = box()
        # The app ignores the SIGTERM that leftovers get, so only USR1 can end it early.
        app = " ".join(TRAP + [str(work), "--handle", "USR1", "--ignore", "TERM"])
        init = start("--grace", "0.5", *args, "sh", "-c", app + "; exit 0",
                     env=dict(CLEAN_ENV, **env))
        wait_file(work / "ready")
        init.signal(signal.SIGUSR1)       # sh dies of it (default action)
        assert init.wait() in (128 + signal.SIGUSR1,)
        got = read_lines(work / "got")
        assert bool(got and got[0].startswith("SIGUSR1")) is expected, (args, env)


def test_tini_subreaper_flag_and_variable_are_accepted(start):
    assert start("-s", "true", pid1=False).wait() == 0
    assert start("true", pid1=False, env=dict(CLEAN_ENV, TINI_SUBREAPER="")).wait() == 0


def test_tini_warn_on_reap(start, tmp_path):
    script = "import os, time\nif os.fork() == 0:\n    os._exit(0)\ntime.sleep(0.3)\n"
    init = start("-w", PYTHON, "-c", script)
    assert init.wait() == 0
    # tini's wording, so log filters written for it keep matching.
    assert init.stderr().startswith(
        "[initapp] warning: Reaped zombie process with pid=3 (exited with 0)")


def test_tini_verbosity_variable(start):
    init = start("true", env=dict(CLEAN_ENV, TINI_VERBOSITY="2"))
    assert init.wait() == 0
    assert init.stderr().startswith("[initapp] info: started true as pid 2\n")
    quiet = start("sh", "-c", "echo x >&2", env=dict(CLEAN_ENV, TINI_VERBOSITY="0"))
    assert quiet.wait() == 0
    assert quiet.stderr() == "x\n"


def test_license(init_pyz):
    for flag in ("-l", "--license"):
        result = subprocess.run([str(init_pyz), flag], capture_output=True, text=True, timeout=10)
        assert result.returncode == 0
        assert result.stdout == (ROOT / "LICENSE").read_text()


INTERMEDIATE = """
import subprocess, sys, os, time
proc = subprocess.Popen(sys.argv[1:])
print(proc.pid, flush=True)
while not os.path.exists(sys.argv[-1] + "/ready"):
    time.sleep(0.01)
"""


def test_parent_death_signal(init_pyz, box):
    # init.pyz -p TERM under a parent that exits: the kernel sends SIGTERM to
    # initapp, which stops its child.
    work = box()
    parent = subprocess.run([PYTHON, "-c", INTERMEDIATE, str(init_pyz), "-p", "SIGTERM",
                             *TRAP, str(work)], capture_output=True, text=True, timeout=20)
    init_pid = int(parent.stdout)
    try:
        wait_for(lambda: read_lines(work / "done"), what="the child stopped by the death signal")
        assert read_lines(work / "got")[0].startswith("SIGTERM")
        wait_for(lambda: not alive(init_pid), what="init.pyz to exit")
    finally:
        try:
            os.kill(init_pid, signal.SIGKILL)
        except OSError:
            pass


# -- dumb-init's flags ---------------------------------------------------------------

def test_rewrite_and_drop(start, box):
    work = box()
    init = start("-r", "15:10", "--rewrite", "HUP:0", *TRAP, str(work), "--handle", "USR1", "TERM")
    wait_file(work / "ready")
    init.signal(signal.SIGHUP)            # dropped: the child would die of it
    time.sleep(0.2)
    init.signal(signal.SIGTERM)           # arrives as SIGUSR1
    assert init.wait() == 0
    assert [line.split()[0] for line in read_lines(work / "got")] == ["SIGUSR1"]


def test_dropped_stop_signal_does_not_start_the_shutdown(start, box):
    work = box()
    init = start("--grace", "0.3", "-r", "TERM:0", *TRAP, str(work), "--handle", "USR1")
    wait_file(work / "ready")
    init.signal(signal.SIGTERM)
    time.sleep(0.8)                       # past the grace: nothing was killed
    assert alive(init.pid) and read_lines(work / "got") == []
    init.signal(signal.SIGUSR1)
    assert init.wait() == 0


def test_rewritten_stop_signal_still_stops_the_tree(start, box):
    # TERM forwarded as QUIT (nginx's graceful stop): the deadline still applies.
    work = box()
    init = start("--grace", "1", "-r", "TERM:QUIT", *TRAP, str(work), "--handle", "QUIT",
                 "--keep")
    wait_file(work / "ready")
    init.signal(signal.SIGTERM)
    assert init.wait() == 137
    assert read_lines(work / "got")[0].startswith("SIGQUIT")


def test_single_child_exits_without_touching_the_rest(start, tmp_path):
    script = ("import subprocess, sys, os\n"
              "subprocess.Popen(sys.argv[2:] + [sys.argv[1]], start_new_session=True)\n"
              "while not os.path.exists(sys.argv[1] + '/ready'): pass\n"
              "sys.exit(4)\n")
    (tmp_path / "worker").mkdir()
    init = start("-c", PYTHON, "-c", script, str(tmp_path / "worker"), *TRAP, "--life", "20",
                 pid1=False)
    assert init.wait() == 4
    worker = int(wait_file(tmp_path / "worker" / "ready"))
    try:
        assert alive(worker)
        assert read_lines(tmp_path / "worker" / "got") == []
    finally:
        os.kill(worker, signal.SIGKILL)


# The main child starts a helper in its own process group that records what it gets.
WITH_HELPER = """
import os, subprocess, sys
os.mkdir(sys.argv[1] + "/helper")
subprocess.Popen(sys.argv[2:] + [sys.argv[1] + "/helper", "--keep", "--handle", "USR1", "USR2"])
while not os.path.exists(sys.argv[1] + "/helper/ready"):
    pass
os.execv(sys.argv[2], sys.argv[2:] + [sys.argv[1] + "/main", "--keep", "--handle", "USR1"])
"""


@pytest.mark.parametrize("options", [["-g", "-c"], ["-c", "--to-all", "USR1"]])
def test_single_child_signals_reach_the_child_alone(start, tmp_path, options):
    # -c (given after -g: the last of the modes wins) sends to the main child only,
    # --to-all signals included.
    (tmp_path / "main").mkdir()
    init = start(*options, PYTHON, "-c", WITH_HELPER, str(tmp_path), *TRAP)
    wait_file(tmp_path / "main" / "ready")
    helper = int(wait_file(tmp_path / "helper" / "ready"))
    init.signal(signal.SIGUSR1)
    wait_for(lambda: read_lines(tmp_path / "main" / "got"), what="SIGUSR1 at the main child")
    # The helper would run a SIGUSR1 handler before this SIGUSR2's (lower number first).
    os.kill(host_pid(init, helper), signal.SIGUSR2)
    wait_for(lambda: read_lines(tmp_path / "helper" / "got"), what="SIGUSR2 at the helper")
    assert [line.split()[0] for line in read_lines(tmp_path / "helper" / "got")] == ["SIGUSR2"]
    init.signal(signal.SIGKILL)


@pytest.mark.parametrize("mode", ["--session", "-c"])
def test_job_control_stops_initapp_too(start, mode):
    # dumb-init's two modes: SIGTSTP stops the child's group (--session) or is
    # forwarded to the child (-c), and then initapp stops itself, so the shell that
    # started it regains the terminal; SIGCONT to initapp resumes both. As a shell's
    # job: in a process group of its own, in this process's session (otherwise its
    # group is orphaned and it must not stop: test_signal_route.py).
    init = start(mode, "sleep", "30", pid1=False, preexec=os.setpgrp)
    child = init.child("sleep")
    try:
        with open("/proc/%d/stat" % child) as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        assert int(fields[3 if mode == "--session" else 2]) == child  # own session or group
        init.signal(signal.SIGTSTP)
        wait_for(lambda: state(child) == "T" and state(init.pid) == "T", what="both stopped")
        init.signal(signal.SIGCONT)
        wait_for(lambda: state(child) == "S" and state(init.pid) == "S", what="both running")
        init.signal(signal.SIGTERM)
        assert init.wait() == 143
    finally:
        if alive(child):  # initapp killed by the test's end would leave it stopped
            os.kill(child, signal.SIGKILL)


# A session of its own, as a login shell has (so that its ids show in any PID
# namespace, the make mutants sandbox's too), whose child starts initapp
# (argv[2:]) in a process group (setpgid) or a session (setsid) of its own and
# waits for it: initapp's parent is then in initapp's group, as under a test
# runner or a supervisor that made a group for its job.
STARTER = """
import os, subprocess, sys
os.setsid()
if os.fork() == 0:
    os.setsid() if sys.argv[1] == "setsid" else os.setpgid(0, 0)
    code = subprocess.call(sys.argv[2:])
    os._exit(128 - code if code < 0 else code)
sys.exit(os.waitstatus_to_exitcode(os.wait()[1]))
"""


@pytest.mark.parametrize("starter", ["setpgid", "setsid"])
@pytest.mark.parametrize("mode", ["--session", "-c"])
def test_job_control_follows_the_kernels_orphaned_group_rule(start, init_pyz, mode, starter):
    # The kernel's rule: a group is not orphaned while any member has a parent in the
    # same session and another group. With setpgid the starter is that member (its
    # parent acts as the shell): SIGTSTP stops initapp too, as dumb-init's own tests
    # want. With setsid no member has one: nothing could continue initapp, so it must
    # keep running (the child alone stays stopped).
    init = start("-c", STARTER, starter, str(init_pyz), mode, "sleep", "30", argv0=PYTHON,
                 pid1=False)
    initapp, child = wait_for(lambda: [(pid, kid) for pid in children_all(init.pid)
                                       for kid in children(pid) if comm(kid) == "sleep"],
                              what="initapp and its child sleep")[0]
    try:
        starter_pid = children(init.pid)[0]
        assert os.getsid(init.pid) == init.pid != os.getsid(0)
        assert os.getpgid(initapp) == os.getpgid(starter_pid) == starter_pid
        os.kill(initapp, signal.SIGTSTP)
        wait_for(lambda: state(child) == "T", what="the child stopped")
        if starter == "setpgid":
            wait_for(lambda: state(initapp) == "T", what="initapp stopped")
            os.kill(initapp, signal.SIGCONT)
            wait_for(lambda: state(child) == "S" and state(initapp) == "S", what="both running")
        else:
            time.sleep(0.5)  # what initapp does about it, it has done by now
            assert state(initapp) == "S"
        os.kill(initapp, signal.SIGTERM)  # continues the child if stopped, and ends it
        assert init.wait() == 143
    finally:
        for pid in (child, initapp):
            if alive(pid):  # initapp killed by the test's end would leave it stopped
                os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("mode", ["--session", "-c"])
def test_orphaned_group_that_proc_cannot_show_never_stops_initapp(init_pyz, mode):
    # Not PID 1 of a PID namespace whose group and session leader (unshare, in a
    # session of its own) is outside it: getpgrp() and getsid() read 0 and /proc
    # cannot tell. The group is orphaned (unshare's parent is in another session);
    # the kernel itself discards the SIGTSTP initapp stops itself with.
    proc = subprocess.Popen(UNSHARE + ["sh", "-c", '"$@"; exit $?', "sh", str(init_pyz), mode,
                                       "sleep", "30"], env=CLEAN_ENV, start_new_session=True,
                            stdin=subprocess.DEVNULL)
    found = []
    try:
        found = wait_for(lambda: [[pid, kid] for pid in children_all(proc.pid)
                                  for kid in children(pid) if comm(kid) == "sleep"],
                         what="initapp and its child sleep")[0]
        initapp, child = found
        os.kill(initapp, signal.SIGTSTP)
        wait_for(lambda: state(child) == "T", what="the child stopped")
        time.sleep(0.5)  # what initapp does about it, it has done by now
        assert state(initapp) == "S"
        os.kill(initapp, signal.SIGTERM)
        assert proc.wait(timeout=15) == 143
    finally:
        for pid in found + children_all(proc.pid) + [proc.pid]:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=10)


def test_dumb_init_variables(start):
    init = start("sleep", "30", pid1=False, env=dict(CLEAN_ENV, DUMB_INIT_SETSID="1",
                                                     DUMB_INIT_DEBUG="1"))
    child = init.child("sleep")
    with open("/proc/%d/stat" % child) as stat:
        assert int(stat.read().rsplit(")", 1)[1].split()[3]) == child
    init.signal(signal.SIGTERM)
    assert init.wait() == 143
    assert "[initapp] debug: " in init.stderr()


# -- environment, privileges, working directory, file descriptors -----------------------

def test_child_environment_is_untouched_and_env_adds(start):
    env = dict(CLEAN_ENV, INITAPP_GRACE="3", TINI_VERBOSITY="1", WEIRD="a=b,c\\n",
               LISTEN_PID="1", LISTEN_FDS="0")
    init = start("--env", "ADDED=1", "--env", "WEIRD=x", "env", env=env)
    assert init.wait() == 0
    got = dict(line.split("=", 1) for line in init.stdout().splitlines())
    assert got == dict(env, ADDED="1", WEIRD="x", LISTEN_PID="2")  # LISTEN_PID named PID 1


def test_listen_pid_of_another_process_is_passed_on_as_it_is(start):
    # LISTEN_PID is rewritten only when it named initapp itself (PID 1 here).
    env = dict(CLEAN_ENV, LISTEN_PID="7", LISTEN_FDS="1")
    init = start("env", env=env)
    assert init.wait() == 0
    assert dict(line.split("=", 1) for line in init.stdout().splitlines()) == env


def test_env_variable_takes_one_assignment_per_line(start):
    # Values may hold commas, so INITAPP_ENV is split on lines, not on commas; on
    # \n only (a CRLF ends a line too): other line breaks are part of the value.
    env = dict(CLEAN_ENV, INITAPP_ENV="A=1,2\nB=x=y\r\nC=a\fD=b\nE=hi\u2028there\x1c\x85\v\n")
    init = start("env", "-0", env=env)
    assert init.wait() == 0, init.stderr()
    out = init.stdout_path.read_bytes().decode()    # as written: no newline translation
    assert dict(item.split("=", 1) for item in out.split("\0")[:-1]) == dict(
        env, A="1,2", B="x=y", C="a\fD=b", E="hi\u2028there\x1c\x85\v")


PASSWD = ("root:x:0:0:root:/root:/bin/sh\nalice:x:2001:2001:Alice:/home/alice:/bin/sh\n"
          "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
          "member:x:65534:65534:nobody in audio:/:/bin/sh\n")
GROUP = ("root:x:0:\nalice:x:2001:\nstaff:x:2050:alice\naudio:x:2060:alice,bob,member\nother:x:2070:bob\n"
         "nogroup:x:65534:\n")


@pytest.fixture
def accounts(tmp_path):
    (tmp_path / "passwd").write_text(PASSWD)
    (tmp_path / "group").write_text(GROUP)
    return "mount --bind %s/passwd /etc/passwd && mount --bind %s/group /etc/group" % (tmp_path, tmp_path)


# The parent's own names, which must not reach a child that runs as someone else.
AS_ROOT = dict(CLEAN_ENV, HOME="/root", USER="root", LOGNAME="root")


@pytest.mark.parametrize("spec, uid, gid, groups, home, user", [
    ("alice", 2001, 2001, "2001 2050 2060", "/home/alice", "alice"),
    ("2001:staff", 2001, 2050, "2050 2060", "/home/alice", "alice"),
    ("4242", 4242, 4242, "4242", "/", None),
    ("4242:4343", 4242, 4343, "4343", "/", None),
])
def test_user_drops_groups_gid_uid(start, accounts, spec, uid, gid, groups, home, user):
    init = start("--user", spec, "sh", "-c", "cat /proc/self/status; env", setup=accounts,
                 env=AS_ROOT)
    assert init.wait() == 0, init.stderr()
    fields = status_fields(init.stdout())
    assert fields["Uid"].split() == [str(uid)] * 4
    assert fields["Gid"].split() == [str(gid)] * 4
    assert fields["Groups"].split() == groups.split()
    lines = init.stdout().splitlines()
    assert "HOME=" + home in lines
    # USER and LOGNAME name the user; a user without a passwd entry has no name, so
    # the parent's are taken away, as HOME is replaced.
    named = [line for line in lines if line.startswith(("USER=", "LOGNAME="))]
    assert sorted(named) == ([] if user is None else ["LOGNAME=" + user, "USER=" + user])


def test_env_sets_what_user_would_take_away(start, accounts):
    init = start("--user", "4242", "--env", "USER=app", "env", setup=accounts, env=AS_ROOT)
    assert init.wait() == 0, init.stderr()
    got = dict(line.split("=", 1) for line in init.stdout().splitlines())
    assert (got["USER"], got["HOME"], "LOGNAME" in got) == ("app", "/", False)


# initapp run by a user that may not change its ids (no capability): uid and gid
# 65534 and no supplementary groups, as a container started with --user 65534.
AS_NOBODY = 'set -- setpriv --reuid 65534 --regid 65534 --clear-groups "$@"'


@pytest.mark.parametrize("spec", ["nobody", "65534", "nobody:nogroup", "65534:65534"])
def test_user_it_already_is_needs_no_rights(start, accounts, box, spec):
    # Nothing to change: it runs, although setgroups would be refused.
    init = start("--user", spec, "sh", "-c", "sed s/^/init-/ /proc/1/status; cat /proc/self/status; env",
                 setup=accounts + "\n" + AS_NOBODY, workdir=box(), env=AS_ROOT)
    assert init.wait() == 0, init.stderr()
    assert init.stderr() == ""
    fields = status_fields(init.stdout())
    assert fields["init-CapEff"].strip() == "0000000000000000"   # initapp has no rights
    assert fields["Uid"].split() == ["65534"] * 4 and fields["Gid"].split() == ["65534"] * 4
    assert fields["Groups"].split() == []
    lines = init.stdout().splitlines()
    assert {"USER=nobody", "LOGNAME=nobody", "HOME=/nonexistent"} <= set(lines)


@pytest.mark.parametrize("spec", ["alice", "nobody:alice", "0", "member"])
def test_user_change_refused_without_rights_is_exit_1(start, accounts, box, spec):
    # A real change that the kernel refuses: one line, exit 1, the command never runs.
    # member is uid 65534 in one more group (audio): only its groups would change.
    work = box()
    init = start("--user", spec, "touch", str(work / "started"),
                 setup=accounts + "\n" + AS_NOBODY, workdir=work)
    assert init.wait() == 1
    assert init.stderr() == "[initapp] error: cannot start touch: --user: Operation not permitted\n"
    assert not (work / "started").exists()


def test_bad_user_is_a_usage_error(start, accounts):
    init = start("--user", "mallory", "true", setup=accounts)
    assert init.wait() == 2
    assert init.stderr() == "[initapp] error: --user: no such user: 'mallory'\n"


def test_init_keeps_its_rights_under_user(start, accounts):
    # --user is for the child: initapp itself stays root, to reap and to signal.
    init = start("--user", "alice", "sleep", "30", setup=accounts)
    child = init.child("sleep")
    assert status_field(child, "Uid").split() == ["2001"] * 4
    for field in ("Uid", "Gid"):
        assert status_field(init.pid, field).split() == ["0"] * 4
    assert status_field(init.pid, "CapEff") == status_field(os.getpid(), "CapEff")
    init.signal(signal.SIGTERM)
    assert init.wait() == 143


@pytest.mark.parametrize("spec, what", [("4294967295", "user id out of range: 4294967295"),
                                        ("0:4294967295", "group id out of range: 4294967295"),
                                        ("99999999999999999999", "user id out of range"),
                                        ("0:99999999999999999999",
                                         "group id out of range: 99999999999999999999")])
def test_ids_out_of_range_are_usage_errors(start, spec, what):
    # (uid_t)-1 means "unchanged" to setuid: refused before anything starts.
    init = start("--user", spec, "touch", "started")
    assert init.wait() == 2
    assert init.stderr().startswith("[initapp] error: --user: " + what)
    assert len(init.stderr().splitlines()) == 1
    assert not (init.workdir / "started").exists()


def test_workdir(start, box):
    elsewhere = box()                     # not the directory initapp starts in
    init = start("--workdir", str(elsewhere), "pwd")
    assert init.wait() == 0
    assert init.stdout() == "%s\n" % elsewhere


@pytest.mark.parametrize("where", ["missing", "a file"])
def test_workdir_that_is_no_directory_is_a_usage_error(start, tmp_path, where):
    # Checked before anything starts: exit 2, the command never runs.
    target = tmp_path / "no-such-dir"
    if where == "a file":
        target.write_text("")
    init = start("--workdir", str(target), "touch", str(tmp_path / "started"),
                 env=dict(CLEAN_ENV, INITAPP_VERBOSITY="2"))
    assert init.wait() == 2
    assert init.stderr() == "[initapp] error: --workdir: not a directory: %r\n" % str(target)
    assert not (tmp_path / "started").exists()


@pytest.mark.parametrize("how", ["flags", "variables"])
def test_workdir_the_user_may_not_enter_fails_in_the_child(start, tmp_path, accounts, how):
    # Only the child, as alice, finds out: exit 1 and one line, the command never runs.
    # The line names where the directory came from.
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    args, env, name = ["--user", "alice", "--workdir", str(private)], CLEAN_ENV, "--workdir"
    if how == "variables":
        args, env = [], dict(CLEAN_ENV, INITAPP_USER="alice", INITAPP_WORKDIR=str(private))
        name = "INITAPP_WORKDIR"
    init = start(*args, "touch", str(tmp_path / "started"), setup=accounts, env=env)
    assert init.wait() == 1
    assert init.stderr() == ("[initapp] error: cannot start touch: %s %s: "
                             "Permission denied\n" % (name, private))
    assert not (tmp_path / "started").exists()


# -- house-keeping: what initapp does after starting the child ------------------------

@pytest.mark.parametrize("internal_ignored", [True, False], ids=["posix_spawn", "fork"])
def test_child_starts_where_initapp_was_started(start, box, internal_ignored):
    # initapp changes to / only after starting the child: the child's directory is
    # the one initapp was started in (without --workdir), by posix_spawn or by fork
    # (glibc's signals 32 and 33 ignored or not decide which, see test_spawn.py).
    from test_spawn import set_internal

    def preexec():  # nothing else ignored, whatever this test runner ignores
        set_internal(internal_ignored)
        for signo in signal.valid_signals() - {signal.SIGKILL, signal.SIGSTOP}:
            signal.signal(signo, signal.SIG_DFL)

    work = box()
    init = start("sh", "-c", "readlink /proc/self/cwd; sleep 30", workdir=work, preexec=preexec)
    wait_for(lambda: init.stdout(), what="the child's directory")
    assert init.stdout() == "%s\n" % work
    wait_for(lambda: os.readlink("/proc/%d/cwd" % init.pid) == "/", what="initapp in /")
    init.signal(signal.SIGTERM)
    assert init.wait() == 143


def test_every_inherited_fd_above_2_is_closed_and_the_child_keeps_them(start, tmp_path):
    # 3, the first above stdio, and others: the child has them all, initapp none.
    held = tmp_path / "held"
    held.write_text("")
    setup = "exec 3<%s 5<%s 9<%s" % (held, held, held)  # sh takes one digit
    init = start("sh", "-c", "for fd in 3 5 9; do readlink /proc/self/fd/$fd; done; sleep 30",
                 setup=setup)
    wait_for(lambda: len(init.stdout().splitlines()) == 3, what="the child's fds")
    assert init.stdout().splitlines() == [str(held)] * 3
    wait_for(lambda: sorted(os.listdir("/proc/%d/fd" % init.pid)) == ["0", "1", "2"],
             what="init.pyz to close what it inherited")
    init.signal(signal.SIGTERM)
    assert init.wait() == 143


O_PATH = 0o10000000


def test_started_by_a_relative_path_it_holds_its_archive_by_an_o_path_fd(start, init_pyz,
                                                                          tmp_path):
    # Once in /, "./myinit" names nothing: one O_PATH descriptor (it reads nothing)
    # keeps the archive for inspect; started by an absolute path there is none.
    shutil.copy2(str(init_pyz), str(tmp_path / "myinit"))
    init = start("sleep", "30", argv0="./myinit")
    init.child("sleep")
    wait_for(lambda: os.readlink("/proc/%d/cwd" % init.pid) == "/", what="initapp in /")
    extra = [fd for fd in os.listdir("/proc/%d/fd" % init.pid) if fd not in ("0", "1", "2")]
    assert len(extra) == 1, extra
    assert os.readlink("/proc/%d/fd/%s" % (init.pid, extra[0])) == str(tmp_path / "myinit")
    with open("/proc/%d/fdinfo/%s" % (init.pid, extra[0])) as info:
        flags = int(dict(line.split(":", 1) for line in info.read().splitlines())["flags"], 8)
    assert flags & O_PATH
    init.signal(signal.SIGTERM)
    assert init.wait() == 143


def test_inherited_fds_stay_with_the_child_only(start, tmp_path):
    read_end, write_end = os.pipe()
    try:
        init = start("sleep", "30", pass_fds=(write_end,))
        child = init.child("sleep")
        assert str(write_end) in os.listdir("/proc/%d/fd" % child)
        wait_for(lambda: sorted(os.listdir("/proc/%d/fd" % init.pid)) == ["0", "1", "2"],
                 what="init.pyz to close what it inherited")
        init.signal(signal.SIGTERM)
        assert init.wait() == 143
    finally:
        os.close(read_end)
        os.close(write_end)


# -- logging -----------------------------------------------------------------------

def test_json_log_events(start, box):
    work = box()
    init = start("--log-format", "json", "--log-time", "-vv", *TRAP, str(work))
    wait_file(work / "ready")
    init.signal(signal.SIGTERM)
    assert init.wait() == 0
    records = [json.loads(line) for line in init.stderr().splitlines()]
    events = [record["event"] for record in records]
    # At -vv the way the child was started is told first (debug, "starting").
    assert events[0] == "starting" and events[1] == "started" and events[-1] == "exit"
    assert "forwarded" in events and "reaped" in events
    forwarded = records[events.index("forwarded")]
    assert (forwarded["signal"], forwarded["to"], forwarded["pid"]) == ("SIGTERM", "child", 2)
    assert records[-1]["code"] == 0
    assert all(record["time"].endswith("Z") for record in records)


def test_log_time_in_text(start):
    init = start("--log-time", "-vv", "true")
    assert init.wait() == 0
    lines = init.stderr().splitlines()
    assert len(lines) >= 3
    for line in lines:
        stamp, rest = line.split(" ", 1)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", stamp), line
        # -vv: info, and the debug line that tells how the child was started.
        assert rest.startswith(("[initapp] info: ", "[initapp] debug: starting true by ")), rest
        when = calendar.timegm(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S"))
        assert abs(when - time.time()) < 60


def test_closed_stderr_does_not_kill_the_init(start, box):
    work = box()
    init = start("-vvv", *TRAP, str(work), preexec=lambda: os.close(2))
    wait_file(work / "ready")
    init.signal(signal.SIGTERM)
    assert init.wait() == 0


def test_broken_stderr_pipe_is_not_forwarded_as_sigpipe(start, box):
    work = box()
    read_end, write_end = os.pipe()
    init = start("-vvv", *TRAP, str(work), preexec=lambda: os.dup2(write_end, 2))
    os.close(write_end)
    os.close(read_end)                    # every later log line meets EPIPE
    wait_file(work / "ready")
    init.signal(signal.SIGUSR2)           # logged, and forwarded: the child dies of it
    assert init.wait() == 128 + signal.SIGUSR2
    assert read_lines(work / "got") == []


def test_init_is_never_stopped_by_job_control_signals(start):
    # Default mode, not PID 1, a shell's job (where stopping would be possible): SIGTTIN
    # and SIGTTOU are forwarded (they stop the child) but never stop initapp itself.
    init = start("sleep", "30", pid1=False, preexec=os.setpgrp)
    child = init.child("sleep")
    for signo in (signal.SIGTTIN, signal.SIGTTOU, signal.SIGTSTP):
        init.signal(signo)
        wait_for(lambda: state(child) == "T", what="the child stopped")
        time.sleep(0.1)
        assert state(init.pid) == "S"
        os.kill(child, signal.SIGCONT)
        wait_for(lambda: state(child) == "S", what="the child running")
    init.signal(signal.SIGTERM)
    assert init.wait() == 143
