#!/usr/bin/python3
"""Reference values for tests/score/*.test.cpp and tests/diffusion/sigma_schedules.test.cpp.

Independent computation in float64 torch / mpmath of the formulas the C++ implements:
  * k-diffusion sampling.py: get_sigmas_karras / _exponential / _polyexponential,
    get_ancestral_step, the DPM-Solver++(2M) update (written out here from Lu et al. 2022,
    not imported), DiscreteSchedule.t_to_sigma / sigma_to_t (log-sigma interpolation);
  * Karras et al. 2022 Table 1 (EDM preconditioning);
  * Song et al. 2021 / score_sde sde_lib.py: VP, sub-VP, VE marginals and diffusion.
Run: /usr/bin/python3 tools/score_reference.py   (prints C++-ready literals)
"""
import math

import mpmath as mp
import torch

torch.set_default_dtype(torch.float64)
mp.mp.dps = 40


def fmt(xs):
    return ", ".join(repr(float(x)) for x in xs)


def karras(n, smin, smax, rho=7.0):
    ramp = torch.linspace(0, 1, n)
    lo, hi = smin ** (1 / rho), smax ** (1 / rho)
    return torch.cat([(hi + ramp * (lo - hi)) ** rho, torch.zeros(1)])


def exponential(n, smin, smax):
    s = torch.linspace(math.log(smax), math.log(smin), n).exp()
    return torch.cat([s, torch.zeros(1)])


def polyexponential(n, smin, smax, rho=1.0):
    ramp = torch.linspace(1, 0, n) ** rho
    s = torch.exp(ramp * (math.log(smax) - math.log(smin)) + math.log(smin))
    return torch.cat([s, torch.zeros(1)])


print("// sigmas_karras(10, 0.002, 80, 7)")
print(fmt(karras(10, 0.002, 80.0)))
print("// sigmas_karras(5, 0.1, 10, 3)")
print(fmt(karras(5, 0.1, 10.0, 3.0)))
print("// sigmas_exponential(6, 0.03, 14.6)")
print(fmt(exponential(6, 0.03, 14.6)))
print("// sigmas_polyexponential(7, 0.05, 20, 2.5)")
print(fmt(polyexponential(7, 0.05, 20.0, 2.5)))


def ancestral(sf, st, eta=1.0):
    sf, st = mp.mpf(sf), mp.mpf(st)
    up = min(st, eta * mp.sqrt(st ** 2 * (sf ** 2 - st ** 2) / sf ** 2))
    down = mp.sqrt(st ** 2 - up ** 2)
    return down, up


for sf, st, eta in [(14.6, 9.7, 1.0), (1.0, 0.3, 1.0), (2.0, 1.5, 0.5)]:
    d, u = ancestral(sf, st, eta)
    print(f"// get_ancestral_step({sf}, {st}, {eta}): down, up")
    print(fmt([d, u]))

# EDM Table 1 at sigma = 0.7, sigma_data = 0.5
s, sd = mp.mpf("0.7"), mp.mpf("0.5")
print("// EDM c_skip, c_out, c_in, c_noise, weight at sigma 0.7")
print(fmt([sd ** 2 / (s ** 2 + sd ** 2), s * sd / mp.sqrt(s ** 2 + sd ** 2),
           1 / mp.sqrt(s ** 2 + sd ** 2), mp.log(s) / 4, (s ** 2 + sd ** 2) / (s * sd) ** 2]))

# DPM-Solver++(2M) coefficients for sigmas (3.0, 1.5, 0.6): x' = a x + b D + c D_old
sp, sc, sn = mp.mpf(3), mp.mpf("1.5"), mp.mpf("0.6")
h = mp.log(sc) - mp.log(sn)
hl = mp.log(sp) - mp.log(sc)
r = hl / h
em = -mp.expm1(-h)
print("// dpmpp_2m coefficients (a on x, b on D, c on D_old) for sigmas 3, 1.5, 0.6")
print(fmt([sn / sc, em * (1 + 1 / (2 * r)), -em / (2 * r)]))

# Discrete DDPM sigmas: linear betas 1e-4..0.02, T = 1000 (Ho et al. 2020)
T = 1000
betas = torch.linspace(1e-4, 0.02, T)
ab = torch.cumprod(1 - betas, 0)
log_sigmas = (((1 - ab) / ab) ** 0.5).log()


def t_to_sigma(t):
    lo, hi = math.floor(t), math.ceil(t)
    w = t - lo
    return math.exp((1 - w) * log_sigmas[lo].item() + w * log_sigmas[hi].item())


def sigma_to_t(sigma):
    ls = math.log(sigma)
    dists = ls - log_sigmas
    low = int((dists >= 0).cumsum(0).argmax().clamp(max=T - 2))
    lo, hi = log_sigmas[low].item(), log_sigmas[low + 1].item()
    w = min(max((lo - ls) / (lo - hi), 0.0), 1.0)
    return (1 - w) * low + w * (low + 1)


print("// discrete: sigma(0), sigma(999), sigma(499.25), sigma(10.5)")
print(fmt([t_to_sigma(0), t_to_sigma(999), t_to_sigma(499.25), t_to_sigma(10.5)]))
print("// discrete: timestep(1.0), timestep(0.05), timestep(50.0)")
print(fmt([sigma_to_t(1.0), sigma_to_t(0.05), sigma_to_t(50.0)]))
ts = torch.linspace(T - 1, 0, 5)
print("// discrete sigmas(5)")
print(fmt([t_to_sigma(float(t)) for t in ts] + [0.0]))

# score_sde marginals at t = 0.3 (beta 0.1..20; VE 0.01..50)
t = mp.mpf("0.3")
b0, b1 = mp.mpf("0.1"), mp.mpf(20)
lmc = -t ** 2 * (b1 - b0) / 4 - t * b0 / 2
beta = b0 + t * (b1 - b0)
print("// VP at t=0.3: mean_coeff, std, drift_coeff, diffusion")
print(fmt([mp.e ** lmc, mp.sqrt(1 - mp.e ** (2 * lmc)), -beta / 2, mp.sqrt(beta)]))
print("// subVP at t=0.3: std, diffusion")
print(fmt([1 - mp.e ** (2 * lmc), mp.sqrt(beta * (1 - mp.e ** (-2 * b0 * t - (b1 - b0) * t ** 2)))]))
smin, smax = mp.mpf("0.01"), mp.mpf(50)
sig = smin * (smax / smin) ** t
print("// VE at t=0.3: std, diffusion")
print(fmt([sig, sig * mp.sqrt(2 * (mp.log(smax) - mp.log(smin)))]))
