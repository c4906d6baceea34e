"""init.pyz probe CHECK: the built archive against real servers, files and
commands on this machine's loopback; the check grammar's unit tests."""

import http.server
import os
import socket
import subprocess
import threading
import time

import pytest

from initapp import checks
from support import CLEAN_ENV, PYTHON, alive, wait_for

pytestmark = pytest.mark.timeout(60)

NOBODY = 4242   # a user id with no rights here


def probe(init_pyz, *args, as_user=None, env=None, timeout=15):
    """(result, seconds it took): init.pyz probe ARGS, as the engine runs it."""
    command = [str(init_pyz), "probe"] + list(args)
    if as_user is not None:
        command = ["setpriv", "--reuid", str(as_user), "--regid", str(as_user),
                   "--clear-groups"] + command
    began = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                            env=CLEAN_ENV if env is None else env, stdin=subprocess.DEVNULL)
    return result, time.monotonic() - began


def healthy(result):
    assert (result.returncode, result.stdout, result.stderr) == (0, "", ""), result.stderr
    return True


def unhealthy(result, check, reason):
    """Exit 1 and exactly one line saying why."""
    assert result.stdout == ""
    assert result.stderr == "[initapp] unhealthy: %s: %s\n" % (check, reason), result.stderr
    assert result.returncode == 1
    return True


# -- servers of the tests' own, on 127.0.0.1 ----------------------------------------

class Answers(http.server.BaseHTTPRequestHandler):
    """GET /NNN answers status NNN (a 302 points at /503); every path is recorded."""

    def do_GET(self):
        self.server.paths.append(self.path)
        status = int(self.path.strip("/").partition("?")[0] or "200")
        self.send_response(status)
        if status == 302:
            self.send_header("Location", "/503")
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"ok\n")

    def log_message(self, *args):
        pass


@pytest.fixture
def web():
    """An HTTP server in a thread: (its base URL, the paths it was asked for)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    server.paths = []
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    yield "http://127.0.0.1:%d" % server.server_address[1], server.paths
    server.shutdown()
    server.server_close()
    thread.join(10)


class Raw:
    """A TCP server that hands each connection to answer(connection, stopping) in
    a thread of its own; stopped (and its threads joined) at the end."""

    def __init__(self, answer, family=socket.AF_INET, host="127.0.0.1"):
        self.listener = socket.socket(family, socket.SOCK_STREAM)
        self.listener.bind((host, 0))
        self.listener.listen(16)
        self.listener.settimeout(0.01)
        self.port = self.listener.getsockname()[1]
        self.answer = answer
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._accept)]
        self.threads[0].start()

    def _accept(self):
        while not self.stopping.is_set():
            try:
                connection, _ = self.listener.accept()
            except socket.timeout:
                continue
            worker = threading.Thread(target=self._serve, args=(connection,))
            self.threads.append(worker)
            worker.start()

    def _serve(self, connection):
        with connection:
            connection.settimeout(10)
            try:
                self.answer(connection, self.stopping)
            except OSError:
                pass

    def stop(self):
        self.stopping.set()
        for thread in list(self.threads):
            thread.join(10)
        self.listener.close()


@pytest.fixture
def raw():
    made = []

    def make(answer, **kwargs):
        made.append(Raw(answer, **kwargs))
        return made[-1]

    yield make
    for server in made:
        server.stop()


def silent(connection, stopping):
    """Accepts, reads the request, never answers."""
    stopping.wait(20)


def dribble(connection, stopping):
    """A status line, one byte every 0.2 s: each read gets something in time."""
    connection.recv(4096)
    for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n":
        if stopping.wait(0.2):
            return
        connection.sendall(bytes([byte]))


def closed_port():
    """A port nobody listens on: bound (so that nobody else takes it), no listen."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


# -- tcp ---------------------------------------------------------------------------

def test_tcp_listening_and_closed_port(init_pyz):
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen(4)
    closed = closed_port()
    with listening, closed:
        port = listening.getsockname()[1]
        assert healthy(probe(init_pyz, "tcp:%d" % port)[0])
        assert healthy(probe(init_pyz, "tcp:127.0.0.1:%d" % port)[0])
        assert healthy(probe(init_pyz, "tcp:localhost:%d" % port)[0])
        shut = closed.getsockname()[1]
        assert unhealthy(probe(init_pyz, "tcp:127.0.0.1:%d" % shut)[0], "tcp:127.0.0.1:%d" % shut,
                         "connection refused (127.0.0.1:%d)" % shut)
        # PORT alone tries 127.0.0.1, then ::1: the reason is 127.0.0.1's.
        assert unhealthy(probe(init_pyz, "tcp:%d" % shut)[0], "tcp:%d" % shut,
                         "connection refused (127.0.0.1:%d)" % shut)


def ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError as error:
        pytest.skip("no IPv6 loopback: %s" % error.strerror)


def test_tcp_ipv6_in_brackets_and_port_alone_finds_a_server_on_ipv6_only(init_pyz):
    ipv6_loopback()
    listening = socket.socket(socket.AF_INET6)
    listening.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    listening.bind(("::1", 0))
    listening.listen(4)
    with listening:
        port = listening.getsockname()[1]
        assert healthy(probe(init_pyz, "tcp:[::1]:%d" % port)[0])
        assert healthy(probe(init_pyz, "tcp:%d" % port)[0])
        assert unhealthy(probe(init_pyz, "tcp:127.0.0.1:%d" % port)[0], "tcp:127.0.0.1:%d" % port,
                         "connection refused (127.0.0.1:%d)" % port)


# -- http --------------------------------------------------------------------------

@pytest.mark.parametrize("status", [200, 204, 302, 399])
def test_http_2xx_and_3xx_are_healthy(init_pyz, web, status):
    base, paths = web
    assert healthy(probe(init_pyz, "%s/%d" % (base, status))[0])
    assert paths == ["/%d" % status]     # a redirect is not followed


@pytest.mark.parametrize("status", [101, 400, 404, 500, 503])
def test_http_other_answers_are_unhealthy(init_pyz, web, status):
    base, paths = web
    url = "%s/%d?probe=1" % (base, status)
    assert unhealthy(probe(init_pyz, url)[0], url, "HTTP %d" % status)
    assert paths == ["/%d?probe=1" % status]


def test_http_without_a_path_asks_for_the_root(init_pyz, web):
    base, paths = web
    assert healthy(probe(init_pyz, base)[0])
    assert paths == ["/"]


def test_http_request_names_the_host_and_closes(init_pyz, raw):
    seen = []

    def answer(connection, stopping):
        seen.append(connection.recv(4096))
        connection.sendall(b"HTTP/1.0 200 OK\r\n\r\n")

    server = raw(answer)
    assert healthy(probe(init_pyz, "http://127.0.0.1:%d/h?x=1" % server.port)[0])
    request = seen[0].decode()
    assert request.startswith("GET /h?x=1 HTTP/1.1\r\n")
    assert "\r\nHost: 127.0.0.1:%d\r\n" % server.port in request
    assert "\r\nConnection: close\r\n" in request and request.endswith("\r\n\r\n")


def test_http_interim_answer_then_the_final_one(init_pyz, raw):
    def answer(connection, stopping):
        connection.recv(4096)
        connection.sendall(b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n")
        time.sleep(0.1)
        connection.sendall(b"HTTP/1.1 503 Service Unavailable\r\n\r\n")

    url = "http://127.0.0.1:%d/" % raw(answer).port
    assert unhealthy(probe(init_pyz, url)[0], url, "HTTP 503")


@pytest.mark.parametrize("reply, reason", [
    (b"SSH-2.0-OpenSSH_9.2\r\n", "not an HTTP answer: 'SSH-2.0-OpenSSH_9.2\\r'"),
    (b"HTTP/1.1 2xx OK\r\n\r\n", "not an HTTP answer: 'HTTP/1.1 2xx OK\\r'"),
    (b"", "the connection was closed before an HTTP answer"),
    (b"HTTP/1.1 20", "not an HTTP answer: 'HTTP/1.1 20'"),
])
def test_http_no_http_answer_is_unhealthy(init_pyz, raw, reply, reason):
    def answer(connection, stopping):
        connection.recv(4096)
        connection.sendall(reply)

    url = "http://127.0.0.1:%d/" % raw(answer).port
    assert unhealthy(probe(init_pyz, url)[0], url, reason)


def test_http_refused(init_pyz):
    with closed_port() as closed:
        url = "http://127.0.0.1:%d/healthz" % closed.getsockname()[1]
        assert unhealthy(probe(init_pyz, url)[0], url,
                         "connection refused (127.0.0.1:%d)" % closed.getsockname()[1])


def test_http_ipv6(init_pyz, raw):
    ipv6_loopback()

    def answer(connection, stopping):
        assert b"\r\nHost: [::1]:" in connection.recv(4096)
        connection.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")

    server = raw(answer, family=socket.AF_INET6, host="::1")
    assert healthy(probe(init_pyz, "http://[::1]:%d/" % server.port)[0])


# -- the time limit: always on ---------------------------------------------------------

def test_a_server_that_never_answers_ends_at_the_timeout(init_pyz, raw):
    url = "http://127.0.0.1:%d/healthz" % raw(silent).port
    result, took = probe(init_pyz, "--timeout", "1", url)
    assert unhealthy(result, url, "timed out after 1 s")
    # From before the interpreter started to after it ended: the limit, plus a start.
    assert 1.0 <= took < 2.5


def test_the_timeout_is_for_the_whole_check_not_each_read(init_pyz, raw):
    # Every read gets a byte in time; the whole status line takes 8 s.
    url = "http://127.0.0.1:%d/" % raw(dribble).port
    result, took = probe(init_pyz, "--timeout=1.5", url)
    assert unhealthy(result, url, "timed out after 1.5 s")
    assert 1.5 <= took < 3.0


def test_the_default_timeout_is_5_seconds(init_pyz, raw):
    url = "http://127.0.0.1:%d/" % raw(silent).port
    result, took = probe(init_pyz, url)
    assert unhealthy(result, url, "timed out after 5 s")
    assert 5.0 <= took < 6.5


def test_a_resolver_that_never_answers_ends_at_the_timeout(init_pyz, tmp_path):
    # The probe in a mount namespace whose resolv.conf names a DNS server on the
    # loopback that takes every query and answers none: getaddrinfo would wait for
    # its own timeouts (5 s a try); the probe ends at its limit all the same.
    silent_dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent_dns.bind(("127.0.9.53", 53))     # not 127.0.0.53: a local resolver's
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 127.0.9.53\noptions timeout:5 attempts:2\n")
    with silent_dns:
        command = ["unshare", "--mount", "sh", "-c",
                   'mount --bind "$1" /etc/resolv.conf && shift && exec "$@"', "sh",
                   str(resolv), str(init_pyz), "probe", "--timeout", "1",
                   "tcp:no-such-host.invalid:80"]
        began = time.monotonic()
        result = subprocess.run(command, capture_output=True, text=True, timeout=30,
                                env=CLEAN_ENV)
        took = time.monotonic() - began
    assert unhealthy(result, "tcp:no-such-host.invalid:80", "timed out after 1 s")
    assert 1.0 <= took < 2.5


def test_a_connection_nobody_accepts_ends_at_the_timeout(init_pyz):
    # A full backlog: the SYN is dropped and connect() waits. The listener takes one
    # pending connection; more are dropped once the queue (backlog + 1) is full.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(8):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        time.sleep(0.1)
        result, took = probe(init_pyz, "--timeout", "0.5", "tcp:%d" % port)
        assert unhealthy(result, "tcp:%d" % port, "timed out after 0.5 s")
        assert 0.5 <= took < 2.0
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


# -- file --------------------------------------------------------------------------

def test_file_present_and_missing(init_pyz, shared_dir, tmp_path):
    present = tmp_path / "ready"
    present.write_text("")
    assert healthy(probe(init_pyz, "file:%s" % present)[0])
    assert healthy(probe(init_pyz, "file:%s" % tmp_path)[0])   # a directory exists too
    missing = tmp_path / "not-yet"
    assert unhealthy(probe(init_pyz, "file:%s" % missing)[0], "file:%s" % missing,
                     "missing file %s" % missing)
    dangling = tmp_path / "dangling"
    dangling.symlink_to(missing)
    assert unhealthy(probe(init_pyz, "file:%s" % dangling)[0], "file:%s" % dangling,
                     "missing file %s" % dangling)
    # What the check names cannot make a second line, nor a line past one write.
    forged = "%s/x\n[initapp] healthy" % tmp_path
    result = probe(init_pyz, "file:" + forged)[0]
    assert unhealthy(result, "file:%s/x\\n[initapp] healthy" % tmp_path,
                     "missing file %s/x\\n[initapp] healthy" % tmp_path)
    long = "/" + "x" * 5000
    result = probe(init_pyz, "file:" + long)[0]
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert len(result.stderr) < 1000 and "..." in result.stderr


# -- exec --------------------------------------------------------------------------

def test_exec_ok_fail_and_signal(init_pyz, tmp_path):
    assert healthy(probe(init_pyz, "exec:true")[0])
    assert healthy(probe(init_pyz, "exec:sh -c 'exit 0'")[0])
    assert unhealthy(probe(init_pyz, "exec:false")[0], "exec:false", "exit code 1")
    assert unhealthy(probe(init_pyz, "exec:sh -c 'exit 3'")[0], "exec:sh -c 'exit 3'",
                     "exit code 3")
    check = "exec:%s -c 'import os; os.kill(os.getpid(), 9)'" % PYTHON
    assert unhealthy(probe(init_pyz, check)[0], check, "killed by SIGKILL")
    assert unhealthy(probe(init_pyz, "exec:no-such-program x")[0], "exec:no-such-program x",
                     "command not found: no-such-program")
    not_executable = tmp_path / "data"
    not_executable.write_text("exit 0\n")
    assert unhealthy(probe(init_pyz, "exec:%s" % not_executable)[0], "exec:%s" % not_executable,
                     "cannot run %s: permission denied" % not_executable)
    # An executable file without a #! line: sh runs it, as execvp would.
    script = tmp_path / "script"
    script.write_text("exit 4\n")
    script.chmod(0o755)
    assert unhealthy(probe(init_pyz, "exec:%s a b" % script)[0], "exec:%s a b" % script,
                     "exit code 4")


def test_exec_words_run_without_a_shell_and_shell_syntax_with_one(init_pyz, tmp_path):
    # The command's parent is the probe itself, or sh for shell syntax.
    parent = tmp_path / "parent"
    script = "import os; open(%r, 'w').write(open('/proc/%%d/comm' %% os.getppid()).read())" \
        % str(parent)
    assert healthy(probe(init_pyz, "exec:%s -c \"%s\"" % (PYTHON, script))[0])
    assert parent.read_text().strip() not in ("sh", "dash", "bash")
    assert healthy(probe(init_pyz, "exec:echo ok > %s/out && test -s %s/out"
                         % (tmp_path, tmp_path))[0])
    assert (tmp_path / "out").read_text() == "ok\n"


# What the command sees: its environment and signal state (grep's own, after the
# shell's exec: a waiting shell blocks signals of its own).
SEES = """
echo "$MARK" > "$1"
exec grep -E '^Sig(Blk|Ign):' /proc/self/status >> "$1"
"""


def test_exec_gets_the_environment_and_default_signals(init_pyz, tmp_path):
    script, out = tmp_path / "sees.sh", tmp_path / "sees"
    script.write_text(SEES)
    assert healthy(probe(init_pyz, "exec:sh %s %s" % (script, out),
                         env=dict(CLEAN_ENV, MARK="here"))[0])
    mark, blocked, ignored = out.read_text().splitlines()
    assert mark == "here"
    assert int(blocked.split()[1], 16) == 0   # not the init's every-signal-blocked start
    # SIGPIPE (13) and SIGXFSZ (25), which the probe's Python ignores, are at default.
    assert not int(ignored.split()[1], 16) & (1 << 12 | 1 << 24)


def kill_leftovers(*paths):
    for path in paths:
        try:
            pid = int(path.read_text())
        except (OSError, ValueError):
            continue
        if alive(pid):
            os.kill(pid, 9)


def test_a_command_that_hangs_is_killed_with_its_group_at_the_timeout(init_pyz, tmp_path):
    shell_pid, child_pid = tmp_path / "shell", tmp_path / "child"
    check = "exec:echo $$ > %s; sleep 60 & echo $! > %s; wait" % (shell_pid, child_pid)
    try:
        result, took = probe(init_pyz, "--timeout", "1", check)
        assert unhealthy(result, check, "timed out after 1 s (its process group was killed)")
        assert 1.0 <= took < 2.5
        # Both gone: the shell (reaped by the probe) and its child in its group.
        for path in (shell_pid, child_pid):
            pid = int(path.read_text())
            wait_for(lambda: not alive(pid), timeout=2, what="pid %d gone" % pid)
    finally:
        kill_leftovers(shell_pid, child_pid)


def test_a_command_that_left_its_group_is_killed_too(init_pyz, tmp_path):
    pid_file = tmp_path / "pid"
    check = "exec:%s -c \"import os, time; os.setpgid(0, 0); open('%s', 'w').write(str(" \
        "os.getpid())); time.sleep(60)\"" % (PYTHON, pid_file)
    try:
        result, took = probe(init_pyz, "--timeout", "1", check)
        assert result.returncode == 1 and 1.0 <= took < 2.5
        pid = int(pid_file.read_text())
        assert not alive(pid)
    finally:
        kill_leftovers(pid_file)


# -- as PID 1 ------------------------------------------------------------------------

def test_as_pid1_of_a_namespace(start, raw, tmp_path):
    # docker run --entrypoint /sbin/init IMAGE probe ...: the probe is PID 1 (no
    # signal's default action applies to it), and still ends at its limit.
    url = "http://127.0.0.1:%d/" % raw(silent).port
    for check in (url, "exec:sleep 60 & wait"):
        began = time.monotonic()
        init = start("probe", "--timeout", "1", check)
        assert init.wait() == 1
        assert 1.0 <= time.monotonic() - began < 2.5
        reason = "timed out after 1 s" + (" (its process group was killed)"
                                            if check.startswith("exec:") else "")
        assert init.stderr() == "[initapp] unhealthy: %s: %s\n" % (check, reason)
    (tmp_path / "ready").write_text("")
    assert start("probe", "file:%s" % (tmp_path / "ready")).wait() == 0


# -- as a user with no rights ------------------------------------------------------------

def test_as_a_user_without_rights(init_pyz, shared_dir, web, raw, tmp_path):
    base, _ = web
    assert healthy(probe(init_pyz, base + "/200", as_user=NOBODY)[0])
    assert unhealthy(probe(init_pyz, base + "/503", as_user=NOBODY)[0], base + "/503",
                     "HTTP 503")
    port = int(base.rsplit(":", 1)[1])
    assert healthy(probe(init_pyz, "tcp:%d" % port, as_user=NOBODY)[0])
    assert healthy(probe(init_pyz, "file:%s" % shared_dir, as_user=NOBODY)[0])
    # A file behind a directory the user may not enter: not "missing".
    secret = tmp_path / "private" / "ready"
    secret.parent.mkdir(mode=0o700)
    secret.write_text("")
    assert unhealthy(probe(init_pyz, "file:%s" % secret, as_user=NOBODY)[0], "file:%s" % secret,
                     "cannot look at %s: permission denied" % secret)
    url = "http://127.0.0.1:%d/" % raw(silent).port
    result, took = probe(init_pyz, "--timeout", "1", url, as_user=NOBODY)
    assert unhealthy(result, url, "timed out after 1 s") and 1.0 <= took < 2.5
    box = shared_dir / ("user-%d" % os.getpid())
    box.mkdir(mode=0o777, exist_ok=True)
    os.chmod(box, 0o777)
    check = "exec:echo $$ > %s/shell; exec sleep 60" % box
    try:
        result, took = probe(init_pyz, "--timeout", "1", check, as_user=NOBODY)
        assert unhealthy(result, check, "timed out after 1 s (its process group was killed)")
        pid = int((box / "shell").read_text())
        wait_for(lambda: not alive(pid), timeout=2, what="the user's command gone")
    finally:
        kill_leftovers(box / "shell")


# -- usage ---------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    ([], "no CHECK given (usage: init.pyz probe CHECK [--timeout SECONDS])"),
    (["bogus"], "not a check: 'bogus' (expected tcp:PORT, tcp:HOST:PORT, "
                "http://HOST:PORT/PATH, file:PATH or exec:COMMAND)"),
    (["tcp:1", "tcp:2"], "one CHECK at a time: 'tcp:1' and 'tcp:2'"),
    (["tcp:0"], "not a port from 1 to 65535: 'tcp:0'"),
    (["tcp:65536"], "not a port from 1 to 65535: 'tcp:65536'"),
    (["tcp:x"], "not a port from 1 to 65535: 'tcp:x'"),
    (["tcp:"], "not a port from 1 to 65535: 'tcp:'"),
    (["tcp:::1:80"], "an IPv6 address goes in brackets, as in tcp:[::1]:8080: 'tcp:::1:80'"),
    (["tcp:[::1]"], "not a port from 1 to 65535: 'tcp:[::1]'"),
    (["http://"], "not a host: 'http://'"),
    (["http://h:99999/"], "not a port from 1 to 65535: 'http://h:99999/'"),
    (["https://h/"], "https is not supported (no TLS): probe the plain-HTTP port: 'https://h/'"),
    (["http://u:p@h/"], "a user or password in the URL is not supported: 'http://u:p@h/'"),
    (["http://h/a b"], "a space or control character in the URL's path (percent-encode it): "
                       "'http://h/a b'"),
    (["file:"], "file: needs a path"),
    (["exec:"], "exec: empty command"),
    (["exec:echo 'a"], "exec: a ' quote is not closed: \"echo 'a\""),
    (["exec:a\nb'"], None),                       # shell syntax: sh decides
    (["--timeout"], "--timeout needs a value"),
    (["tcp:1", "--timeout", "0"], "--timeout must be more than 0 (a probe always has a time "
                                  "limit): '0'"),
    (["--timeout=-1", "tcp:1"], "--timeout: seconds must be between 0 and 1e9: '-1'"),
    (["--timeout", "soon", "tcp:1"], "--timeout: not a number of seconds: 'soon'"),
    (["--verbose", "tcp:1"], "unknown option: '--verbose'"),
    (["tcp:1\n[initapp] fine"], "not a port from 1 to 65535: 'tcp:1\\n[initapp] fine'"),
])
def test_usage_errors_exit_2_with_one_line(init_pyz, args, message):
    result, _ = probe(init_pyz, *args)
    if message is None:
        assert result.returncode != 2
        return
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "[initapp] error: probe: %s\n" % message


def test_timeout_before_or_after_the_check_inline_or_not(init_pyz, raw):
    url = "http://127.0.0.1:%d/" % raw(silent).port
    for args in (["--timeout", "0.5", url], [url, "--timeout=0.5"], ["--timeout=0.5", "--", url]):
        result, took = probe(init_pyz, *args)
        assert unhealthy(result, url, "timed out after 0.5 s"), args
        assert 0.5 <= took < 2.0, args


def test_help(init_pyz):
    result, _ = probe(init_pyz, "--help")
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.startswith("usage: init.pyz probe CHECK [--timeout SECONDS]\n")
    for word in ("tcp:PORT", "http://HOST", "file:PATH", "exec:COMMAND", "default 5"):
        assert word in result.stdout
    main_help = subprocess.run([str(init_pyz), "--help"], capture_output=True, text=True,
                               timeout=15)
    assert "init.pyz probe CHECK [--timeout SECONDS]" in main_help.stdout


def test_double_dash_probe_runs_a_program_named_probe(init_pyz, tmp_path):
    program = tmp_path / "probe"
    program.write_text("#!/bin/sh\necho \"a program named probe: $*\"\n")
    program.chmod(0o755)
    env = dict(CLEAN_ENV, PATH="%s:%s" % (tmp_path, CLEAN_ENV["PATH"]))
    result = subprocess.run([str(init_pyz), "--", "probe", "tcp:1"], env=env,
                            capture_output=True, text=True, timeout=30)
    assert (result.returncode, result.stdout) == (0, "a program named probe: tcp:1\n")


def test_a_check_imports_only_what_it_needs(init_pyz, tmp_path, raw):
    # -X importtime on the built archive: file: needs no socket; tcp: and http: the C
    # module _socket, not socket (enum, selectors) nor the IDNA codec (re); none
    # needs http.client or subprocess; only a name to look up starts a thread.
    def imported(check):
        result = subprocess.run([PYTHON, "-IS", "-X", "importtime", str(init_pyz), "probe",
                                 check], capture_output=True, text=True, timeout=15,
                                env=CLEAN_ENV)
        return {line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:") and "|" in line}

    heavy = {"socket", "threading", "http.client", "encodings.idna", "subprocess", "urllib"}
    present = tmp_path / "x"
    present.write_text("")
    for_file = imported("file:%s" % present)
    assert "initapp.checks" in for_file
    assert "_socket" not in for_file and not heavy & for_file
    for_tcp = imported("tcp:1")
    assert "_socket" in for_tcp and not heavy & for_tcp
    server = raw(lambda connection, stopping: connection.sendall(b"HTTP/1.1 200 OK\r\n\r\n"))
    for_http = imported("http://127.0.0.1:%d/" % server.port)
    assert "_socket" in for_http and not heavy & for_http
    for_name = imported("tcp:localhost:%d" % server.port)
    assert not heavy & for_name


# -- the grammar, unit by unit -------------------------------------------------------------

@pytest.mark.parametrize("text, fields", [
    ("tcp:8080", ("tcp", None, 8080, None)),
    ("tcp:db:5432", ("tcp", "db", 5432, None)),
    ("tcp:[::1]:80", ("tcp", "::1", 80, None)),
    ("http://127.0.0.1:8000/healthz", ("http", "127.0.0.1", 8000, "/healthz")),
    ("http://localhost/", ("http", "localhost", 80, "/")),
    ("http://web:81", ("http", "web", 81, "/")),
    ("http://web:81?ready", ("http", "web", 81, "/?ready")),
    ("http://[::1]:8000/a?b=c#frag", ("http", "::1", 8000, "/a?b=c")),
    ("http://[::1]/x", ("http", "::1", 80, "/x")),
    ("http://web#top", ("http", "web", 80, "/")),
    ("file:/run/ready", ("file", None, None, "/run/ready")),
    ("file:relative", ("file", None, None, "relative")),
])
def test_parse(text, fields):
    check = checks.parse(text)
    assert (check.kind, check.host, check.port, check.path) == fields
    assert check.text == text


def test_parse_exec_uses_the_command_rule():
    assert checks.parse("exec:pg_isready -q").argv == ["pg_isready", "-q"]
    assert checks.parse("exec:test -f /x || exit 1").argv == \
        ["/bin/sh", "-c", "test -f /x || exit 1"]


def test_run_in_process_returns_the_reason(tmp_path):
    assert checks.run(checks.parse("file:%s" % tmp_path), 1) == (True, "%s exists" % tmp_path)
    assert checks.run(checks.parse("exec:true"), 1) == (True, "exit code 0")
    began = time.monotonic()
    ok, reason = checks.run(checks.parse("exec:sleep 30"), 0.3)
    assert (ok, reason) == (False, "timed out after 0.3 s (its process group was killed)")
    assert 0.3 <= time.monotonic() - began < 1.5
