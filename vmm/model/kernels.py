"""Optional CUDA kernels from mamba_ssm / causal_conv1d, imported only when asked for.

`import mamba_ssm` fails on machines without CUDA (it loads its compiled extension at import time), so
nothing here is imported at module load: callers ask `mamba_kernels()` at the call site, on CUDA only.
"""

from __future__ import annotations

import functools
import logging
from typing import NamedTuple

logger = logging.getLogger(__name__)


class MambaKernels(NamedTuple):
    selective_scan_fn: object
    causal_conv1d_fn: object


@functools.lru_cache(maxsize=1)
def mamba_kernels() -> MambaKernels | None:
    """mamba_ssm's selective-scan and causal_conv1d's convolution, or None if either is missing."""
    try:
        from causal_conv1d import causal_conv1d_fn
        from mamba_ssm.ops.selective_scan_interface import selective_scan_fn
    except (ImportError, OSError, RuntimeError) as error:  # a broken CUDA build raises OSError/RuntimeError
        logger.debug("mamba_ssm kernels unavailable (%s); using the PyTorch scan", error)
        return None
    return MambaKernels(selective_scan_fn, causal_conv1d_fn)
