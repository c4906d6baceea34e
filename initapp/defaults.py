"""Every user-visible default, exit code and message of initapp, in one place."""

# Exit codes initapp itself chooses (the workload's own codes pass through unchanged).
EXIT_USAGE = 2          # bad option or value: nothing was started
EXIT_INTERNAL = 1       # the workload could not be started: fork failed, or the child
                        # could not take its --user or enter its --workdir
EXIT_NOT_FOUND = 127    # the command does not exist (the shell's convention)
EXIT_CANNOT_EXEC = 126  # the command exists but cannot be executed
EXIT_INSTALL_FAILED = 1  # initapp install wrote nothing to PATH (2: a usage error)
SIGNAL_EXIT_BASE = 128  # a workload killed by signal N exits 128+N
# --timeout stopped the workload: coreutils timeout's code, which scripts and CI
# systems already read as "timed out" (the workload's own code cannot be 124 and
# mean that, since it never chose to end).
EXIT_TIMEOUT = 124
# The main child was still alive KILL_WAIT_SECONDS after SIGKILL (uninterruptible
# sleep, a frozen cgroup): initapp exits as if it had died of SIGKILL.
EXIT_UNREAPED = SIGNAL_EXIT_BASE + 9

# Shutdown: one deadline for the whole tree. docker stop and podman stop SIGKILL
# after 10 s; 8 s leaves the engine's clock, initapp's SIGKILL and the reaping
# time inside that window, so the engine never has to kill initapp itself.
GRACE_SECONDS = 8.0
# After SIGKILL, processes die as soon as the kernel runs them; a process stuck in
# uninterruptible sleep may not. This bounds how long initapp waits for such a one.
KILL_WAIT_SECONDS = 2.0
# While killing after the deadline, how often to look again for processes forked
# in the meantime (only when initapp is not PID 1 and cannot use kill(-1)).
KILL_RETRY_SECONDS = 0.05
# Not PID 1, the kill at the deadline first stops every process of the tree, scan
# after scan, until one finds none it has not stopped; this bounds the scans of one
# pass (what is left is found by the next pass, KILL_RETRY_SECONDS later).
FREEZE_SCANS = 200
# Messages that name processes (the deadline's, the give-up's, the exit summary)
# name at most this many, each command cut to this many characters.
LIST_PROCESSES = 10
LIST_COMMAND_CHARS = 80

# The signals that start the stop sequence (deadline, SIGTERM to what is left, SIGKILL
# at the deadline): the engines' stop signal only. podman's 37 counts as SIGTERM.
# Every other signal (INT, QUIT for a thread dump, HUP, ...) is only forwarded: the
# workload decides what it means. --stop-signal replaces this set.
STOP_SIGNAL_NAMES = ("SIGTERM",)
# In --session mode (dumb-init's), a terminal's stop request stops the child's group;
# with --session or -c initapp then stops itself, so the shell that started it
# regains control (SIGCONT resumes both).
JOB_CONTROL_SIGNAL_NAMES = ("SIGTSTP", "SIGTTIN", "SIGTTOU")

LOG_PREFIX = "[initapp]"
# A pipe takes a write of up to PIPE_BUF bytes whole or not at all; a longer one it
# may take in part, and the workload's output on the same stderr then lands inside
# the line. So a message is one write of at most PIPE_BUF bytes: a line is at most
# LOG_LINE_BYTES, which leaves room for the "dropped" notice written with it.
PIPE_BUF = 4096
LOG_LINE_BYTES = PIPE_BUF - 256
# A name or value a message quotes (a command, a path, a bad option's value) is cut
# to this many characters, the cut marked with "...". A JSON line still too long has
# its strings cut to LOG_FIELD_BYTES, a list of strings to twice that, and so on by
# halves until it fits.
LOG_NAME_CHARS = 200
LOG_FIELD_BYTES = 512

# The log relay of several processes (initapp/relay.py): each line a process
# writes, prefixed with its name padded to the longest and this separator
# ("web    | "). A line longer than RELAY_LINE_BYTES is written in pieces of that
# size, each prefixed: a line is kept whole up to this size, and the relay holds
# at most this much of an unfinished line a process. A pipe is read at most
# RELAY_READ_BYTES at a time (a Linux pipe holds 64 KiB by default).
RELAY_SEPARATOR = b" | "
RELAY_LINE_BYTES = 65536
RELAY_READ_BYTES = 65536
MSG_RELAY_LOST = "cannot write the processes' output to {output} ({error}): {count} bytes lost"

USAGE = """\
usage: init.pyz [OPTIONS] [--] COMMAND [ARG...]
       init.pyz inspect [--json] [PID]    explain a PID 1 (default 1) from /proc
       init.pyz probe CHECK [--timeout SECONDS]
                                          check once that the workload is healthy
                                          (exit 0, or 1 and why; see probe --help)
       init.pyz install [--python INTERPRETER] [--force] PATH
                                          write this archive to PATH for a Python

Run COMMAND as the child of a container init: forward signals to it, reap
zombies, stop the whole process tree gracefully, and exit with its status.

options:
{options}
Every option can also be set by the environment variable shown; a flag wins
over its variable. tini's and dumb-init's variables are read too, below those:
TINI_SUBREAPER, TINI_KILL_PROCESS_GROUP, TINI_VERBOSITY, DUMB_INIT_SETSID,
DUMB_INIT_DEBUG. Signals are names (TERM, SIGTERM, RTMIN+3) or numbers. Every
option, its values and the precedence rules: docs/options.md in initapp's
source, or on its project page.
exit codes: the command's own; 128+N if it died of signal N; 127 command not
found; 126 command not executable; 124 --timeout stopped it; 137 it could not
be reaped after SIGKILL; 2 usage error (nothing started); 1 initapp could not
start it (fork failed, or the child could not become --user or enter --workdir).
A --pre-start script that fails ends initapp with its code (128+N if it died of
signal N), and a bad line it wrote to $INITAPP_ENV_FILE with 2.
"""

MSG_NOT_STOPPING = "not stopping with the child: no job-control shell could resume initapp"
INSTALL_USAGE = """\
usage: initapp install [--python INTERPRETER] [--force] PATH
       (also init.pyz install ..., python3 -m initapp install ...)

Write initapp's archive to PATH as an executable file whose first line is
#!INTERPRETER -IS, with bytecode for INTERPRETER's version (compiled by it now
if the archive has none). The file is written beside PATH, run with --version,
then renamed over PATH.
  --python INTERPRETER  the absolute path PATH starts with (default: the Python
                        running this command, by its real path)
  --force               replace PATH even if it is not an initapp archive
exit codes: 0 installed; 2 usage error; 1 PATH left as it was (the reason on
stderr).
"""
MSG_INSTALL_USAGE = "{error} (usage: initapp install [--python INTERPRETER] [--force] PATH)"
MSG_INSTALL_NO_PYTHON_VALUE = "--python needs an interpreter"
MSG_INSTALL_BAD_PYTHON = "--python: the shebang needs an absolute path without spaces: {python!r}"
MSG_INSTALL_NO_EXECUTABLE = "this Python does not know its own path: name it with --python"
MSG_INSTALL_UNREADABLE = "cannot read the archive {archive}: {error}"
MSG_INSTALL_IS_DIRECTORY = "{path} is a directory"
MSG_INSTALL_CANNOT_COMPILE = "{python} cannot compile the archive's sources: {error}"
MSG_INSTALL_NO_ANSWER = "{what}: no answer in {seconds} s"
MSG_INSTALL_FAILED_RUN = "{what}: exit {code}{last}"
MSG_INSTALL_PRINTED = "{what}: it printed {output!r}"
MSG_INSTALL_NO_ARCHIVE = ("the package in {package} carries no archive to install (in a "
                          "checkout, make dist puts one there)")
MSG_INSTALL_DIRECTORY = "cannot write {path}: {directory} is not a directory"
MSG_INSTALL_NOT_OURS = "{path} exists and is not an initapp archive (--force replaces it)"
MSG_INSTALL_BUSYBOX = ("{path} is a link to {target}: on Alpine /sbin/init is busybox, the "
                       "program behind /bin/sh and every other command; --force replaces the "
                       "link (busybox stays), or install to /usr/local/sbin/init")
MSG_INSTALL_PYTHON = "cannot run {python}"
MSG_INSTALL_OLD_PYTHON = "{python} is Python {version}; initapp needs Python 3.8 or newer"
MSG_INSTALL_WRITE = "cannot write {path}: {error}"
MSG_INSTALL_CHECK = "the new file (#!{interpreter} -IS) did not run; {path} is unchanged"
MSG_INSTALL_DONE = ("installed {path}: #!{interpreter} -IS (Python {version}), from {source}; "
                    "that version's bytecode {bytecode}")
# --version's second line: the versions with bytecode in the archive.
MSG_VERSION_ARCHIVE = "bytecode for CPython {versions}; any other version runs the sources"
MSG_VERSION_PACKAGE = ("run from the package in {package}; initapp install writes an archive "
                       "with bytecode for CPython {versions}")
MSG_VERSION_NO_ARCHIVE = ("run from the package in {package}; it has no archive to install "
                          "(make dist puts one there)")
MSG_VERSION_UNREADABLE = "cannot read the archive: {error}"
MSG_NOT_FOUND = "{cmd}: command not found"
MSG_CANNOT_EXEC = "{cmd}: cannot execute: {error}"
MSG_SETUP_FAILED = "cannot start {cmd}: {what}: {error}"
MSG_UNNAMED_ENV = ("an environment entry with an empty name ({entry}) cannot be passed to "
                   "the child: left out")
MSG_FORK_FAILED = "cannot start {cmd}: {error}"
MSG_EMPTY_ITEM = "{where}: an empty item in {value} (a comma too many?)"
MSG_NO_COMMAND = "no command given (usage: init.pyz [OPTIONS] [--] COMMAND [ARG...])"
# The oldest CPython initapp runs on (signal.valid_signals and the rest of its
# standard library). The archive's __main__ checks it first, in code an older
# Python (2.7, 3.0 to 3.7) still parses: tools/finish_pyz.py copies both values
# in. An older interpreter gets this line and EXIT_USAGE, with nothing started.
MIN_PYTHON = (3, 8)
MSG_UNSUPPORTED_PYTHON = "initapp needs Python 3.8 or newer; this is Python {version}"
MSG_SUBREAPER_FAILED = ("cannot become a child subreaper ({error}); orphans of the workload "
                        "will not be reaped by initapp")
MSG_BAD_PROC = ("/proc does not belong to this PID namespace; signals to the whole tree reach "
                "only the main child's process group")
MSG_BAD_PROC_PID1 = ("/proc does not belong to this PID namespace; signals to the whole tree go "
                     "to every process of the namespace at once (kill -1), stopped or not")
# A bad --user or --workdir names the flag as typed (-u, --user) or the variable.
MSG_BAD_USER = "{where}: {error}"
MSG_BAD_WORKDIR = "{where}: not a directory: {dir}"
MSG_PDEATHSIG_FAILED = "cannot set the parent death signal ({error})"
# --file-env NAME: NAME from the file $NAME_FILE names. The largest value one
# environment variable can hold: Linux's MAX_ARG_STRLEN, which counts NAME=, the
# value and its NUL; a larger file is refused, so a path to an endless file
# (/dev/zero) reads no further than this. No message ever shows a value read.
ENV_ENTRY_BYTES = 131072
FILE_ENV_SUFFIX = "_FILE"
MSG_FILE_ENV_BOTH = "--file-env {name}: {name} is set, and so is {file}={path}: set only one"
MSG_FILE_ENV_NEITHER = "--file-env {name}: neither {name} nor {file} is set"
MSG_FILE_ENV_UNREADABLE = "--file-env {name}: cannot read {file}={path}: {error}"
MSG_FILE_ENV_NUL = ("--file-env {name}: {file}={path} holds a NUL byte, which no environment "
                    "variable can hold")
MSG_FILE_ENV_TOO_BIG = ("--file-env {name}: {file}={path} holds more than the {limit} bytes one "
                        "environment variable can hold")
MSG_FILE_ENV_SET = "set {name} from {file}={path} ({size} bytes)"
# --pre-start PATH: scripts run one after another before the command. Each hands
# variables on by writing NAME=VALUE lines to the file $INITAPP_ENV_FILE names: a
# memfd (no file system, so a read-only root works), as /proc/self/fd/N.
ENV_FILE_VARIABLE = "INITAPP_ENV_FILE"
ENV_FILE_PATH = "/proc/self/fd/{fd}"
# What one script may write there; more is refused (exit 2), as the environment
# could not hold it anyway (ARG_MAX is 2 MiB with an 8 MiB stack).
ENV_FILE_BYTES = 1048576
MSG_PRE_START_UNUSABLE = "{where}: {path}: {error}"
MSG_PRE_START_BAD = "{where}: {path} is {why}: expected a directory or an executable file"
MSG_PRE_START_SKIPPED = "--pre-start: skipping {path}: {why}"
MSG_PRE_START_RUNNING = "running pre-start script {script} as pid {pid}"
MSG_PRE_START_SCRIPT = "pre-start script {script} (pid {pid})"
MSG_PRE_START_FAILED = "{why}: not starting {command}"
MSG_PRE_START_STOPPED = "{why}: stopping, so {command} is not started"
MSG_PRE_START_STOP_SIGNAL = "{why} after {signal}"
MSG_PRE_START_HANDED = "pre-start script {script} hands on {names}"
MSG_ENV_FILE_BAD = "{script}: line {line} of $INITAPP_ENV_FILE {why}"
MSG_ENV_FILE_TOO_BIG = "{script}: $INITAPP_ENV_FILE holds more than {limit} bytes"
MSG_ENV_FILE_FAILED = "cannot make the file for $INITAPP_ENV_FILE ({error}): no pre-start script ran"
MSG_SCRIPT_FORK_FAILED = "cannot start pre-start script {script}: {error}"
MSG_SCRIPT_UNREAPED = "{who} could not be reaped after SIGKILL"
MSG_FORCED = "{signal} again (--force-on-repeat): killing {what}"
MSG_EXIT = "exiting with {code} ({why})"
MSG_SUMMARY_KILLED = "killed at the deadline: {processes}"
MSG_SUMMARY_FORCED = "killed on {signal} again (--force-on-repeat): {processes}"
MSG_DEADLINE = "grace period of {seconds:g}s is over; killing {what}"
MSG_DROPPED = "{count} message(s) dropped: stderr was full"
MSG_DEADLINE_ALIVE = "{count} process(es) still alive: {processes}"
MSG_DEADLINE_UNKNOWN = "every process left"
MSG_GAVE_UP = ("{count} process(es) still alive {seconds:g}s after SIGKILL, exiting without "
               "them: {processes}")
MSG_GAVE_UP_UNKNOWN = "processes still alive {seconds:g}s after SIGKILL; exiting without them"
MSG_UNREAPED = "main child {pid} ({command}) could not be reaped after SIGKILL"
MSG_TIME_LIMIT = "time limit of {seconds:g}s reached"
MSG_TIMED_OUT = "stopped by --timeout {seconds:g}s: {why}"
MSG_OOM = "{who} was killed by the kernel's OOM killer ({limit})"
MSG_OOM_TREE = ("{who} exited with {code} after the kernel's OOM killer killed a process of "
                "the tree ({limit})")
MSG_MAIN = "main child {pid} ({command})"
MSG_HOOK_CANNOT_START = "cannot start the {hook} hook: {error}"
MSG_HOOK_ENDED = "the {hook} hook (pid {pid}) {what}"
MSG_HOOK_KILLED = "the {hook} hook (pid {pid}) is still running at its time limit: killed"
MSG_HOOK_SKIPPED = "the {hook} hook is not run: {why}"
MSG_POST_STOP_NO_TIME = "the grace period is over"
MSG_POST_STOP_STOP = "running the post-stop hook"
# --pre-stop: the part of the grace period the hook may take before the workload
# gets its stop signal anyway (the rest is the workload's).
PRE_STOP_SHARE = 0.5

# A COMMAND string with shell syntax runs as [COMMAND_SHELL, "-c", COMMAND]
# (initapp/command.py); one made of words runs directly.
COMMAND_SHELL = "/bin/sh"
MSG_EMPTY_COMMAND = "empty command"
MSG_UNCLOSED_QUOTE = "a {quote} quote is not closed"

# init.pyz probe CHECK: how long a check may take in all (connecting, the answer,
# a command's run), unless --timeout says otherwise. Never unlimited: a check that
# hangs must end before the next one starts, or probes pile up (kubernetes#110070).
PROBE_TIMEOUT_SECONDS = 5.0
# While an exec: check's command runs, how often to look whether it has ended:
# from the first interval, doubling, up to the last.
PROBE_POLL_SECONDS = (0.001, 0.02)
# How much of an HTTP answer is read at most to find its status line and headers.
PROBE_HTTP_HEAD_BYTES = 65536
PROBE_USAGE = """\
usage: init.pyz probe CHECK [--timeout SECONDS]

Check once that the workload is healthy: exit 0 if it is, 1 (with one line on
stderr saying why) if not, 2 for a usage error. For a HEALTHCHECK without curl:
  HEALTHCHECK CMD ["/sbin/init", "probe", "http://127.0.0.1:8000/healthz"]

CHECK:
  tcp:PORT, tcp:HOST:PORT   a connection is accepted (PORT alone: 127.0.0.1,
                            then ::1; an IPv6 HOST in brackets: tcp:[::1]:PORT)
  http://HOST[:PORT][/PATH] the answer is 2xx or 3xx (redirects not followed)
  file:PATH                 PATH exists
  exec:COMMAND              COMMAND exits 0 (words run directly, shell syntax
                            with /bin/sh -c; killed with its process group at
                            the timeout)
options:
  --timeout SECONDS   the whole check's time limit (default {timeout:g}); always on
"""
MSG_PROBE_UNHEALTHY = "unhealthy: {check}: {reason}"
MSG_PROBE_USAGE = "probe: {error}"
MSG_PROBE_NO_CHECK = "no CHECK given (usage: init.pyz probe CHECK [--timeout SECONDS])"
MSG_PROBE_TWO_CHECKS = "one CHECK at a time: {first} and {second}"
MSG_PROBE_BAD_TIMEOUT = "--timeout must be more than 0 (a probe always has a time limit): {value}"
MSG_CHECK_UNKNOWN = ("not a check: {text} (expected tcp:PORT, tcp:HOST:PORT, "
                     "http://HOST:PORT/PATH, file:PATH or exec:COMMAND)")
MSG_CHECK_BAD_PORT = "not a port from 1 to 65535: {text}"
MSG_CHECK_BAD_HOST = "not a host: {text}"
MSG_CHECK_IPV6_BRACKETS = "an IPv6 address goes in brackets, as in tcp:[::1]:8080: {text}"
MSG_CHECK_HTTPS = "https is not supported (no TLS): probe the plain-HTTP port: {text}"
MSG_CHECK_USERINFO = "a user or password in the URL is not supported: {text}"
MSG_CHECK_BAD_PATH = "a space or control character in the URL's path (percent-encode it): {text}"
MSG_CHECK_EMPTY_PATH = "file: needs a path"
MSG_CHECK_BAD_COMMAND = "exec: {error}"
# Why a check passed or failed, as the probe's line and --ready's messages say it.
MSG_CHECK_TIMED_OUT = "timed out after {seconds:g} s"
MSG_CHECK_COMMAND_TIMED_OUT = "timed out after {seconds:g} s (its process group was killed)"
MSG_CHECK_CONNECTED = "connection accepted by {address}"
MSG_CHECK_CONNECT_FAILED = "{error} ({address})"
MSG_CHECK_UNRESOLVED = "cannot resolve {host}: {error}"
MSG_CHECK_HTTP_STATUS = "HTTP {status}"
MSG_CHECK_NOT_HTTP = "not an HTTP answer: {start}"
MSG_CHECK_HTTP_CLOSED = "the connection was closed before an HTTP answer"
MSG_CHECK_HTTP_FAILED = "{error} while waiting for the answer"
MSG_CHECK_FILE_EXISTS = "{path} exists"
MSG_CHECK_FILE_MISSING = "missing file {path}"
MSG_CHECK_FILE_UNREADABLE = "cannot look at {path}: {error}"
MSG_CHECK_EXIT = "exit code {code}"
MSG_CHECK_KILLED = "killed by {signal}"
MSG_CHECK_NOT_FOUND = "command not found: {cmd}"
MSG_CHECK_NO_SHELL = "no {shell} to run a command with shell syntax"
MSG_CHECK_CANNOT_RUN = "cannot run {cmd}: {error}"

# Shown by --license; the same text as the LICENSE file (a test checks it).
LICENSE = """\
MIT License

Copyright (c) 2026 The initapp authors

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""

# -- several processes (--run, --procfile; procs.py) --------------------------------------
RESTART_FIRST_SECONDS = 1.0     # the first restart's wait, doubling each time ...
RESTART_MAX_SECONDS = 30.0      # ... up to this
RESTART_RESET_SECONDS = 10.0    # a process that ran this long starts again from the first
RESTART_GIVE_UP_ENDS = 5        # this many ends ...
RESTART_GIVE_UP_SECONDS = 60.0  # ... within this long: failed for good
READY_POLL_SECONDS = 0.1        # how often a --ready check runs while waiting
READY_CHECK_SECONDS = 2.0       # one check's time limit (an exec: command's too)
# An exec: check's stdout and stderr go to initapp, which keeps their last bytes to
# tell why the check fails (its last line), never passing them on.
CHECK_OUTPUT_BYTES = 4096
# With two or more processes, each one's name in its environment (supervisord's
# SUPERVISOR_PROCESS_NAME): how a program, and `init.pyz inspect`, tell which is which.
PROCESS_NAME_VARIABLE = "INITAPP_PROCESS_NAME"
MSG_PROCFILE_LINE = "{where} {file}, line {line}: expected NAME: COMMAND, got {text}"
MSG_PROCFILE_UNREADABLE = "{where} {file}: {error}"
MSG_PROCFILE_NAME = "{where} {file}, line {line}: {error}"
MSG_PROCFILE_EMPTY = "{where} {file}: no process in it"
MSG_PROCESS_TWICE = "two processes named {name}"
MSG_PROCESS_UNKNOWN = "{where}: no process named {name}"
MSG_PROCESS_OPTION_TWICE = "{where}: two items for {name}"
MSG_SEVERAL_SINGLE_CHILD = "{where} runs one child only: it cannot be used with several processes"
MSG_PROCESS_STARTED = "started {name} ({command}) as pid {pid}"
MSG_PROCESS_ENDED = "{name} (pid {pid}) {what}"
MSG_PROCESS_MAY_EXIT = "{name} (pid {pid}) exited with 0: a --may-exit process, the others go on"
MSG_PROCESS_RESTART = "{name} (pid {pid}) {what}: restart {count} in {seconds:g}s"
MSG_PROCESS_GAVE_UP = ("{name} (pid {pid}) {what}: failed for good, it ended {ends} times "
                       "within {seconds:g}s")
MSG_PROCESS_STOP = "{name} {what}"
MSG_PROCESS_READY = "{name} (pid {pid}) is ready: {reason}"
MSG_PROCESS_CHECK_FAILED = "{name} is not ready yet: --ready {check}: {reason}; checking again"
MSG_CHECK_OUTPUT = "{reason}, last line of output: {line}"
MSG_PROCESS_NOT_READY_AT_STOP = "{name} was not ready when the stop began: --ready {check}: {last}"
MSG_PROCESS_CHECK_RUNNING = "its first check was still running"
MSG_PROCESS_NOT_CHECKED = "not checked yet"
MSG_PROCESS_NOT_STARTED = "{name} was never started"
# A process that could not be started (out of descriptors for its pipes, fork
# failed) is an ending process with EXIT_INTERNAL, as one command that cannot be.
MSG_PROCESS_CANNOT_START = "cannot start {name} ({command}): {error}"
# A --ready check that cannot be started (out of descriptors, processes or
# threads): told once a process, tried again at READY_POLL_SECONDS.
MSG_PROCESS_CHECK_NOT_RUN = "cannot run {name}'s --ready check: {error}; trying again"
MSG_PROCESS_CHECK_NOT_STARTED = "its last check could not be started: {error}"
# --to-all of a stop signal reaches every process at once: nothing is left to
# give each one its own signal or its turn.
MSG_SEVERAL_TO_ALL = ("{to_all} sends the stop signal to every process at once: it cannot be "
                      "used with {what}")
MSG_RELAY_FAILED = "cannot relay the processes' output: {error}"
MSG_PROCESS_LAST_CHECK = ("{name} (pid {pid}) exited with 0 before its --ready check passed: "
                          "checking once more")
MSG_PROCESS_NOT_READY = ("{name} (pid {pid}) exited with 0 before it was ready ({check}: "
                         "{reason}): stopping all")
MSG_PROCESS_NOT_RESTARTED = "not restarted"
MSG_PROCESS_TERMINAL_STOP = ("{name} (pid {pid}) is stopped by {signal}: it used the terminal "
                             "from the background; the stop sequence continues it")
# --stop-with: a signal that suspends or continues a process ends none (and the
# stop continues a stopped process at once).
STOP_WITH_REFUSED = ("SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGCONT")
MSG_NOTIFY_FAILED = "cannot send READY=1 to $NOTIFY_SOCKET {socket}: {error}"
