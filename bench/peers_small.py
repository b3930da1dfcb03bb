#!/usr/bin/env python3
"""Per-call peers of bench/small.bench.cpp: the same operations on a 64-element batch
(a 64 x 1 tensor) in eager PyTorch (torch.set_num_threads(1)) and NumPy, op names
<op>_call64 (issue 9.2, docs/performance.md). At this size the time is the fixed cost of a
call (Python dispatch, tensor allocation, kernel launch), which is what a sampler looping over
small latents pays at every step.

  randn_call64          torch.randn(64, 1)                 numpy: rng.standard_normal
  fill_randn_call64     buf.normal_()  (in place)          numpy: rng.standard_normal(out=buf)
  rand_uniform_call64   torch.rand(64, 1)                  numpy: rng.random
  rsample_call64        mu + exp(lv / 2) * randn_like(mu)
  kl_std_normal_call64  (0.5 (mu^2 + exp(lv) - 1 - lv)).sum(0)
  log_prob_call64       (-0.5 ((x - mu)^2 exp(-lv) + lv + log 2 pi)).sum(0)
  ddpm_step_call64      c1 x + c2 eps + sigma randn_like(x)   (DDPM, folded coefficients)
  ddim_step_call64      the same with DDIM eta = 1 coefficients
  langevin_step_call64  x + tau s + sqrt(2 tau) randn_like(x)
  euler_ancestral_step_call64  x + (x - D) / sigma (sigma_down - sigma) + sigma_up randn_like(x)
  vq_lookup_call64      e.index_select(0, cdist(z, e).argmin(1)), z: 1 x 64, e: 512 x 64

Times are process CPU time (time.process_time) per call, best of 5 batches, like Google
Benchmark's CPU column. With --json prints a JSON list of rows {"op", "dtype", "n": 64,
"peer", "ns_per_elem"} (ns per call / 64, the report's convention); otherwise a table of
ns per call.
Run: /usr/bin/python3 bench/peers_small.py [--json]
"""
import json
import math
import sys
import time

import numpy as np
import torch

torch.set_num_threads(1)
try:
    torch.set_num_interop_threads(1)
except RuntimeError:
    pass

N = 64
LOG_2PI = math.log(2 * math.pi)


def per_call(fn, batch_time=0.05, batches=5):
    """Best over `batches` batches of about batch_time CPU seconds: CPU seconds per call."""
    fn()
    reps = 1
    while True:  # calibrate
        c0 = time.process_time()
        for _ in range(reps):
            fn()
        dt = time.process_time() - c0
        if dt >= batch_time / 4:
            break
        reps *= 4
    reps = max(1, int(reps * batch_time / max(dt, 1e-9)))
    best = float("inf")
    for _ in range(batches):
        c0 = time.process_time()
        for _ in range(reps):
            fn()
        best = min(best, (time.process_time() - c0) / reps)
    return best


def coefficients():
    betas = np.linspace(1e-4, 0.02, 1000)
    ac = np.cumprod(1 - betas)
    t, p = 500, 499
    apt, app = ac[t], ac[p]
    cur_b = 1 - apt / app
    c0 = math.sqrt(app) * cur_b / (1 - apt)
    ct = math.sqrt(apt / app) * (1 - app) / (1 - apt)
    ddpm = (c0 / math.sqrt(apt) + ct, -c0 * math.sqrt(1 - apt) / math.sqrt(apt),
            math.sqrt((1 - app) / (1 - apt) * cur_b))
    p = 480
    app = ac[p]
    var = (1 - app) / (1 - apt) * (1 - apt / app)
    d = math.sqrt(1 - app - var)
    ddim = (math.sqrt(app) / math.sqrt(apt), -math.sqrt(app) * math.sqrt(1 - apt) / math.sqrt(apt) + d,
            math.sqrt(var))
    return ddpm, ddim


def rows():
    (c1, c2, sig), (d1, d2, dsig) = coefficients()
    tau = 0.01
    ct = math.sqrt(2 * tau)
    sigma, sigma_next = 1.5, 1.2
    up = math.sqrt(max(0.0, sigma_next ** 2 * (sigma ** 2 - sigma_next ** 2) / sigma ** 2))
    down = math.sqrt(max(0.0, sigma_next ** 2 - up ** 2))
    out = []
    for tdtype, ndtype, name in ((torch.float32, np.float32, "float"),
                                 (torch.float64, np.float64, "double")):
        g = torch.Generator().manual_seed(0)
        x = torch.rand(N, 1, generator=g, dtype=tdtype) * 2 - 1
        mu = torch.rand(N, 1, generator=g, dtype=tdtype) * 2 - 1
        lv = (torch.rand(N, 1, generator=g, dtype=tdtype) * 2 - 1) * 0.5
        eps = torch.rand(N, 1, generator=g, dtype=tdtype) * 2 - 1
        buf = torch.empty(N, 1, dtype=tdtype)
        z = torch.randn(1, N, generator=g, dtype=tdtype)
        codes = torch.randn(512, N, generator=g, dtype=tdtype)
        rng = np.random.default_rng(0)
        xn, mun, lvn, epsn = x.numpy(), mu.numpy(), lv.numpy(), eps.numpy()
        nbuf = np.empty((N, 1), dtype=ndtype)
        ops = [
            ("randn", "torch", lambda: torch.randn(N, 1, dtype=tdtype)),
            ("randn", "numpy", lambda: rng.standard_normal((N, 1), dtype=ndtype)),
            ("fill_randn", "torch", lambda: buf.normal_()),
            ("fill_randn", "numpy", lambda: rng.standard_normal((N, 1), dtype=ndtype, out=nbuf)),
            ("rand_uniform", "torch", lambda: torch.rand(N, 1, dtype=tdtype)),
            ("rand_uniform", "numpy", lambda: rng.random((N, 1), dtype=ndtype)),
            ("rsample", "torch", lambda: mu + torch.exp(0.5 * lv) * torch.randn_like(mu)),
            ("rsample", "numpy",
             lambda: mun + np.exp(0.5 * lvn) * rng.standard_normal((N, 1), dtype=ndtype)),
            ("kl_std_normal", "torch", lambda: (0.5 * (mu * mu + torch.exp(lv) - 1 - lv)).sum(0)),
            ("kl_std_normal", "numpy", lambda: (0.5 * (mun * mun + np.exp(lvn) - 1 - lvn)).sum(0)),
            ("log_prob", "torch",
             lambda: (-0.5 * ((x - mu) ** 2 * torch.exp(-lv) + lv + LOG_2PI)).sum(0)),
            ("log_prob", "numpy",
             lambda: (-0.5 * ((xn - mun) ** 2 * np.exp(-lvn) + lvn + LOG_2PI)).sum(0)),
            ("ddpm_step", "torch", lambda: c1 * x + c2 * eps + sig * torch.randn_like(x)),
            ("ddpm_step", "numpy",
             lambda: c1 * xn + c2 * epsn + sig * rng.standard_normal((N, 1), dtype=ndtype)),
            ("ddim_step", "torch", lambda: d1 * x + d2 * eps + dsig * torch.randn_like(x)),
            ("langevin_step", "torch", lambda: x + tau * eps + ct * torch.randn_like(x)),
            ("euler_ancestral_step", "torch",
             lambda: x + (x - eps) / sigma * (down - sigma) + up * torch.randn_like(x)),
            ("vq_lookup", "torch", lambda: codes.index_select(0, torch.cdist(z, codes).argmin(1))),
        ]
        for op, peer, fn in ops:
            out.append({"op": op + "_call64", "dtype": name, "n": N, "peer": peer,
                        "ns_per_elem": per_call(fn) * 1e9 / N})
    return out


def main():
    r = rows()
    if "--json" in sys.argv:
        print(json.dumps(r))
        return
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, numpy {np.__version__}")
    print("{:<28} {:<7} {:>6} {:>12}".format("op", "peer", "dtype", "ns_per_call"))
    for x in r:
        print("{:<28} {:<7} {:>6} {:>12.0f}".format(x["op"], x["peer"], x["dtype"],
                                                  x["ns_per_elem"] * N))


if __name__ == "__main__":
    main()
