"""Several processes (--run, --procfile): an ending process stops all, restarts,
--may-exit, --stop-with, --ready, --stop-order, the log prefix. As PID 1 and as a
subreaper (not PID 1)."""

import os
import select
import signal
import socket
import threading
import time
from pathlib import Path

import pytest

from support import (CLEAN_ENV, PYTHON, TRAP, Init, Reader, alive, blocked_in_pipe_write, children,
                     cmdline, status_field, wait_file, wait_for)

pytestmark = pytest.mark.timeout(60)

MODES = [pytest.param(True, id="pid1"), pytest.param(False, id="subreaper")]


def trap(directory, *options):
    """A trap.py COMMAND string for --run (its words only: run without a shell)."""
    directory.mkdir(exist_ok=True)
    return " ".join(TRAP + [str(directory)] + list(options))


def lines(path):
    return path.read_text().split("\n")[:-1] if path.exists() else []


def signals_got(directory):
    return [line.split()[0][3:] for line in lines(directory / "got")]


@pytest.mark.parametrize("pid1", MODES)
def test_an_ending_process_stops_the_others_and_gives_its_code(start, tmp_path, pid1):
    b = tmp_path / "b"
    init = start("--run", "a=sh -c 'sleep 0.5; exit 3'", "--run", "b=" + trap(b, "--cleanup", "0.3"),
                 pid1=pid1)
    assert init.wait() == 3
    assert signals_got(b) == ["TERM"]
    assert (b / "done").exists()          # its handler finished its cleanup
    err = init.stderr()
    assert "exiting with 3" not in err    # the summary is an info line: -v shows it


@pytest.mark.parametrize("pid1", MODES)
def test_summary_names_each_process(start, tmp_path, pid1):
    b = tmp_path / "b"
    init = start("-v", "--run", "a=sh -c 'exit 3'", "--run", "b=" + trap(b), pid1=pid1)
    assert init.wait() == 3
    err = init.stderr()
    assert "started a (sh) as pid" in err
    assert "a (pid " in err and "exited with 3" in err
    assert "processes: a (pid" in err and "b (pid" in err
    assert "forwarded SIGTERM to b" in err


def test_summary_json_lists_the_processes(start, tmp_path):
    import json

    init = start("--log-format", "json", "--run", "a=sh -c 'exit 3'", "--run",
                 "b=" + trap(tmp_path / "b"))
    assert init.wait() == 3
    events = [json.loads(line) for line in init.stderr().splitlines() if line.startswith("{")]
    summary = [event for event in events if event.get("event") == "exit"][-1]
    names = [proc["name"] for proc in summary["processes"]]
    assert names == ["a", "b"]
    assert summary["processes"][0]["ended"] == "exited with 3"
    assert summary["processes"][0]["restarts"] == 0


@pytest.mark.parametrize("pid1", MODES)
def test_procfile_with_comments_runs_in_order_and_the_command_is_main(start, tmp_path, pid1):
    procfile = tmp_path / "Procfile"
    b = tmp_path / "b"
    procfile.write_text("# the web and its worker\n\nweb: %s\n  # indented comment\n"
                        "worker-1: sh -c 'echo $$ > worker.pid; exec sleep 30'\n" % trap(b))
    init = start("--procfile", str(procfile), "--", "sh", "-c", "sleep 0.5; exit 5", pid1=pid1)
    assert init.wait() == 5
    assert signals_got(b) == ["TERM"]


def test_procfile_bad_line_is_a_usage_error_with_its_number(start, tmp_path):
    procfile = tmp_path / "Procfile"
    procfile.write_text("# ok\nweb: sleep 30\nthis is no process line\n")
    init = start("--procfile", str(procfile))
    assert init.wait() == 2
    err = init.stderr()
    assert "line 3" in err and len(err.strip().splitlines()) == 1


def test_procfile_from_the_variable(start, tmp_path):
    procfile = tmp_path / "Procfile"
    procfile.write_text("a: sh -c 'exit 7'\n")
    env = dict(os.environ, INITAPP_PROCFILE=str(procfile))
    assert start(env=env).wait() == 7


@pytest.mark.parametrize("args, words", [
    (["--run", "a=sleep 1", "--run", "a=sleep 2"], "two processes named"),
    (["--run", "a=sleep 1", "--may-exit", "b"], "no process named"),
    (["--run", "a=sleep 1", "--restart", "b=always"], "no process named"),
    (["--run", "a=sleep 1", "--restart", "a=sometimes"], "on-failure"),
    (["--run", "a=sleep 1", "--stop-with", "zz=QUIT"], "no process named"),
    (["--run", "a=sleep 1", "--ready", "a=nothing:1"], "--ready"),
    (["--run", "a b=sleep 1"], "not a process name"),
    (["--run", "a=sleep 1", "--stop-order", "random"], "parallel or reverse"),
    (["-c", "--run", "a=sleep 1", "--run", "b=sleep 1"], "-c"),
])
def test_bad_process_options_are_usage_errors(start, args, words):
    init = start(*args)
    assert init.wait() == 2
    err = init.stderr()
    assert words in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("pid1", MODES)
def test_a_stop_signal_stops_all_and_the_code_is_the_main_process(start, tmp_path, pid1):
    a, b = tmp_path / "a", tmp_path / "b"
    init = start("--run", "a=" + trap(a, "--code", "4"), "--run", "b=" + trap(b, "--code", "9"),
                 pid1=pid1)
    wait_file(a / "ready")
    wait_file(b / "ready")
    init.signal(signal.SIGTERM)
    assert init.wait() == 4
    assert signals_got(a) == ["TERM"] and signals_got(b) == ["TERM"]


@pytest.mark.parametrize("pid1", MODES)
def test_stop_with_gives_a_process_its_own_signal(start, tmp_path, pid1):
    a, b = tmp_path / "a", tmp_path / "b"
    init = start("--stop-with", "b=QUIT", "--run", "a=" + trap(a),
                 "--run", "b=" + trap(b, "--handle", "QUIT", "TERM"), pid1=pid1)
    wait_file(a / "ready")
    wait_file(b / "ready")
    init.signal(signal.SIGTERM)
    assert init.wait() == 0
    assert signals_got(a) == ["TERM"]
    assert signals_got(b) == ["QUIT"]


def test_stop_with_from_the_variable_comma_separated(start, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    env = dict(os.environ, INITAPP_STOP_WITH="a=INT, b=QUIT")
    init = start("--run", "a=" + trap(a), "--run", "b=" + trap(b, "--handle", "QUIT"), env=env)
    wait_file(a / "ready")
    wait_file(b / "ready")
    init.signal(signal.SIGTERM)
    assert init.wait() == 0
    assert signals_got(a) == ["INT"] and signals_got(b) == ["QUIT"]


@pytest.mark.parametrize("pid1", MODES)
def test_non_stop_signals_reach_every_process(start, tmp_path, pid1):
    a, b = tmp_path / "a", tmp_path / "b"
    init = start("--run", "a=" + trap(a, "--handle", "HUP", "--keep"),
                 "--run", "b=" + trap(b, "--handle", "HUP", "--keep"), pid1=pid1)
    wait_file(a / "ready")
    wait_file(b / "ready")
    init.signal(signal.SIGHUP)
    wait_for(lambda: signals_got(a) == ["HUP"] and signals_got(b) == ["HUP"], 5, "HUP in both")
    init.signal(signal.SIGTERM)
    init.wait()


@pytest.mark.parametrize("pid1", MODES)
def test_may_exit_zero_ends_only_itself(start, tmp_path, pid1):
    b = tmp_path / "b"
    init = start("--may-exit", "a", "--run", "a=true", "--run", "b=" + trap(b, "--code", "6"),
                 pid1=pid1)
    wait_file(b / "ready")
    time.sleep(0.7)
    assert init.proc.poll() is None and signals_got(b) == []
    init.signal(signal.SIGTERM)
    assert init.wait() == 0   # a stop signal: the main process's code (a's 0)
    assert signals_got(b) == ["TERM"]


def test_may_exit_any_other_end_still_stops_all(start, tmp_path):
    b = tmp_path / "b"
    init = start("--may-exit", "a", "--run", "a=sh -c 'sleep 0.3; exit 2'",
                 "--run", "b=" + trap(b))
    assert init.wait() == 2
    assert signals_got(b) == ["TERM"]


def test_restart_always_restarts_a_clean_exit(start, tmp_path):
    init = start("-v", "--restart", "a=always", "--run", "a=sh -c 'echo x >> runs'",
                 "--run", "b=sleep 30")
    wait_for(lambda: len(lines(tmp_path / "runs")) >= 2, 5, "a restarted")
    init.signal(signal.SIGTERM)
    assert init.wait() == 0
    assert "restart 1 in 1s" in init.stderr()


def test_restart_no_is_the_default(start, tmp_path):
    init = start("--run", "a=sh -c 'echo x >> runs; exit 1'", "--run", "b=sleep 30")
    assert init.wait() == 1
    assert len(lines(tmp_path / "runs")) == 1


@pytest.mark.parametrize("pid1", MODES)
def test_a_process_killed_by_signal_9_gives_137(start, tmp_path, pid1):
    b = tmp_path / "b"
    init = start("--run", "a=sleep 30", "--run", "b=" + trap(b), pid1=pid1)
    wait_file(b / "ready")
    os.kill(init.child("sleep"), signal.SIGKILL)   # its pid as seen from here
    assert init.wait() == 137
    assert signals_got(b) == ["TERM"]


@pytest.mark.parametrize("pid1", MODES)
def test_a_shell_syntax_command_runs_under_sh(start, tmp_path, pid1):
    init = start("--run", "a=echo $((1 + 2)) > out && exit 4", "--run", "b=sleep 30", pid1=pid1)
    assert init.wait() == 4
    assert (tmp_path / "out").read_text() == "3\n"


@pytest.mark.parametrize("pid1", MODES)
def test_output_is_prefixed_with_the_padded_name(start, tmp_path, pid1):
    init = start("--run", "a=sh -c 'echo one; echo two >&2; sleep 0.3; exit 3'",
                 "--run", "bbb=sh -c 'echo three; exec sleep 30'", pid1=pid1)
    assert init.wait() == 3
    out = init.stdout()
    assert "a   | one\n" in out and "bbb | three\n" in out
    assert "a   | two\n" in init.stderr()


def test_log_prefix_off_writes_directly(start, tmp_path):
    init = start("--log-prefix", "off", "--run", "a=sh -c 'echo one; sleep 0.3; exit 3'",
                 "--run", "b=sleep 30")
    assert init.wait() == 3
    assert init.stdout() == "one\n"


@pytest.mark.parametrize("pid1", MODES)
def test_stop_order_reverse_stops_later_processes_first(start, tmp_path, pid1):
    a, b = tmp_path / "a", tmp_path / "b"
    init = start("--stop-order", "reverse", "--run", "a=" + trap(a),
                 "--run", "b=" + trap(b, "--cleanup", "0.5"), pid1=pid1)
    wait_file(a / "ready")
    wait_file(b / "ready")
    init.signal(signal.SIGTERM)
    assert init.wait() == 0
    a_got = float(lines(a / "got")[0].split()[1])
    b_got = float(lines(b / "got")[0].split()[1])
    assert 0.45 < a_got - b_got < 1.5


def test_stop_order_reverse_never_later_than_half_the_grace(start, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    init = start("-t", "2", "--stop-order", "reverse", "--run", "a=" + trap(a),
                 "--run", "b=" + trap(b, "--handle", "--ignore", "TERM"))
    wait_file(a / "ready")
    wait_file(b / "ready")
    sent = time.time()
    init.signal(signal.SIGTERM)
    assert init.wait() == 0
    a_got = float(lines(a / "got")[0].split()[1])
    assert 0.9 < a_got - sent < 1.4


def test_parallel_is_the_default_stop_order(start, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    init = start("--run", "a=" + trap(a), "--run", "b=" + trap(b, "--cleanup", "0.5"))
    wait_file(a / "ready")
    wait_file(b / "ready")
    init.signal(signal.SIGTERM)
    assert init.wait() == 0
    a_got = float(lines(a / "got")[0].split()[1])
    b_got = float(lines(b / "got")[0].split()[1])
    assert abs(a_got - b_got) < 0.3


# -- --ready ---------------------------------------------------------------------------

SERVE = ("import http.server, os, socketserver, sys, time; time.sleep(0.6); "
         "http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), "
         "http.server.SimpleHTTPRequestHandler).serve_forever()")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ready_case(tmp_path, kind):
    port = free_port()
    if kind == "file":
        return "a=sh -c 'sleep 0.6; touch made; exec sleep 30'", "a=file:%s/made" % tmp_path
    if kind == "exec":
        return ("a=sh -c 'sleep 0.6; touch made; exec sleep 30'",
                "a=exec:test -e %s/made" % tmp_path)
    serve = "a=%s -c \"%s\" %d" % (PYTHON, SERVE, port)
    if kind == "tcp":
        return serve, "a=tcp:%d" % port
    return serve, "a=http://127.0.0.1:%d/" % port


@pytest.mark.parametrize("kind", ["file", "tcp", "http", "exec"])
def test_ready_holds_the_next_processes_back(start, tmp_path, kind):
    run, ready = ready_case(tmp_path, kind)
    init = start("--ready", ready, "--run", run,
                 "--run", "b=sh -c 'date +%s.%N > b.started; exec sleep 30'")
    began = time.time()
    started = float(wait_for(lambda: (tmp_path / "b.started").exists() and (tmp_path / "b.started").read_text().strip() or None))
    assert 0.55 < started - began < 4
    init.signal(signal.SIGTERM)
    init.wait()


@pytest.mark.parametrize("pid1", MODES)
def test_ready_file_as_pid1_and_subreaper(start, tmp_path, pid1):
    run, ready = ready_case(tmp_path, "file")
    init = start("--ready", ready, "--run", run,
                 "--run", "b=sh -c 'date +%s.%N > b.started; exec sleep 30'", pid1=pid1)
    began = time.time()
    started = float(wait_for(lambda: (tmp_path / "b.started").exists() and (tmp_path / "b.started").read_text().strip() or None))
    assert (tmp_path / "made").exists()
    assert started - began > 0.55
    init.signal(signal.SIGTERM)
    init.wait()


def test_a_process_that_ends_before_it_is_ready_ends_all(start, tmp_path):
    init = start("--ready", "a=file:%s/never" % tmp_path, "--run", "a=sh -c 'exit 5'",
                 "--run", "b=sh -c 'touch b.started; exec sleep 30'")
    assert init.wait() == 5
    assert not (tmp_path / "b.started").exists()


@pytest.mark.parametrize("pid1", MODES)
def test_ready_sends_ready_1_to_notify_socket(start, tmp_path, pid1):
    path = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        sock.settimeout(10)
        env = dict(os.environ, NOTIFY_SOCKET=path)
        run, ready = ready_case(tmp_path, "file")
        init = start("--ready", ready, "--run", run,
                     "--run", "b=sh -c 'echo \"[$NOTIFY_SOCKET]\" > b.env; exec sleep 30'",
                     env=env, pid1=pid1)
        assert sock.recv(100) == b"READY=1"
        assert (tmp_path / "made").exists()
    wait_file(tmp_path / "b.env")
    assert wait_for(lambda: (tmp_path / "b.env").read_text() or None) == "[]\n"
    init.signal(signal.SIGTERM)
    init.wait()


def test_without_ready_notify_socket_is_passed_through(start, tmp_path):
    env = dict(os.environ, NOTIFY_SOCKET="/run/x")
    init = start("--run", "a=sh -c 'echo \"[$NOTIFY_SOCKET]\" > a.env; exit 3'",
                 "--run", "b=sleep 30", env=env)
    assert init.wait() == 3
    assert (tmp_path / "a.env").read_text() == "[/run/x]\n"


# -- INITAPP_PROCESS_NAME ----------------------------------------------------------------

SAY_NAME = "sh -c 'echo \"[$INITAPP_PROCESS_NAME]\" > %s.env; %s'"


def test_each_process_has_its_name_in_its_environment(start, tmp_path):
    # --env cannot give a process another's name: inspect relies on it.
    init = start("--env", "INITAPP_PROCESS_NAME=fake",
                 "--run", "a=" + SAY_NAME % ("a", "exec sleep 30"),
                 "--run", "bb=" + SAY_NAME % ("bb", "until [ -s a.env ]; do sleep 0.05; done; "
                                                     "exit 3"))
    assert init.wait() == 3
    assert (tmp_path / "a.env").read_text() == "[a]\n"
    assert (tmp_path / "bb.env").read_text() == "[bb]\n"


def test_one_process_has_no_name_in_its_environment(start, tmp_path):
    init = start("--run", "only=" + SAY_NAME % ("only", "exit 3"))
    assert init.wait() == 3
    assert (tmp_path / "only.env").read_text() == "[]\n"


# -- an exec: check's time limit ------------------------------------------------------------

# A --ready exec: check that hangs the first time (a shell and its sleep, in the
# group the check runs in) and passes every time after.
HANGS_ONCE = """#!/bin/sh
[ -e "$1/marker" ] && exit 0
touch "$1/marker"
sleep 1000 &
wait
"""


def hung_check(init, tmp_path):
    """A predicate: the host pids of the first check's shell and its sleep, once
    both run."""
    def find():
        for kid in children(init.pid):
            if str(tmp_path / "check.sh") in cmdline(kid):
                sleeps = [pid for pid in children(kid) if cmdline(pid) == "sleep 1000"]
                if sleeps:
                    return [kid] + sleeps
        return None
    return find


def gone(pids):
    wait_for(lambda: not any(os.path.exists("/proc/%d" % pid) for pid in pids), 2,
             "the hung check's processes reaped")


@pytest.mark.parametrize("pid1", MODES)
def test_an_exec_check_that_hangs_is_killed_at_its_limit_and_run_again(start, tmp_path, pid1):
    (tmp_path / "check.sh").write_text(HANGS_ONCE)
    init = start("--ready", "a=exec:sh %s %s" % (tmp_path / "check.sh", tmp_path),
                 "--run", "a=sleep 30",
                 "--run", "b=sh -c 'date +%s.%N > b.started; exec sleep 30'", pid1=pid1)
    began = time.time()
    hung = wait_for(hung_check(init, tmp_path), what="the first check hanging")
    started = float(wait_for(lambda: (tmp_path / "b.started").exists()
                             and (tmp_path / "b.started").read_text().strip() or None))
    # Killed at its limit (2 s), then run again at once: it passes.
    assert 1.9 < started - began < 4.5
    gone(hung)
    init.signal(signal.SIGTERM)
    init.wait()
    assert ("[initapp] warning: a is not ready yet: --ready exec:sh %s %s: timed out after 2 s "
            "(its process group was killed); checking again\n" % (tmp_path / "check.sh",
                                                                    tmp_path)) in init.stderr()


def test_a_stop_does_not_wait_for_a_hanging_exec_check(start, tmp_path):
    a = tmp_path / "a"
    (tmp_path / "check.sh").write_text(HANGS_ONCE)
    init = start("--ready", "a=exec:sh %s %s" % (tmp_path / "check.sh", tmp_path),
                 "--run", "a=" + trap(a), "--run", "b=sh -c 'touch b.started; exec sleep 30'")
    wait_file(a / "ready")
    hung = wait_for(hung_check(init, tmp_path), what="the first check hanging")
    sent = time.monotonic()
    init.signal(signal.SIGTERM)
    assert init.wait() == 0
    assert time.monotonic() - sent < 1.5     # the check had 2 s left
    assert signals_got(a) == ["TERM"]
    assert not (tmp_path / "b.started").exists()
    gone(hung)


# -- a stdout nobody reads, through the built init.pyz ------------------------------------

def stalled(start, tmp_path, grace, pid1):
    """init.pyz (-t grace) running a and b, trap.py processes that write numbered
    lines without pause (a 0.3 s cleanup, exit codes 4 and 9), with a stdout
    nobody reads yet; returned once both block in their writes: (init, their
    directories, the stdout's read end)."""
    dirs, runs = [tmp_path / "a", tmp_path / "b"], []
    for directory, code in zip(dirs, (4, 9)):
        runs += ["--run", "%s=%s" % (directory.name, trap(directory, "--chatter", directory.name,
                                                          "--cleanup", "0.3", "--code", str(code)))]
    out_read, out_write = os.pipe()
    try:
        init = start("-t", str(grace), *runs, stdout=out_write, pid1=pid1)
        for directory in dirs:
            wait_file(directory / "ready")
        pids = [next(kid for kid in children(init.pid) if str(directory) in cmdline(kid))
                for directory in dirs]
        wait_for(lambda: all(blocked_in_pipe_write(pid) for pid in pids), 10,
                 "every process held back by the stalled stdout")
    except BaseException:
        os.close(out_read)
        raise
    finally:
        os.close(out_write)
    return init, dirs, out_read


def relayed(data, dirs):
    """Each process's relayed line numbers, in the order they came; every line is
    whole, prefixed, and of one process."""
    numbers = {directory.name: [] for directory in dirs}
    for line in data.split(b"\n")[:-1]:
        prefix, _, rest = line.partition(b" | ")
        name = prefix.decode()
        tag, number, dots = rest.split(b" ")
        assert tag.decode() == name and dots == b"." * 60, line
        numbers[name].append(int(number))
    return numbers


@pytest.mark.parametrize("pid1", MODES)
def test_a_stalled_stdout_never_holds_up_the_stop_and_nothing_written_is_lost(start, tmp_path,
                                                                            pid1):
    # Prefixed output with a stdout whose reader stalls: both processes end up
    # blocked in their own writes. SIGTERM still reaches both; their handlers
    # finish; the reader then reads: every line each process wrote is there, and
    # initapp exits with the main process's code once they are out, in the grace.
    init, dirs, out_read = stalled(start, tmp_path, 4, pid1)
    reader = None
    try:
        sent = time.monotonic()
        init.signal(signal.SIGTERM)
        for directory in dirs:
            wait_file(directory / "done")
        reading = time.monotonic()
        reader = Reader(out_read)
        assert init.wait() == 4
        ended = time.monotonic()
    finally:
        if reader is None:
            os.close(out_read)
    data = reader.result()
    assert 0.3 <= ended - sent < 4.0       # the handlers' cleanup; within the grace
    assert ended - reading < 1.5           # out once drained, the deadline not waited out
    numbers = relayed(data, dirs)
    for directory in dirs:
        assert signals_got(directory) == ["TERM"]
        wrote = int(lines(directory / "wrote")[0])
        assert wrote > 100
        # In order, none missing, none twice; at least every write that returned
        # (the handler may have run between a write and its count).
        assert numbers[directory.name] == list(range(1, len(numbers[directory.name]) + 1))
        assert len(numbers[directory.name]) in (wrote, wrote + 1)


@pytest.mark.parametrize("pid1", MODES)
def test_a_stdout_nobody_reads_ends_initapp_at_the_deadline(start, tmp_path, pid1):
    # Nobody reads until initapp has exited: what the processes wrote cannot all
    # go out. initapp waits for it up to the stop's deadline, no longer; what
    # reached stdout is whole lines, each process's from its first, none skipped.
    init, dirs, out_read = stalled(start, tmp_path, 2, pid1)
    try:
        sent = time.monotonic()
        init.signal(signal.SIGTERM)
        assert init.wait() == 4
        took = time.monotonic() - sent
        data = Reader(out_read).result()
    except BaseException:
        os.close(out_read)
        raise
    assert 1.95 <= took < 3.0                # the deadline (2 s), then the exit
    numbers = relayed(data, dirs)
    for directory in dirs:
        assert signals_got(directory) == ["TERM"] and (directory / "done").exists()
        assert numbers[directory.name] == list(range(1, len(numbers[directory.name]) + 1))
    assert sum(len(got) for got in numbers.values()) > 100


# -- an exec: check is started as its process is, and never outlives the stop ----------------

def by_command(init, command):
    """A predicate: the pid of the child of initapp whose command line is command."""
    def find():
        return next((kid for kid in children(init.pid) if cmdline(kid) == command), None)
    return find


def signal_state(pid):
    return {field: status_field(pid, field) for field in ("SigBlk", "SigIgn", "SigCgt")}


def process_group(pid):
    with open("/proc/%d/stat" % pid) as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[2])


def engine_signal_state():
    # What an engine may start PID 1 with: a signal blocked, another ignored.
    signal.pthread_sigmask(signal.SIG_SETMASK, [signal.SIGUSR2])
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)


@pytest.mark.parametrize("pid1", MODES)
def test_an_exec_check_starts_with_the_signal_state_of_the_processes(start, pid1):
    # initapp blocks every signal (and glibc leaves 32 and 33 ignored in what its
    # posix_spawn starts): the check gets what the process it checks gets, the
    # state initapp was started with, in a process group of its own.
    init = start("--run", "a=sleep 30", "--ready", "a=exec:sleep 29.5", "--run", "b=sleep 30",
                 pid1=pid1, preexec=engine_signal_state)
    process = wait_for(by_command(init, "sleep 30"), what="a")
    check = wait_for(by_command(init, "sleep 29.5"), what="the exec: check")
    assert signal_state(check) == signal_state(process)
    assert int(signal_state(check)["SigBlk"], 16) == 1 << (signal.SIGUSR2 - 1)
    assert int(signal_state(check)["SigIgn"], 16) & 1 << (signal.SIGUSR1 - 1)
    assert process_group(check) == check
    init.signal(signal.SIGTERM)
    assert init.wait() == 143


# A check that never ends by itself, nor on SIGTERM; a stop must not wait for it.
HANGING_CHECK = "a=exec:sh -c 'trap \"\" TERM; sleep 28.5; :'"


@pytest.mark.parametrize("pid1", MODES)
@pytest.mark.parametrize("cause", ["signal", "timeout", "ending"])
def test_a_stop_ends_a_running_exec_check_at_once(start, pid1, cause):
    # A stop signal, --timeout or an ending process (0.5 s after the start): the
    # check (it ignores SIGTERM) is killed with its group at once, and initapp
    # exits as soon as the processes are gone; not when the check's own limit
    # (2 s) kills it, nor at the end of the grace period (6 s).
    options = ["--timeout", "0.5"] if cause == "timeout" else []
    main = "a=sh -c 'sleep 0.5; exit 3'" if cause == "ending" else "a=sleep 30"
    init = start("--grace", "6", *options, "--run", main, "--ready", HANGING_CHECK,
                 "--run", "b=sleep 30", pid1=pid1)
    began = init.started
    if cause == "signal":
        check = wait_for(by_command(init, "sh -c trap \"\" TERM; sleep 28.5; :"),
                         what="the exec: check")
        sleep = wait_for(lambda: children(check), what="the check's sleep")[0]
        began = time.monotonic()
        init.signal(signal.SIGTERM)
    code = init.wait()
    took = time.monotonic() - began
    assert code == {"signal": 143, "timeout": 124, "ending": 3}[cause]
    # (Measured from initapp's start for the other causes: 0.5 s and its start.)
    assert took < (1.0 if cause == "signal" else 1.6), "the stop took %.2fs" % took
    if cause == "signal":
        assert not alive(check) and not alive(sleep)
    # The check was running when the stop began: said of a process still running
    # (one that ended was told as it ended).
    said = "a was not ready when the stop began: --ready exec:sh -c 'trap \"\" TERM; sleep " \
        "28.5; :': its first check was still running\n" in init.stderr()
    assert said == (cause != "ending"), init.stderr()


# -- an exec: check's output -------------------------------------------------------------------

@pytest.mark.parametrize("pid1", MODES)
def test_an_exec_checks_output_never_reaches_initapps_output(start, tmp_path, pid1):
    # Not raw on stdout or stderr (where it would land inside the relayed lines):
    # its last line is told in initapp's own message when the stop comes (once
    # a check has ended: its file says it ran).
    check = "sh -c 'echo CHECK-OUT; echo CHECK-ERR >&2; touch %s/ran; exit 1'" % tmp_path
    init = start("--run", "a=sh -c 'echo A-LINE; exec sleep 30'", "--ready", "a=exec:" + check,
                 "--run", "b=sleep 30", pid1=pid1)
    wait_for(lambda: "A-LINE" in init.stdout(), what="a's line")
    wait_file(tmp_path / "ran")
    time.sleep(0.3)     # it has exited, and been reaped
    init.signal(signal.SIGTERM)
    assert init.wait() == 143
    assert init.stdout() == "a | A-LINE\n"
    assert "CHECK" not in init.stderr().replace(
        "[initapp] warning: a was not ready when the stop began: --ready exec:%s: exit code 1, "
        "last line of output: 'CHECK-ERR'\n" % check, "", 1), init.stderr()


@pytest.mark.parametrize("pid1", MODES)
def test_an_exec_check_that_writes_a_lot_to_a_stalled_stdout_still_passes(start, tmp_path, pid1):
    # initapp's stdout is a pipe nobody reads: the check's 1 MB goes to initapp,
    # not there, so it never blocks in its write and passes at once.
    out_read, out_write = os.pipe()
    try:
        init = start("--run", "a=sleep 30",
                     "--ready", "a=exec:sh -c 'head -c 1000000 /dev/zero; exit 0'",
                     "--run", "b=sh -c 'touch b.started; exec sleep 30'",
                     stdout=out_write, pid1=pid1)
        os.close(out_write)
        wait_file(tmp_path / "b.started")
        init.signal(signal.SIGTERM)
        assert init.wait() == 143
    finally:
        os.close(out_read)


COUNTING_CHECK = """#!/bin/sh
n=$(($(cat runs 2>/dev/null || echo 0) + 1))
echo $n > runs
echo "run $n"
[ $n -ge 5 ] && exit 0
[ $n -ge 3 ] && { echo 'almost there'; exit 2; }
echo 'not yet' >&2
exit 1
"""


@pytest.mark.parametrize("pid1", MODES)
def test_at_v_each_new_failure_of_an_exec_check_is_told_with_its_output(start, tmp_path, pid1):
    # -v: a failure is told when it differs from the one before (at -vv every one),
    # with the last line the check wrote.
    (tmp_path / "check.sh").write_text(COUNTING_CHECK)
    init = start("-v", "--run", "a=sleep 30", "--ready", "a=exec:sh check.sh",
                 "--run", "b=sh -c 'touch b.started; exec sleep 30'", pid1=pid1)
    wait_file(tmp_path / "b.started")
    init.signal(signal.SIGTERM)
    assert init.wait() == 143
    told = [line for line in init.stderr().splitlines() if "not ready yet" in line]
    assert told == [
        "[initapp] info: a is not ready yet: --ready exec:sh check.sh: exit code 1, last line "
        "of output: 'not yet'; checking again",
        "[initapp] info: a is not ready yet: --ready exec:sh check.sh: exit code 2, last line "
        "of output: 'almost there'; checking again"]
    assert "a (pid " in init.stderr() and ") is ready: exec: exited with 0" in init.stderr()


def read_terminal(master):
    """What a terminal shows, once its last writer is gone."""
    data = b""
    while select.select([master], [], [], 0.5)[0]:
        try:
            chunk = os.read(master, 65536)
        except OSError:     # EIO: nobody has it open any more
            break
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace")


@pytest.mark.parametrize("pid1", MODES)
def test_a_check_that_cannot_start_is_told_only_in_initapps_own_messages(start, pid1):
    # initapp's stderr is a terminal: initapp writes its messages through its own
    # descriptor of it (log.py). The check's "command not found", written before
    # its exec, still goes to the check's pipe: never raw on the terminal.
    master, slave = os.openpty()
    try:
        init = start("-v", "--run", "a=sleep 30", "--ready", "a=exec:no-such-check-xyz",
                     "--run", "b=sleep 30", stderr=slave, pid1=pid1)
        os.close(slave)
        slave = None
        time.sleep(0.6)
        init.signal(signal.SIGTERM)
        assert init.wait() == 143
        told = [line for line in read_terminal(master).splitlines() if "no-such-check-xyz" in line]
    finally:
        os.close(master)
        if slave is not None:
            os.close(slave)
    assert told and all(line.startswith(("[initapp] info: a is not ready yet: ",
                                         "[initapp] warning: a was not ready when the stop"))
                        for line in told), told
    assert told[-1].endswith("exit code 127, last line of output: '[initapp] error: "
                             "no-such-check-xyz: command not found'"), told


# -- an exec: check runs as its process -------------------------------------------------------

@pytest.mark.parametrize("pid1", MODES)
def test_an_exec_check_runs_as_its_process_with_its_environment_and_directory(start, pid1):
    # --user, --workdir and --env apply to the check as to the process it checks
    # (a HEALTHCHECK runs as the container's user, in its environment); only
    # INITAPP_PROCESS_NAME is left out (it names the processes themselves), even
    # one initapp inherited (initapp run as a process of another).
    import shutil
    import tempfile

    work = tempfile.mkdtemp(prefix="initapp-check-")    # reachable by user 4242
    os.chmod(work, 0o777)
    view = "id -u > {w}/%s.id; env | sort > {w}/%s.env; pwd > {w}/%s.pwd".format(w=work)
    try:
        init = start("--user", "4242", "--workdir", work, "--env", "FOO=bar",
                     "--run", "a=sh -c '%s; exec sleep 30'" % (view % ("a", "a", "a")),
                     "--ready", "a=exec:sh -c '%s'" % (view % ("check", "check", "check")),
                     "--run", "b=sh -c 'touch %s/b.started; exec sleep 30'" % work, pid1=pid1,
                     env=dict(CLEAN_ENV, INITAPP_PROCESS_NAME="outer"))
        wait_file(Path(work) / "b.started")
        init.signal(signal.SIGTERM)
        assert init.wait() == 143
        seen = {}
        for who in ("a", "check"):
            env = (Path(work) / ("%s.env" % who)).read_text().splitlines()
            seen[who] = ((Path(work) / ("%s.id" % who)).read_text(),
                         (Path(work) / ("%s.pwd" % who)).read_text(),
                         [line for line in env if not line.startswith("INITAPP_PROCESS_NAME=")])
            named = [line for line in env if line.startswith("INITAPP_PROCESS_NAME=")]
            assert named == (["INITAPP_PROCESS_NAME=a"] if who == "a" else [])
        assert seen["check"] == seen["a"]
        assert seen["a"][:2] == ("4242\n", work + "\n") and "FOO=bar" in seen["a"][2]
    finally:
        shutil.rmtree(work)


@pytest.mark.parametrize("pid1", MODES)
def test_an_exec_check_reads_nothing_of_initapps_stdin(start, tmp_path, pid1):
    # Its stdin is empty: a check does not take the input meant for the processes
    # (here endless: /dev/zero).
    init = start("--run", "a=sleep 30",
                 "--ready", "a=exec:sh -c '[ \"$(head -c 1 | wc -c)\" -eq 0 ]'",
                 "--run", "b=sh -c 'touch b.started; exec sleep 30'", setup="exec </dev/zero",
                 pid1=pid1)
    wait_file(tmp_path / "b.started")
    init.signal(signal.SIGTERM)
    assert init.wait() == 143


# Last in the module: the runs it checks start with the module (the fixture below),
# so that their 15 s of backoff, which are waits, pass while the other tests run.
@pytest.fixture(scope="module", autouse=True)
def backoff_runs(init_pyz, tmp_path_factory):
    """A process that always fails, as PID 1 and as a subreaper: {pid1: (its
    directory, the Init, when it started, [when it ended])}; a thread notes the
    end the moment it comes."""
    runs = {}
    for pid1 in (True, False):
        work = tmp_path_factory.mktemp("backoff")
        init = Init(init_pyz, ["-v", "--restart", "a=on-failure", "--run",
                               "a=sh -c 'date +%s.%N >> starts; exit 1'",
                               "--run", "b=" + trap(work / "b")], work, pid1=pid1)
        ended = []
        threading.Thread(target=lambda init=init, ended=ended: ended.append(
            (init.proc.wait(), time.monotonic())), daemon=True).start()
        runs[pid1] = (work, init, time.monotonic(), ended)
    yield runs
    for _, init, _, _ in runs.values():
        init.close()


def test_restarts_back_off_and_give_up_after_5_ends(backoff_runs):
    for pid1, (work, init, began, ended) in backoff_runs.items():
        wait_for(lambda: ended, max(0.0, began + 30 - time.monotonic()), "the give-up")
        assert ended[0][0] == 1, (pid1, init.stderr())
        took = ended[0][1] - began
        starts = [float(line) for line in lines(work / "starts")]
        assert len(starts) == 5, (pid1, starts)
        gaps = [later - earlier for earlier, later in zip(starts, starts[1:])]
        for gap, expected in zip(gaps, (1, 2, 4, 8)):
            assert expected - 0.05 < gap < expected + 0.75, (pid1, gaps)
        assert 14.9 < took < 20, (pid1, took)
        assert signals_got(work / "b") == ["TERM"]
        err = init.stderr()
        assert "restart 4 in 8s" in err and "failed for good" in err
