"""The bench's report: per-round ratios to their floors, summarised as the median of
the rounds with their min-max; a target is met only when the median meets it.

    python3 bench/report.py   # bench/results.md and .svg again from bench/results.json"""

import json
import statistics
from pathlib import Path

MIN_ROUNDS = 5  # fewer rounds give figures, not verdicts
TARGETS = {"start": 1.15, "vmrss": 1.1, "rssanon": 1.15, "wakeups": 0,
           "forwarding_p99": 2.0, "orphans": 1.5, "stop_tail_ms": 50}
PEER_ORDER = ("initapp", "tini", "dumb-init", "catatonit")


def spread(values):
    """(median, min, max) of the rounds' values."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    return statistics.median(values), min(values), max(values)


def verdict(results, figure, target):
    """"met" or "MISSED" by the median, or "-" when there are too few rounds."""
    if figure is None or len(results["rounds"]) < MIN_ROUNDS:
        return "-"
    return "met" if figure[0] <= target else "MISSED"


def ratio_text(figure):
    # Three decimals: a verdict on 1.104 against 1.1 must be visible as such.
    if figure is None:
        return "-"
    return "%.3fx (%.2f–%.2f)" % figure


# -- the ratios, round by round -------------------------------------------------------

def peer_ratios(results):
    """{measure: (median, min, max)} of initapp's ratios in the peers' table."""
    rounds = results["rounds"]

    def over(numerator, denominator):
        return spread([numerator(r) / denominator(r) for r in rounds])

    idle = lambda r, init, key: r["idle"][init][key]  # noqa: E731
    return {
        "start": over(lambda r: r["start_ms"]["initapp"], lambda r: r["start_ms"]["empty zipapp"]),
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
            "start": spread([v["start_ms"] / v["floor_start_ms"] for v in per_round]),
            "vmrss": spread([v["idle"]["vmrss_kib"] / v["floor_idle"]["vmrss_kib"]
                             for v in per_round]),
            "rssanon": spread([v["idle"]["rssanon_kib"] / v["floor_idle"]["rssanon_kib"]
                               for v in per_round]),
            "wakeups": spread([v["idle"]["wakeups"] for v in per_round]),
            "floor_ms": spread([v["floor_start_ms"] for v in per_round]),
            "floor_vmrss": spread([v["floor_idle"]["vmrss_kib"] for v in per_round]),
        }
    return table


def is_source(row):
    return row.endswith(" source")


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
    """Several processes (bench/multi.py): median (min-max) of the rounds; empty
    for results from before the case existed."""
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
    ratios = peer_ratios(results)
    names = [n for n in PEER_ORDER if n in rounds[0]["start_ms"]]
    lines = ["| measure | " + " | ".join(names) + " | floor | initapp / floor: median "
             "(min–max) of %d rounds | target | |" % len(rounds),
             "|---|" + "---|" * (len(names) + 4)]

    def median_of(pick):
        return {n: statistics.median(pick(r, n) for r in rounds) for n in names}

    def row(label, values, floor, figure, target, key=None, fmt="%.2f", judged=""):
        cells = [fmt % values[n] if values.get(n) is not None else "-" for n in names]
        judged = verdict(results, figure, TARGETS[key]) if key else judged
        lines.append("| %s | %s | %s | %s | %s | %s |" % (
            label, " | ".join(cells), fmt % floor if floor is not None else "-",
            ratio_text(figure), target, judged))

    start = median_of(lambda r, n: r["start_ms"][n])
    floor = statistics.median(r["start_ms"]["empty zipapp"] for r in rounds)
    bare = statistics.median(r["start_ms"]["python3 -I -S -c pass"] for r in rounds)
    row("start-to-exit `INIT -- true`, ms", start, floor, ratios["start"],
        "<= %gx empty zipapp" % TARGETS["start"], "start")
    lines.append("| (floors) empty zipapp `-IS`: %.2f ms; `python3 -I -S -c pass`: %.2f ms |%s"
                 % (floor, bare, " |" * (len(names) + 4)))
    idle_floor = lambda key: statistics.median(r["idle"]["empty zipapp"][key] for r in rounds)  # noqa: E731
    row("idle VmRSS, KiB", median_of(lambda r, n: r["idle"][n]["vmrss_kib"]),
        idle_floor("vmrss_kib"), ratios["vmrss"], "<= %gx" % TARGETS["vmrss"], "vmrss", "%d")
    row("idle RssAnon, KiB", median_of(lambda r, n: r["idle"][n]["rssanon_kib"]),
        idle_floor("rssanon_kib"), ratios["rssanon"], "<= %gx" % TARGETS["rssanon"], "rssanon",
        "%d")
    wakeups = {n: max(r["idle"][n]["wakeups"] for r in rounds) for n in names}
    lines.append("| wakeups in %gs idle, most of any round | %s | - | - | 0 | %s |" % (
        settings["idle_seconds"], " | ".join(str(wakeups[n]) for n in names),
        verdict(results, (wakeups["initapp"],), TARGETS["wakeups"])))
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
        "<= %d ms" % TARGETS["stop_tail_ms"],
        judged=verdict(results, tails["initapp"], TARGETS["stop_tail_ms"]))
    waited = {n: sum(r["stop"][n]["tree_0_5s"]["waited_runs"] for r in rounds) for n in names}
    runs = sum(r["stop"]["initapp"]["tree_0_5s"]["runs"] for r in rounds)
    lines += ["", "A `-` under *its exit to the init's exit*: that init did not wait; the kernel "
              "killed the process mid-cleanup (%s)." % ", ".join(
                  "%s waited %d/%d" % (n, waited[n], runs) for n in names)]
    return lines


def version_table(results):
    ratios = version_ratios(results)
    lines = ["initapp on each CPython, as PID 1 and as a subreaper, against the empty zipapp "
             "run by the same interpreter the same way (targets: start <= %gx, VmRSS <= %gx, "
             "RssAnon <= %gx, 0 wakeups; ✗ marks a median that misses; the rows without "
             "their set are the cost the sets remove, not judged):"
             % (TARGETS["start"], TARGETS["vmrss"], TARGETS["rssanon"]),
             "",
             "| CPython | as | start-to-exit / floor | idle VmRSS / floor | idle RssAnon / floor "
             "| wakeups (most) | floor: start ms, VmRSS KiB |",
             "|---|---|---|---|---|---|---|"]

    for (row, mode), figures in ratios.items():
        def cell(key):
            judged = verdict(results, figures[key], TARGETS[key])
            missed = judged == "MISSED" and not is_source(row)
            return ratio_text(figures[key]) + (" ✗" if missed else "")

        lines.append("| %s | %s | %s | %s | %s | %d | %.1f, %d |" % (
            row_label(results, row), mode, cell("start"), cell("vmrss"), cell("rssanon"),
            figures["wakeups"][2], figures["floor_ms"][0], figures["floor_vmrss"][0]))
    return lines


def judged_targets(results):
    """[(what, verdict)] for every target of both tables."""
    peers = peer_ratios(results)
    judged = [("peers' table: %s" % key, verdict(results, peers[key], TARGETS[key]))
              for key in ("start", "vmrss", "rssanon", "forwarding_p99", "orphans")]
    for (row, mode), figures in version_ratios(results).items():
        if is_source(row):
            continue  # the cost the sets remove: a reference, not a target
        for key in ("start", "vmrss", "rssanon"):
            judged.append(("%s %s: %s" % (row_label(results, row), mode, key),
                           verdict(results, figures[key], TARGETS[key])))
        judged.append(("%s %s: wakeups" % (row_label(results, row), mode),
                       verdict(results, (figures["wakeups"][2],), TARGETS["wakeups"])))
    return judged


def summary(results):
    settings, judged = results["settings"], judged_targets(results)
    missed = [what for what, v in judged if v == "MISSED"]
    minutes, seconds = divmod(int(results["seconds"]), 60)
    lines = ["%d rounds (%d starts of each command a round in the first table, %d in the "
             "second; %d signals; %d orphans; %g s idle); %s; the whole run took %d min %02d s."
             % (settings["rounds"], settings["starts"], settings["version_starts"],
                settings["signals"], settings["orphans"], settings["idle_seconds"],
                results["python"], minutes, seconds)]
    glibc_signals = settings.get("glibc_signals")
    if glibc_signals:
        lines.append("Every command started with glibc's signals 32 and 33 %s." % (
            "at default, as a container engine starts PID 1 (initapp forks its workload)"
            if glibc_signals == "default" else "ignored, as make leaves them (initapp "
            "starts its workload with posix_spawnp)"))
    if len(results["rounds"]) < MIN_ROUNDS:
        lines.append("Fewer than %d rounds: no target is judged." % MIN_ROUNDS)
    else:
        lines.append("Targets met, by the median of the rounds: %d of %d%s" % (
            len(judged) - len(missed), len(judged),
            "." if not missed else "; missed: " + "; ".join(missed) + "."))
    return lines


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
    parts.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-dasharray="3,2"/>'
                 % (at(target), y - 3, at(target), y + height + 3, INK))
    parts.append('<text x="%.1f" y="%d">%.3fx</text>'
                 % (max(at(high), at(median)) + 4, y + height - 2, median))


def svg(results):
    peers = peer_ratios(results)
    versions = version_ratios(results)
    first = [("start-to-exit / empty zipapp", peers["start"], TARGETS["start"]),
             ("idle VmRSS / empty zipapp", peers["vmrss"], TARGETS["vmrss"]),
             ("idle RssAnon / empty zipapp", peers["rssanon"], TARGETS["rssanon"]),
             ("forwarding p99 / tini", peers["forwarding_p99"], TARGETS["forwarding_p99"]),
             ("reap orphans / tini", peers["orphans"], TARGETS["orphans"])]
    columns = (("start-to-exit", "start"), ("idle VmRSS", "vmrss"), ("idle RssAnon", "rssanon"))
    left, cell, row_h = 300, 200, 22
    width = left + cell * len(columns) + 10
    top = 56 + row_h * len(first) + 50
    height = top + row_h * len(versions) + 30
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
             'font-family="sans-serif" font-size="12">' % (width, height),
             '<rect width="100%" height="100%" fill="#fff"/>',
             '<text x="10" y="18" font-weight="bold">initapp / its floor, median of %d rounds: '
             'bar from the floor (grey, 1.0x), whisker min–max, target dashed</text>'
             % len(results["rounds"]),
             '<text x="10" y="36">green: the median meets the target; orange: it misses; '
             'grey: without its set, not judged. Axes start at %.1fx.</text>' % LOW]
    high_end = max(2.2, max(f[1][2] for f in first) * 1.1)
    for index, (label, figure, target) in enumerate(first):
        y = 48 + index * row_h
        parts.append('<text x="10" y="%d">%s</text>' % (y + 12, label))
        bar(parts, left, y, cell * 2, figure, target, high_end)
    parts.append('<text x="10" y="%d" font-weight="bold">each CPython, as PID 1 and as a '
                 'subreaper, / the same interpreter\'s empty zipapp</text>' % (top - 26))
    for column, (title, key) in enumerate(columns):
        parts.append('<text x="%d" y="%d">%s</text>' % (left + column * cell, top - 8, title))
        high_end = max(1.5, max(f[key][2] for f in versions.values()) * 1.1)
        for index, ((row, mode), figures) in enumerate(versions.items()):
            y = top + index * row_h
            if column == 0:
                parts.append('<text x="10" y="%d">%s, %s</text>'
                             % (y + 12, row_label(results, row), mode))
            bar(parts, left + column * cell, y, cell - 56, figures[key], TARGETS[key], high_end,
                colour=GREY if is_source(row) else None)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    results = json.loads((here / "results.json").read_text())
    (here / "results.md").write_text(markdown(results))
    (here / "results.svg").write_text(svg(results))
    print(markdown(results))
