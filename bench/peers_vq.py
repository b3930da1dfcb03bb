#!/usr/bin/env python3
"""Peer figures for bench/vq.bench.cpp (docs/vq.md): nearest-code lookup of B x D latents
against K codes with one thread.

  torch_cdist_argmin : torch.cdist(z, e).argmin(1) + gather (the usual VQ-VAE code path)
  torch_addmm_argmin : (||e||^2 - 2 z e^T).argmin(1) via torch.addmm (the expansion, no sqrt)
  numpy_expansion    : the same expansion in numpy (its BLAS) + argmin

Times are CPU time of this process (time.process_time), like Google Benchmark's CPU column,
so that other load on a shared machine does not inflate them; wall time is printed too.
With --json (tools/bench_report.py, docs/performance.md) it measures instead the report's op
vq_lookup/<dtype>/<n>: a D x B batch (D = 64, K = 512, n = B * D elements), nearest code and
gathered code vectors, and prints a JSON list of rows {"op", "dtype", "n", "peer",
"ns_per_elem"}: peer "torch" is cdist + argmin + index_select, "torch_addmm" the expansion,
"numpy" the expansion in NumPy.
Run: /usr/bin/python3 bench/peers_vq.py [--json]
"""
import json
import sys
import time

import numpy as np
import torch

torch.set_num_threads(1)
try:
    torch.set_num_interop_threads(1)
except RuntimeError:
    pass


def measure(fn, min_time=1.0, min_reps=3):
    fn()  # warm-up
    reps = 0
    c0, w0 = time.process_time(), time.perf_counter()
    while True:
        fn()
        reps += 1
        c1, w1 = time.process_time(), time.perf_counter()
        if reps >= min_reps and c1 - c0 >= min_time:
            return (c1 - c0) / reps, (w1 - w0) / reps


def report_rows():
    """vq_lookup at 4K, 1M and 16M elements (D = 64, K = 512), ns per element in CPU time."""
    d, k = 64, 512
    rows = []
    for tdtype, name in ((torch.float32, "float"), (torch.float64, "double")):
        for n in (4096, 1 << 20, 1 << 24):
            b = n // d
            g = torch.Generator().manual_seed(0)
            z = torch.randn(b, d, generator=g, dtype=tdtype)
            e = torch.randn(k, d, generator=g, dtype=tdtype)
            en = (e * e).sum(1)
            zn, enp = z.numpy(), e.numpy()
            enn = (enp * enp).sum(1)

            def cdist_argmin():
                return e.index_select(0, torch.cdist(z, e).argmin(1))

            def addmm_argmin():
                s = torch.addmm(en.unsqueeze(0), z, e.t(), beta=1.0, alpha=-2.0)
                return e.index_select(0, s.argmin(1))

            def numpy_expansion():
                return enp[(enn[None, :] - 2.0 * (zn @ enp.T)).argmin(1)]

            for peer, fn in (("torch", cdist_argmin), ("torch_addmm", addmm_argmin),
                             ("numpy", numpy_expansion)):
                cpu, _ = measure(fn, min_time=0.5 if n < (1 << 24) else 0.2, min_reps=2 if n < (1 << 24) else 1)
                rows.append({"op": "vq_lookup", "dtype": name, "n": n, "peer": peer,
                             "ns_per_elem": cpu * 1e9 / n})
    return rows


def main():
    if "--json" in sys.argv:
        print(json.dumps(report_rows()))
        return
    sizes = [(64, 64, 64), (4096, 64, 512), (4096, 64, 8192)]
    rows = []
    for tdtype, ndtype, name in ((torch.float32, np.float32, "float"),
                                 (torch.float64, np.float64, "double")):
        for b, d, k in sizes:
            g = torch.Generator().manual_seed(0)
            z = torch.randn(b, d, generator=g, dtype=tdtype)
            e = torch.randn(k, d, generator=g, dtype=tdtype)
            en = (e * e).sum(1)

            def cdist_argmin():
                idx = torch.cdist(z, e).argmin(1)
                return e.index_select(0, idx)

            def addmm_argmin():
                s = torch.addmm(en.unsqueeze(0), z, e.t(), beta=1.0, alpha=-2.0)
                idx = s.argmin(1)
                return e.index_select(0, idx)

            zn, enp = z.numpy(), e.numpy()
            enn = (enp * enp).sum(1)

            def numpy_expansion():
                s = enn[None, :] - 2.0 * (zn @ enp.T)
                idx = s.argmin(1)
                return enp[idx]

            for op, fn in (("torch_cdist_argmin", cdist_argmin),
                           ("torch_addmm_argmin", addmm_argmin),
                           ("numpy_expansion", numpy_expansion)):
                cpu, wall = measure(fn)
                rows.append((op, b, d, k, name, cpu * 1e3, wall * 1e3, cpu * 1e9 / b,
                             cpu * 1e9 / (b * k), 2.0 * b * k * d / cpu * 1e-9))
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, numpy {np.__version__}")
    hdr = ("op", "B", "D", "K", "dtype", "cpu_ms", "wall_ms", "ns_per_sample", "ns_per_pair",
           "GFLOPs")
    print("{:<20} {:>5} {:>4} {:>5} {:>6} {:>10} {:>10} {:>14} {:>12} {:>8}".format(*hdr))
    for r in rows:
        print("{:<20} {:>5} {:>4} {:>5} {:>6} {:>10.3f} {:>10.3f} {:>14.1f} {:>12.3f} {:>8.2f}"
              .format(*r))


if __name__ == "__main__":
    main()
