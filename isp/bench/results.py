"""A run's result out: the JSON file and the terminal table (the PNG: `isp.bench.figure`).

The JSON (`--json FILE`), schema "isp-bench/1" (docs/bench-json.md says more); keys marked * are
stable for scripts, the rest may grow. Times are milliseconds, rates GB/s (1e9 bytes):

    schema*        "isp-bench/1"
    created        ISO 8601 local time; command: the argument list
    machine*       {cpu_model, cores_logical, cores_available, numba_threads_max, threading_layer,
                    numba_cache_dir, memory_gb, loadavg_start, loadavg_end,
                    versions: {python, numpy, numba, isp, isp_commit, [rawpy, opencv, colour,
                    colour_demosaicing, opencolorio with --compare]}}
    input          {kind: "synthetic"|"sequence", width, height, pattern, distinct_frames, source}
    pipeline       {stages: [names], fused, depth, output_dtype, config: {...}}
    frames         number of steady-state frames measured
    setup_ms       building the pipeline
    first_frame_ms*  the first frame, end to end
    compile_ms*    first frame - steady p50 of the processing (JIT compile or cache load), floored at 0;
                   compile_kind: "cold" (--cold: an empty numba cache) | "cache"
    stages*        {name: {p50_ms*, p95_ms*, p99_ms*, max_ms*, min_ms, mean_ms, bytes, gb_per_s,
                    bandwidth_fraction}}  (bytes/gb_per_s/bandwidth_fraction null when unknown)
    end_to_end*    {p50_ms*, p95_ms*, p99_ms*, max_ms*, min_ms, mean_ms, fps*, includes: [...]}
                   fps = frames / summed end-to-end time (sequential throughput)
    budgets*       [{fps*, budget_ms*, basis: "p99", latency_ms, meets*, headroom_pct*,
                     meets_p50, headroom_p50_pct}]
    bandwidth      {bytes, numpy_copy_gb_s, numba_copy_gb_s, peak_gb_s}
    threads*       {used, scaling: [{threads*, frames, p50_ms*, fps*, speedup*, efficiency,
                    stages_p50_ms: {...}}]}
    per_frame      [{index, source, ms: {stage: ms}, total_ms}]
    compare*       null, or {repeats, peers: {name: {median_ms*, ratio*, reference, scaled_from_crop,
                    crop, what}}, reference_ms: {"isp": ms, "isp lut": ms}}
    sustained*     null, or (--sustained) {runner, frames*, warmup_frames, streamed, written, format, depth,
                    compression, read_ahead, write_behind, wall_ms, timed_wall_ms, ms_per_frame*, fps*,
                    serial_ms_per_frame, speedup, stages_p50_ms: {...},
                    budgets*: [{fps*, budget_ms*, ms_per_frame, meets*, headroom_pct*}]}
                   ms_per_frame = wall time from the first result to the last timed one / frames
    notes          [strings]: what a reader should know about this run (noise, scaling, ...)
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

SCHEMA = "isp-bench/1"


def jsonable(v):
    """`v` with numpy scalars and arrays, paths and tuples made into what `json` writes."""
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, Path):
        return str(v)
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    return str(v)


def write_json(result: dict, path) -> Path:
    """The result as a JSON file (written atomically)."""
    import json

    from isp.io import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(jsonable(result), indent=1, allow_nan=False) + "\n")
    return path


# ------------------------------------------------------------------------------------------------
# the terminal table


def _fmt_ms(v) -> str:
    return f"{v:8.1f}" if v >= 10 else f"{v:8.2f}"


def report(result: dict) -> str:
    """The result as a terminal table."""
    m, inp, pl = result["machine"], result["input"], result["pipeline"]
    v = m["versions"]
    lines = []
    src = "synthetic" if inp["kind"] == "synthetic" else inp["source"]
    lines.append(f"isp bench: {inp['width']}x{inp['height']} {inp['pattern']}, {src} "
                 f"({inp['distinct_frames']} distinct), {result['frames']} frames, "
                 f"{result['threads']['used']} thread(s)")
    lines.append(f"machine:   {m['cpu_model']}, {m['cores_available']} of {m['cores_logical']} cores, "
                 f"numba {v['numba']} ({m['threading_layer']}), numpy {v['numpy']}, python {v['python']}, "
                 f"isp {v['isp']}{' @' + v['isp_commit'] if v.get('isp_commit') else ''}")
    cfg = pl["config"]
    lines.append(f"pipeline:  {' -> '.join(pl['stages'])}  [demosaic {cfg['demosaic']['algorithm']}, denoise "
                 f"{cfg['denoise']['method']}, {cfg['output']['colorspace']}/{cfg['output']['transfer']}, "
                 f"lut {'yes' if cfg['grade']['lut'] else 'no'}, cdl {'yes' if cfg['grade']['cdl'] else 'no'}, "
                 f"{pl['output_dtype']} out{', unfused' if not pl['fused'] else ''}]")
    lines.append(f"warm-up:   set-up {result['setup_ms']:.0f} ms; first frame {result['first_frame_ms']:.0f} ms "
                 f"= {'JIT compile' if result['compile_kind'] == 'cold' else 'compile/cache load'} "
                 f"~{result['compile_ms']:.0f} ms + one frame")
    lines.append("")
    bw = result["bandwidth"]
    head = f"{'stage':<24}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'max ms':>8}{'GB/s':>8}{'% bw':>7}"
    lines += [head, "-" * len(head)]
    for name, s in result["stages"].items():
        gb = f"{s['gb_per_s']:8.2f}" if s.get("gb_per_s") else f"{'-':>8}"
        fr = f"{100 * s['bandwidth_fraction']:6.0f}%" if s.get("bandwidth_fraction") else f"{'-':>7}"
        lines.append(f"{name:<24}{_fmt_ms(s['p50_ms'])}{_fmt_ms(s['p95_ms'])}{_fmt_ms(s['p99_ms'])}"
                     f"{_fmt_ms(s['max_ms'])}{gb}{fr}")
    e = result["end_to_end"]
    lines.append("-" * len(head))
    lines.append(f"{'end to end':<24}{_fmt_ms(e['p50_ms'])}{_fmt_ms(e['p95_ms'])}{_fmt_ms(e['p99_ms'])}"
                 f"{_fmt_ms(e['max_ms'])}   {e['fps']:.1f} fps  ({' + '.join(e['includes'])})")
    lines.append(f"memory bandwidth ({bw['bytes'] / 1e6:.0f} MB copy, read + write): numpy "
                 f"{bw['numpy_copy_gb_s']:.1f} GB/s, numba parallel {bw['numba_copy_gb_s']:.1f} GB/s; "
                 "'% bw' = stage's minimum traffic at p50 / the better")
    lines.append("")
    st = result.get("sustained")
    if st:
        lines.append(f"sustained: {st['ms_per_frame']:.1f} ms/frame = {st['fps']:.1f} fps through {st['runner']}, "
                     f"{st['speedup']:.2f}x the serial {st['serial_ms_per_frame']:.1f} ms/frame")
        lines.append(f"  ({st['frames']} frames after a warm-up one, {st['format']} at depth {st['depth']}, read-ahead "
                     f"{st['read_ahead']}, write-behind {st['write_behind']}: reads and writes on their own threads)")
        lines.append("  p50 ms while streaming: " + ", ".join(f"{k} {v:.1f}" for k, v in st["stages_p50_ms"].items()))
        lines.append("")
    head = f"{'budget':<12}{'ms':>8}  {'verdict (p99)':<14}{'headroom':>9}   {'p50':<7}{'headroom':>9}"
    lines.append(head + (f"   {'sustained':<10}{'headroom':>9}" if st else ""))
    for i, b in enumerate(result["budgets"]):
        line = (f"{b['fps']:g} fps".ljust(12) + f"{b['budget_ms']:8.2f}  "
                f"{'meets' if b['meets'] else 'MISSES':<14}{b['headroom_pct']:8.1f}%   "
                f"{'meets' if b['meets_p50'] else 'MISSES':<7}{b['headroom_p50_pct']:8.1f}%")
        if st:
            s = st["budgets"][i]
            line += f"   {'meets' if s['meets'] else 'MISSES':<10}{s['headroom_pct']:8.1f}%"
        lines.append(line)
    sc = result["threads"]["scaling"]
    if sc:
        lines.append("")
        lines.append(f"{'threads':<9}{'p50 ms':>8}{'fps':>8}{'speedup':>9}{'efficiency':>12}   "
                     f"(alternating, {sc[0]['frames']} frames each)")
        for r in sc:
            lines.append(f"{r['threads']:<9}{_fmt_ms(r['p50_ms'])}{r['fps']:8.1f}{r['speedup']:9.2f}"
                         f"{100 * r['efficiency']:11.0f}%")
    c = result.get("compare")
    if c:
        lines.append("")
        ref = c["reference_ms"]
        lines.append(f"peers (median of {c['repeats']} alternating rounds; ratio = peer ms / isp ms, "
                     f"above 1 = isp faster): isp {ref['isp']:.1f} ms, isp lut {ref['isp lut']:.1f} ms")
        for name, p in c["peers"].items():
            note = f"  [{p['crop'][0]}x{p['crop'][1]} crop, scaled per pixel]" if p["scaled_from_crop"] else ""
            lines.append(f"  {name:<28}{p['median_ms']:9.1f} ms  {p['ratio']:7.2f}x {p['reference']:<8}{note}")
    if result["notes"]:
        lines.append("")
        lines += [f"note: {n}" for n in result["notes"]]
    return "\n".join(lines)

