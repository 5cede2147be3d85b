"""DNG read speed: LibRaw (rawpy) against isp's own reader (isp.io.dng_reader).

    python -m bench.dng_read_speed [FILE] [--repeats N]

Without FILE, a UHD frame from isp.synth is written with isp.io.dng.write_dng (12-bit data in
16-bit samples, 16.6 MB) to a temporary folder. The two readers alternate on the file (in the
page cache after the warm-up) and medians are reported.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from bench.common import alternate, ratio_table


def main(argv=None) -> int:
    from isp.io.dng import write_dng
    from isp.io.dng_reader import fallback_reason, read_dng
    from isp.io.libraw import read_libraw
    from isp.synth import SensorModel, default_chart, render

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", nargs="?", type=Path)
    ap.add_argument("--repeats", type=int, default=31)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.file
        if path is None:
            path = write_dng(Path(tmp) / "uhd.dng", render(default_chart(2160, 3840), SensorModel(pattern="RGGB")))
        reason = fallback_reason(path)
        if reason:
            print(f"{path}: isp reads it through LibRaw too ({reason})", file=sys.stderr)
            return 1
        times = alternate({"LibRaw": lambda: read_libraw(path), "isp": lambda: read_dng(path)}, args.repeats)
    print(ratio_table(times, "LibRaw", f"{path.name}: {args.repeats} alternated reads, "
                                        f"load average {os.getloadavg()[0]:.2f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
