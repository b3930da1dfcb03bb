#!/usr/bin/python3
"""Peers for bench/random.bench.cpp: torch.randn (one thread) and numpy, beside latent.

Runs bench_random (path as argv[1], default build-random/bench/bench_random) for the latent and
std::normal_distribution figures, times torch.randn / numpy in the same run, and prints one table
of ns per element with the ratios peer / latent.
"""
import json
import subprocess
import sys
import time

import numpy as np
import torch

torch.set_num_threads(1)
SIZES = [4096, 1 << 20, 16 << 20]


def best_ns_per_elem(fn, n, min_time=0.3):
    fn()
    best, total, reps = float("inf"), 0.0, 0
    while total < min_time or reps < 3:
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        best, total, reps = min(best, dt), total + dt, reps + 1
    return best / n * 1e9


def python_peers():
    out = {}
    rng = np.random.default_rng(1)
    for dtype, tdt, ndt in [("float", torch.float32, np.float32), ("double", torch.float64, np.float64)]:
        for n in SIZES:
            buf = torch.empty(n, dtype=tdt)
            out[("torch.randn(out=)", dtype, n)] = best_ns_per_elem(lambda: torch.randn(n, dtype=tdt, out=buf), n)
            nbuf = np.empty(n, dtype=ndt)
            out[("numpy standard_normal(out=)", dtype, n)] = best_ns_per_elem(
                lambda: rng.standard_normal(n, dtype=ndt, out=nbuf), n)
            mu = torch.rand(n, dtype=tdt)
            lv = torch.rand(n, dtype=tdt)
            out[("torch rsample mu+exp(lv/2)*randn", dtype, n)] = best_ns_per_elem(
                lambda: mu + torch.exp(0.5 * lv) * torch.randn(n, dtype=tdt), n)
    return out


def latent_figures(binary):
    res = subprocess.run([binary, "--benchmark_format=json", "--benchmark_min_time=0.3"],
                         check=True, capture_output=True, text=True)
    out = {}
    for b in json.loads(res.stdout)["benchmarks"]:
        name = b["name"]  # e.g. BM_fill_randn<float>/4096
        base, n = name.split("/")[:2]
        op, dtype = base[3:].split("<")
        out[(op, dtype.rstrip(">"), int(n))] = b["ns_per_elem"] * (1e9 if b["ns_per_elem"] < 1e-3 else 1)
    return out


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "build-random/bench/bench_random"
    lat = latent_figures(binary)
    peers = python_peers()
    rows = []
    for (op, dtype, n), v in sorted(lat.items()):
        rows.append((op, dtype, n, v))
    for (op, dtype, n), v in sorted(peers.items()):
        rows.append((op, dtype, n, v))
    print(f"{'op':36s} {'dtype':6s} {'size':>9s} {'ns/elem':>8s} {'vs latent fill_randn':>21s}")
    for op, dtype, n, v in rows:
        ref_key = ("rsample_fused" if "rsample" in op else "fill_randn", dtype, n)
        ref = lat.get(ref_key)
        ratio = f"{v / ref:8.2f}x" if ref else ""
        print(f"{op:36s} {dtype:6s} {n:9d} {v:8.3f} {ratio:>21s}")


if __name__ == "__main__":
    main()
