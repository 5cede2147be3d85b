"""isp: a sensor-to-grade camera image pipeline."""
from isp.errors import InputError
from isp.frame import DngColour, RawFrame

__all__ = ["InputError", "RawFrame", "DngColour"]
