"""make mutants' list agrees with the documents: every SECURITY.md row names the
breaks that prove its tests, every option of docs/options.md's table has a break, and
every test a break names exists. (make mutants itself runs the breaks.)"""

import re
import sys

import pytest

from support import ROOT

sys.path.insert(0, str(ROOT / "tests" / "mutants"))
from mutations import MUTATIONS  # noqa: E402

pytestmark = pytest.mark.timeout(30)


def defined_tests(path):
    return set(re.findall(r"^def (test_\w+)\(", (ROOT / path).read_text(), re.M))


def test_every_named_test_exists():
    for mutation in MUTATIONS:
        for test in mutation.tests:
            path, _, name = test.partition("::")
            assert name in defined_tests(path), (mutation.name, test)


def security_rows():
    rows = [line for line in (ROOT / "SECURITY.md").read_text().splitlines()
            if line.startswith("| **")]
    assert len(rows) >= 8
    return [row.split(" | ") for row in rows]


def test_security_md_cites_tests_and_the_breaks_that_prove_them():
    everywhere = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        everywhere |= defined_tests(path.relative_to(ROOT))
    by_name = {mutation.name: mutation for mutation in MUTATIONS}
    named = []
    for cells in security_rows():
        cited = set(re.findall(r"\b(test_\w+)\b(?!\.)", cells[2]))
        assert cited and cited <= everywhere, cells[0]
        breaks = re.findall(r"`([\w-]+)`", cells[3])
        assert breaks, cells[0]
        for name in breaks:
            assert by_name[name].group == "security", name
            # The tests that catch the break are the ones the row cites.
            assert {test.partition("::")[2] for test in by_name[name].tests} <= cited, name
        named += breaks
    security = sorted(m.name for m in MUTATIONS if m.group == "security")
    assert sorted(named) == security


def test_every_option_of_the_options_page_has_a_break():
    page = (ROOT / "docs" / "options.md").read_text()
    table = page[page.index("| option | variable | meaning |"):].split("\n\n")[0]
    said = " ".join(m.breaks for m in MUTATIONS if m.group == "option")
    for row in table.splitlines()[2:]:
        for option in row.split(" | ")[0].strip("| ").split(" / "):
            flags = re.findall(r"`(-[\w-]+)", option)
            assert any(re.search(r"(^|\s)%s\b" % re.escape(flag), said) for flag in flags), option


def test_every_break_applies_to_todays_source():
    # An edit whose old text moved would be an error in make mutants, which CI runs
    # (its security subset) long after make test: find it here, at once.
    texts = {}
    for mutation in MUTATIONS:
        for path, old, _ in mutation.edits:
            text = texts.setdefault(path, (ROOT / path).read_text())
            assert text.count(old) == 1, (mutation.name, path, old)
