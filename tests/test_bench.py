"""make bench's own logic, without running the bench: the order of the timed starts,
the ratios taken pair by pair, the previous run and the verdicts, the resolution
from the floor against itself, the docs page's tables. No figure is asserted."""

import itertools
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import report  # noqa: E402
import starts  # noqa: E402

pytestmark = pytest.mark.timeout(30)

NAMES = ("initapp", "tini", "dumb-init", "catatonit")
KEYS = ("3.11|PID 1", "3.11|subreaper", "3.12 source|PID 1")


def ratio(value):
    return {"wall": value, "cpu": value}


def one_round(start, aa, version_start):
    idle = {"vmrss_kib": 1000, "rssanon_kib": 100, "wakeups": 0}
    floor_idle = {"vmrss_kib": 950, "rssanon_kib": 95, "wakeups": 0}
    ms = dict((name, 10.0) for name in NAMES + ("empty zipapp", report.AGAIN,
                                                  "python3 -I -S -c pass"))
    stop = {"ms": 1.0, "waited_runs": 2, "runs": 2, "after_last_exit_ms": 3.0}
    return {
        "start": {"ms": ms, "cpu_ms": ms, "ratio": {"init": ratio(start), "A/A": ratio(aa)}},
        "idle": dict((name, idle) for name in NAMES + ("empty zipapp",)),
        "forwarding": dict((name, {"p50_ms": 0.1, "p99_ms": 1.0}) for name in NAMES),
        "orphans": dict((name, {"seconds": 2.0, "rss_after_kib": 1000}) for name in NAMES),
        "stop": dict((name, {"exit_at_once": stop, "tree_0_5s": stop}) for name in NAMES),
        "versions": dict((key, {"ms": {"init": 12.0, "floor": 10.0, report.AGAIN: 10.0},
                                "cpu_ms": {"init": 12.0, "floor": 10.0, report.AGAIN: 10.0},
                                "ratio": {"init": ratio(version_start), "A/A": ratio(aa)},
                                "idle": idle, "floor_idle": floor_idle}) for key in KEYS),
        "machine": {"loadavg": [0.5, 0.5, 0.5], "seconds": 60.0, "other_cpus": 0.1,
                    "steal_cpus": 0.0},
        "disturbed": {"repetitions": 100, "rerun": 7, "disturbed_kept": 1, "pressure": True},
        "multi": {"relay": {"path": "init.pyz --run", "relay_mb_s": 200.0, "cat_mb_s": 1000.0,
                            "relay_cpu_ms_per_mb": 3.0, "cat_cpu_ms_per_mb": 0.5},
                  "start": {"three_ms": 40.0, "one_ms": 30.0, "three_cpu_ms": 40.0,
                            "one_cpu_ms": 30.0, "ratio": ratio(1.3)},
                  "forwarding": {"p50_ms": 0.1, "p99_ms": 0.3}},
    }


def results(start=1.10, aa=(0.98, 1.0, 1.02), version_start=1.10, rounds=5, archive="a" * 64,
            previous=None):
    """A results.json of rounds rounds: initapp's start ratio start in every round, the
    A/A ratios cycling through aa."""
    found = {
        "python": "Python 3.11.2", "date": "2024-01-01 00:00 UTC", "archive_sha256": archive,
        "commit": "abc1234",
        "machine": {"cpus": 2, "loadavg": [0.3, 0.3, 0.3], "loadavg_after": [0.4, 0.4, 0.4],
                    "other_cpus": 0.05, "steal_cpus": 0.0, "seconds": 2.0},
        "versions": {"3.11": "3.11.2", "3.12": "3.12.1"}, "checked_version": "3.11",
        "source_version": "3.12", "modes": ["PID 1", "subreaper"],
        "settings": {"rounds": rounds, "starts": 48, "version_starts": 24, "warmup": 1,
                     "glibc_signals": "default", "signals": 1000, "orphans": 10000,
                     "idle_seconds": 10.0, "stop_runs": 2, "disturbed_ms": 10.0, "spare": 0.5},
        "seconds": 400.0,
        "rounds": [one_round(start, aa[index % len(aa)], version_start)
                   for index in range(rounds)],
        "imports_us": {"PID 1": {"initapp.main": 300}, "subreaper": {"initapp.main": 310}},
    }
    found["previous"] = report.previous_run(previous)
    return found


# -- the order and the ratios of the timed starts --------------------------------------

@pytest.mark.parametrize("count", [2, 3])
def test_each_command_runs_in_each_place_and_after_each_other_one_equally_often(count):
    names = "abc"[:count]
    cycle = [starts.orders(names, repetition) for repetition in range(2 * count)]
    for place in range(count):
        assert sorted(order[place] for order in cycle) == sorted(names * 2)
    followed = [pair for order in cycle for pair in zip(order, order[1:])]
    assert sorted(followed) == sorted(list(itertools.permutations(names, 2)) * 2)
    assert [starts.orders(names, r) for r in range(2 * count, 4 * count)] == cycle


def test_a_ratio_is_taken_within_each_repetition_then_the_median():
    times = {"init": {"wall": [2.0, 20.0, 3.0], "cpu": [1.0, 1.0, 1.0]},
             "floor": {"wall": [1.0, 10.0, 1.0], "cpu": [1.0, 2.0, 4.0]}}
    figures = starts.summary(times, [("init", "init", "floor")])
    # The ratio of the medians would be 3.0 / 1.0; pair by pair: 2, 2, 3.
    assert figures["ratio"]["init"] == {"wall": 2.0, "cpu": 0.5}
    assert figures["ms"] == {"init": 3000.0, "floor": 1000.0}


def test_measure_drops_the_warm_up_and_keeps_the_groups_aligned():
    groups = {"one": {"a": ["true"], "b": ["true"]}, "two": {"c": ["true"]}}
    times, tally = starts.measure(groups, 4, {"PATH": "/usr/bin:/bin"}, warmup=1)
    assert sorted(times) == ["one", "two"]
    assert tally["repetitions"] == 8
    for group in times.values():
        for runs in group.values():
            assert len(runs["wall"]) == len(runs["cpu"]) == 4
            assert all(wall > 0 and cpu >= 0 for wall, cpu in zip(runs["wall"], runs["cpu"]))


def test_a_disturbed_repetition_runs_again_until_the_spare_is_spent(monkeypatch):
    waits = iter([20.0, 0.0,   # the warm-up: disturbed, kept all the same
                  20.0, 0.0,   # disturbed: run again
                  0.0, 0.0,    # the re-run, kept
                  30.0, 0.0,   # disturbed, and the one spare re-run is spent: kept
                  0.0, 0.0,
                  0.0, 0.0])
    calls = []

    def timed(argv, env):
        calls.append(argv[0])
        waited = next(waits)
        return 1.0 + waited, 1.0, waited

    monkeypatch.setattr(starts, "timed", timed)
    monkeypatch.setattr(starts, "quiet", lambda: None)
    monkeypatch.setattr(starts, "SPARE", 0.25)  # 1 of 4 repetitions
    times, tally = starts.measure({"g": {"a": ["a"], "b": ["b"]}}, 4, {}, warmup=1)
    assert len(calls) == 2 * 6
    assert tally == {"repetitions": 4, "rerun": 1, "disturbed_kept": 1, "pressure": tally[
        "pressure"]}
    assert sorted(times["g"]["a"]["wall"] + times["g"]["b"]["wall"]) == [1.0] * 7 + [31.0]


def test_without_re_runs_a_disturbed_repetition_is_kept_and_counted(monkeypatch):
    monkeypatch.setattr(starts, "timed", lambda argv, env: (1.0, 1.0, 20.0))
    times, tally = starts.measure({"g": {"a": ["a"]}}, 3, {}, warmup=1, rerun=False)
    assert tally["rerun"] == 0 and tally["disturbed_kept"] == 3
    assert times["g"]["a"]["wall"] == [1.0] * 3


def test_a_command_that_fails_stops_the_bench():
    with pytest.raises(RuntimeError, match="false"):
        starts.measure({"one": {"a": ["false"]}}, 1, {"PATH": "/usr/bin:/bin"}, warmup=0)


# -- the previous run and the verdicts -------------------------------------------------

def test_a_target_met_in_two_full_runs_of_the_same_archive_held():
    now = results(start=1.12, previous=results(start=1.10))
    assert report.verdicts(now)["peers' table: start"] == report.HELD
    assert report.verdicts(now)["3.11.2 PID 1: start"] == report.HELD
    text = report.markdown(now)
    assert "| <= 1.15x empty zipapp | met (held in 2 runs) |" in text
    assert "1.100x |" in text  # the previous run's median beside this one's
    assert "the same archive" in text


def test_the_medians_moved_from_the_previous_run_are_reported():
    now = results(start=1.12, version_start=1.10, previous=results(start=1.10,
                                                                    version_start=1.11))
    moved = report.shifts(now)
    assert moved["peers' table: start"] == pytest.approx(0.02)
    assert moved["3.11.2 subreaper: start"] == pytest.approx(0.01)
    assert "moved by 0.013 on average, 0.020 at most (peers' table: start)" in report.markdown(now)
    assert report.shifts(results(previous=results(archive="b" * 64))) == {}


def test_a_target_missed_in_the_previous_run_is_met_this_run_only():
    now = results(start=1.12, previous=results(start=1.18))
    assert report.verdicts(now)["peers' table: start"] == report.THIS_RUN
    assert "met this run only" in report.markdown(now)


def test_a_previous_run_of_another_archive_does_not_count():
    now = results(start=1.12, previous=results(start=1.10, archive="b" * 64))
    assert report.verdicts(now)["peers' table: start"] == report.THIS_RUN
    assert "measured another archive" in report.markdown(now)


def test_without_a_previous_run_a_met_target_is_met_this_run_only():
    now = results(start=1.12)
    assert report.verdicts(now)["peers' table: start"] == report.THIS_RUN
    assert "No previous full run" in report.markdown(now)
    assert "35 re-runs for 500 repetitions kept (7%)" in report.markdown(now)


def test_a_median_above_the_target_is_missed_whatever_the_previous_run():
    now = results(start=1.16, previous=results(start=1.10))
    assert report.verdicts(now)["peers' table: start"] == report.MISSED


def test_a_short_run_judges_nothing():
    now = results(rounds=2, previous=results())
    assert set(report.verdicts(now).values()) == {"-"}
    assert "no target is judged" in report.markdown(now)


def test_the_previous_run_kept_is_the_last_full_one_without_its_own_previous():
    first = results(start=1.01)
    second = results(start=1.02, previous=first)
    assert report.previous_run(second)["rounds"] == second["rounds"]
    assert "previous" not in report.previous_run(second)
    short = results(start=1.03, rounds=2, previous=second)
    assert report.previous_run(short)["rounds"] == second["rounds"]
    assert report.previous_run(None) is None
    assert report.previous_run(results(rounds=2)) is None


# -- the resolution --------------------------------------------------------------------

def test_the_resolution_is_the_a_a_ratio_s_widest_distance_from_one():
    now = results(start=1.16, version_start=1.13, aa=(0.97, 1.0, 1.02))
    assert report.resolution(report.checks(now)["peers' table"]["wall"]) == pytest.approx(0.03)
    calls = [call[0] for call in report.close_calls(now)]
    assert "peers' table: start" in calls
    assert "3.11.2 PID 1: start" in calls
    assert "Close calls" in report.markdown(now)


def test_a_ratio_far_from_its_target_is_no_close_call():
    now = results(start=1.30, version_start=1.30, aa=(0.99, 1.0, 1.01))
    assert report.close_calls(now) == []
    assert "Close calls" not in report.markdown(now)


# -- docs/performance.md ---------------------------------------------------------------

def test_the_docs_page_gets_the_tables_between_its_markers_only():
    now = results()
    page = "# Performance\n\nbefore\n%s\nold tables\n%s\nafter\n" % (report.DOCS_BEGIN,
                                                                   report.DOCS_END)
    written = report.docs_page(page, now)
    assert written.startswith("# Performance\n\nbefore\n" + report.DOCS_BEGIN)
    assert written.endswith(report.DOCS_END + "\nafter\n")
    assert "old tables" not in written
    assert report.markdown(now) in written
    assert report.docs_page(written, now) == written


def test_a_docs_page_without_the_markers_is_refused():
    with pytest.raises(ValueError):
        report.docs_page("# Performance\n", results())


def test_the_docs_page_has_the_markers():
    page = (Path(__file__).resolve().parent.parent / "docs" / "performance.md").read_text()
    assert page.count(report.DOCS_BEGIN) == 1 and page.count(report.DOCS_END) == 1
