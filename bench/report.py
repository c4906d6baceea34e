"""The bench's report: per-round ratios to their floors, summarised as the median of
the rounds with their min-max, everything rendered from bench/results.json.

A target is "met" when the median of this run's rounds meets it; it "held in 2
runs" when the previous full run of the same archive (results.json's "previous")
met it too, and is "met this run only" otherwise. How large a difference the bench
resolves comes from the floor timed against itself (A/A): a start ratio whose
median lies within that distance of its target is a close call.

    python3 bench/report.py          # bench/results.md and .svg again from results.json
    python3 bench/report.py --docs   # and the tables of docs/performance.md"""

import json
import statistics
import sys
from pathlib import Path

MIN_ROUNDS = 5  # fewer rounds give figures, not verdicts
TARGETS = {"start": 1.15, "vmrss": 1.1, "rssanon": 1.15, "wakeups": 0,
           "forwarding_p99": 2.0, "orphans": 1.5, "stop_tail_ms": 50}
PEER_ORDER = ("initapp", "tini", "dumb-init", "catatonit")
AGAIN = "empty zipapp again"  # the floor, timed as if it were another command (A/A)
HELD, THIS_RUN, MISSED = "met (held in 2 runs)", "met this run only", "MISSED"
MARKS = {HELD: " ✓✓", THIS_RUN: " ✓", MISSED: " ✗"}
DOCS_BEGIN = "<!-- from here to the end marker: bench/report.py --docs writes it from bench/results.json -->"
DOCS_END = "<!-- end of bench/report.py's tables -->"


def spread(values):
    """(median, min, max) of the rounds' values."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    return statistics.median(values), min(values), max(values)


def ratio_text(figure):
    # Three decimals: a verdict on 1.104 against 1.1 must be visible as such.
    if figure is None:
        return "-"
    return "%.3fx (%.2f–%.2f)" % figure


def full_run(results):
    return bool(results) and len(results.get("rounds", ())) >= MIN_ROUNDS


# -- the previous run -----------------------------------------------------------------

def previous_run(old):
    """What a new run keeps as its "previous": the saved results if they are a full
    run, else the full run they kept (a short run in between does not count), without
    its own previous; None when there is none."""
    for candidate in (old, (old or {}).get("previous")):
        if full_run(candidate):
            return {key: value for key, value in candidate.items() if key != "previous"}
    return None


def comparable(results):
    """(previous results or None, a sentence on it): the previous full run counts only
    when it measured the same archive the same way."""
    previous = results.get("previous")
    if not previous:
        return None, "No previous full run is recorded: a target met is met this run only."
    when = previous.get("date", "undated")
    if previous.get("archive_sha256") != results.get("archive_sha256"):
        return None, ("The previous full run (%s) measured another archive: a target met is "
                      "met this run only." % when)
    if results["settings"].get("glibc_signals") != previous["settings"].get("glibc_signals"):
        return None, ("The previous full run (%s) started its commands with glibc's signals "
                      "32 and 33 otherwise: a target met is met this run only." % when)
    return previous, ("The previous full run (%s) measured the same archive: a target met in "
                      "both held in 2 runs." % when)


# -- the ratios, round by round -------------------------------------------------------

def peer_ratios(results):
    """{measure: (median, min, max)} of initapp's ratios in the peers' table."""
    rounds = results["rounds"]

    def over(numerator, denominator):
        return spread([numerator(r) / denominator(r) for r in rounds])

    idle = lambda r, init, key: r["idle"][init][key]  # noqa: E731
    return {
        "start": spread([r["start"]["ratio"]["init"]["wall"] for r in rounds]),
        "start_cpu": spread([r["start"]["ratio"]["init"]["cpu"] for r in rounds]),
        "vmrss": over(lambda r: idle(r, "initapp", "vmrss_kib"),
                      lambda r: idle(r, "empty zipapp", "vmrss_kib")),
        "rssanon": over(lambda r: idle(r, "initapp", "rssanon_kib"),
                        lambda r: idle(r, "empty zipapp", "rssanon_kib")),
        "forwarding_p50": over(lambda r: r["forwarding"]["initapp"]["p50_ms"],
                               lambda r: r["forwarding"]["tini"]["p50_ms"]),
        "forwarding_p99": over(lambda r: r["forwarding"]["initapp"]["p99_ms"],
                               lambda r: r["forwarding"]["tini"]["p99_ms"]),
        "orphans": over(lambda r: r["orphans"]["initapp"]["seconds"],
                        lambda r: r["orphans"]["tini"]["seconds"]),
        "rss_after_orphans": over(lambda r: r["orphans"]["initapp"]["rss_after_kib"],
                                  lambda r: idle(r, "initapp", "vmrss_kib")),
    }


def version_ratios(results):
    """{(row, mode): {measure: (median, min, max)}} for the per-version table."""
    table = {}
    for key in results["rounds"][0]["versions"]:
        per_round = [r["versions"][key] for r in results["rounds"]]
        row, mode = key.split("|")
        table[(row, mode)] = {
            "start": spread([v["ratio"]["init"]["wall"] for v in per_round]),
            "start_cpu": spread([v["ratio"]["init"]["cpu"] for v in per_round]),
            "vmrss": spread([v["idle"]["vmrss_kib"] / v["floor_idle"]["vmrss_kib"]
                             for v in per_round]),
            "rssanon": spread([v["idle"]["rssanon_kib"] / v["floor_idle"]["rssanon_kib"]
                               for v in per_round]),
            "wakeups": spread([v["idle"]["wakeups"] for v in per_round]),
            "floor_ms": spread([v["ms"]["floor"] for v in per_round]),
            "floor_vmrss": spread([v["floor_idle"]["vmrss_kib"] for v in per_round]),
        }
    return table


def checks(results):
    """The floor against itself (A/A), wall and CPU time: {"peers' table": ...,
    "PID 1": ..., "subreaper": ...}, each {"wall": spread, "cpu": spread}."""
    rounds = results["rounds"]
    found = {"peers' table": [r["start"]["ratio"]["A/A"] for r in rounds]}
    checked = results.get("checked_version")
    for mode in results["modes"]:
        key = "%s|%s" % (checked, mode)
        if checked and key in rounds[0]["versions"]:
            found[mode] = [r["versions"][key]["ratio"]["A/A"] for r in rounds]
    return {name: {kind: spread([ratio[kind] for ratio in ratios]) for kind in ("wall", "cpu")}
            for name, ratios in found.items()}


def resolution(figure):
    """How far from 1.0 the floor against itself strayed in any round: a difference
    smaller than this is not told apart from noise."""
    return max(figure[2] - 1.0, 1.0 - figure[1])


# -- verdicts -------------------------------------------------------------------------

def verdict(results, figure, target):
    """"met" or "MISSED" by this run's median, or "-" when there are too few rounds."""
    if figure is None or not full_run(results):
        return "-"
    return "met" if figure[0] <= target else MISSED


def is_source(row):
    return row.endswith(" source")


def targets(results):
    """[(name, figure, target, check)] for every target of both tables; check names
    the A/A that tells how close a call it is (start ratios only)."""
    peers = peer_ratios(results)
    found = [("peers' table: %s" % key, peers[key], TARGETS[key],
              "peers' table" if key == "start" else None)
             for key in ("start", "vmrss", "rssanon", "forwarding_p99", "orphans")]
    for (row, mode), figures in version_ratios(results).items():
        if is_source(row):
            continue  # the cost the sets remove: a reference, not a target
        label = "%s %s" % (row_label(results, row), mode)
        for key in ("start", "vmrss", "rssanon"):
            found.append(("%s: %s" % (label, key), figures[key], TARGETS[key],
                          mode if key == "start" else None))
        found.append(("%s: wakeups" % label, (figures["wakeups"][2],), TARGETS["wakeups"], None))
    found.append(("peers' table: wakeups", (max(r["idle"]["initapp"]["wakeups"]
                                                 for r in results["rounds"]),),
                  TARGETS["wakeups"], None))
    tails = spread([r["stop"]["initapp"]["tree_0_5s"]["after_last_exit_ms"]
                    for r in results["rounds"]])
    found.append(("peers' table: stop tail", tails, TARGETS["stop_tail_ms"], None))
    return found


def verdicts(results):
    """{name: verdict}: met and met by the comparable previous run too: HELD; met
    now only: THIS_RUN; else MISSED; "-" without enough rounds."""
    previous, _ = comparable(results)
    before = {}
    if previous:
        before = {name: verdict(previous, figure, target)
                  for name, figure, target, _ in targets(previous)}
    judged = {}
    for name, figure, target, _ in targets(results):
        now = verdict(results, figure, target)
        if now == "met":
            now = HELD if before.get(name) == "met" else THIS_RUN
        judged[name] = now
    return judged


def close_calls(results):
    """[(name, median, target, resolution)]: start ratios within the A/A's resolution
    of their target, met or not."""
    found, aa = [], checks(results)
    for name, figure, target, check in targets(results):
        if check in aa and figure is not None:
            width = resolution(aa[check]["wall"])
            if abs(figure[0] - target) <= width:
                found.append((name, figure[0], target, width))
    return found


def shifts(results):
    """{name: |median now - median in the comparable previous run|} of every judged
    start ratio; empty without such a run."""
    previous, _ = comparable(results)
    if not previous:
        return {}
    before = {name: figure for name, figure, _, check in targets(previous) if check}
    return {name: abs(figure[0] - before[name][0])
            for name, figure, _, check in targets(results) if check and name in before}


def row_label(results, row):
    """"3.11.2", or "3.12.1 without its set (source)" for the source row."""
    version, _, source = row.partition(" ")
    label = results["versions"].get(version, version)
    return label + (" without its set (source)" if source else "")


# -- markdown -------------------------------------------------------------------------

def markdown(results):
    lines = (peer_table(results) + [""] + version_table(results) + [""] + multi_table(results)
             + import_table(results) + [""] + summary(results))
    return "\n".join(lines) + "\n"


def multi_table(results):
    """Several processes (bench/multi.py): median (min-max) of the rounds."""
    rounds = [r["multi"] for r in results["rounds"] if "multi" in r]
    if not rounds:
        return []

    def cell(pick, fmt="%.2f"):
        figure = spread([pick(r) for r in rounds if _has(r, pick)])
        return "-" if figure is None else (fmt + " (" + fmt + "–" + fmt + ")") % figure

    paths = sorted({r["relay"]["path"] for r in rounds})
    lines = ["Several processes: `init.pyz --run a=CMD --run b=CMD --run c=CMD` as PID 1 "
             "(median (min–max) of %d rounds):" % len(rounds), "",
             "| measure | initapp | reference |", "|---|---|---|",
             "| start-to-exit, 3 processes (`true` each), ms | %s | one process `-- true`: %s |"
             % (cell(lambda r: r["start"]["three_ms"]), cell(lambda r: r["start"]["one_ms"])),
             "| ... three / one, pair by pair | %s | |"
             % cell(lambda r: r["start"]["ratio"]["wall"], "%.3f"),
             "| ... CPU time of the tree, ms | %s | one process: %s |"
             % (cell(lambda r: r["start"]["three_cpu_ms"]),
                cell(lambda r: r["start"]["one_cpu_ms"])),
             "| forwarding p50, ms (b and c beside a) | %s | |"
             % cell(lambda r: r["forwarding"]["p50_ms"], "%.3f"),
             "| forwarding p99, ms | %s | |" % cell(lambda r: r["forwarding"]["p99_ms"], "%.3f"),
             "| log relay, MB/s of 100-byte lines, prefixed (%s) | %s | the same bytes through "
             "`cat`: %s |" % (", ".join(paths), cell(lambda r: r["relay"]["relay_mb_s"], "%.0f"),
                              cell(lambda r: r["relay"]["cat_mb_s"], "%.0f")),
             "| log relay CPU, ms per MB | %s | `cat`: %s |"
             % (cell(lambda r: r["relay"]["relay_cpu_ms_per_mb"]),
                cell(lambda r: r["relay"]["cat_cpu_ms_per_mb"])), ""]
    return lines


def _has(figures, pick):
    try:
        pick(figures)
    except KeyError:
        return False
    return True


def import_table(results):
    """The modules initapp imports beyond the floor, by their own time."""
    modes = list(results["imports_us"])
    names = sorted({n for found in results["imports_us"].values() for n in found},
                   key=lambda n: -max(found.get(n, 0) for found in results["imports_us"].values()))
    lines = ["What `%s init.pyz -- true` imports beyond the empty zipapp, by `-X importtime` "
             "(own µs, median of 15 starts; the option itself adds to every figure):"
             % results["python"], "",
             "| module | " + " | ".join(modes) + " |", "|---|" + "---|" * len(modes)]
    for name in names:
        lines.append("| %s | %s |" % (name, " | ".join(
            "%d" % results["imports_us"][mode][name] if name in results["imports_us"][mode]
            else "-" for mode in modes)))
    lines.append("| total | %s |" % " | ".join(
        "%d" % sum(results["imports_us"][mode].values()) for mode in modes))
    return lines


def peer_table(results):
    rounds, settings = results["rounds"], results["settings"]
    ratios, judged, aa = peer_ratios(results), verdicts(results), checks(results)
    names = [n for n in PEER_ORDER if n in rounds[0]["start"]["ms"]]
    lines = ["| measure | " + " | ".join(names) + " | floor | initapp / floor: median "
             "(min–max) of %d rounds | target | |" % len(rounds),
             "|---|" + "---|" * (len(names) + 4)]

    def median_of(pick):
        return {n: statistics.median(pick(r, n) for r in rounds) for n in names}

    def row(label, values, floor, figure, target, name=None, fmt="%.2f"):
        cells = [fmt % values[n] if values.get(n) is not None else "-" for n in names]
        lines.append("| %s | %s | %s | %s | %s | %s |" % (
            label, " | ".join(cells), fmt % floor if floor is not None else "-",
            ratio_text(figure), target, judged.get("peers' table: " + name, "") if name else ""))

    def start_floor(kind, name):
        return statistics.median(r["start"][kind][name] for r in rounds)

    row("start-to-exit `INIT -- true`, ms", median_of(lambda r, n: r["start"]["ms"][n]),
        start_floor("ms", "empty zipapp"), ratios["start"],
        "<= %gx empty zipapp" % TARGETS["start"], "start")
    row("... CPU time of its tree (user + system), ms",
        median_of(lambda r, n: r["start"]["cpu_ms"][n]), start_floor("cpu_ms", "empty zipapp"),
        ratios["start_cpu"], "beside it, not judged")
    lines.append("| (floors) empty zipapp `-IS`: %.2f ms; `python3 -I -S -c pass`: %.2f ms |%s"
                 % (start_floor("ms", "empty zipapp"), start_floor("ms", "python3 -I -S -c pass"),
                    " |" * (len(names) + 4)))
    lines.append("| the floor against itself (A/A), wall; CPU: %s |%s %s | resolution: ±%.3f | |"
                 % (ratio_text(aa["peers' table"]["cpu"]), " - |" * (len(names) + 1),
                    ratio_text(aa["peers' table"]["wall"]), resolution(aa["peers' table"]["wall"])))
    idle_floor = lambda key: statistics.median(r["idle"]["empty zipapp"][key] for r in rounds)  # noqa: E731
    row("idle VmRSS, KiB", median_of(lambda r, n: r["idle"][n]["vmrss_kib"]),
        idle_floor("vmrss_kib"), ratios["vmrss"], "<= %gx" % TARGETS["vmrss"], "vmrss", "%d")
    row("idle RssAnon, KiB", median_of(lambda r, n: r["idle"][n]["rssanon_kib"]),
        idle_floor("rssanon_kib"), ratios["rssanon"], "<= %gx" % TARGETS["rssanon"], "rssanon",
        "%d")
    wakeups = {n: max(r["idle"][n]["wakeups"] for r in rounds) for n in names}
    lines.append("| wakeups in %gs idle, most of any round | %s | - | - | 0 | %s |" % (
        settings["idle_seconds"], " | ".join(str(wakeups[n]) for n in names),
        judged["peers' table: wakeups"]))
    fw = lambda key: median_of(lambda r, n: r["forwarding"][n][key])  # noqa: E731
    p50, p99 = fw("p50_ms"), fw("p99_ms")
    row("forwarding p50, ms (%d signals a round)" % settings["signals"], p50, p50["tini"],
        ratios["forwarding_p50"], "(floor = tini)", fmt="%.3f")
    row("forwarding p99, ms", p99, p99["tini"], ratios["forwarding_p99"],
        "<= %gx tini" % TARGETS["forwarding_p99"], "forwarding_p99", "%.3f")
    reap = median_of(lambda r, n: r["orphans"][n]["seconds"])
    row("reap %d orphans, s" % settings["orphans"], reap, reap["tini"], ratios["orphans"],
        "<= %gx tini" % TARGETS["orphans"], "orphans")
    row("RSS after the orphans, KiB", median_of(lambda r, n: r["orphans"][n]["rss_after_kib"]),
        None, ratios["rss_after_orphans"], "flat (floor = idle)", fmt="%d")
    stop = lambda case, key: median_of(lambda r, n: r["stop"][n][case][key])  # noqa: E731
    row("stop, child exits at once, ms", stop("exit_at_once", "ms"), None, None, "-")
    row("stop, last process exits 0.5 s after, ms", stop("tree_0_5s", "ms"), None, None,
        "waits for it")
    tails = {n: spread([r["stop"][n]["tree_0_5s"]["after_last_exit_ms"] for r in rounds])
             for n in names}
    row("... its exit to the init's exit, ms",
        {n: tails[n][0] if tails[n] else None for n in names}, None, None,
        "<= %d ms" % TARGETS["stop_tail_ms"], "stop tail")
    waited = {n: sum(r["stop"][n]["tree_0_5s"]["waited_runs"] for r in rounds) for n in names}
    runs = sum(r["stop"]["initapp"]["tree_0_5s"]["runs"] for r in rounds)
    lines += ["", "A `-` under *its exit to the init's exit*: that init did not wait; the kernel "
              "killed the process mid-cleanup (%s)." % ", ".join(
                  "%s waited %d/%d" % (n, waited[n], runs) for n in names)]
    return lines


def version_table(results):
    ratios, judged, aa = version_ratios(results), verdicts(results), checks(results)
    lines = ["initapp on each CPython, as PID 1 and as a subreaper, against the empty zipapp "
             "run by the same interpreter the same way (targets: start <= %gx, VmRSS <= %gx, "
             "RssAnon <= %gx, 0 wakeups; ✓✓ met in this run and the previous one, ✓ met in "
             "this run only, ✗ missed; the rows without their set are the cost the sets "
             "remove, not judged; the A/A rows time the floor against itself):"
             % (TARGETS["start"], TARGETS["vmrss"], TARGETS["rssanon"]),
             "",
             "| CPython | as | start-to-exit / floor | previous run | CPU time / floor "
             "| idle VmRSS / floor | idle RssAnon / floor | wakeups (most) "
             "| floor: start ms, VmRSS KiB |",
             "|---|---|---|---|---|---|---|---|---|"]
    previous, _ = comparable(results)
    before = version_ratios(previous) if previous else {}

    for (row, mode), figures in ratios.items():
        label = "%s %s" % (row_label(results, row), mode)

        def cell(key):
            mark = "" if is_source(row) else MARKS.get(judged.get("%s: %s" % (label, key)), "")
            return ratio_text(figures[key]) + mark

        earlier = before.get((row, mode), {}).get("start")
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %d | %.1f, %d |" % (
            row_label(results, row), mode, cell("start"),
            "%.3fx" % earlier[0] if earlier else "-", ratio_text(figures["start_cpu"]),
            cell("vmrss"), cell("rssanon"), figures["wakeups"][2], figures["floor_ms"][0],
            figures["floor_vmrss"][0]))
    for mode in results["modes"]:
        if mode in aa:
            lines.append("| %s, A/A: the floor against itself | %s | %s (±%.3f) | | %s | | | | |"
                         % (row_label(results, results["checked_version"]), mode,
                            ratio_text(aa[mode]["wall"]), resolution(aa[mode]["wall"]),
                            ratio_text(aa[mode]["cpu"])))
    return lines


def machine_lines(results):
    """What else the machine did: the load, other work's CPU time round by round."""
    machine = results.get("machine")
    if not machine:
        return []
    rounds = [r["machine"] for r in results["rounds"] if "machine" in r]
    # The load average after the first round counts the bench's own bursts of
    # orphans: only the one before the run says something about the machine.
    line = ("The machine: %d CPUs; load average %.2f before the run; other work kept %.2f "
            "CPUs busy in the 2 s before it" % (machine["cpus"], machine["loadavg"][0],
                                               machine["other_cpus"]))
    if rounds:
        line += (" and %.2f (%.2f–%.2f) through a round (the CPUs' busy time less the "
                 "bench's own); the hypervisor took %.2f (%.2f–%.2f)." % (
                     spread([m["other_cpus"] for m in rounds])
                     + spread([m["steal_cpus"] for m in rounds])))
    lines = [line + ("" if rounds else ".")]
    tallies = [r["disturbed"] for r in results["rounds"] if "disturbed" in r]
    if tallies:
        planned = sum(t["repetitions"] for t in tallies)
        rerun = sum(t["rerun"] for t in tallies)
        kept = sum(t["disturbed_kept"] for t in tallies)
        settings = results["settings"]
        lines.append(
            "Starts disturbed by other work (a task waited over %g ms for a CPU during one, "
            "by the kernel's CPU pressure) ran again once the machine was quiet: %d re-runs "
            "for %d repetitions kept (%.0f%%); %d kept disturbed once the spare re-runs "
            "(%g of the repetitions planned) were spent." % (
                settings["disturbed_ms"], rerun, planned, 100.0 * rerun / max(planned, 1),
                kept, settings["spare"])
            if all(t["pressure"] for t in tallies) else
            "The kernel gives no CPU pressure (PSI): no start was run again for other work.")
    return lines


def resolution_lines(results):
    aa = checks(results)
    parts = ["%s %s (±%.3f)" % (name, ratio_text(figure["wall"]), resolution(figure["wall"]))
             for name, figure in aa.items()]
    widest = max(resolution(figure["wall"]) for figure in aa.values())
    lines = ["Resolution: the floor timed against itself as if it were another command "
             "(A/A), median (min–max) of the rounds: %s. A start ratio is told apart from "
             "another, or from its target, only beyond about ±%.2f in a round; the median of "
             "the rounds strays less, but a run on a busier machine can shift every ratio "
             "together, which an A/A does not show: hence two runs." % ("; ".join(parts),
                                                                         widest)]
    moved = shifts(results)
    if moved:
        lines.append("From the previous full run of the same archive, the start ratios' medians "
                     "moved by %.3f on average, %.3f at most (%s): a change between two runs "
                     "smaller than that is not told apart from noise." % (statistics.mean(moved.values()), max(moved.values()),
                                   max(moved, key=moved.get)))
    close = close_calls(results)
    if close:
        lines.append("Close calls (the median within the A/A's resolution of its target): %s."
                     % "; ".join("%s %.3fx against %gx (±%.3f)" % call for call in close))
    return lines


def summary(results):
    settings, judged = results["settings"], verdicts(results)
    minutes, seconds = divmod(int(results["seconds"]), 60)
    lines = ["%d rounds (%d starts of each command a round in the first table, %d in the "
             "second, after %d warm-up; %d signals; %d orphans; %g s idle); %s; run %s of "
             "commit %s, archive sha256 %s...; the whole run took %d min %02d s."
             % (settings["rounds"], settings["starts"], settings["version_starts"],
                settings["warmup"], settings["signals"], settings["orphans"],
                settings["idle_seconds"], results["python"], results.get("date", "-"),
                results.get("commit") or "-", results.get("archive_sha256", "-")[:12],
                minutes, seconds)]
    glibc_signals = settings.get("glibc_signals")
    if glibc_signals:
        lines.append("Every command started with glibc's signals 32 and 33 %s." % (
            "at default, as a container engine starts PID 1"
            if glibc_signals == "default" else "ignored, as make leaves them"))
    lines += machine_lines(results) + resolution_lines(results)
    if not full_run(results):
        lines.append("Fewer than %d rounds: no target is judged." % MIN_ROUNDS)
        return lines
    previous, said = comparable(results)
    lines.append(said)
    counted = {word: [name for name, v in judged.items() if v == word]
               for word in (HELD, THIS_RUN, MISSED)}
    lines.append("Targets, by the median of the rounds: %d of %d held in 2 runs, %d met this "
                 "run only%s, %d missed%s" % (
                     len(counted[HELD]), len(judged), len(counted[THIS_RUN]),
                     " (" + "; ".join(counted[THIS_RUN]) + ")" if previous and counted[THIS_RUN]
                     else "", len(counted[MISSED]),
                     ": " + "; ".join(counted[MISSED]) + "." if counted[MISSED] else "."))
    return lines


# -- docs/performance.md --------------------------------------------------------------

def docs_page(page, results):
    """The page with its tables between DOCS_BEGIN and DOCS_END replaced by this
    run's."""
    head, begin, rest = page.partition(DOCS_BEGIN)
    _, end, tail = rest.partition(DOCS_END)
    if not begin or not end:
        raise ValueError("the page has no %r ... %r section" % (DOCS_BEGIN, DOCS_END))
    return head + DOCS_BEGIN + "\n\n" + markdown(results) + "\n" + DOCS_END + tail


# -- chart ----------------------------------------------------------------------------

GOOD, BAD, INK, GREY = "#3a7", "#d63", "#000", "#999"
LOW = 0.8  # the left end of every axis; 1.0 is the floor


def bar(parts, x, y, width, figure, target, high_end, height=14, colour=None):
    """From the floor (1.0) to the median: a bar; min-max: a whisker; the target: dashed."""
    median, low, high = figure

    def at(value):
        return x + (min(max(value, LOW), high_end) - LOW) / (high_end - LOW) * width

    colour = colour or (GOOD if median <= target else BAD)
    left, right = sorted((at(1.0), at(median)))
    parts.append('<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"/>'
                 % (left, y, max(right - left, 1), height, colour))
    parts.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s"/>'
                 % (at(1.0), y - 3, at(1.0), y + height + 3, GREY))
    mid = y + height / 2
    parts.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>'
                 % (at(low), mid, at(high), mid, INK))
    if target is not None:
        parts.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" '
                     'stroke-dasharray="3,2"/>'
                     % (at(target), y - 3, at(target), y + height + 3, INK))
    parts.append('<text x="%.1f" y="%d">%.3fx</text>'
                 % (max(at(high), at(median)) + 4, y + height - 2, median))


def svg(results):
    peers = peer_ratios(results)
    versions = version_ratios(results)
    aa = checks(results)
    first = [("start-to-exit / empty zipapp", peers["start"], TARGETS["start"]),
             ("idle VmRSS / empty zipapp", peers["vmrss"], TARGETS["vmrss"]),
             ("idle RssAnon / empty zipapp", peers["rssanon"], TARGETS["rssanon"]),
             ("forwarding p99 / tini", peers["forwarding_p99"], TARGETS["forwarding_p99"]),
             ("reap orphans / tini", peers["orphans"], TARGETS["orphans"]),
             ("A/A: the floor against itself", aa["peers' table"]["wall"], None)]
    rows = list(versions.items()) + [(("A/A", mode), {"start": aa[mode]["wall"]})
                                     for mode in results["modes"] if mode in aa]
    columns = (("start-to-exit", "start"), ("idle VmRSS", "vmrss"), ("idle RssAnon", "rssanon"))
    left, cell, row_h = 300, 200, 22
    width = left + cell * len(columns) + 10
    top = 56 + row_h * len(first) + 50
    height = top + row_h * len(rows) + 30
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
             'font-family="sans-serif" font-size="12">' % (width, height),
             '<rect width="100%" height="100%" fill="#fff"/>',
             '<text x="10" y="18" font-weight="bold">initapp / its floor, median of %d rounds: '
             'bar from the floor (grey, 1.0x), whisker min–max, target dashed</text>'
             % len(results["rounds"]),
             '<text x="10" y="36">green: the median meets the target; orange: it misses; '
             'grey: not judged (without its set; A/A). Axes start at %.1fx.</text>' % LOW]
    high_end = max(2.2, max(f[1][2] for f in first) * 1.1)
    for index, (label, figure, target) in enumerate(first):
        y = 48 + index * row_h
        parts.append('<text x="10" y="%d">%s</text>' % (y + 12, label))
        bar(parts, left, y, cell * 2, figure, target, high_end,
            colour=GREY if target is None else None)
    parts.append('<text x="10" y="%d" font-weight="bold">each CPython, as PID 1 and as a '
                 'subreaper, / the same interpreter\'s empty zipapp</text>' % (top - 26))
    for column, (title, key) in enumerate(columns):
        parts.append('<text x="%d" y="%d">%s</text>' % (left + column * cell, top - 8, title))
        high_end = max(1.5, max(f[key][2] for f in versions.values()) * 1.1)
        for index, ((row, mode), figures) in enumerate(rows):
            y = top + index * row_h
            checked = row == "A/A"
            if column == 0:
                parts.append('<text x="10" y="%d">%s, %s</text>' % (
                    y + 12, "A/A: the floor against itself" if checked
                    else row_label(results, row), mode))
            if key in figures:
                bar(parts, left + column * cell, y, cell - 56, figures[key],
                    None if checked else TARGETS[key], high_end,
                    colour=GREY if checked or is_source(row) else None)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def write(results, here, docs=False):
    """results.md and results.svg beside results.json; with docs, the tables of
    docs/performance.md too."""
    (here / "results.md").write_text(markdown(results))
    (here / "results.svg").write_text(svg(results))
    if docs:
        page = here.parent / "docs" / "performance.md"
        page.write_text(docs_page(page.read_text(), results))


if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    results = json.loads((here / "results.json").read_text())
    write(results, here, docs="--docs" in sys.argv[1:])
    print(markdown(results))
