"""isp: a sensor-to-grade camera image pipeline."""
from isp.errors import InputError
from isp.frame import DngColour, RawFrame
from isp.io import read, read_image, write

__all__ = ["InputError", "RawFrame", "DngColour", "read", "read_image", "write"]
