#!/usr/bin/python3
"""Peer figures for bench/vae.bench.cpp: the same operations in PyTorch (eager, one thread,
CPU), on the same D x B = 64 x (n / 64) shapes, at n = 4K, 1M and 16M elements, float32 and
float64. Run it right after bench_vae (same machine state) and put both tables side by side.

  kl_std_normal  torch.distributions: kl_divergence(Normal(mu, exp(lv / 2)), Normal(0, 1)).sum(0)
                 (the distribution objects are built inside the timed call, as in a VAE loss)
  log_prob       Normal(mu, exp(lv / 2)).log_prob(x).sum(0)
  rsample        mu + exp(lv / 2) * eps with given eps (eager tensor expression, the work of
                 latent::diag_gaussian_rsample), and Normal(mu, std).rsample() which also draws eps
  *_eager        the same formula written as a plain eager tensor expression (no
                 torch.distributions objects, no argument validation)
  exp            torch.exp(x, out=y) with x uniform in [-10, 10] (bench_vae's exp_eigen/exp_fast)

With --json prints the rows tools/bench_report.py reads (bench/README.md): op in
kl_std_normal, log_prob, rsample_noise (given eps), rsample (torch.distributions draws eps),
peer torch (eager formula), torch_distributions, numpy.
Otherwise prints a table: op, n, dtype, ns per element and microseconds per call in process CPU time
(as Google Benchmark's counters), and microseconds per call in wall time.
"""
import sys
import time

import torch
import torch.distributions as td

torch.set_num_threads(1)
D = 64
SIZES = [4096, 1 << 20, 1 << 24]


def timeit(fn, n):
    """Best of three batches of calls: (wall seconds, process CPU seconds) per call. The CPU
    time is comparable to Google Benchmark's CPU time on a shared, loaded machine."""
    reps = max(3, min(20000, int(2e8 // n)))
    fn()
    best_wall = best_cpu = float("inf")
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(reps):
            fn()
        best_wall = min(best_wall, (time.perf_counter() - t0) / reps)
        best_cpu = min(best_cpu, (time.process_time() - c0) / reps)
    return best_wall, best_cpu


def main():
    rows = []
    for dtype in (torch.float32, torch.float64):
        for n in SIZES:
            g = torch.Generator().manual_seed(0)
            shape = (D, n // D)
            mu = torch.rand(shape, generator=g, dtype=dtype) * 2 - 1
            lv = (torch.rand(shape, generator=g, dtype=dtype) * 2 - 1) * 0.5
            x = torch.rand(shape, generator=g, dtype=dtype) * 2 - 1
            eps = torch.randn(shape, generator=g, dtype=dtype)
            zero, one = torch.zeros((), dtype=dtype), torch.ones((), dtype=dtype)
            xw = (torch.rand(shape, generator=g, dtype=dtype) * 2 - 1) * 10
            yw = torch.empty_like(xw)
            ops = {
                "kl_std_normal": lambda: td.kl_divergence(td.Normal(mu, torch.exp(0.5 * lv)),
                                                          td.Normal(zero, one)).sum(0),
                "kl_std_normal_eager": lambda: (0.5 * (mu * mu + torch.exp(lv) - 1 - lv)).sum(0),
                "log_prob": lambda: td.Normal(mu, torch.exp(0.5 * lv)).log_prob(x).sum(0),
                "log_prob_eager": lambda: (-0.5 * ((x - mu) ** 2 * torch.exp(-lv) + lv
                                                   + 1.8378770664093453)).sum(0),
                "rsample_eager": lambda: mu + torch.exp(0.5 * lv) * eps,
                "rsample_distributions": lambda: td.Normal(mu, torch.exp(0.5 * lv)).rsample(),
                "exp": lambda: torch.exp(xw, out=yw),
            }
            for name, fn in ops.items():
                wall, cpu = timeit(fn, n)
                rows.append((name, n, str(dtype).replace("torch.", ""), cpu * 1e9 / n, cpu * 1e6,
                             wall * 1e6))
                print("%-22s %9d %-8s %10.3f ns/elem(cpu) %12.2f us/call(cpu) %12.2f us/call(wall)"
                      % rows[-1], flush=True)
    return rows


def json_rows():
    """Rows for tools/bench_report.py (bench/README.md): op names as in bench_vae / bench_random.
    peer "torch" is the plain eager formula (the fastest eager form), "torch_distributions" the
    torch.distributions call, "numpy" the formula in NumPy; ns per element in process CPU time."""
    import numpy as np
    out = []
    for dtype, name, ndt in ((torch.float32, "float", np.float32), (torch.float64, "double", np.float64)):
        for n in SIZES:
            g = torch.Generator().manual_seed(0)
            shape = (D, n // D)
            mu = torch.rand(shape, generator=g, dtype=dtype) * 2 - 1
            lv = (torch.rand(shape, generator=g, dtype=dtype) * 2 - 1) * 0.5
            x = torch.rand(shape, generator=g, dtype=dtype) * 2 - 1
            eps = torch.randn(shape, generator=g, dtype=dtype)
            zero, one = torch.zeros((), dtype=dtype), torch.ones((), dtype=dtype)
            mun, lvn, xn = mu.numpy(), lv.numpy(), x.numpy()
            ops = [
                ("kl_std_normal", "torch", lambda: (0.5 * (mu * mu + torch.exp(lv) - 1 - lv)).sum(0)),
                ("kl_std_normal", "torch_distributions",
                 lambda: td.kl_divergence(td.Normal(mu, torch.exp(0.5 * lv)), td.Normal(zero, one)).sum(0)),
                ("kl_std_normal", "numpy", lambda: (0.5 * (mun * mun + np.exp(lvn) - 1 - lvn)).sum(0)),
                ("log_prob", "torch",
                 lambda: (-0.5 * ((x - mu) ** 2 * torch.exp(-lv) + lv + 1.8378770664093453)).sum(0)),
                ("log_prob", "torch_distributions",
                 lambda: td.Normal(mu, torch.exp(0.5 * lv)).log_prob(x).sum(0)),
                ("log_prob", "numpy",
                 lambda: (-0.5 * ((xn - mun) ** 2 * np.exp(-lvn) + lvn + 1.8378770664093453)).sum(0)),
                ("rsample_noise", "torch", lambda: mu + torch.exp(0.5 * lv) * eps),
                ("rsample", "torch_distributions", lambda: td.Normal(mu, torch.exp(0.5 * lv)).rsample()),
            ]
            for op, peer, fn in ops:
                _, cpu = timeit(fn, n)
                out.append({"op": op, "dtype": name, "n": n, "peer": peer, "ns_per_elem": cpu * 1e9 / n})
    return out


if __name__ == "__main__":
    if "--json" in sys.argv[1:]:
        import json
        print(json.dumps(json_rows()))
        sys.exit(0)
    print("torch %s, threads %d, validate_args default %s" %
          (torch.__version__, torch.get_num_threads(), td.Distribution._validate_args),
          file=sys.stderr)
    main()
