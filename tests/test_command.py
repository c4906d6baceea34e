"""COMMAND strings: words run directly, split as /bin/sh itself splits them (each
case is checked against the real sh); shell syntax goes to /bin/sh -c."""

import subprocess

import pytest

from initapp import command

pytestmark = pytest.mark.timeout(30)


def sh_words(text):
    """The words /bin/sh makes of text, as printf receives them."""
    done = subprocess.run(["/bin/sh", "-c", "printf '%s\\0' " + text], capture_output=True,
                          timeout=10, check=True)
    return [word.decode("utf-8", "surrogateescape") for word in done.stdout.split(b"\0")[:-1]]


WORDS = [
    ("sleep 5", ["sleep", "5"]),
    ("  sleep\t 5  ", ["sleep", "5"]),
    ("""echo 'a b' "c d" e""", ["echo", "a b", "c d", "e"]),
    ("""echo "a\\"b" 'it'\\''s'""", ["echo", 'a"b', "it's"]),
    ("echo a\\ b a\\\\b", ["echo", "a b", "a\\b"]),
    ('echo "x\\ny" "a\\\\b"', ["echo", "x\\ny", "a\\b"]),
    ("echo '' a''b \"\"", ["echo", "", "ab", ""]),
    ("echo 'a|b;c&d>e<f$g`h*i?j[k#l~m{n}o(p)q'", ["echo", "a|b;c&d>e<f$g`h*i?j[k#l~m{n}o(p)q"]),
    ("echo \"a|b;c&d>e<f*g?h[i#j~k{l}m(n)o'p\"", ["echo", "a|b;c&d>e<f*g?h[i#j~k{l}m(n)o'p"]),
    ("echo 'line one\nline two'", ["echo", "line one\nline two"]),
    ("echo x=y ! a]b % ^ @ , é", ["echo", "x=y", "!", "a]b", "%", "^", "@", ",", "é"]),
    ("python3 -c 'import sys; sys.exit(3)'", ["python3", "-c", "import sys; sys.exit(3)"]),
    ("echo a\rb", ["echo", "a\rb"]),
]


@pytest.mark.parametrize("text, words", WORDS)
def test_words_are_split_as_sh_splits_them_and_run_directly(text, words):
    assert command.argv(text) == words
    assert sh_words(text.split(None, 1)[1]) == words[1:]
    assert not command.uses_shell(words)


SHELL = [
    "a | b", "a && b", "a || b", "a; b", "a > f", "a >> f", "a < f", "a 2>&1", "a &", "(a)",
    "echo $HOME", "echo ${X}", 'echo "$HOME"', 'echo "a`id`"', "echo `id`", "echo $(id)",
    "echo *.py", "echo ?", "echo [ab]", "echo # comment", "echo ~", "echo ~/x", "echo {a,b}",
    "a\nb", "echo a\\\nb", "echo a\\", 'echo "a\\$b"', 'echo "a\\`b"',
    # A first word that only a shell understands.
    "FOO=1 env", "_x9=1 env", "exit 3", "cd /tmp", "export X=1", "exec sleep 1", ". ./env",
    "! true", "if true", "while true", "set -e", "trap x TERM", "umask 077", "wait", "source x",
    "'exit' 3",
]


@pytest.mark.parametrize("text", SHELL)
def test_shell_syntax_runs_under_sh(text):
    words = command.argv(text)
    assert words == ["/bin/sh", "-c", text]
    assert command.uses_shell(words)


def test_what_only_looks_like_an_assignment_or_a_builtin_runs_directly():
    assert command.argv("env FOO=1 x") == ["env", "FOO=1", "x"]
    assert command.argv("9x=1 y") == ["9x=1", "y"]
    assert command.argv("=x y") == ["=x", "y"]
    assert command.argv("exit-now 3") == ["exit-now", "3"]
    assert command.argv("kill -TERM 1") == ["kill", "-TERM", "1"]


@pytest.mark.parametrize("text, message", [
    ("", "empty command"), ("   \t ", "empty command"), ("''", None),
    ("echo 'a", "a ' quote is not closed"), ('echo "a', 'a " quote is not closed'),
    ('echo "a\\"', 'a " quote is not closed'),
])
def test_empty_commands_and_open_quotes_are_refused(text, message):
    if message is None:
        assert command.argv(text) == [""]   # an empty program name, as sh would try
        return
    with pytest.raises(ValueError) as raised:
        command.argv(text)
    assert str(raised.value) == message


def test_an_open_quote_after_shell_syntax_is_left_to_the_shell():
    # A here-document or a quote the shell reads its own way: sh says what is wrong.
    assert command.argv("echo $x 'a") == ["/bin/sh", "-c", "echo $x 'a"]
