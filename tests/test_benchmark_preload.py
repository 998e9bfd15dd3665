"""The preload benchmark's memory reading (tests/benchmarks/preload_memory.py), on this very
process: what it reports must move as the process's memory does."""

from __future__ import annotations

import os

from tests.benchmarks.preload_memory import memory


def test_memory_reads_a_process_rss_pss_and_uss_in_kib():
    before = memory(os.getpid())
    assert 0 < before["uss"] <= before["pss"] <= before["rss"]
    # 64 MiB written one byte per 4 KiB page: all of it this process's own (65,536 KiB).
    block = bytearray(64 * 2**20)
    block[::4096] = b"\x01" * len(range(0, len(block), 4096))
    after = memory(os.getpid())
    assert 63 * 1024 <= after["uss"] - before["uss"] <= 70 * 1024
    assert 63 * 1024 <= after["rss"] - before["rss"] <= 70 * 1024
    del block
