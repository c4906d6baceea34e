"""Several processes at their edges: a --may-exit process that ends before it is
ready, running out of descriptors, a restart due while --pre-stop runs, an OOM
kill, repeated stop signals, --timeout with -r, the terminal, a stop whose
signals go out later (--delay, --pre-stop) or to the whole tree (--to-all), checks
that cannot start or that answer late, and the messages, the JSON log and the
summary. As PID 1 and as a subreaper (not PID 1) where both apply."""

import json
import os
import resource
import signal
import time
import uuid

import pytest

from support import CLEAN_ENV, PYTHON, TRAP, UNSHARE, Terminal, cpu_seconds, wait_file, wait_for

pytestmark = pytest.mark.timeout(60)

MODES = [pytest.param(True, id="pid1"), pytest.param(False, id="subreaper")]
# The processes' own logic (restarts, checks, a stop put off or held) is the same
# whether initapp is PID 1 or not: those tests run as PID 1 only. Both modes where
# the mode can change the outcome: a signal to the whole tree (kill(-1) or a walk
# of initapp's children), what is left running, orphans, the terminal.
PID1_ONLY = [pytest.param(True, id="pid1")]


def trap(directory, *options):
    """A trap.py COMMAND string for --run (its words only: run without a shell)."""
    directory.mkdir(exist_ok=True)
    return " ".join(TRAP + [str(directory)] + list(options))


def signals_got(directory):
    path = directory / "got"
    return [line.split()[0][3:] for line in path.read_text().splitlines()] if path.exists() else []


def running_with(word):
    """Pids of this machine whose command line holds word (a test's unique tag)."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as cmdline:
                if word.encode() in cmdline.read():
                    found.append(int(entry))
        except (OSError, ValueError):
            pass
    return found


def kill_all(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def error_lines(init):
    return [line for line in init.stderr().splitlines() if "error" in line]


# -- a --may-exit process that ends before it is ready ------------------------------------

@pytest.mark.parametrize("pid1", MODES)
@pytest.mark.parametrize("kind", ["file", "exec"])
def test_may_exit_zero_before_ready_is_an_ending_process(start, tmp_path, pid1, kind):
    # Its check runs once more at its exit and fails: nothing can start the processes
    # held back, so it is an ending process (its code, 0), never an empty tree waited on.
    web = tmp_path / "web"
    check = "file:%s/never" % tmp_path if kind == "file" else "exec:test -e %s/never" % tmp_path
    init = start("--run", "m=sh -c 'sleep 0.3'", "--may-exit", "m", "--ready", "m=" + check,
                 "--run", "web=" + trap(web), pid1=pid1)
    assert init.wait(timeout=10) == 0
    assert not (web / "ready").exists()      # never started
    warnings = [line for line in init.stderr().splitlines() if "before it was ready" in line]
    assert len(warnings) == 1 and "m (pid " in warnings[0] and check in warnings[0], \
        init.stderr()


@pytest.mark.parametrize("pid1", PID1_ONLY)
def test_may_exit_zero_whose_check_passes_at_its_exit_was_ready(start, tmp_path, pid1):
    # A one-shot task (a migration) that makes its --ready file as its last act: the
    # check runs once more at its exit, passes, and the next processes start.
    web = tmp_path / "web"
    init = start("-v", "--run", "migrate=sh -c 'sleep 0.3; exec touch %s/migrated'" % tmp_path,
                 "--may-exit", "migrate", "--ready", "migrate=file:%s/migrated" % tmp_path,
                 "--run", "web=" + trap(web, "--code", "4"), pid1=pid1)
    wait_file(web / "ready")
    time.sleep(0.3)
    assert init.proc.poll() is None
    init.signal(signal.SIGTERM)
    assert init.wait() == 0     # a stop signal: the main process's code (migrate's 0)
    assert signals_got(web) == ["TERM"]
    err = init.stderr()
    assert "migrate (pid " in err and "is ready" in err and "the others go on" in err


# -- out of descriptors ------------------------------------------------------------------------

@pytest.mark.parametrize("pid1", MODES)
def test_out_of_descriptors_at_the_start_is_one_line_and_an_orderly_stop(start, tmp_path, pid1):
    # The relay's pipes cannot be made for a later process: one line naming it, the
    # processes already started get SIGTERM (not SIGKILL at the deadline), exit 1,
    # nothing left running (not PID 1, nothing re-parented to the host's init).
    tag = "7.%06d" % (uuid.uuid4().int % 10 ** 6)
    args = []
    for index in range(12):   # 22 descriptors are enough for about 7
        args += ["--run", "p%d=sleep %s" % (index, tag)]

    def few_descriptors():
        resource.setrlimit(resource.RLIMIT_NOFILE, (22, 22))

    init = start("--log-format", "json", *args, pid1=pid1, preexec=few_descriptors)
    try:
        assert init.wait(timeout=20) == 1
        err = init.stderr()
        assert "Traceback" not in err, err[-500:]
        events = [json.loads(line) for line in err.splitlines()]
        errors = [event["message"] for event in events if event["level"] == "error"]
        assert len(errors) == 1 and errors[0].startswith("cannot start p") and \
            errors[0].endswith("Too many open files"), errors
        ended = [proc["ended"] for proc in
                 [event for event in events if event["event"] == "exit"][-1]["processes"]]
        started = [how for how in ended if how != "never started"]
        assert 1 < len(started) < len(ended) and ended[len(started):] == \
            ["never started"] * (len(ended) - len(started)), ended
        assert set(started[:-1]) == {"killed by SIGTERM"}, ended
        assert started[-1] == "could not be started (Too many open files)", ended
        time.sleep(0.2)
        assert running_with("sleep\0" + tag) == []
    finally:
        kill_all(running_with("sleep\0" + tag))


def lowest_free_fd(pid):
    used = {int(fd) for fd in os.listdir("/proc/%d/fd" % pid)}
    return next(fd for fd in range(len(used) + 1) if fd not in used)


@pytest.mark.parametrize("pid1", MODES)
def test_out_of_descriptors_at_a_restart_is_one_line_and_an_orderly_stop(start, tmp_path, pid1):
    a = tmp_path / "a"
    init = start("--run", "a=" + trap(a, "--code", "5"), "--run", "b=sh -c 'sleep 0.3; exit 1'",
                 "--restart", "b=on-failure", pid1=pid1)
    wait_file(a / "ready")
    wait_for(lambda: "restart 1 in 1s" in init.stderr(), what="b's first end")
    time.sleep(0.1)   # the relay closes b's pipes
    # From now on initapp can open no descriptor: b's restart cannot get its pipes.
    limit = lowest_free_fd(init.pid)
    resource.prlimit(init.pid, resource.RLIMIT_NOFILE, (limit, limit))
    assert init.wait() == 1
    err = init.stderr()
    assert "Traceback" not in err, err[-500:]
    errors = error_lines(init)
    assert len(errors) == 1 and "cannot start b" in errors[0], err
    assert signals_got(a) == ["TERM"]


# -- a restart due while --pre-stop runs ---------------------------------------------------

@pytest.mark.parametrize("pid1", PID1_ONLY)
def test_a_restart_due_during_the_pre_stop_hook_does_not_spin_the_loop(start, tmp_path, pid1):
    # b waits out its 1 s backoff; c's end starts the stop, held by --pre-stop (2.2 s).
    init = start("--pre-stop", "sleep 2.2", "--run", "a=sleep 30",
                 "--run", "b=sh -c 'echo x >> b.runs; sleep 0.3; exit 1'",
                 "--restart", "b=on-failure",
                 "--run", "c=sh -c 'sleep 0.5; exit 5'", pid1=pid1)
    time.sleep(1.5)          # b's restart was due at 1.3 s; the hook runs until 2.7 s
    before = cpu_seconds(init.pid)
    time.sleep(0.8)
    used = cpu_seconds(init.pid) - before
    assert init.wait() == 5
    assert used < 0.16, "initapp used %.2f s of CPU in 0.8 s while the pre-stop hook ran" % used
    # The stop has begun: no restart (b ran once).
    assert (tmp_path / "b.runs").read_text() == "x\n"


# -- an OOM kill of a named process -------------------------------------------------------

def test_an_oom_kill_of_a_named_process_is_named(start, cgroup_v1):
    path = cgroup_v1("memory")
    (path / "memory.limit_in_bytes").write_text(str(64 << 20))
    try:
        (path / "memory.memsw.limit_in_bytes").write_text(str(64 << 20))
    except OSError:
        pass   # no swap accounting: the memory limit alone
    if "oom_kill " not in (path / "memory.oom_control").read_text():
        pytest.skip("this kernel's cgroup v1 has no oom_kill counter")
    hog = "b = [bytearray(1 << 20) for _ in range(1024)]"
    init = start("--log-format", "json", "--run", "hog=%s -c '%s'" % (PYTHON, hog),
                 "--run", "b=sleep 30", setup="echo $$ > %s/cgroup.procs" % path)
    assert init.wait(timeout=60) == 137
    events = [json.loads(line) for line in init.stderr().splitlines() if line.startswith("{")]
    told = [event for event in events
            if "OOM killer" in event.get("message", "") and event.get("event") != "exit"]
    assert told and told[0]["message"].startswith("hog (pid "), events
    summary = [event for event in events if event.get("event") == "exit"][-1]
    assert summary["oom"] is True
    assert [proc["oom"] for proc in summary["processes"]] == [True, False]


# -- a repeated stop signal ------------------------------------------------------------------

@pytest.mark.parametrize("pid1", MODES)
def test_a_repeated_stop_signal_is_forwarded_as_with_one_process(start, tmp_path, pid1):
    a, b = tmp_path / "a", tmp_path / "b"
    init = start("--grace", "1.5", "--run", "a=" + trap(a, "--keep"),
                 "--run", "b=" + trap(b, "--keep", "--handle", "QUIT"), "--stop-with", "b=QUIT",
                 pid1=pid1)
    wait_file(a / "ready")
    wait_file(b / "ready")
    init.signal(signal.SIGTERM)
    wait_for(lambda: signals_got(a) and signals_got(b), what="the first stop signal")
    init.signal(signal.SIGTERM)
    wait_for(lambda: len(signals_got(a)) == 2 and len(signals_got(b)) == 2, 5,
             what="the second stop signal")
    assert init.wait() == 137   # --keep: both ignore it, the deadline kills them
    assert (signals_got(a), signals_got(b)) == (["TERM", "TERM"], ["QUIT", "QUIT"])


# -- --timeout and -r ----------------------------------------------------------------------

@pytest.mark.parametrize("pid1", MODES)
def test_timeout_gives_sigterm_whatever_r_says(start, tmp_path, pid1):
    a = tmp_path / "a"
    init = start("--timeout", "1", "-r", "TERM:INT", "--run", "a=" + trap(a),
                 "--run", "b=sleep 30", pid1=pid1)
    assert init.wait() == 124
    assert signals_got(a) == ["TERM"]


def test_a_stop_signal_still_follows_r(start, tmp_path):
    # The received stop signal is forwarded as -r says (only --timeout's is SIGTERM).
    a = tmp_path / "a"
    init = start("-r", "TERM:INT", "--run", "a=" + trap(a), "--run", "b=sleep 30")
    wait_file(a / "ready")
    init.signal(signal.SIGTERM)
    init.wait()
    assert signals_got(a) == ["INT"]


# -- the terminal ---------------------------------------------------------------------------

def on_terminal(init_pyz, pid1, *args):
    # As PID 1, initapp leads its session and holds the terminal, as under docker run -it.
    prefix = UNSHARE + ["setsid", "--ctty"] if pid1 else []
    return Terminal(prefix + [str(init_pyz)] + list(args))


def drain(terminal, seconds=0.5):
    """What the terminal shows within seconds (or until its end)."""
    try:
        terminal.read_until("\0never\0", timeout=seconds)
    except (AssertionError, ValueError):   # its time is up, or the terminal closed
        pass
    seen, terminal.output = terminal.output, ""
    return seen


@pytest.mark.parametrize("pid1", MODES)
def test_on_a_terminal_the_main_process_reads_it(init_pyz, tmp_path, pid1):
    svc = tmp_path / "svc"
    terminal = on_terminal(init_pyz, pid1, "--run", "svc=" + trap(svc), "--",
                           "sh", "-c", "echo ASK-$((40+2)); read x; echo GOT-$x; exit 3")
    try:
        terminal.read_until("ASK-42")
        wait_file(svc / "ready")
        terminal.send("hello\n")
        terminal.read_until("GOT-hello")
        assert terminal.proc.wait(timeout=10) == 3
        assert signals_got(svc) == ["TERM"]
    finally:
        terminal.close()


@pytest.mark.parametrize("pid1", MODES)
def test_ctrl_c_on_a_terminal_reaches_the_main_process_group(init_pyz, tmp_path, pid1):
    # The main process holds the terminal: Ctrl-C reaches its whole group (the shell
    # and what it runs), as for one process; its end stops the others with SIGTERM.
    main, svc = tmp_path / "main", tmp_path / "svc"
    terminal = on_terminal(init_pyz, pid1, "--run", "svc=" + trap(svc), "--",
                           "sh", "-c", "%s; echo AFTER" % trap(main))
    try:
        wait_file(main / "ready")
        wait_file(svc / "ready")
        terminal.send("\x03")
        assert terminal.proc.wait(timeout=10) == 130
        assert signals_got(main) == ["INT"]
        assert signals_got(svc) == ["TERM"]
    finally:
        terminal.close()


@pytest.mark.parametrize("pid1", MODES)
def test_a_process_stopped_reading_the_terminal_is_named_once(init_pyz, tmp_path, pid1):
    main = tmp_path / "main"
    main.mkdir()
    terminal = on_terminal(init_pyz, pid1, "--run", "reader=sh -c 'read x; echo READ-$x'",
                           "--", *(TRAP + [str(main)]))
    try:
        wait_file(main / "ready")
        seen = terminal.read_until("SIGTTIN")
        assert "reader (pid " in seen.splitlines()[-1], seen
        time.sleep(0.5)
        terminal.send("\x03")           # the main process ends: reader is continued, stopped
        assert terminal.proc.wait(timeout=10) == 0
        seen += drain(terminal)
        assert seen.count("SIGTTIN") == 1, seen
        assert "READ-" not in seen
    finally:
        terminal.close()


# -- messages and the summary --------------------------------------------------------------

@pytest.mark.parametrize("pid1", MODES)
def test_the_summary_of_a_process_never_started_has_no_pid(start, tmp_path, pid1):
    init = start("-v", "--ready", "a=file:%s/never" % tmp_path, "--run", "a=sleep 30",
                 "--run", "b=sleep 30", pid1=pid1)
    wait_for(lambda: "started a" in init.stderr(), what="a")
    time.sleep(0.2)
    init.signal(signal.SIGTERM)
    assert init.wait() == 143
    err = init.stderr()
    assert "pid None" not in err, err
    assert "b never started" in err


def test_a_bad_ready_check_names_its_value_once(start):
    init = start("--run", "a=sleep 1", "--ready", "a=tcp:99999", "--run", "b=sleep 1")
    assert init.wait() == 2
    err = init.stderr().strip()
    assert len(err.splitlines()) == 1 and err.count("99999") == 1, err


def test_a_command_not_found_is_initapps_own_line_naming_the_process(start):
    init = start("--run", "b=no-such-command-here", "--run", "a=sleep 30")
    assert init.wait() == 127
    err = init.stderr()
    assert "b | " not in err and "b | " not in init.stdout(), err
    assert "[initapp] error: b: no-such-command-here: command not found" in err, err


@pytest.mark.parametrize("variable", ["INITAPP_MAY_EXIT", "INITAPP_RESTART"])
def test_an_empty_item_of_a_list_variable_is_a_usage_error_saying_so(start, variable):
    # As for every comma-separated INITAPP_* list (INITAPP_SUCCESS_CODES="1,").
    item = "b" if variable == "INITAPP_MAY_EXIT" else "b=always"
    env = {"PATH": "/usr/bin:/bin", variable: item + ","}
    init = start("--run", "a=sleep 1", "--run", "b=sleep 1", env=env)
    assert init.wait() == 2
    err = init.stderr().strip()
    assert len(err.splitlines()) == 1 and variable in err and "empty item" in err, err


@pytest.mark.parametrize("name", ["STOP", "TSTP", "TTIN", "TTOU", "CONT"])
def test_stop_with_a_signal_that_does_not_end_a_process_is_a_usage_error(start, name):
    init = start("--run", "a=sleep 1", "--run", "b=sleep 1", "--stop-with", "a=" + name)
    assert init.wait() == 2
    err = init.stderr().strip()
    assert len(err.splitlines()) == 1 and "--stop-with" in err, err


def test_stop_with_kill_ends_that_process_at_once(start, tmp_path):
    # KILL is allowed: a process known to need no graceful stop (or to ignore TERM)
    # ends at once instead of holding the stop until the deadline.
    a = tmp_path / "a"
    init = start("--grace", "5", "--run", "a=" + trap(a), "--run", "b=" + trap(tmp_path / "b",
                                                                          "--ignore", "TERM"),
                 "--stop-with", "b=KILL")
    wait_file(a / "ready")
    wait_file(tmp_path / "b" / "ready")
    began = time.monotonic()
    init.signal(signal.SIGTERM)
    assert init.wait() == 0
    assert time.monotonic() - began < 2.5
    assert signals_got(a) == ["TERM"]


@pytest.mark.parametrize("pid1", MODES)
def test_a_stop_during_the_main_processs_backoff_exits_with_its_last_code(start, tmp_path, pid1):
    # The main process's code, as for any stop signal: its last end (exit 3), since it
    # got no stop signal; the summary says it was not restarted.
    b = tmp_path / "b"
    init = start("-v", "--run", "a=sh -c 'sleep 0.2; exit 3'", "--restart", "a=on-failure",
                 "--run", "b=" + trap(b), pid1=pid1)
    wait_for(lambda: "restart 1 in 1s" in init.stderr(), what="a's first end")
    init.signal(signal.SIGTERM)
    assert init.wait() == 3
    assert "a (pid " in init.stderr() and "exited with 3, not restarted" in init.stderr()
    assert signals_got(b) == ["TERM"]


def test_the_summary_tells_the_trees_time_and_the_relays_wait_apart(start, tmp_path):
    # stdout a FIFO nobody reads: the tree is gone at once after SIGTERM, the relay
    # then waits for the stalled output until the deadline (--grace 2).
    fifo = tmp_path / "stdout"
    os.mkfifo(str(fifo))
    reader = os.open(str(fifo), os.O_RDONLY | os.O_NONBLOCK)   # held open, never read
    try:
        flood = "%s -c \"import os\nwhile True: os.write(1, b'x' * 99 + b'\\\\n')\"" % PYTHON
        init = start("-v", "--grace", "2", "--run", "a=" + flood, "--run", "b=sleep 30",
                     setup="exec >%s" % fifo)
        time.sleep(0.5)     # the pipe and the relay's write are full long before
        init.signal(signal.SIGTERM)
        assert init.wait() == 143
        summary = [line for line in init.stderr().splitlines() if "ran " in line][-1]
        took = float(summary.split("the tree took ")[1].split("s")[0])
        waited = float(summary.split("the processes' output took ")[1].split("s")[0])
        assert took < 1.0 and 1.0 < waited < 3.0, summary
    finally:
        os.close(reader)


@pytest.mark.parametrize("pid1", PID1_ONLY)
def test_a_stop_signal_held_by_pre_stop_starts_and_restarts_nothing(start, tmp_path, pid1):
    # The engine's SIGTERM is held while --pre-stop runs (2 s). Meanwhile a's check
    # passes (1 s) and b's restart falls due (1.5 s): the stop has begun, so c never
    # starts and b does not run again.
    init = start("--pre-stop", "sleep 2", "--run", "m=sleep 30",
                 "--run", "b=sh -c 'echo x >> b.runs; sleep 0.5; exit 1'",
                 "--restart", "b=on-failure",
                 "--run", "a=sh -c 'sleep 1; touch a.ready; exec sleep 30'",
                 "--ready", "a=file:a.ready",
                 "--run", "c=sh -c 'echo x >> c.runs; exec sleep 30'", pid1=pid1)
    wait_file(tmp_path / "b.runs")
    init.signal(signal.SIGTERM)
    began = time.monotonic()
    assert init.wait(timeout=15) == 128 + signal.SIGTERM
    assert 1.8 < time.monotonic() - began < 6     # the hook's 2 s, then the stop
    assert (tmp_path / "a.ready").exists()          # its check would have passed
    assert not (tmp_path / "c.runs").exists(), init.stderr()
    assert (tmp_path / "b.runs").read_text() == "x\n", init.stderr()


@pytest.mark.parametrize("pid1", PID1_ONLY)
def test_a_check_of_an_earlier_run_does_not_make_a_restart_ready(start, tmp_path, pid1):
    # a's first run exits at 0.3 s and restarts at 1.3 s; the exec: check started
    # for that first run passes at 1.6 s, when the second run is running. It
    # checked the first run: the second is not ready (its own checks all fail),
    # so b, held back by a's --ready, never starts.
    first_run = "echo x >> a.runs; if [ $(wc -l < a.runs) -eq 1 ]; then sleep 0.3; exit 1; fi; " \
                "exec sleep 30"
    check = "exec:sh -c 'if [ -e checked ]; then exit 1; fi; touch checked; sleep 1.6'"
    init = start("--run", "a=" + first_run, "--restart", "a=always", "--ready", "a=" + check,
                 "--run", "b=sh -c 'echo x >> b.runs; exec sleep 30'", pid1=pid1)
    wait_for(lambda: (tmp_path / "a.runs").exists() and
             (tmp_path / "a.runs").read_text() == "x\nx\n", timeout=10)
    time.sleep(1.5)     # the first run's check ended 0.3 s after the restart
    assert init.proc.poll() is None, init.stderr()
    init.signal(signal.SIGTERM)
    assert init.wait(timeout=15) == 128 + signal.SIGTERM
    assert (tmp_path / "checked").exists()
    assert not (tmp_path / "b.runs").exists(), init.stderr()


# -- a stop that begins before its signals go out (--delay, --pre-stop) or that goes
# -- to the whole tree (--to-all), checks at their edges, the JSON log ---------------------

def started_lines(init, name):
    return [line for line in init.stderr().splitlines() if "started %s (" % name in line]


# -- a stop signal that Several does not see as the stop ----------------------------------

@pytest.mark.parametrize("pid1", MODES)
def test_to_all_stop_signal_restarts_nothing_and_exits_with_the_main_code(start, tmp_path, pid1):
    # --to-all TERM: the stop signal goes to the whole tree, but the stop has begun
    # all the same: a --restart always process killed by it is not started again,
    # and the exit code is the main process's (a: 143), not that of the first one
    # to exit (b: 7). Found: a is restarted during the stop ("restart 1 in 1s",
    # then "started a"), and initapp exits 7 (b became the ending process).
    b = tmp_path / "b"
    init = start("-v", "--to-all", "TERM", "--run", "a=sleep 30", "--restart", "a=always",
                 "--run", "b=" + trap(b, "--cleanup", "2", "--code", "7"), pid1=pid1)
    wait_file(b / "ready")
    init.signal(signal.SIGTERM)
    assert init.wait(timeout=15) == 143, init.stderr()
    assert len(started_lines(init, "a")) == 1, init.stderr()
    assert "restart 1" not in init.stderr()


@pytest.mark.parametrize("pid1", PID1_ONLY)
def test_delayed_stop_signal_restarts_nothing(start, tmp_path, pid1):
    # --delay TERM:2: the stop began when SIGTERM came ("shutting down"); the docs
    # say no process is started again once the stop has begun. Found: a, which
    # ends 0.7 s after its start with --restart always (its restart due 1 s later,
    # within the delay), is restarted during the delay.
    b = tmp_path / "b"
    init = start("-v", "--delay", "TERM:2", "--run", "a=sh -c 'sleep 0.7; exit 1'",
                 "--restart", "a=always", "--run", "b=" + trap(b), pid1=pid1)
    wait_file(b / "ready")
    init.signal(signal.SIGTERM)
    wait_for(lambda: "forwarding SIGTERM in 2s" in init.stderr(), what="the delay")
    assert init.wait(timeout=15) == 1, init.stderr()
    assert len(started_lines(init, "a")) == 1, init.stderr()


@pytest.mark.parametrize("pid1", PID1_ONLY)
def test_delayed_stop_signal_then_may_exit_before_ready_exits_with_the_main_code(
        start, tmp_path, pid1):
    # A stop signal (delayed by --delay) began the stop; then b, --may-exit, exits
    # 0 before its check passed. The stop was the signal's: the exit code is the
    # main process's (a, killed by the SIGTERM: 143). Found: b's last check runs
    # (its answer is read at the next event: here a SIGHUP), b becomes the ending
    # process ("stopping all", the delay cut short) and initapp exits 0. Without an
    # event the answer is never polled (end_checks stopped the poll timer) and the
    # delay's end decides: the outcome depends on what else happens meanwhile.
    a = tmp_path / "a"
    init = start("-v", "--delay", "TERM:2.5", "--run", "a=" + trap(a, "--handle", "HUP", "--keep"),
                 "--run", "b=sh -c 'sleep 0.8'", "--may-exit", "b",
                 "--ready", "b=file:%s/never" % tmp_path, "--run", "c=sleep 30", pid1=pid1)
    wait_file(a / "ready")
    init.signal(signal.SIGTERM)
    wait_for(lambda: "exited with 0" in init.stderr(), what="b's exit")
    time.sleep(0.5)     # a last check, if one ran (a missing file), has answered
    init.signal(signal.SIGHUP)
    assert init.wait(timeout=15) == 143, init.stderr()
    assert "before it was ready" not in init.stderr()


@pytest.mark.parametrize("pid1", MODES)
def test_to_all_stop_then_may_exit_before_ready_does_not_hang(start, tmp_path, pid1):
    # --to-all TERM and a stop signal: m (--may-exit, exec: check not passed) exits
    # 0 at its SIGTERM. initapp must exit once the tree is gone (within the grace).
    # Found: it waits for ever: m "awaits" its last check, which run_exec_check
    # never runs (end_checks has run: shutdown active) while Several never began
    # its stop (stop_all is skipped by loop.forward's --to-all path), so nothing
    # ends the wait; the empty tree, the grace deadline and SIGKILL change nothing.
    init = start("-v", "--grace", "2", "--to-all", "TERM",
                 "--run", "m=sh -c 'trap \"exit 0\" TERM; sleep 30 & wait'", "--may-exit", "m",
                 "--ready", "m=exec:false", "--run", "b=sleep 30", pid1=pid1)
    wait_for(lambda: "m is not ready yet" in init.stderr(), what="m's first check")
    init.signal(signal.SIGTERM)
    assert init.wait(timeout=10) == 0, init.stderr()


# -- --pre-stop with a stop signal other than TERM ----------------------------------------

@pytest.mark.parametrize("pid1", PID1_ONLY)
def test_ending_process_with_pre_stop_and_stop_signal_int_sends_stop_with(start, tmp_path,
                                                                          pid1):
    # a exits 3: the stop sequence for all; --pre-stop holds it, then b gets its
    # --stop-with QUIT, as without --pre-stop. Found: with --stop-signal INT (TERM
    # is then no stop signal), the held SIGTERM is forwarded as an ordinary signal
    # when the hook ends: b gets TERM, not QUIT (--stop-order reverse and the
    # SIGCONT of a stopped process are skipped the same way).
    b = tmp_path / "b"
    init = start("-v", "--stop-signal", "INT", "--pre-stop", "true", "--stop-with", "b=QUIT",
                 "--run", "a=sh -c 'sleep 2; exit 3'",
                 "--run", "b=" + trap(b, "--handle", "TERM", "QUIT", "INT"), pid1=pid1)
    wait_file(b / "ready")
    assert init.wait(timeout=15) == 3, init.stderr()
    assert signals_got(b) == ["QUIT"], init.stderr()


# -- a thread that cannot be had ----------------------------------------------------------

@pytest.mark.parametrize("pid1", PID1_ONLY)
def test_a_check_that_cannot_start_a_thread_is_told_once_and_tried_again(
        start, tmp_path, cgroup_v1, pid1):
    # A pids limit reached (threads count): a restarts, its tcp: check needs a
    # thread and cannot have one. One warning naming a, then the check is tried
    # again (the limit may pass), as an exec: check that cannot be started: no
    # traceback, the processes go on, and the stop is as always.
    path = cgroup_v1("pids")
    b = tmp_path / "b"
    init = start("-v", "--run", "b=" + trap(b, "--code", "5"), "--run", "a=sleep 0.5",
                 "--restart", "a=always", "--ready", "a=tcp:1",
                 "--run", "c=sleep 30", pid1=pid1,
                 setup="echo $$ > %s/cgroup.procs" % path)
    wait_file(b / "ready")
    wait_for(lambda: "restart 1 in 1s" in init.stderr(), what="a's first end")
    # Room for a's new process only: no thread is left for its check.
    wait_for(lambda: len(os.listdir("/proc/%d/task" % init.pid)) <= 2 or None,
             what="the old check's thread gone")
    current = int((path / "pids.current").read_text())
    (path / "pids.max").write_text(str(current + 1))
    wait_for(lambda: "cannot run a's --ready check" in init.stderr(), what="the warning")
    time.sleep(0.5)     # tried again about 5 times
    (path / "pids.max").write_text("max")
    assert init.proc.poll() is None, init.stderr()
    init.signal(signal.SIGTERM)
    assert init.wait(timeout=15) == 5, init.stderr()     # the main process's code
    assert "Traceback" not in init.stderr(), init.stderr()
    assert init.stderr().count("cannot run a's --ready check") == 1, init.stderr()
    assert signals_got(b) == ["TERM"]


# -- the messages of a check that ran past its limit --------------------------------------

@pytest.mark.parametrize("pid1", PID1_ONLY)
def test_last_check_timed_out_is_not_named_unchecked_at_the_stop(start, tmp_path, pid1):
    # m exits 0 before its exec: check passed; the last check runs past its 2 s and
    # is killed: m is the ending process, told once. Found: a second warning at the
    # stop, "m was not ready when the stop began: ...: not checked yet", false on
    # both counts (it was checked twice, and its failure is the stop's cause).
    init = start("-v", "--run", "m=sleep 0.3", "--may-exit", "m",
                 "--ready", "m=exec:sleep 10", "--run", "web=sleep 30", pid1=pid1)
    assert init.wait(timeout=15) == 0, init.stderr()
    assert "before it was ready" in init.stderr()
    assert "not checked yet" not in init.stderr(), init.stderr()


@pytest.mark.parametrize("pid1", PID1_ONLY)
def test_check_timing_out_after_its_process_ended_says_no_checking_again(start, tmp_path, pid1):
    # a ends 1.5 s after its start (--restart always, 1 s backoff); its check
    # hangs, and reaches its 2 s limit while a waits for its restart: nothing is
    # checked again until a runs. Found: "a is not ready yet: --ready exec:...:
    # timed out after 2 s ...; checking again" while a is not running, and at the
    # stop "a was not ready ...: not checked yet".
    b = tmp_path / "b"
    init = start("-v", "--run", "a=sh -c 'sleep 1.5; exit 1'", "--restart", "a=always",
                 "--ready", "a=exec:sleep 3", "--run", "b=" + trap(b), pid1=pid1)
    wait_for(lambda: "restart 1 in 1s" in init.stderr(), what="a's first end")
    time.sleep(0.75)    # past the check's limit (0.5 s), before the restart (1 s)
    init.signal(signal.SIGTERM)
    assert init.wait(timeout=15) in (1, 143), init.stderr()
    assert "checking again" not in init.stderr(), init.stderr()
    assert "not checked yet" not in init.stderr(), init.stderr()


# -- checks after ready -------------------------------------------------------------------

def tasks(pid):
    return len(os.listdir("/proc/%d/task" % pid))


@pytest.mark.parametrize("pid1", PID1_ONLY)
def test_ready_process_restarted_is_not_checked_again(start, tmp_path, pid1):
    # --ready is "checked while waiting and never after": a was ready on its first
    # run, then restarts (--restart always); its file is gone and its second run
    # never makes it again. Found: every start schedules the check, so a check
    # thread polls file:... every 0.1 s for the whole second run (for http: a GET
    # to the workload ten times a second, for as long as it answers 5xx).
    flag, ready = tmp_path / "ran", tmp_path / "ready"
    first = "test -e {flag} && exec sleep 30; touch {flag} {ready}; sleep 1; rm {ready}; exit 1"
    init = start("-v", "--run", "a=sh -c '%s'" % first.format(flag=flag, ready=ready),
                 "--restart", "a=always", "--ready", "a=file:%s" % ready,
                 "--run", "b=sleep 30", pid1=pid1)
    wait_for(lambda: "started b" in init.stderr(), what="b, once a was ready")
    time.sleep(0.3)     # the check's thread has ended (it passed)
    before = tasks(init.pid)
    wait_for(lambda: len(started_lines(init, "a")) == 2, what="a's restart")
    time.sleep(0.5)
    after = tasks(init.pid)
    init.signal(signal.SIGTERM)     # first: as a subreaper, nothing is left behind
    assert init.wait(timeout=15) == 143
    assert after == before, init.stderr()


# -- the JSON log -------------------------------------------------------------------------

def test_forwarded_event_of_a_process_has_its_pid_as_a_number(start, tmp_path):
    # One command's "forwarded" event has "pid": 12 (a number). Found: for a
    # process of several, "pid": "(pid 12)", the text of the message's pid, in
    # the field (procs.Several.forward and release_stops pass "(pid %d)").
    init = start("-v", "--log-format", "json", "--run", "a=sleep 30", "--run", "b=sleep 30")
    wait_for(lambda: init.stderr().count('"started"') == 2, what="both started")
    init.signal(signal.SIGTERM)
    assert init.wait(timeout=15) == 143
    events = [json.loads(line) for line in init.stderr().splitlines() if line.startswith("{")]
    forwarded = [event for event in events if event.get("event") == "forwarded"]
    assert len(forwarded) == 2
    assert all(isinstance(event["pid"], int) for event in forwarded), forwarded


@pytest.mark.parametrize("pid1", PID1_ONLY)
def test_delayed_stop_then_may_exit_before_ready_exits_when_the_tree_is_gone(start, tmp_path,
                                                                             pid1):
    # --delay TERM:10, grace 3: the stop signal came; m (--may-exit, exec: check
    # not passed) exits 0 at 1 s; b was never started: the tree is empty. initapp
    # exits then, as it does for one command. Found: m "awaits" a last check that
    # never runs (end_checks ran: the shutdown is active, though Several has not
    # begun its stop), so initapp waits out the whole delay (10 s, past the 3 s
    # grace), then says "the tree took 10.00s to exit".
    init = start("-v", "--grace", "3", "--delay", "TERM:10", "--run", "m=sleep 1",
                 "--may-exit", "m", "--ready", "m=exec:false", "--run", "b=sleep 30",
                 pid1=pid1)
    wait_for(lambda: "m is not ready yet" in init.stderr(), what="m's first check")
    init.signal(signal.SIGTERM)
    assert init.wait(timeout=6) == 0, init.stderr()


@pytest.mark.parametrize("given", [pytest.param(["--stop-with", "b=QUIT"], id="stop-with"),
                                   pytest.param(["--stop-order", "reverse"], id="reverse")])
def test_to_all_of_the_stop_signal_cannot_take_per_process_stops(start, given):
    # --to-all TERM sends the stop signal to every process of the tree at once:
    # nothing is left to give b its own signal, or each process its turn.
    init = start("--to-all", "TERM", "--run", "a=sleep 1", "--run", "b=sleep 1", *given)
    assert init.wait() == 2
    what = "--stop-with" if given[0] == "--stop-with" else "--stop-order reverse"
    assert init.stderr() == ("[initapp] error: --to-all sends the stop signal to every process "
                             "at once: it cannot be used with %s\n" % what)


# -- --timeout with --to-all of the stop signal -------------------------------------------

@pytest.mark.parametrize("pid1", MODES)
def test_timeout_with_to_all_restarts_nothing(start, tmp_path, pid1):
    # --timeout begins the stop; --to-all TERM sends its SIGTERM to the whole tree.
    # The docs: once the stop has begun (a stop signal, --timeout, an ending
    # process), no process is started again. Found: b (--restart always), killed by
    # that SIGTERM while a cleans up, is restarted ("restart 1 in 1s", then
    # "started b" a second time): loop.stop_for_timeout forwards through the
    # --to-all path without Several.stop_began (on_signal calls it, this path not).
    a = tmp_path / "a"
    init = start("-v", "--timeout", "1", "--to-all", "TERM",
                 "--run", "a=" + trap(a, "--cleanup", "2"),
                 "--run", "b=sleep 30", "--restart", "b=always", pid1=pid1)
    wait_file(a / "ready")
    assert init.wait(timeout=15) == 124, init.stderr()
    assert len(started_lines(init, "b")) == 1, init.stderr()
    assert "restart 1" not in init.stderr()


@pytest.mark.parametrize("pid1", MODES)
def test_timeout_with_to_all_a_process_end_is_no_ending_process(start, tmp_path, pid1):
    # Same stop: b exits 3 at its SIGTERM. Its end is no ending process (the stop
    # has begun): a gets one SIGTERM, and the summary names the main process a.
    # Found: b becomes the ending process, a gets a second SIGTERM (its handler runs
    # twice, its cleanup twice as long) and the reason names b ("stopped by
    # --timeout 1s: b (pid N) exited with 3").
    a, b = tmp_path / "a", tmp_path / "b"
    init = start("-v", "--timeout", "1", "--to-all", "TERM",
                 "--run", "a=" + trap(a, "--cleanup", "1.5"),
                 "--run", "b=" + trap(b, "--code", "3"), pid1=pid1)
    wait_file(a / "ready")
    wait_file(b / "ready")
    assert init.wait(timeout=15) == 124, init.stderr()
    assert signals_got(a) == ["TERM"], init.stderr()
    exiting = [line for line in init.stderr().splitlines() if "exiting with" in line]
    assert exiting and "--timeout 1s: a (pid" in exiting[0], init.stderr()


# -- the usage error names what was given --------------------------------------------------

@pytest.mark.parametrize("given, named", [
    ({"INITAPP_TO_ALL": "TERM", "INITAPP_STOP_ORDER": "reverse"},
     "INITAPP_TO_ALL sends the stop signal to every process at once: it cannot be used with "
     "INITAPP_STOP_ORDER=reverse"),
    ({"INITAPP_TO_ALL": "TERM", "INITAPP_STOP_WITH": "b=QUIT"},
     "INITAPP_TO_ALL sends the stop signal to every process at once: it cannot be used with "
     "INITAPP_STOP_WITH"),
])
def test_to_all_usage_error_names_the_variables_given(start, given, named):
    # Given by variables only, the usage error names the flags nobody typed
    # ("--to-all sends ... with INITAPP_STOP_ORDER=reverse"; with INITAPP_STOP_WITH:
    # "--to-all ... with --stop-with"): procs.plan reads config.origin for to_all
    # and stop_with, which cli.Option.apply records only for single-value options,
    # never for list ones, so the fallback flag is always named.
    init = start("--run", "a=sleep 1", "--run", "b=sleep 1", env=dict(CLEAN_ENV, **given))
    assert init.wait(timeout=10) == 2
    assert init.stderr() == "[initapp] error: %s\n" % named


# -- a stop that begins while a --may-exit process awaits its last check -----------------

@pytest.mark.parametrize("pid1", MODES)
def test_to_all_stop_while_last_check_awaited_exits_when_the_tree_is_empty(start, tmp_path,
                                                                           pid1):
    # m (--may-exit) exits 0 before its exec: check passed: its check runs once more
    # (sleep 3: still running). A stop signal comes, --to-all TERM: the stop began,
    # m's last answer is no longer waited for, b was never started: the tree is
    # empty and initapp must exit at once (m's code: 0). Found: it never exits, past
    # the grace and its SIGKILL, and spins (a core's worth of CPU): Several.stop_began
    # marks m done (cancel_restarts) but never calls check_all_done, and the
    # --to-all path of loop.forward skips Several.stop_all, which would.
    init = start("-v", "--grace", "2", "--to-all", "TERM", "--may-exit", "m",
                 "--ready", "m=exec:sleep 3", "--run", "m=sh -c 'sleep 0.3; exit 0'",
                 "--run", "b=sleep 30", pid1=pid1)
    wait_for(lambda: "checking once more" in init.stderr(), what="m's last check")
    init.signal(signal.SIGTERM)
    assert init.wait(timeout=10) == 0, init.stderr()
    assert "b was never started" in init.stderr()


@pytest.mark.parametrize("pid1", PID1_ONLY)
def test_delayed_stop_while_last_check_awaited_exits_when_the_tree_is_empty(start, tmp_path,
                                                                            pid1):
    # The same with --delay TERM:20: nothing is left to get the delayed SIGTERM, and
    # initapp exits the moment the tree is empty, never waiting out a delay for
    # nothing. Found: it waits the whole delay (the 20 s), then exits.
    init = start("-v", "--delay", "TERM:20", "--grace", "30", "--may-exit", "m",
                 "--ready", "m=exec:sleep 3", "--run", "m=sh -c 'sleep 0.3; exit 0'",
                 "--run", "b=sleep 30", pid1=pid1)
    wait_for(lambda: "checking once more" in init.stderr(), what="m's last check")
    init.signal(signal.SIGTERM)
    began = time.monotonic()
    assert init.wait(timeout=10) == 0, init.stderr()
    assert time.monotonic() - began < 5, init.stderr()


# -- a stop that begins while the only process waits out its restart's backoff -----------

@pytest.mark.parametrize("pid1", MODES)
@pytest.mark.parametrize("given", [pytest.param(("--to-all", "TERM"), id="to-all"),
                                   pytest.param(("--delay", "TERM:20"), id="delay")])
def test_stop_during_the_only_backoff_exits_when_the_tree_is_empty(start, tmp_path, pid1,
                                                                   given):
    # A crash-looping a (--restart always) waits out its 1 s backoff: nothing runs.
    # The engine's stop comes: no restart, and the tree is empty: initapp exits at
    # once with a's last code (1, "exited with 1, not restarted"). Found: with
    # --to-all TERM it never exits (past the grace; it spins, a third of a core, in
    # the kill steps of the deadline with nothing to kill) until SIGKILL; with
    # --delay it waits the whole delay. Several.stop_began (cancel_restarts) marks
    # a done but never calls check_all_done.
    init = start("-v", "--grace", "2", *given, "--restart", "a=always",
                 "--run", "a=sh -c 'sleep 0.3; exit 1'", "--run", "b=true", "--may-exit", "b",
                 pid1=pid1)
    wait_for(lambda: "restart 1 in 1s" in init.stderr(), what="a's backoff")
    init.signal(signal.SIGTERM)
    began = time.monotonic()
    assert init.wait(timeout=10) == 1, init.stderr()
    assert time.monotonic() - began < 1.5, init.stderr()
    assert "exited with 1, not restarted" in init.stderr()
