"""The process-level policy of the extraction backend: freed memory kept for reuse."""

import platform
import subprocess
import sys

import pytest

from saesep import backend

# 50 rounds of 20 segment-sized arrays (160 KB each) allocated and freed together, as the
# separator's temporaries are; prints the page faults they cost
ROUNDS = """
import resource, sys
import numpy as np
from saesep.backend import reuse_freed_memory
if sys.argv[1] == "reuse":
    assert reuse_freed_memory()
def segment():
    return [np.ones(40_000, np.float32) for _ in range(20)]
segment()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(50):
    segment()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_segment_temporaries_reuse_freed_memory_instead_of_faulting_pages_in_again():
    faults = {mode: int(subprocess.run([sys.executable, "-c", ROUNDS, mode], capture_output=True, text=True,
                                       check=True).stdout) for mode in ("default", "reuse")}
    assert faults["default"] > 10_000  # glibc's own thresholds: the pages fault in every round
    assert faults["reuse"] < faults["default"] / 100


def test_a_users_malloc_setting_is_left_alone(monkeypatch):
    backend.reuse_freed_memory.cache_clear()
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "1000000")
    try:
        assert backend.reuse_freed_memory() is False
    finally:
        backend.reuse_freed_memory.cache_clear()
