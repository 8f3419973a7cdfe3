"""The server's malloc tuning: image-sized buffers come from the heap, not one mmap each."""

from __future__ import annotations

import subprocess
import sys

PROBE = r"""
import ctypes, sys
from cowcloud.api.allocator import tune_allocator

class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena ordblks smblks hblks hblkhd usmblks "
                                               "fsmblks uordblks fordblks keepcost").split()]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
if sys.argv[1] == "tuned":
    assert tune_allocator()
before = libc.mallinfo2().hblks
chunks = [bytes(8 << 20) for _ in range(2)] + [bytes(256 << 10) for _ in range(4)]
print(libc.mallinfo2().hblks - before)
"""


def _mmapped_blocks(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True,
                         check=True)
    return int(out.stdout)


def test_image_sized_buffers_are_not_mmapped_once_tuned() -> None:
    assert _mmapped_blocks("default") >= 6  # glibc's default: one mmap per big buffer
    assert _mmapped_blocks("tuned") == 0
