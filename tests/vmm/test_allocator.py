"""keep_freed_memory: a process setting for training on the CPU; glibc only, harmless elsewhere."""

import platform
import sys

import pytest

from vmm import allocator


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_takes_effect_with_glibc():
    assert allocator.keep_freed_memory() is True


def test_does_nothing_where_there_is_no_glibc(monkeypatch):
    monkeypatch.setattr(allocator.sys, "platform", "darwin")
    assert allocator.keep_freed_memory() is False
