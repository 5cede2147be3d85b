"""From the sensor's rows and columns to the image as it is meant to be shown.

Two things in a raw file's metadata change the geometry of the developed image:
- the orientation (TIFF/EXIF tag 274, values 1-8: how the stored rows map to the displayed
  image; 6 is a camera held with its right side up, shown turned 90 degrees clockwise), and
- the pixel aspect ratio (DNG DefaultScale, LibRaw's `pixel_aspect`): the width of a sensor
  pixel over its height, not 1 on a few cameras (the Kodak DC120's is 1.53).

LibRaw's postprocessing stretches first and then turns the image (dcraw's flip codes).
`displayed` does the same (kernels.geometry; cv2.flip for the mirrors), so a developed frame has
LibRaw's output size and orientation. The stretch interpolates linearly, as dcraw's `stretch()`
does; LibRaw 0.22 repeats the source sample to the left of each new row or column instead.
"""
from __future__ import annotations

import cv2
import numpy as np

from kernels import geometry as kgeometry

# LibRaw's `sizes.flip` (dcraw: bit 2 swap the axes, bit 1 flip the rows, bit 0 the columns)
# -> the TIFF/EXIF orientation it stands for; dcraw reads tag 274 as "50132467"[value & 7].
EXIF_FROM_LIBRAW_FLIP = {0: 1, 1: 2, 2: 4, 3: 3, 4: 5, 5: 8, 6: 6, 7: 7}
ORIENTATIONS = range(1, 9)


def stretched_size(height: int, width: int, pixel_aspect: float) -> tuple[int, int]:
    """(height, width) of a (height, width) image stretched to square pixels."""
    if pixel_aspect == 1:
        return height, width
    if pixel_aspect < 1:
        return int(height / pixel_aspect + 0.5), width
    return height, int(width * pixel_aspect + 0.5)


def displayed_shape(height: int, width: int, orientation: int, pixel_aspect: float) -> tuple[int, int]:
    """(height, width) of `displayed` for a (height, width) developed frame."""
    h, w = stretched_size(height, width, pixel_aspect)
    return (w, h) if orientation >= 5 else (h, w)


def displayed(image: np.ndarray, orientation: int, pixel_aspect: float, out: np.ndarray | None = None) -> np.ndarray:
    """The developed (H, W, 3) image stretched to square pixels and turned upright, in LibRaw's
    order (kernels.geometry), into `out` when given. Half floats are turned as their bits and
    stretched in float32."""
    if orientation not in ORIENTATIONS:
        raise ValueError(f"orientation {orientation!r}; expected 1 to 8")
    shape = displayed_shape(image.shape[0], image.shape[1], orientation, pixel_aspect) + image.shape[2:]
    if out is None:
        out = np.empty(shape, image.dtype)
    elif out.shape != shape or out.dtype != image.dtype or not out.flags.c_contiguous:
        raise ValueError(f"out: expected a C-contiguous {shape} {image.dtype} array, got {out.shape} {out.dtype}")
    if pixel_aspect != 1:
        work = image.astype(np.float32) if image.dtype == np.float16 else image
        upright = stretched_size(image.shape[0], image.shape[1], pixel_aspect) + image.shape[2:]
        wide = np.empty(upright, work.dtype)
        kgeometry.stretch(work, float(pixel_aspect), np.issubdtype(work.dtype, np.integer), wide)
        image = wide.astype(np.float16) if image.dtype == np.float16 else wide
    image, target = np.ascontiguousarray(image), out
    if image.dtype == np.float16:  # turned as their bits
        image, target = image.view(np.uint16), out.view(np.uint16)
    if orientation in _FLIPS:  # the same pixels, 2-3x faster (UHD: ~4 against ~13 ms)
        cv2.flip(image, _FLIPS[orientation], dst=target)
    else:
        kgeometry.orient(image, orientation, target)
    return out


# orientations that are mirrors (left-right, both ways = turned 180 degrees, top-bottom): cv2.flip
_FLIPS = {2: 1, 3: -1, 4: 0}
