"""Keep freed memory inside the process while training on the CPU (glibc's malloc only).

A training step allocates the same few hundred MB of activations and saved states every time. By
default glibc hands blocks above a sliding threshold back to the kernel when they are freed (mmap'd
blocks, and the trimmed top of the heap), so a later step page-faults them in again. Measured on this
2-core CPU with the default model: a bare training loop at 8 x 512 tokens took 0-100,000 page faults
per step (about 4% of the step's time); in `vmm bench model`, where the peers' steps run in between
and reshape the heap, about 60,000 per step (about 7%). With both thresholds raised once per process
the pages are kept for reuse and steady-state steps take none; peak memory does not grow (the pages
were in use at the peak anyway), they are just not returned between steps.

The CLI calls this for `vmm fit/validate/test` and `vmm bench model`; library users may call it
themselves. It is a process setting (like torch.set_num_threads), so it is never done on import.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters, from glibc's malloc.h
KEEP_BYTES = 1 << 30


def keep_freed_memory(keep_bytes: int = KEEP_BYTES) -> bool:
    """Serve blocks below `keep_bytes` from the heap and never trim less than that from its top.

    Returns True when the setting took effect (Linux with glibc), False elsewhere (nothing changes).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and other C libraries have no mallopt
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    keep = min(keep_bytes, 2**31 - 1)
    done = bool(mallopt(_M_MMAP_THRESHOLD, keep)) and bool(mallopt(_M_TRIM_THRESHOLD, keep))
    log.debug("malloc keeps freed blocks below %d bytes: %s", keep, done)
    return done
