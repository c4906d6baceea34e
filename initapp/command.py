"""A COMMAND string (an `exec:` check; the hooks' and processes' commands): made
only of words, it runs directly, without a shell, so it works where there is
none (distroless); with any shell syntax, /bin/sh -c runs it as typed.

Words are split as a POSIX shell splits them: on spaces and tabs, with its
quoting ('...' keeps every character; "..." keeps every character but $, ` and
\\, where \\" and \\\\ stand for " and \\; a backslash outside quotes keeps the
next character). Shell syntax is, outside single quotes: any of
| & ; < > ( ) $ ` * ? [ # ~ { } (outside double quotes too), a newline, and a
backslash before a newline or at the end; and a first word that only a shell
understands (a NAME=VALUE assignment, a reserved word, a builtin with no program
of its own: SHELL_WORDS). Anything doubtful goes to the shell: it runs what sh
would run, only needing one. It imports nothing but defaults: the hooks and the
probe use it on their start path."""

from initapp.defaults import COMMAND_SHELL, MSG_EMPTY_COMMAND, MSG_UNCLOSED_QUOTE

# Outside any quotes: pipes, lists, redirections, subshells, expansions, globs,
# comments, tildes and braces (brace expansion where /bin/sh is bash).
SHELL_CHARACTERS = frozenset("|&;<>()$`*?[#~{}\n")
# Inside double quotes, expansions still happen.
QUOTED_SHELL_CHARACTERS = frozenset("$`")
# A backslash inside double quotes stands for the next character only before these
# two (before $, ` or a newline it is shell syntax: see above); before any other
# character it stays, as in sh.
QUOTED_ESCAPES = frozenset('"\\')
BLANKS = " \t"
# A first word that means something to a shell and to no exec: reserved words,
# POSIX special builtins, and the builtins that act on the shell itself (cd,
# umask, read...) or that have no program of their own.
SHELL_WORDS = frozenset((
    "!", "{", "}", "case", "do", "done", "elif", "else", "esac", "fi", "for", "if", "in",
    "then", "until", "while",
    ".", ":", "break", "continue", "eval", "exec", "exit", "export", "readonly", "return",
    "set", "shift", "times", "trap", "unset",
    "alias", "bg", "cd", "command", "fc", "fg", "getopts", "hash", "jobs", "read", "source",
    "type", "ulimit", "umask", "unalias", "wait",
))


def argv(text):
    """What to run for a COMMAND string: its words, or [/bin/sh, -c, text] when it
    has shell syntax. Raises ValueError (one line) for an empty command, or a
    quote left open in one made of words."""
    words = split(text)
    if words is None or words[0] in SHELL_WORDS or _assignment(words[0]):
        return [COMMAND_SHELL, "-c", text]
    return words


def uses_shell(words):
    """Whether argv() handed its string to the shell."""
    return len(words) == 3 and words[:2] == [COMMAND_SHELL, "-c"]


def split(text):
    """The words of text as sh splits them, or None at the first shell syntax."""
    words, word, in_word = [], [], False
    quote = None           # None, "'" or '"'
    index, end = 0, len(text)
    while index < end:
        char = text[index]
        index += 1
        if quote == "'":
            if char == "'":
                quote = None
            else:
                word.append(char)
        elif quote == '"':
            if char == '"':
                quote = None
            elif char in QUOTED_SHELL_CHARACTERS:
                return None
            elif char == "\\":
                following = text[index:index + 1]
                if following in QUOTED_ESCAPES:
                    word.append(following)
                    index += 1
                elif following in ("$", "`", "\n"):
                    return None
                else:
                    word.append(char)
            else:
                word.append(char)
        elif char in BLANKS:
            if in_word:
                words.append("".join(word))
                word, in_word = [], False
        elif char in SHELL_CHARACTERS:
            return None
        elif char == "\\":
            following = text[index:index + 1]
            if following in ("\n", ""):
                return None    # a line continuation, or a backslash sh reads its own way
            word.append(following)
            index += 1
            in_word = True
        elif char in "'\"":
            quote, in_word = char, True
        else:
            word.append(char)
            in_word = True
    if quote is not None:
        raise ValueError(MSG_UNCLOSED_QUOTE.format(quote=quote))
    if in_word:
        words.append("".join(word))
    if not words:
        raise ValueError(MSG_EMPTY_COMMAND)
    return words


def _assignment(word):
    """NAME=VALUE: sh sets a variable for the command that follows."""
    name, equals, _ = word.partition("=")
    return bool(equals and name and name.isascii() and not name[0].isdigit()
                and name.replace("_", "a").isalnum())
