"""The docs stay honest: every option is documented and in --help, every relative
link of README.md and docs/ leads somewhere, and every image file they name is one
the container tests run (they run what is under images/)."""
import re
import subprocess
import unicodedata
from pathlib import Path

import pytest

from initapp import cli

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
OPTIONS_PAGE = ROOT / "docs" / "options.md"

pytestmark = pytest.mark.timeout(60)

FENCE = re.compile(r"^\s*(```|~~~)")
LINK = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def prose(path):
    """The page's lines outside fenced code blocks, with their line numbers."""
    fenced = False
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield number, line


def anchor(heading):
    # GitHub's rule: the heading's text (markup and link targets gone), lower case,
    # every character that is not a letter, digit, space, hyphen or underscore
    # dropped, each space a hyphen.
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = text.replace("`", "").replace("*", "").strip().lower()
    kept = "".join(char for char in text
                   if char in " -_" or unicodedata.category(char)[0] in "LNM")
    return kept.replace(" ", "-")


def anchors(path):
    """Every anchor GitHub makes for the page: a repeated one gets -1, -2, ..."""
    seen, result = {}, set()
    for _, line in prose(path):
        match = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not match:
            continue
        base = anchor(match.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else "%s-%d" % (base, count))
    return result


def links(path):
    for number, line in prose(path):
        # Inline code is no link (`[x](y)` shown as an example).
        for target in LINK.findall(re.sub(r"`[^`]*`", "", line)):
            yield number, target


def test_every_option_is_on_the_options_page():
    page = OPTIONS_PAGE.read_text()
    table = page[page.index("| option | variable | meaning |"):].split("\n\n")[0]
    for option in cli.OPTIONS:
        for flag in (option.short, option.long):
            if flag:
                assert re.search(r"`%s\b" % re.escape(flag), table), flag
        if option.variable:
            assert "`%s`" % option.variable in table, option.variable


def test_every_option_is_in_help(init_pyz):
    result = subprocess.run([str(init_pyz), "--help"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, timeout=30)
    assert result.returncode == 0, result.stderr
    text = result.stdout.decode()
    for option in cli.OPTIONS:
        for flag in (option.short, option.long):
            if flag:
                assert re.search(r"(^|[\s,])%s\b" % re.escape(flag), text, re.M), flag
        if option.variable:
            assert option.variable in text, option.variable
    # The peers' variables and the page that says it all.
    for variable, _, _ in cli.PEER_VARIABLES:
        assert variable in text, variable
    assert "docs/options.md" in text


def test_every_peer_variable_is_on_the_options_page():
    page = OPTIONS_PAGE.read_text()
    for variable, _, _ in cli.PEER_VARIABLES:
        assert "`%s`" % variable in page, variable


def test_the_readme_links_every_page_and_stays_short():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) < 250
    linked = {target.split("#")[0] for _, target in links(ROOT / "README.md")}
    for page in PAGES[1:]:
        assert "docs/%s" % page.name in linked, page.name


def test_every_relative_link_resolves():
    broken = []
    for page in PAGES:
        for number, target in links(page):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):     # https:, mailto:
                continue
            path, _, fragment = target.partition("#")
            where = (page.parent / path).resolve() if path else page
            if not where.exists():
                broken.append("%s:%d: %s: no such file" % (page.name, number, target))
            elif fragment and where.suffix == ".md" and fragment not in anchors(where):
                broken.append("%s:%d: %s: no such heading" % (page.name, number, target))
            elif fragment and where.suffix != ".md":
                broken.append("%s:%d: %s: an anchor into a file that is not a page"
                              % (page.name, number, target))
    assert not broken, "\n".join(broken)


IMAGE_FILE = re.compile(r"(?:\.\./)?\bimages/[\w./-]*[\w/]")
NAMED_FILE = re.compile(r"`([\w.-]*(?:Dockerfile[\w.-]*|\.ya?ml))`")


def test_every_image_file_the_docs_name_is_under_images():
    # What the docs show is what the container tests run: they build every recipe
    # from images/, so a file named here must be one of those.
    names = {path.name for path in (ROOT / "images").rglob("*") if path.is_file()}
    missing = []
    for page in PAGES:
        text = page.read_text()
        for mention in IMAGE_FILE.findall(text):
            path = ROOT / mention.replace("../", "")
            if not path.exists():
                missing.append("%s: %s" % (page.name, mention))
        for name in NAMED_FILE.findall(text):
            if "/" not in name and name not in names:
                missing.append("%s: %s" % (page.name, name))
    assert not missing, "\n".join(missing)


def test_the_anchor_rule_is_githubs():
    # Examples of headings these pages use, as GitHub renders their anchors.
    assert anchor("Stop hooks: `--pre-stop` and `--post-stop`") == \
        "stop-hooks---pre-stop-and---post-stop"
    assert anchor("Why did it exit? The messages") == "why-did-it-exit-the-messages"
    assert anchor("`init.pyz inspect`: what is wrong with my container's PID 1?") == \
        "initpyz-inspect-what-is-wrong-with-my-containers-pid-1"
    assert anchor("Shutdown: the whole tree, one deadline") == \
        "shutdown-the-whole-tree-one-deadline"
