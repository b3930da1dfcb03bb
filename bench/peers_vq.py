#!/usr/bin/env python3
"""Peer figures for bench/vq.bench.cpp (docs/vq.md): nearest-code lookup of B x D latents
against K codes with one thread.

  torch_cdist_argmin : torch.cdist(z, e).argmin(1) + gather (the usual VQ-VAE code path)
  torch_addmm_argmin : (||e||^2 - 2 z e^T).argmin(1) via torch.addmm (the expansion, no sqrt)
  numpy_expansion    : the same expansion in numpy (its BLAS) + argmin

Times are CPU time of this process (time.process_time), like Google Benchmark's CPU column,
so that other load on a shared machine does not inflate them; wall time is printed too.
Run: /usr/bin/python3 bench/peers_vq.py
"""
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


def main():
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
