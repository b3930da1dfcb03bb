#!/usr/bin/python3
"""Coefficients of latent's range-reduction-free sincos (include/latent/random/noise_kernels.hpp).

Box-Muller needs sin and cos of 2*pi*u for u in [0, 1). latent splits 4u exactly (integer
arithmetic on the random bits) into a quadrant q and r in [-1/2, 1/2), so it only needs
    sin(pi/2 * r) = r * S(r^2),   cos(pi/2 * r) = C(r^2),   |r| <= 1/2.
This script fits S and C by weighted least squares on Chebyshev nodes in 60-digit arithmetic
(relative error for sin, absolute for cos, which is >= 0.707 there), which is within a small
factor of the minimax polynomial, rounds the coefficients to the target precision and reports
the maximum error of the rounded polynomial measured in units of the target epsilon.
"""
import mpmath as mp
import numpy

mp.mp.dps = 60


def fit(fn, nterms, weight):
    nodes = [mp.mpf(0.5) * mp.cos(mp.pi * (k + mp.mpf(0.5)) / 400) for k in range(400)]
    nodes = [x for x in nodes if x > 0]
    rows, rhs = [], []
    for x in nodes:
        w = weight(x)
        rows.append([w * x ** (2 * j) for j in range(nterms)])
        rhs.append(w * fn(x))
    A = mp.matrix(rows)
    b = mp.matrix(rhs)
    return mp.lu_solve(A.T * A, A.T * b)


def report(name, coefs, rnd, ev, eps):
    cs = [rnd(c) for c in coefs]
    worst = 0
    for k in range(2001):
        x = mp.mpf(k) / 4000
        if x == 0:
            continue
        p = sum(mp.mpf(c) * x ** (2 * j) for j, c in enumerate(cs))
        worst = max(worst, abs(ev(x, p)) / eps)
    print(f"{name}: max error {float(worst):.3g} eps")
    for c in cs:
        print(f"  {c!r}")


def sin_s(x):
    return mp.sin(mp.pi / 2 * x) / x


def cos_c(x):
    return mp.cos(mp.pi / 2 * x)


for label, rnd, eps, ns, nc in [
    ("float", lambda c: numpy.float32(float(c)).item(),
     mp.mpf(2) ** -24, 4, 5),
    ("double", lambda c: float(c), mp.mpf(2) ** -53, 7, 8),
]:
    s = fit(sin_s, ns, lambda x: 1)
    c = fit(cos_c, nc, lambda x: 1)
    report(f"{label} sin(pi/2 r)/r", s, rnd, lambda x, p: (p - sin_s(x)) / sin_s(x), eps)
    report(f"{label} cos(pi/2 r)", c, rnd, lambda x, p: (p - cos_c(x)) / cos_c(x), eps)


# Division-free float log: log(1+f) = f - f^2/2 + f^3 P(f) on [sqrt(1/2) - 1, sqrt(2) - 1]
# (the reduced range of musl/Cephes logf), P fitted for relative error of the whole log1p.
def fit_log1p(nterms):
    a, b = mp.sqrt(0.5) - 1, mp.sqrt(2) - 1
    nodes = [(a + b) / 2 + (b - a) / 2 * mp.cos(mp.pi * (k + mp.mpf(0.5)) / 600) for k in range(600)]
    nodes = [x for x in nodes if abs(x) > mp.mpf(1e-6)]
    rows, rhs = [], []
    for x in nodes:
        w = 1 / abs(mp.log1p(x))
        rows.append([w * x ** (3 + j) for j in range(nterms)])
        rhs.append(w * (mp.log1p(x) - x + x * x / 2))
    A, bb = mp.matrix(rows), mp.matrix(rhs)
    cs = mp.lu_solve(A.T * A, A.T * bb)
    cs = [numpy.float32(float(c)).item() for c in cs]
    worst = 0
    for k in range(4001):
        x = a + (b - a) * k / 4000
        if abs(x) < mp.mpf(1e-9):
            continue
        p = x - x * x / 2 + sum(mp.mpf(c) * x ** (3 + j) for j, c in enumerate(cs))
        worst = max(worst, abs((p - mp.log1p(x)) / mp.log1p(x)) / mp.mpf(2) ** -24)
    print(f"float log1p with {nterms} terms: max error {float(worst):.3g} eps")
    for c in cs:
        print(f"  {c!r}")


fit_log1p(8)
fit_log1p(9)
