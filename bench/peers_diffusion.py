#!/usr/bin/env python3
"""Peer figures for bench/diffusion.bench.cpp (docs/diffusion.md): the same arithmetic as one
DDPM / DDIM reverse step, epsilon prediction, fresh noise, in eager PyTorch (one thread) and
NumPy, on a 4 x (n / 4) batch.

  ddpm_step      : out = c1 * x + c2 * eps + sigma * randn_like(x)      (DDPMScheduler.step's
                   arithmetic with the coefficients folded, the cheapest eager form)
  ddpm_step (diffusers form, peer torch_diffusers_form): the unfolded form of diffusers'
                   DDPMScheduler.step: pred_x0, then c0 * pred_x0 + ct * x, then + std * noise
  ddim_step      : eta = 1, the same folded form with the DDIM coefficients
  ddim_step_eta0 : out = c1 * x + c2 * eps (no noise)

Coefficients are computed once per call in Python floats (double), as latent does.
Times are CPU time of this process (time.process_time) per call.
Run: /usr/bin/python3 bench/peers_diffusion.py [--json]
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

SIZES = [4096, 16384, 1 << 20, 1 << 24]


def measure(fn, min_time=0.5, min_reps=3):
    fn()  # warm-up
    reps = 0
    c0 = time.process_time()
    while True:
        fn()
        reps += 1
        c1 = time.process_time()
        if reps >= min_reps and c1 - c0 >= min_time:
            return (c1 - c0) / reps


def coefficients():
    betas = np.linspace(1e-4, 0.02, 1000)
    ac = np.cumprod(1 - betas)
    t, p = 500, 499
    apt, app = ac[t], ac[p]
    cur_b = 1 - apt / app
    c0 = math.sqrt(app) * cur_b / (1 - apt)
    ct = math.sqrt(apt / app) * (1 - app) / (1 - apt)
    ddpm = (c0 / math.sqrt(apt) + ct, -c0 * math.sqrt(1 - apt) / math.sqrt(apt),
            math.sqrt((1 - app) / (1 - apt) * cur_b), apt, c0, ct)
    p = 480
    app = ac[p]
    var = (1 - app) / (1 - apt) * (1 - apt / app)
    std = math.sqrt(var)
    d = math.sqrt(1 - app - var)
    ddim = (math.sqrt(app) / math.sqrt(apt), -math.sqrt(app) * math.sqrt(1 - apt) / math.sqrt(apt) + d, std)
    return ddpm, ddim


def main():
    as_json = "--json" in sys.argv
    (c1, c2, sigma, apt, c0, ct), (d1, d2, dstd) = coefficients()
    rows = []
    for tdtype, ndtype, name in ((torch.float32, np.float32, "float"),
                                 (torch.float64, np.float64, "double")):
        for n in SIZES:
            g = torch.Generator().manual_seed(0)
            x = torch.rand(4, n // 4, generator=g, dtype=tdtype) * 2 - 1
            eps = torch.rand(4, n // 4, generator=g, dtype=tdtype) * 2 - 1

            def ddpm_folded():
                return c1 * x + c2 * eps + sigma * torch.randn_like(x)

            def ddpm_diffusers():
                pred_x0 = (x - (1 - apt) ** 0.5 * eps) / apt ** 0.5
                prev = c0 * pred_x0 + ct * x
                return prev + sigma * torch.randn(x.shape, generator=g, dtype=tdtype)

            def ddim_folded():
                return d1 * x + d2 * eps + dstd * torch.randn_like(x)

            def ddim_eta0():
                return d1 * x + d2 * eps

            xn, en = x.numpy(), eps.numpy()
            rng = np.random.default_rng(0)

            def ddpm_numpy():
                return c1 * xn + c2 * en + sigma * rng.standard_normal(xn.shape, dtype=ndtype)

            for op, peer, fn in (("ddpm_step", "torch", ddpm_folded),
                                 ("ddpm_step", "torch_diffusers_form", ddpm_diffusers),
                                 ("ddpm_step", "numpy", ddpm_numpy),
                                 ("ddim_step", "torch", ddim_folded),
                                 ("ddim_step_eta0", "torch", ddim_eta0)):
                cpu = measure(fn, min_time=0.3 if n >= (1 << 24) else 0.5)
                rows.append({"op": op, "dtype": name, "n": n, "peer": peer,
                             "ns_per_elem": cpu * 1e9 / n})
    if as_json:
        print(json.dumps(rows))
        return
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, numpy {np.__version__}")
    print("{:<16} {:<22} {:>6} {:>10} {:>12}".format("op", "peer", "dtype", "n", "ns_per_elem"))
    for r in rows:
        print("{:<16} {:<22} {:>6} {:>10} {:>12.3f}".format(r["op"], r["peer"], r["dtype"], r["n"],
                                                          r["ns_per_elem"]))


if __name__ == "__main__":
    main()
