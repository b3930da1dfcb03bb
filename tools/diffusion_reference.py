#!/usr/bin/env python3
"""Reference values for latent's diffusion tests (tests/diffusion/*.test.cpp).

diffusers is not a dependency: this script re-implements the formulas of diffusers'
DDPMScheduler and DDIMScheduler as read in
  huggingface/diffusers src/diffusers/schedulers/scheduling_ddpm.py (betas_for_alpha_bar,
  rescale_zero_terminal_snr, set_timesteps with timestep_spacing, _get_variance,
  _threshold_sample, step) and src/diffusers/schedulers/scheduling_ddim.py (_get_variance,
  step with eta / variance_noise / use_clipped_model_output, set_alpha_to_one).
Schedules are evaluated in mpmath at 50 digits (diffusers itself works in float32, so its
tables carry ~1e-7 relative error; the formulas are what is compared). Steps are evaluated
with numpy float64 following the diffusers code line by line (torch.quantile for the
dynamic threshold). Continuous schedules follow score_sde (Song et al. 2021) and VDM.

Run: /usr/bin/python3 tools/diffusion_reference.py
"""
import math

import mpmath as mp
import numpy as np
import torch

mp.mp.dps = 50


# ----------------------------------------------------------------------------- schedules
def linspace(a, b, n):
    a, b = mp.mpf(a), mp.mpf(b)
    if n == 1:
        return [a]
    return [a + i * (b - a) / (n - 1) for i in range(n)]


def betas_linear(T, start=1e-4, end=0.02):
    return linspace(start, end, T)


def betas_scaled_linear(T, start=0.00085, end=0.012):
    return [v * v for v in linspace(mp.sqrt(mp.mpf(start)), mp.sqrt(mp.mpf(end)), T)]


def betas_cosine(T, s=0.008, max_beta=0.999):
    # betas_for_alpha_bar(alpha_transform_type="cosine")
    f = lambda t: mp.cos((t + mp.mpf(s)) / (1 + mp.mpf(s)) * mp.pi / 2) ** 2
    return [min(1 - f(mp.mpf(i + 1) / T) / f(mp.mpf(i) / T), mp.mpf(max_beta)) for i in range(T)]


def betas_sigmoid(T, start=1e-4, end=0.02):
    x = linspace(-6, 6, T)
    return [1 / (1 + mp.exp(-v)) * (mp.mpf(end) - mp.mpf(start)) + mp.mpf(start) for v in x]


def rescale_zero_terminal_snr(betas):
    alphas = [1 - b for b in betas]
    ab, acc = [], mp.mpf(1)
    for a in alphas:
        acc *= a
        ab.append(acc)
    s = [mp.sqrt(v) for v in ab]
    s0, sT = s[0], s[-1]
    s = [(v - sT) * s0 / (s0 - sT) for v in s]
    ab = [v * v for v in s]
    alphas = [ab[0]] + [ab[i] / ab[i - 1] for i in range(1, len(ab))]
    return [1 - a for a in alphas]


def tables(betas):
    T = len(betas)
    alphas = [1 - b for b in betas]
    ab, acc = [], mp.mpf(1)
    for a in alphas:
        acc *= a
        ab.append(acc)
    omab = [1 - v for v in ab]
    out = {"betas": betas, "alpha_bar": ab, "one_minus_alpha_bar": omab}
    out["snr"] = [ab[i] / omab[i] for i in range(T)]
    out["sigma"] = [mp.sqrt(omab[i] / ab[i]) if ab[i] > 0 else mp.inf for i in range(T)]
    pv = [betas[t] * ((1 - ab[t - 1]) if t > 0 else 0) / omab[t] for t in range(T)]
    out["posterior_variance"] = pv
    out["posterior_log_variance_clipped"] = [mp.log(pv[1] if t == 0 else pv[t]) for t in range(T)]
    out["posterior_mean_coef1"] = [betas[t] * mp.sqrt(ab[t - 1] if t > 0 else 1) / omab[t] for t in range(T)]
    out["posterior_mean_coef2"] = [((1 - ab[t - 1]) if t > 0 else 0) * mp.sqrt(alphas[t]) / omab[t] for t in range(T)]
    return out


def fmt(v):
    if v == mp.inf:
        return "inf"
    return mp.nstr(v, 17, min_fixed=0, max_fixed=0)


def print_tables():
    T = 1000
    idx = [0, 1, 499, 998, 999]
    configs = [("linear", betas_linear(T)), ("scaled_linear", betas_scaled_linear(T)),
               ("cosine", betas_cosine(T)), ("sigmoid", betas_sigmoid(T)),
               ("linear_zero_snr", rescale_zero_terminal_snr(betas_linear(T))),
               ("scaled_linear_zero_snr", rescale_zero_terminal_snr(betas_scaled_linear(T)))]
    print("// === schedules (T = 1000, indices", idx, ")")
    for name, b in configs:
        tb = tables(b)
        print(f"// {name}")
        for key in ["betas", "alpha_bar", "one_minus_alpha_bar", "snr", "sigma", "posterior_variance",
                    "posterior_log_variance_clipped", "posterior_mean_coef1", "posterior_mean_coef2"]:
            vals = ", ".join(fmt(tb[key][i]) for i in idx)
            print(f"  {{\"{name}\", \"{key}\", {{{vals}}}}},")


# ----------------------------------------------------------------------------- timesteps
def set_timesteps(T, n, spacing, offset=0):
    if spacing == "linspace":
        return np.linspace(0, T - 1, n).round()[::-1].copy().astype(np.int64)
    if spacing == "leading":
        r = T // n
        ts = (np.arange(0, n) * r).round()[::-1].copy().astype(np.int64)
        return ts + offset
    r = T / n
    ts = np.round(np.arange(T, 0, -r)).astype(np.int64)
    return ts - 1


def print_timesteps():
    print("// === timesteps")
    for T, n, sp, off in [(1000, 7, "leading", 1), (1000, 7, "linspace", 0), (1000, 7, "trailing", 0),
                          (1000, 3, "trailing", 0), (10, 4, "linspace", 0), (10, 4, "leading", 0),
                          (10, 4, "trailing", 0), (1000, 50, "leading", 1)]:
        ts = set_timesteps(T, n, sp, off)
        print(f"  // T={T} n={n} {sp} offset={off}: len {len(ts)}")
        print("  {" + ", ".join(str(int(v)) for v in ts) + "}")


# ----------------------------------------------------------------------------- steps
X = np.array([[0.3, -1.2], [1.5, 0.7], [-0.4, 2.1], [0.05, -0.6]])      # D x B
M = np.array([[0.8, -0.3], [-1.1, 0.25], [0.6, 1.9], [-0.2, 0.45]])
Z = np.array([[-0.7, 0.4], [0.2, -1.3], [1.1, 0.9], [-0.5, 0.15]])
PV = np.array([[0.2, -0.5], [0.9, 0.1], [-0.8, 0.4], [0.0, 0.7]])      # learned_range in [-1, 1]
PVL = np.array([[0.01, 0.02], [0.03, 0.005], [0.015, 0.04], [0.008, 0.012]])  # learned variance


def alphas_cumprod(betas):
    return np.cumprod(1.0 - np.array([float(b) for b in betas], dtype=np.float64))


def threshold(x0, ratio, max_value):
    # _threshold_sample: batch is dim 0 in torch, our columns.
    s = torch.from_numpy(x0.T.copy())
    q = torch.quantile(s.abs(), ratio, dim=1)
    q = torch.clamp(q, min=1, max=max_value).unsqueeze(1)
    return (torch.clamp(s, -q, q) / q).numpy().T


def ddpm_step(ac, betas, t, prev_t, model_output, sample, noise, pred, var, clip=False, clip_range=1.0,
              thresh=False, ratio=0.995, max_value=1.0, predicted_variance=None):
    apt = ac[t]
    app = ac[prev_t] if prev_t >= 0 else 1.0
    bpt, bpp = 1 - apt, 1 - app
    cur_a = apt / app
    cur_b = 1 - cur_a
    if pred == "epsilon":
        x0 = (sample - bpt ** 0.5 * model_output) / apt ** 0.5
    elif pred == "sample":
        x0 = model_output
    else:
        x0 = apt ** 0.5 * sample - bpt ** 0.5 * model_output
    if thresh:
        x0 = threshold(x0, ratio, max_value)
    elif clip:
        x0 = np.clip(x0, -clip_range, clip_range)
    c0 = app ** 0.5 * cur_b / bpt
    ct = cur_a ** 0.5 * bpp / bpt
    prev = c0 * x0 + ct * sample
    if prev_t >= 0:  # latent: no noise after the last step (diffusers: t > 0)
        v = max((1 - app) / (1 - apt) * cur_b, 1e-20)
        if var == "fixed_small":
            std = v ** 0.5
        elif var == "fixed_small_log":
            std = math.exp(0.5 * math.log(v))
        elif var == "fixed_large":
            std = cur_b ** 0.5
        elif var == "fixed_large_log":
            std = math.exp(0.5 * math.log(cur_b))
        elif var == "learned":
            std = predicted_variance ** 0.5
        else:
            frac = (predicted_variance + 1) / 2
            lv = frac * math.log(cur_b) + (1 - frac) * math.log(v)
            std = np.exp(0.5 * lv)
        prev = prev + std * noise
    return prev


def ddim_step(ac, t, prev_t, model_output, sample, noise, pred, eta, clip=False, clip_range=1.0,
              use_clipped=False, set_alpha_to_one=True):
    final = 1.0 if set_alpha_to_one else ac[0]
    apt = ac[t]
    app = ac[prev_t] if prev_t >= 0 else final
    bpt = 1 - apt
    if pred == "epsilon":
        x0 = (sample - bpt ** 0.5 * model_output) / apt ** 0.5
        eps = model_output
    elif pred == "sample":
        x0 = model_output
        eps = (sample - apt ** 0.5 * x0) / bpt ** 0.5
    else:
        x0 = apt ** 0.5 * sample - bpt ** 0.5 * model_output
        eps = apt ** 0.5 * model_output + bpt ** 0.5 * sample
    if clip:
        x0 = np.clip(x0, -clip_range, clip_range)
    variance = ((1 - app) / bpt) * (1 - apt / app)
    std = eta * variance ** 0.5
    if use_clipped:
        eps = (sample - apt ** 0.5 * x0) / bpt ** 0.5
    direction = (1 - app - std ** 2) ** 0.5 * eps
    prev = app ** 0.5 * x0 + direction
    if eta > 0:
        prev = prev + std * noise
    return prev


def arr(a):
    # column-major D x B initializer for Eigen's comma initializer (row by row)
    return ", ".join(f"{v:.17g}" for v in a.reshape(-1))


def print_steps():
    T = 1000
    ac = alphas_cumprod([float(b) for b in betas_linear(T)])
    lb = [float(b) for b in betas_linear(T)]
    print("// === steps: X, M, Z, PV, PVL (D x B, row by row)")
    for n, a in [("X", X), ("M", M), ("Z", Z), ("PV", PV), ("PVL", PVL)]:
        print(f"  // {n}: {arr(a)}")
    cases = [
        ("ddpm eps fixed_small 500->480", ddpm_step(ac, lb, 500, 480, M, X, Z, "epsilon", "fixed_small")),
        ("ddpm v fixed_large clip 500->480", ddpm_step(ac, lb, 500, 480, M, X, Z, "v_prediction", "fixed_large", clip=True)),
        ("ddpm sample learned_range 260->240", ddpm_step(ac, lb, 260, 240, M, X, Z, "sample", "learned_range", predicted_variance=PV)),
        ("ddpm eps learned 260->259", ddpm_step(ac, lb, 260, 259, M, X, Z, "epsilon", "learned", predicted_variance=PVL)),
        ("ddpm eps fixed_small_log thresh(0.995, 1.5) 20->0", ddpm_step(ac, lb, 20, 0, M * 3, X, Z, "epsilon", "fixed_small_log", thresh=True, max_value=1.5)),
        ("ddpm v fixed_large_log 700->699", ddpm_step(ac, lb, 700, 699, M, X, Z, "v_prediction", "fixed_large_log")),
        ("ddpm eps fixed_small 0->-1", ddpm_step(ac, lb, 0, -1, M, X, Z, "epsilon", "fixed_small")),
        ("ddim eps eta0 500->480", ddim_step(ac, 500, 480, M, X, Z, "epsilon", 0.0)),
        ("ddim v eta0.5 500->480", ddim_step(ac, 500, 480, M, X, Z, "v_prediction", 0.5)),
        ("ddim sample eta1 clip use_clipped 260->240", ddim_step(ac, 260, 240, M, X, Z, "sample", 1.0, clip=True, use_clipped=True)),
        ("ddim eps eta0 clip 900->880", ddim_step(ac, 900, 880, M, X, Z, "epsilon", 0.0, clip=True)),
        ("ddim eps eta0 final alpha_bar_0 20->-1", ddim_step(ac, 20, -1, M, X, Z, "epsilon", 0.0, set_alpha_to_one=False)),
    ]
    for name, out in cases:
        print(f"  // {name}\n  {{{arr(out)}}},")
    # zero terminal SNR, v prediction, first step
    zb = rescale_zero_terminal_snr(betas_linear(T))
    zac = alphas_cumprod(zb)
    zac[-1] = 0.0
    zl = [float(b) for b in zb]
    print("  // zero-SNR ddpm v fixed_small 999->979:\n  {" + arr(ddpm_step(zac, zl, 999, 979, M, X, Z, "v_prediction", "fixed_small")) + "},")
    print("  // zero-SNR ddim v eta0 999->979:\n  {" + arr(ddim_step(zac, 999, 979, M, X, Z, "v_prediction", 0.0)) + "},")


# ----------------------------------------------------------------------------- continuous
def print_continuous():
    print("// === continuous (score_sde VP/sub-VP/VE defaults, VDM)")
    bmin, bmax = mp.mpf("0.1"), mp.mpf(20)
    for t in [mp.mpf("1e-5"), mp.mpf("0.5")]:
        lmc = -mp.mpf(1) / 4 * t ** 2 * (bmax - bmin) - t * bmin / 2
        print(f"  // t={t}: vp mean {fmt(mp.exp(lmc))} vp std {fmt(mp.sqrt(1 - mp.exp(2 * lmc)))} "
              f"subvp std {fmt(1 - mp.exp(2 * lmc))}")
    print(f"  // ve sigma(0.5) {fmt(mp.mpf('0.01') * (mp.mpf(50) / mp.mpf('0.01')) ** mp.mpf('0.5'))}")
    sig = lambda x: 1 / (1 + mp.exp(-x))
    print(f"  // vdm alpha^2(-13.3) {fmt(sig(mp.mpf('13.3')))} sigma^2(5) {fmt(sig(mp.mpf(5)))}")


# ----------------------------------------------------------------------------- guidance, ELBO
def print_guidance_and_elbo():
    print("// === guidance: rescale_noise_cfg(eps_u + 7.5 (eps_c - eps_u), eps_c, 0.7) on X (uncond), M (cond)")
    eu = torch.from_numpy(X.T.copy())  # batch first, as diffusers
    ec = torch.from_numpy(M.T.copy())
    cfg = eu + 7.5 * (ec - eu)
    std_text = ec.std(dim=list(range(1, ec.ndim)), keepdim=True)
    std_cfg = cfg.std(dim=list(range(1, cfg.ndim)), keepdim=True)
    rescaled = cfg * (std_text / std_cfg)
    out = 0.7 * rescaled + (1 - 0.7) * cfg
    print("  {" + arr(out.numpy().T) + "}")
    print("// === discretized Gaussian log-likelihood (Ho et al. eq. 13), mpmath")
    half = mp.mpf(1) / 255
    for x, m, ls in [(0.0, 0.0, -3.0), (1.0, 0.2, -1.0), (-1.0, 0.3, -2.0), (0.5, -0.5, -4.0),
                     (-0.2, 0.9, -5.0), (0.99607843137254903, 0.0, 0.0)]:
        x_, m_, s_ = mp.mpf(x), mp.mpf(m), mp.exp(mp.mpf(ls))
        lo = -mp.inf if x <= -0.999 else (x_ - half - m_) / s_
        hi = mp.inf if x >= 0.999 else (x_ + half - m_) / s_
        r2 = mp.sqrt(2)
        # Phi(z) = erfc(-z/r2)/2; in the upper tail use 1 - Phi(z) = erfc(z/r2)/2 (mpmath's
        # erfc keeps full relative precision for tiny tails).
        if lo > 0:
            val = mp.log((mp.erfc(lo / r2) - mp.erfc(hi / r2)) / 2)
        else:
            val = mp.log((mp.erfc(-hi / r2) - mp.erfc(-lo / r2)) / 2)
        print(f"  {{{x!r}, {m!r}, {ls!r}, {fmt(val)}}},")


if __name__ == "__main__":
    print_guidance_and_elbo()
    print_continuous()
    print_timesteps()
    print_tables()
    print_steps()
