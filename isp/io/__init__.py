"""Readers and writers: raw frames in, developed images out."""
from isp.io.reader import read
from isp.io.sequence import Sequence, expand, frame_path, parse_frames
from isp.io.writers import atomic_path, read_image, write

__all__ = ["read", "write", "read_image", "atomic_path", "expand", "frame_path", "parse_frames", "Sequence"]
