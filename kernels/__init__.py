"""Pure numba kernels: arrays in, arrays out. No I/O, no configuration, no globals.

Conventions: float32 images in [0, 1] (values above 1 are kept), mosaics (H, W),
images (H, W, 3) C-contiguous. CFA patterns are the 2x2 top-left block read row by row.
"""
