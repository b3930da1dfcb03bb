#!/usr/bin/python3
"""Eager-torch peer of bench/score.bench.cpp (one thread), same op names and sizes.

  langevin_step:          out = x + tau * s + sqrt(2 tau) * randn_like(x)
  langevin_step_noise:    the same with z given
  euler_ancestral_step:   out = x + (x - D) / sigma * (sigma_down - sigma) + sigma_up * randn_like(x)
                          (k-diffusion sample_euler_ancestral's arithmetic)
  euler_ancestral_noise:  the same with z given
Each op is timed in two forms: "eager" as a user writes it (fresh tensors), and "out=" with
preallocated outputs (torch.randn(out=), torch.add(out=), in-place ops), the fastest eager
form; the table reports the faster. Times are process CPU time (time.process_time), like
Google Benchmark's ns_per_elem counter, so that a loaded shared machine inflates neither.
Prints: op, size, dtype, ns per element.
With --json prints rows {"op", "dtype", "n", "peer": "torch", "ns_per_elem"} for
tools/bench_report.py (bench/README.md).
Run: /usr/bin/python3 bench/peers_score.py [--quick] [--json]
"""
import math
import sys
import time
import timeit

import torch

torch.set_num_threads(1)
torch.manual_seed(0)

SIZES = [1 << 12, 1 << 14, 1 << 20, 1 << 24]
QUICK = "--quick" in sys.argv


def ancestral(sf, st):
    up = math.sqrt(max(0.0, st ** 2 * (sf ** 2 - st ** 2) / sf ** 2))
    down = math.sqrt(max(0.0, st ** 2 - up ** 2))
    return down, up


def ops(n, dtype):
    x = torch.rand(4, n // 4, dtype=dtype)
    s = torch.rand_like(x)
    z = torch.randn_like(x)
    out = torch.empty_like(x)
    tmp = torch.empty_like(x)
    tau = 0.01
    c = math.sqrt(2 * tau)
    sigma, sigma_next = 1.5, 1.2
    down, up = ancestral(sigma, sigma_next)
    a = down / sigma

    def lang_eager():
        return x + tau * s + c * torch.randn_like(x)

    def lang_out():
        torch.randn(x.shape, dtype=dtype, out=tmp)
        torch.add(x, s, alpha=tau, out=out)
        out.add_(tmp, alpha=c)
        return out

    def lang_noise_eager():
        return x + tau * s + c * z

    def lang_noise_out():
        torch.add(x, s, alpha=tau, out=out)
        out.add_(z, alpha=c)
        return out

    def ea_eager():
        d = (x - s) / sigma
        return x + d * (down - sigma) + torch.randn_like(x) * up

    def ea_out():
        torch.randn(x.shape, dtype=dtype, out=tmp)
        torch.mul(x, a, out=out)
        out.add_(s, alpha=1 - a)
        out.add_(tmp, alpha=up)
        return out

    def ea_noise_eager():
        d = (x - s) / sigma
        return x + d * (down - sigma) + z * up

    def ea_noise_out():
        torch.mul(x, a, out=out)
        out.add_(s, alpha=1 - a)
        out.add_(z, alpha=up)
        return out

    return {
        "langevin_step": (lang_eager, lang_out),
        "langevin_step_noise": (lang_noise_eager, lang_noise_out),
        "euler_ancestral_step": (ea_eager, ea_out),
        "euler_ancestral_noise": (ea_noise_eager, ea_noise_out),
    }


def best_ns(fn, n):
    number = max(2, int(4e6 // n)) if not QUICK else max(1, int(2e5 // n))
    repeat = 5 if not QUICK else 3
    t = min(timeit.repeat(fn, number=number, repeat=repeat, timer=time.process_time)) / number
    return t * 1e9 / n


if "--json" in sys.argv[1:]:
    # Rows for tools/bench_report.py (bench/README.md): peer "torch" is the faster of the
    # eager and out= forms, ns per element in process CPU time.
    import json
    rows = []
    for dtype, dname in ((torch.float32, "float"), (torch.float64, "double")):
        for n in SIZES:
            for name, (eager, outf) in ops(n, dtype).items():
                rows.append({"op": name, "dtype": dname, "n": n, "peer": "torch",
                             "ns_per_elem": min(best_ns(eager, n), best_ns(outf, n))})
    print(json.dumps(rows))
    sys.exit(0)

print(f"# torch {torch.__version__}, threads {torch.get_num_threads()}")
print(f"{'op':<24} {'size':>10} {'dtype':>8} {'eager ns/el':>12} {'out= ns/el':>12} {'best':>8}")
for dtype in (torch.float32, torch.float64):
    for n in SIZES:
        for name, (eager, outf) in ops(n, dtype).items():
            e, o = best_ns(eager, n), best_ns(outf, n)
            print(f"{name:<24} {n:>10} {str(dtype).replace('torch.', ''):>8} {e:>12.3f} {o:>12.3f} {min(e, o):>8.3f}")
