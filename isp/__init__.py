"""isp: a sensor-to-grade camera image pipeline.

    frame = isp.read("shot.0001.dng")
    image = isp.Pipeline.from_config("show.toml").process(frame)
    isp.write("shot.0001.exr", image)
"""
from isp.errors import InputError, ProcessingWarning
from isp.frame import DngColour, RawFrame
from isp.io import read, read_image, write

__all__ = ["InputError", "ProcessingWarning", "RawFrame", "DngColour", "read", "read_image", "write",
           "Pipeline", "process_sequence", "apply_lut", "apply_cdl"]

_LAZY = {"Pipeline": "isp.pipeline", "process_sequence": "isp.sequence", "apply_lut": "isp.grade",
         "apply_cdl": "isp.grade"}


def __getattr__(name):
    """The pipeline and grade entry points, imported on first use (they compile numba kernels)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'isp' has no attribute {name!r}")
