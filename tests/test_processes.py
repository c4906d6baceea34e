"""Several processes (--run, --procfile): an ending process stops all, restarts,
--may-exit, --stop-with, --ready, --stop-order, the log prefix. As PID 1 and as a
subreaper (not PID 1)."""

import os
import signal
import socket
import threading
import time

import pytest

from support import PYTHON, TRAP, Init, wait_file, wait_for

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
