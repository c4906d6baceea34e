"""Checks that a workload is up: `init.pyz probe CHECK` runs one once; a process's
readiness can be told by the same grammar.

  tcp:PORT, tcp:HOST:PORT    a connection is accepted
  http://HOST[:PORT][/PATH]  the answer's status is 2xx or 3xx (not followed)
  file:PATH                  PATH exists
  exec:COMMAND               COMMAND exits 0 (initapp/command.py says how it runs)

parse() turns the text into a Check or raises ValueError with one line; run()
checks once within a time limit and returns (ok, reason), the reason one line.
The limit holds for the whole check, not each step: every connect, send and
receive gets what is left of it, a name is looked up in a thread that is left
behind at the limit, and a command still running then is killed with its process
group and reaped. run() blocks the calling thread up to that limit.

Each kind imports what it needs when it runs (_socket, the C module under
socket, for tcp and http; _thread only to look a name up; nothing for file): a
probe costs an interpreter's start and little more. HTTP is spoken over a plain
socket (one GET, HTTP/1.1, Connection: close; only the status line is waited
for): http.client would cost its email and parsing modules at every probe, and
reads with a timeout for each receive, not one for the whole."""

import errno
import os
import time

from initapp import command
from initapp.defaults import (
    CHECK_OUTPUT_BYTES, COMMAND_SHELL,
    MSG_CHECK_BAD_COMMAND, MSG_CHECK_BAD_HOST, MSG_CHECK_BAD_PATH, MSG_CHECK_BAD_PORT,
    MSG_CHECK_CANNOT_RUN, MSG_CHECK_COMMAND_TIMED_OUT, MSG_CHECK_CONNECT_FAILED,
    MSG_CHECK_CONNECTED, MSG_CHECK_EMPTY_PATH, MSG_CHECK_EXIT, MSG_CHECK_FILE_EXISTS,
    MSG_CHECK_FILE_MISSING, MSG_CHECK_FILE_UNREADABLE, MSG_CHECK_HTTP_CLOSED,
    MSG_CHECK_HTTP_FAILED, MSG_CHECK_HTTP_STATUS, MSG_CHECK_HTTPS, MSG_CHECK_IPV6_BRACKETS,
    MSG_CHECK_KILLED, MSG_CHECK_NO_SHELL, MSG_CHECK_NOT_FOUND, MSG_CHECK_NOT_HTTP,
    MSG_CHECK_TIMED_OUT, MSG_CHECK_UNKNOWN, MSG_CHECK_UNRESOLVED, MSG_CHECK_USERINFO,
    PROBE_HTTP_HEAD_BYTES, PROBE_POLL_SECONDS, PROCESS_NAME_VARIABLE, READY_POLL_SECONDS)
from initapp.log import clip, printable, quoted

# tcp:PORT: the loopback addresses, in this order; no name is looked up.
LOCAL_HOSTS = ("127.0.0.1", "::1")


class Check:
    """kind: "tcp", "http", "file" or "exec"; text: as given."""

    def __init__(self, kind, text, host=None, port=None, path=None, argv=None):
        self.kind, self.text = kind, text
        self.host, self.port, self.path, self.argv = host, port, path, argv

    def __repr__(self):
        return "Check(%r)" % self.text


class TimedOut(Exception):
    pass


# -- the grammar --------------------------------------------------------------------

def parse(text):
    """A Check from its text; ValueError with one line saying what is wrong."""
    kind, colon, rest = text.partition(":")
    if kind == "tcp" and colon:
        host, port = _host_port(rest, text, default_port=None)
        return Check("tcp", text, host=host, port=port)
    if kind == "http" and rest.startswith("//"):
        return _parse_http(rest[2:], text)
    if kind == "https" and rest.startswith("//"):
        raise ValueError(MSG_CHECK_HTTPS.format(text=quoted(text)))
    if kind == "file" and colon:
        if not rest:
            raise ValueError(MSG_CHECK_EMPTY_PATH)
        return Check("file", text, path=rest)
    if kind == "exec" and colon:
        try:
            argv = command.argv(rest)
        except ValueError as error:
            said = "%s: %s" % (error, quoted(rest)) if rest.strip(command.BLANKS) else error
            raise ValueError(MSG_CHECK_BAD_COMMAND.format(error=said))
        return Check("exec", text, argv=argv)
    raise ValueError(MSG_CHECK_UNKNOWN.format(text=quoted(text)))


def _parse_http(rest, text):
    authority, slash, path = rest.partition("#")[0].partition("/")
    path = slash + path or "/"
    if authority.find("?") >= 0:   # http://host:port?query: the path is empty
        authority, _, query = authority.partition("?")
        path = "/?" + query
    if "@" in authority:
        raise ValueError(MSG_CHECK_USERINFO.format(text=quoted(text)))
    if any(char <= " " or char >= "\x7f" for char in path):
        raise ValueError(MSG_CHECK_BAD_PATH.format(text=quoted(text)))
    host, port = _host_port(authority, text, default_port=80)
    return Check("http", text, host=host, port=port, path=path)


def _host_port(text, whole, default_port):
    """(host, port) from HOST:PORT, [IPV6]:PORT or, for tcp:, PORT alone (host None).
    With a default port (http), :PORT may be left out."""
    if text.startswith("["):
        host, bracket, after = text[1:].partition("]")
        if not bracket or ":" not in host or any(char <= " " or char >= "\x7f" for char in host):
            raise ValueError(MSG_CHECK_BAD_HOST.format(text=quoted(whole)))
        if not after and default_port is not None:
            return host, default_port
        if not after.startswith(":"):
            raise ValueError(MSG_CHECK_BAD_PORT.format(text=quoted(whole)))
        return host, _port(after[1:], whole)
    host, colon, port = text.rpartition(":")
    if not colon:
        if default_port is None:
            return None, _port(text, whole)       # tcp:PORT
        host, port = text, None
    if ":" in host:
        raise ValueError(MSG_CHECK_IPV6_BRACKETS.format(text=quoted(whole)))
    if not host or any(char <= " " or char >= "\x7f" for char in host):
        raise ValueError(MSG_CHECK_BAD_HOST.format(text=quoted(whole)))
    return host, default_port if port is None else _port(port, whole)


def _port(text, whole):
    if not (text.isascii() and text.isdigit() and 0 < int(text) < 65536):
        raise ValueError(MSG_CHECK_BAD_PORT.format(text=quoted(whole)))
    return int(text)


# -- running a check ----------------------------------------------------------------

def run(check, timeout):
    """Check once, within timeout seconds in all: (ok, reason)."""
    deadline = time.monotonic() + timeout
    try:
        return _RUNNERS[check.kind](check, deadline)
    except TimedOut:
        if check.kind == "exec":
            return False, MSG_CHECK_COMMAND_TIMED_OUT.format(seconds=timeout)
        return False, MSG_CHECK_TIMED_OUT.format(seconds=timeout)


def _left(deadline):
    """The seconds left before the deadline; TimedOut when none are."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimedOut
    return left


def _strerror(error):
    text = error.strerror or str(error)
    return text[:1].lower() + text[1:]


def _net():
    """The C module socket.py wraps: the same calls and constants, without the enum
    and selectors modules socket imports (milliseconds at every probe)."""
    try:
        import _socket as net
    except ImportError:  # pragma: no cover - other Python implementations
        import socket as net
    return net


def _addresses(host, port, deadline):
    """[(family, sockaddr)] to try, or raise ValueError(reason). An address as
    text is taken as it is; a name is looked up in a thread of its own, since
    getaddrinfo has no timeout (a resolver that never answers). Hosts are ASCII
    (parse() says so), passed as bytes: no IDNA codec (and re) to import."""
    net = _net()
    candidates = LOCAL_HOSTS if host is None else (host,)
    found = []
    for candidate in candidates:
        try:
            found += net.getaddrinfo(candidate.encode("ascii"), port, 0, net.SOCK_STREAM, 0,
                                     net.AI_NUMERICHOST)
        except net.gaierror:
            if host is None:
                continue        # no IPv6 here: 127.0.0.1 alone
            found = _lookup(host, port, deadline)
    return [(family, address) for family, _, _, _, address in found]


def _lookup(host, port, deadline):
    import _thread

    net = _net()
    answer = []
    done = _thread.allocate_lock()
    done.acquire()

    def look_up():
        try:
            answer.append(net.getaddrinfo(host.encode("ascii"), port, 0, net.SOCK_STREAM))
        except OSError as error:
            answer.append(error)
        finally:
            done.release()

    # A thread of _thread's: one still looking up when the check ends does not hold
    # the probe's exit.
    _thread.start_new_thread(look_up, ())
    if not done.acquire(True, _left(deadline)):
        raise TimedOut
    if isinstance(answer[0], Exception):
        raise ValueError(MSG_CHECK_UNRESOLVED.format(host=clip(host), error=_strerror(answer[0])))
    return answer[0]


def _show(family, address):
    host, port = address[:2]
    return "[%s]:%d" % (host, port) if family == _net().AF_INET6 else "%s:%d" % (host, port)


def _connect(check, deadline):
    """(a connected socket, its address shown), or raise ValueError with the first
    address's error (tcp:PORT: 127.0.0.1's, not that of a host without IPv6)."""
    net = _net()
    reason = "no address to connect to"
    first = True
    for family, address in _addresses(check.host, check.port, deadline):
        sock = None
        try:
            sock = net.socket(family, net.SOCK_STREAM)
            sock.settimeout(_left(deadline))
            sock.connect(address)
            return sock, _show(family, address)
        except net.timeout:
            sock.close()
            raise TimedOut
        except OSError as error:
            if sock is not None:
                sock.close()
            if first:
                first = False
                reason = MSG_CHECK_CONNECT_FAILED.format(error=_strerror(error),
                                                         address=_show(family, address))
        except BaseException:
            if sock is not None:
                sock.close()
            raise
    raise ValueError(reason)


def _tcp(check, deadline):
    try:
        sock, address = _connect(check, deadline)
    except ValueError as error:
        return False, str(error)
    sock.close()
    return True, MSG_CHECK_CONNECTED.format(address=address)


def _http(check, deadline):
    try:
        sock, _ = _connect(check, deadline)
    except ValueError as error:
        return False, str(error)
    try:
        host = "[%s]" % check.host if ":" in check.host else check.host
        sock.settimeout(_left(deadline))
        sock.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: initapp-probe\r\n"
                      "Accept: */*\r\nConnection: close\r\n\r\n"
                      % (check.path, host, check.port)).encode("ascii"))
        status = _status(sock, deadline)
    except ValueError as error:
        return False, str(error)
    except OSError as error:
        if _is_timeout(error):
            raise TimedOut
        return False, MSG_CHECK_HTTP_FAILED.format(error=_strerror(error))
    finally:
        sock.close()
    return 200 <= status < 400, MSG_CHECK_HTTP_STATUS.format(status=status)


def _is_timeout(error):
    return isinstance(error, _net().timeout)


def _status(sock, deadline):
    """The answer's final status code, from its status line (an interim 1xx answer
    is skipped up to its blank line). What else has already come is read too, so
    that closing sends no reset to a server still writing. ValueError(reason) when
    no HTTP answer comes."""
    data = b""
    while True:
        if not b"HTTP/".startswith(data[:5]):
            raise ValueError(MSG_CHECK_NOT_HTTP.format(start=_start(data)))
        line_end = data.find(b"\n")
        if line_end >= 0:
            status = _status_code(data[:line_end], data)
            if not (100 <= status < 200 and status != 101):
                break
            # 100 Continue, 103 Early Hints: the final answer follows the blank line.
            ends = [data.find(end) + len(end) for end in (b"\n\r\n", b"\n\n") if end in data]
            if ends:
                data = data[min(ends):]
                continue
        if len(data) > PROBE_HTTP_HEAD_BYTES:
            raise ValueError(MSG_CHECK_NOT_HTTP.format(start=_start(data)))
        sock.settimeout(_left(deadline))
        chunk = sock.recv(PROBE_HTTP_HEAD_BYTES)
        if not chunk:
            raise ValueError(MSG_CHECK_NOT_HTTP.format(start=_start(data)) if data
                             else MSG_CHECK_HTTP_CLOSED)
        data += chunk
    sock.setblocking(False)
    try:
        for _ in range(16):     # a body streamed without end is not read to its end
            if not sock.recv(PROBE_HTTP_HEAD_BYTES):
                break
    except OSError:
        pass        # nothing more has come yet
    return status


def _status_code(line, data):
    """The code of a status line, HTTP/1.1 200 OK."""
    parts = line.split(None, 2)
    if len(parts) < 2 or len(parts[1]) != 3 or not parts[1].isdigit():
        raise ValueError(MSG_CHECK_NOT_HTTP.format(start=_start(data)))
    return int(parts[1])


def _start(data):
    """The first line of what a server sent, as a message may quote it."""
    return quoted(clip(data.split(b"\n", 1)[0].decode("ascii", "backslashreplace"), 60))


def _file(check, deadline):
    path = printable(clip(check.path))
    try:
        os.stat(check.path)
    except FileNotFoundError:
        return False, MSG_CHECK_FILE_MISSING.format(path=path)
    except OSError as error:
        return False, MSG_CHECK_FILE_UNREADABLE.format(path=path, error=_strerror(error))
    return True, MSG_CHECK_FILE_EXISTS.format(path=path)


def _exec(check, deadline):
    """Run the command in a process group of its own; at the deadline, SIGKILL the
    group and the command itself (it may have left the group), then reap it."""
    argv = check.argv
    try:
        try:
            pid = _spawn(argv)
        except OSError as error:
            if error.errno != errno.ENOEXEC:
                raise
            # An executable file without a #! line: the shell runs it, as execvp
            # and every shell do (posix_spawnp does not); without a shell, the
            # file's own error stands.
            try:
                pid = _spawn([COMMAND_SHELL, "-c", 'exec "$0" "$@"'] + argv)
            except FileNotFoundError:
                raise error from None
    except OSError as error:
        if isinstance(error, FileNotFoundError) and command.uses_shell(argv):
            return False, MSG_CHECK_NO_SHELL.format(shell=argv[0])
        if isinstance(error, FileNotFoundError):
            return False, MSG_CHECK_NOT_FOUND.format(cmd=printable(clip(argv[0])))
        return False, MSG_CHECK_CANNOT_RUN.format(cmd=printable(clip(argv[0])),
                                                  error=_strerror(error))
    pause, longest = PROBE_POLL_SECONDS
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        left = deadline - time.monotonic()
        if left <= 0:
            _kill_group(pid)
            os.waitpid(pid, 0)
            raise TimedOut
        time.sleep(min(pause, left))
        pause = min(pause * 2, longest)
    return outcome(status)


def outcome(status):
    """(ok, reason) of a command's wait status."""
    from initapp import signals

    if os.WIFSIGNALED(status):
        return False, MSG_CHECK_KILLED.format(signal=signals.name(os.WTERMSIG(status)))
    code = os.WEXITSTATUS(status)
    return code == 0, MSG_CHECK_EXIT.format(code=code)


def _spawn(argv):
    from initapp import signals

    # setsigdef: what Python itself ignores (SIGPIPE, SIGXFSZ) is at default in the
    # command, as in any program a shell starts.
    return os.posix_spawnp(argv[0], argv, os.environ, setpgroup=0,
                           setsigdef=tuple(signals.PYTHON_IGNORED))


def _kill_group(pid):
    from initapp import signals

    for kill, target in ((os.killpg, pid), (os.kill, pid)):
        try:
            kill(target, signals.SIGKILL)
        except ProcessLookupError:
            pass        # nobody left there to kill


_RUNNERS = {"tcp": _tcp, "http": _http, "file": _file, "exec": _exec}


# -- --ready exec: of initapp's several processes -------------------------------------

def start_command(argv, launch):
    """Start a --ready exec: command as the process it checks is started (launch,
    the processes' spawn.Launch): the signal state initapp was started with, a
    process group of its own, --user, --workdir, the environment with --env; not
    INITAPP_PROCESS_NAME (it tells the processes themselves apart, for inspect).
    Its stdin is empty (the processes' input is theirs), its stdout and stderr one
    pipe whose end an Output keeps: nothing of it reaches initapp's output.
    Returns (pid, Output); raises OSError (no pipe, no process)."""
    from initapp import spawn

    changes = dict(launch.env_changes)
    changes[PROCESS_NAME_VARIABLE] = None
    child = spawn.Launch(argv, launch.inherited, credentials=launch.credentials,
                         workdir=launch.workdir, env_changes=changes, names=launch.names)
    child.rewrite_listen_pid = False      # socket activation is the processes' only
    output = Output()
    try:
        empty, nothing = os.pipe()        # an empty stdin: EOF at once, with or without /dev
        os.close(nothing)
        try:
            child.stdio, child.stdin = (output.write_end, output.write_end), empty
            pid = spawn.spawn(child)
        finally:
            os.close(empty)
    except BaseException:
        output.close()
        raise
    output.start()
    return pid, output


class Output:
    """The end of what a command writes. A thread of its own (every signal
    blocked) reads the pipe as it fills and keeps the last CHECK_OUTPUT_BYTES:
    the command never waits on a full pipe, and initapp's loop never reads it
    but once, when the command has been reaped (collect()), what is left in the
    pipe (a bounded read, under the lock the thread holds only while it reads)."""

    def __init__(self):
        import threading

        self.read_end, self.write_end = os.pipe()     # close-on-exec in initapp
        os.set_blocking(self.read_end, False)
        self.tail = b""
        self.done = False       # read to its end, or collected: the thread closes the pipe
        self.reason = None      # why it failed, when its wait status cannot tell (its limit)
        self.owner = None       # what its caller started it for (procs: the run it checks)
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="initapp-check-output",
                                        daemon=True)

    def start(self):
        """The command has its copy of the write end: close initapp's (the pipe
        ends with the command and what it left running), and start reading."""
        from initapp import signals

        os.close(self.write_end)
        mask = signals.block_all_in_thread()
        try:
            self._thread.start()
        except RuntimeError:    # no thread to be had: the pipe is read by collect() only
            self._thread = None
        finally:
            signals.restore_thread_mask(mask)

    def close(self):
        """The command never started: no thread, both ends closed here."""
        os.close(self.read_end)
        os.close(self.write_end)

    def collect(self):
        """The command was reaped: what it wrote is read or in the pipe. Read the
        rest (a process it left behind may still write: not waited for) and let
        the thread end. The last line written, shown, or None."""
        with self._lock:
            if not self.done:
                self._read()
                self.done = True
                if self._thread is None:
                    os.close(self.read_end)
        return self.last_line()

    def last_line(self):
        lines = [line for line in self.tail.split(b"\n") if line.strip()]
        return quoted(os.fsdecode(lines[-1].strip())) if lines else None

    def _run(self):
        import select

        poller = select.poll()
        poller.register(self.read_end, select.POLLIN)
        try:
            while True:
                # Wakes at data or at the pipe's end; at the latest after a poll
                # interval, to see whether collect() has taken over (a process the
                # command left holding the pipe must not keep this thread).
                poller.poll(READY_POLL_SECONDS * 1000)
                with self._lock:
                    if self.done or not self._read():
                        self.done = True
                        break
        finally:
            os.close(self.read_end)

    def _read(self):
        """Read what the pipe holds (at most 16 reads: a writer that never stops
        does not keep the caller); False at its end."""
        for _ in range(16):
            try:
                data = os.read(self.read_end, 65536)
            except BlockingIOError:
                return True
            except OSError:
                data = b""
            if not data:
                return False
            self.tail = (self.tail + data)[-CHECK_OUTPUT_BYTES:]
        return True
