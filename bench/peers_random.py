#!/usr/bin/python3
"""Peers for bench/random.bench.cpp: torch.randn (one thread) and NumPy, beside latent.

    python3 bench/peers_random.py [path/to/bench_random]   # one table, latent and peers
    python3 bench/peers_random.py --json                   # peers only, for tools/bench_report.py

Table mode runs bench_random (default build-random/bench/bench_random; 5 repetitions, the
median) for the latent and std::normal_distribution figures, times torch / NumPy in the same
run, and prints ns per element with the ratio peer / latent. --json prints a JSON list of
{"op", "dtype", "n", "peer", "ns_per_elem"} with op in randn, rand_uniform, rsample.
Times are process CPU time (best of several batches), comparable to Google Benchmark's CPU
time on a shared, loaded machine.
"""
import json
import subprocess
import sys
import time

import numpy as np
import torch

torch.set_num_threads(1)
SIZES = [4096, 1 << 14, 1 << 20, 16 << 20]


def best_ns_per_elem(fn, n, min_time=0.3):
    """Best over batches of calls of the process CPU time per call, in ns per element."""
    fn()
    reps = max(1, min(2000, int(2e7 // n)))
    best, total, batches = float("inf"), 0.0, 0
    while total < min_time or batches < 3:
        c0 = time.process_time()
        for _ in range(reps):
            fn()
        dt = time.process_time() - c0
        best, total, batches = min(best, dt / reps), total + dt, batches + 1
    return best / n * 1e9


def python_peers():
    """Rows (op, dtype, n, peer, ns_per_elem)."""
    rows = []
    rng = np.random.default_rng(1)
    for dtype, tdt, ndt in [("float", torch.float32, np.float32), ("double", torch.float64, np.float64)]:
        for n in SIZES:
            buf = torch.empty(n, dtype=tdt)
            rows.append(("randn", dtype, n, "torch",
                         best_ns_per_elem(lambda: torch.randn(n, dtype=tdt, out=buf), n)))
            nbuf = np.empty(n, dtype=ndt)
            rows.append(("randn", dtype, n, "numpy",
                         best_ns_per_elem(lambda: rng.standard_normal(n, dtype=ndt, out=nbuf), n)))
            rows.append(("rand_uniform", dtype, n, "torch",
                         best_ns_per_elem(lambda: torch.rand(n, dtype=tdt, out=buf), n)))
            rows.append(("rand_uniform", dtype, n, "numpy",
                         best_ns_per_elem(lambda: rng.random(n, dtype=ndt, out=nbuf), n)))
            mu = torch.rand(n, dtype=tdt)
            lv = torch.rand(n, dtype=tdt)
            rows.append(("rsample", dtype, n, "torch",
                         best_ns_per_elem(lambda: mu + torch.exp(0.5 * lv) * torch.randn(n, dtype=tdt), n)))
    return rows


def latent_figures(binary):
    """{(op, dtype, n): ns per element}, the median of 5 repetitions (CPU time)."""
    res = subprocess.run([binary, "--benchmark_format=json", "--benchmark_min_time=0.2",
                          "--benchmark_repetitions=5", "--benchmark_report_aggregates_only=true"],
                         check=True, capture_output=True, text=True)
    out = {}
    for b in json.loads(res.stdout)["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        op, dtype, n = b["run_name"].split("/")[:3]
        out[(op, dtype, int(n))] = 1e9 / b["items_per_second"]
    return out


def main():
    if "--json" in sys.argv[1:]:
        print(json.dumps([{"op": op, "dtype": dt, "n": n, "peer": peer, "ns_per_elem": v}
                          for op, dt, n, peer, v in python_peers()]))
        return
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    binary = args[0] if args else "build-random/bench/bench_random"
    lat = latent_figures(binary)
    peers = python_peers()
    ref_of = {"randn": "randn", "rand_uniform": "rand_uniform", "rsample": "rsample",
              "fill_randn": "randn", "std_normal_mt19937": "randn", "rsample_std_mt19937": "rsample"}
    print(f"{'op':28s} {'impl':26s} {'dtype':6s} {'size':>9s} {'ns/elem':>8s} {'x latent':>9s}")
    rows = [(op, "latent" if not op.startswith(("std_", "rsample_std")) else "C++ std::mt19937_64",
             dt, n, v) for (op, dt, n), v in sorted(lat.items())]
    rows += [(op, peer, dt, n, v) for op, dt, n, peer, v in peers]
    rows.sort(key=lambda r: (r[2], ref_of.get(r[0], r[0]), r[3], r[1] != "latent"))
    for op, impl, dt, n, v in rows:
        ref = lat.get((ref_of.get(op, op), dt, n))
        ratio = f"{v / ref:8.2f}x" if ref and impl != "latent" else ""
        print(f"{op:28s} {impl:26s} {dt:6s} {n:9d} {v:8.3f} {ratio:>9s}")


if __name__ == "__main__":
    main()
