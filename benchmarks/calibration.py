"""The host's fp32 GEMM peak, the calibration set beside every absolute time in benchmarks/README.md
(hosts here differ 2-3x between days).

    python benchmarks/calibration.py     # one-thread and all-thread GFLOP/s, as JSON
"""

from __future__ import annotations

import json
import os
import time

import torch


def gemm_peak_gflops(n: int = 2048, repeats: int = 5) -> float:
    """fp32 matmul of two n x n matrices at torch's current thread count, best of ``repeats``."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.matmul(a, b)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        torch.matmul(a, b)
        best = min(best, time.perf_counter() - started)
    return 2 * n**3 / best / 1e9


def main() -> None:
    peaks = {}
    for threads in sorted({1, len(os.sched_getaffinity(0))}):
        torch.set_num_threads(threads)
        peaks[f"fp32_gemm_gflops_{threads}_threads"] = round(gemm_peak_gflops(), 1)
    print(json.dumps({"time_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()), **peaks}))


if __name__ == "__main__":
    main()
