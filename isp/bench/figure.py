"""A run's result as a PNG (`isp bench --plot`)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def plot(result: dict, path) -> Path:
    """A PNG: per-frame latency by stage (stacked) with the budget lines; stage p50/p99; thread
    scaling; peers. Uses matplotlib's Agg canvas directly (no pyplot, no global backend change)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from isp.io import atomic_path

    frames = result["per_frame"]
    stages = list(result["stages"])
    fig = Figure(figsize=(13, 8), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2, 3)
    ax = fig.add_subplot(grid[0, :])
    x = np.array([r["index"] for r in frames])
    bottom = np.zeros(len(frames))
    colours = [f"C{i}" for i in range(10)]
    for i, name in enumerate(stages):
        vals = np.array([r["ms"].get(name, 0.0) for r in frames])
        ax.bar(x, vals, bottom=bottom, width=0.85, color=colours[i % 10], label=name, linewidth=0)
        bottom += vals
    other = np.array([r["total_ms"] for r in frames]) - bottom
    ax.bar(x, np.clip(other, 0, None), bottom=bottom, width=0.85, color="0.75", label="other (untimed)", linewidth=0)
    ax.plot(x, [r["total_ms"] for r in frames], "k.", ms=3, label="end to end")
    st = result.get("sustained")
    if st:
        ax.axhline(st["ms_per_frame"], color="tab:blue", lw=1.2, ls=":", zorder=3,
                   label=f"sustained, {st['runner']} ({st['fps']:.1f} fps)")
    top = max([r["total_ms"] for r in frames] + ([st["ms_per_frame"]] if st else []) + [1e-9])
    # show the budgets up to ~1.6x the slowest frame; the rest are met by far and listed in a corner
    shown = [b for b in result["budgets"] if b["budget_ms"] <= top * 1.6]
    hidden = [b for b in result["budgets"] if b not in shown]
    ymax = max([top * 1.12] + [b["budget_ms"] * 1.1 for b in shown])
    groups: list[list[dict]] = []  # budgets too close to label apart share one label
    for b in sorted(shown, key=lambda b: b["budget_ms"]):
        if groups and b["budget_ms"] - groups[-1][-1]["budget_ms"] < 0.04 * ymax and \
                b["meets"] == groups[-1][-1]["meets"]:
            groups[-1].append(b)
        else:
            groups.append([b])
    last_y = -np.inf
    for g in groups:
        col = "tab:green" if g[0]["meets"] else "tab:red"
        for b in g:
            ax.axhline(b["budget_ms"], color=col, lw=1, ls="--", zorder=3)
        fps_text = "/".join(f"{b['fps']:g}" for b in g)
        head = f"{g[0]['headroom_pct']:+.0f}%"
        if len(g) > 1 and f"{g[-1]['headroom_pct']:+.0f}%" != head:
            head += f" to {g[-1]['headroom_pct']:+.0f}%"
        label = f"{fps_text} fps ({g[0]['budget_ms']:.1f}{'-' + format(g[-1]['budget_ms'], '.1f') if len(g) > 1 else ''}" \
                f" ms): {'meets' if g[0]['meets'] else 'misses'} {head}"
        y = max(g[-1]["budget_ms"], last_y + 0.045 * ymax)
        last_y = y
        ax.annotate(label, (0.995, y), xycoords=("axes fraction", "data"), xytext=(0, 2), textcoords="offset points",
                    ha="right", va="bottom", fontsize=7, color=col, zorder=4,
                    bbox=dict(boxstyle="square,pad=0.1", fc="white", ec="none", alpha=0.7))
    ax.set_ylim(0, max(ymax, last_y + 0.08 * ymax))
    ax.set_xlim(x.min() - 0.6, x.max() + 0.6)
    ax.set_xlabel("frame (after the warm-up frame)")
    ax.set_ylabel("ms")
    inp, m = result["input"], result["machine"]
    e = result["end_to_end"]
    title = (f"isp bench: {inp['width']}x{inp['height']}, {result['frames']} frames, {result['threads']['used']} "
             f"thread(s) on {m['cpu_model']} — end to end p50 {e['p50_ms']:.1f} ms, p99 {e['p99_ms']:.1f} ms, "
             f"{e['fps']:.1f} fps")
    ax.set_title(title, fontsize=10)
    if hidden:
        ax.text(0.005, 0.98, "budgets off the scale, met: " + ", ".join(
            f"{b['fps']:g} fps ({b['headroom_pct']:+.0f}%)" for b in hidden), transform=ax.transAxes, fontsize=7, va="top")
    from matplotlib.lines import Line2D

    handles, labels = ax.get_legend_handles_labels()
    handles += [Line2D([], [], color="tab:green", ls="--", lw=1), Line2D([], [], color="tab:red", ls="--", lw=1)]
    labels += ["budget met (p99)", "budget missed (p99)"]
    ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=7)

    ax2 = fig.add_subplot(grid[1, 0])
    y = np.arange(len(stages))
    p50 = [result["stages"][s]["p50_ms"] for s in stages]
    p99 = [result["stages"][s]["p99_ms"] for s in stages]
    ax2.barh(y + 0.2, p50, 0.4, color=[colours[i % 10] for i in range(len(stages))], label="p50")
    ax2.barh(y - 0.2, p99, 0.4, color=[colours[i % 10] for i in range(len(stages))], alpha=0.45, label="p99")
    for i, s in enumerate(stages):
        f = result["stages"][s].get("bandwidth_fraction")
        if f:
            ax2.annotate(f"{100 * f:.0f}% of copy bw", (p50[i], y[i] + 0.2), xytext=(3, 0), textcoords="offset points",
                         va="center", fontsize=7)
    ax2.set_yticks(y, stages, fontsize=8)
    ax2.invert_yaxis()
    ax2.set_xlabel("ms per frame")
    ax2.set_title("per stage: p50 (solid), p99 (light)", fontsize=9)
    ax2.set_xlim(0, max(p99 + [1e-9]) * 1.45)

    ax3 = fig.add_subplot(grid[1, 1])
    sc = result["threads"]["scaling"]
    if sc:
        t = [r["threads"] for r in sc]
        ax3.plot(t, [r["fps"] for r in sc], "o-", label="isp")
        ax3.plot(t, [sc[0]["fps"] * k for k in t], ":", color="0.5", label="linear")
        ax3.set_xticks(t)
        ax3.set_xlabel("numba threads")
        ax3.set_ylabel("frames per second")
        ax3.legend(fontsize=7)
        ax3.set_ylim(0, None)
    else:
        ax3.text(0.5, 0.5, "no thread scaling measured", ha="center", va="center", transform=ax3.transAxes)
    ax3.set_title("thread scaling", fontsize=9)

    ax4 = fig.add_subplot(grid[1, 2])
    c = result.get("compare")
    if c:
        names = list(c["peers"])
        ratios = [c["peers"][n]["ratio"] for n in names]
        labels = [f"{n}{' *' if c['peers'][n]['scaled_from_crop'] else ''}\n(vs {c['peers'][n]['reference']})"
                  for n in names]
        yy = np.arange(len(names))
        ax4.barh(yy, ratios, color=["tab:green" if r >= 1 else "tab:red" for r in ratios])
        ax4.axvline(1, color="k", lw=0.8)
        ax4.set_xscale("log")
        for i, r in enumerate(ratios):
            ax4.annotate(f"{r:.1f}x", (r, yy[i]), xytext=(3, 0), textcoords="offset points", va="center", fontsize=7)
        ax4.set_yticks(yy, labels, fontsize=7)
        ax4.invert_yaxis()
        ax4.set_xlabel("peer time / isp time (log; >1: isp faster)")
        if any(c["peers"][n]["scaled_from_crop"] for n in names):
            ax4.text(0.99, 0.01, "* timed on a crop, scaled per pixel", transform=ax4.transAxes, ha="right",
                     fontsize=6)
        ax4.set_xlim(min(ratios + [1]) / 1.5, max(ratios + [1]) * 3)
    else:
        ax4.text(0.5, 0.5, "peers not measured\n(isp bench --compare)", ha="center", va="center",
                 transform=ax4.transAxes)
        ax4.set_xticks([])
        ax4.set_yticks([])
    ax4.set_title("peers, same frame, same run", fontsize=9)

    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return path
