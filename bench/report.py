"""Turn one benchmark run into docs/benchmarks/README.md plus PNG plots."""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - after choosing the headless backend


def goal_met(value: float | None, goal: float, comparison: str) -> bool | None:
    if value is None:
        return None
    return value >= goal if comparison == ">=" else value <= goal


def _fmt(value) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def plot_latency(endpoints: dict[str, dict], path: Path) -> None:
    """Grouped bars: p50/p95/p99 per endpoint (cached, warm)."""
    names = list(endpoints)
    fig, ax = plt.subplots(figsize=(10, 4.5))
    width = 0.27
    for offset, key in enumerate(("p50_ms", "p95_ms", "p99_ms")):
        xs = [i + (offset - 1) * width for i in range(len(names))]
        ax.bar(xs, [endpoints[n].get(key, 0) for n in names], width, label=key.replace("_ms", ""))
    ax.set_xticks(range(len(names)), names, rotation=20, ha="right")
    ax.set_ylabel("latency (ms)")
    ax.set_title("Latency percentiles per endpoint (caches warm)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_cached_vs_uncached(pairs: dict[str, tuple[float, float]], path: Path) -> None:
    names = list(pairs)
    fig, ax = plt.subplots(figsize=(8, 4))
    xs = range(len(names))
    ax.bar([x - 0.2 for x in xs], [pairs[n][0] for n in names], 0.4, label="cached p50")
    ax.bar([x + 0.2 for x in xs], [pairs[n][1] for n in names], 0.4, label="uncached p50")
    ax.set_xticks(list(xs), names)
    ax.set_ylabel("p50 latency (ms)")
    ax.set_title("Cached vs uncached (CACHES_ENABLED=off)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_depth(series: dict[str, list[tuple[int, float]]], path: Path) -> None:
    """Page cost against depth: keyset vs OFFSET."""
    fig, ax = plt.subplots(figsize=(8, 4))
    for name, points in series.items():
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=name)
    ax.set_xscale("symlog")
    ax.set_xlabel("depth (messages before the page)")
    ax.set_ylabel("p95 page cost (ms)")
    ax.set_title("History page cost against depth")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(results: dict, out_dir: Path) -> Path:
    """results: {"meta": {...}, "goals": [{name, value, goal, comparison, unit, detail}], "plots": {...}}"""
    out_dir.mkdir(parents=True, exist_ok=True)
    plots = results.get("plots", {})
    images = []
    if plots.get("latency"):
        plot_latency(plots["latency"], out_dir / "latency.png")
        images.append(("Latency percentiles per endpoint", "latency.png"))
    if plots.get("cached_vs_uncached"):
        plot_cached_vs_uncached(plots["cached_vs_uncached"], out_dir / "cached_vs_uncached.png")
        images.append(("Cached vs uncached", "cached_vs_uncached.png"))
    if plots.get("depth"):
        plot_depth(plots["depth"], out_dir / "page_cost_by_depth.png")
        images.append(("Page cost against depth", "page_cost_by_depth.png"))

    meta = results.get("meta", {})
    lines = [
        "# Benchmark report",
        "",
        f"Run `{meta.get('started_at', '?')}`, scale `{meta.get('scale', '?')}`, "
        f"{meta.get('cores', '?')} cores, {meta.get('machine', '')}. Reproduce with `make bench` "
        "(medium) or `make bench-quick` (small). Every ratio's numerator and denominator were measured "
        "back to back in this run.",
        "",
        "| goal | measured | target | met | detail |",
        "|---|---|---|---|---|",
    ]
    met_count = 0
    for goal in results["goals"]:
        met = goal_met(goal.get("value"), goal["goal"], goal["comparison"])
        met_count += bool(met)
        mark = {True: "yes", False: "**no**", None: "not measured"}[met]
        unit = goal.get("unit", "")
        lines.append(
            f"| {goal['name']} | {_fmt(goal.get('value'))} {unit} | {goal['comparison']} {_fmt(goal['goal'])} {unit} "
            f"| {mark} | {goal.get('detail', '')} |"
        )
    lines += ["", f"{met_count} of {len(results['goals'])} goals met.", ""]
    for title, image in images:
        lines += [f"## {title}", "", f"![{title}]({image})", ""]
    if results.get("notes"):
        lines += ["## Notes", "", *[f"- {note}" for note in results["notes"]], ""]
    if results.get("tables"):
        for title, rows in results["tables"].items():
            lines += [f"## {title}", "", "| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
            lines += ["| " + " | ".join(_fmt(cell) for cell in row) + " |" for row in rows[1:]]
            lines.append("")
    report = out_dir / "README.md"
    report.write_text("\n".join(lines))
    return report


def save_raw(results: dict, results_dir: Path, stamp: str) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{stamp}.json"
    path.write_text(json.dumps(results, indent=2, default=str))
    return path
