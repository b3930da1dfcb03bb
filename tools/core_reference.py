#!/usr/bin/env python3
"""Reference values for tests/core/math.test.cpp, computed with mpmath at 50 digits.

Run: python3 tools/core_reference.py
Prints C++ initializer rows {x, f(x), f'(x)} for each function; the test pastes them.
"""
import mpmath as mp

mp.mp.dps = 80  # 1 - sigmoid(100) needs > 44 digits to keep 20


def softplus(x):
    return mp.log1p(mp.exp(x))


def sigmoid(x):
    return 1 / (1 + mp.exp(-x))


def log_sigmoid(x):
    return -softplus(-x)


def logit(p):
    return mp.log(p) - mp.log1p(-p)


FUNCS = {
    "log1p": (mp.log1p, lambda x: 1 / (1 + x),
              ["-0.5", "-1e-10", "1e-10", "1e-300", "0.5", "3", "1e10"]),
    "expm1": (mp.expm1, mp.exp, ["-50", "-1e-10", "1e-10", "1e-300", "0.5", "3", "50"]),
    "softplus": (softplus, sigmoid, ["-100", "-30", "-1", "0", "1e-8", "1", "30", "100"]),
    "sigmoid": (sigmoid, lambda x: sigmoid(x) * sigmoid(-x),
                ["-100", "-30", "-1", "0", "1", "30", "100"]),
    "log_sigmoid": (log_sigmoid, lambda x: sigmoid(-x),
                    ["-100", "-30", "-1", "0", "1", "30", "100"]),
    "logit": (logit, lambda p: 1 / (p * (1 - p)), ["1e-10", "0.001", "0.25", "0.5", "0.75", "0.999999"]),
}


def fmt(v):
    return mp.nstr(v, 20, min_fixed=-1, max_fixed=-1) if v != 0 else "0"


for name, (f, df, xs) in FUNCS.items():
    print(f"// {name}: {{x, f(x), f'(x)}}")
    for xs_ in xs:
        x = mp.mpf(float(xs_))  # the double the test passes, exactly
        print(f"{{{xs_}, {fmt(f(x))}, {fmt(df(x))}}},")

print("// log_sum_exp cases")
cases = {
    "[1000, 1000]": [1000, 1000],
    "[-1000, -1000]": [-1000, -1000],
    "[1, 2, 3]": [1, 2, 3],
    "[-inf, 0]": [mp.ninf, 0],
    "[1e-3, -50, 700]": [mp.mpf("1e-3"), -50, 700],
}
for label, xs in cases.items():
    v = mp.log(mp.fsum(mp.exp(mp.mpf(x)) for x in xs))
    print(f"// log_sum_exp {label} = {fmt(v)}")
    print(f"// log_mean_exp {label} = {fmt(v - mp.log(len(xs)))}")

# exp_fast (include/latent/core/math.hpp): coefficients of q(r) ~ (e^r - 1 - r) / r^2 on
# |r| <= ln2 / 2 (slightly widened for the rounding of r), so that e^r = 1 + r + r^2 q(r).
# mpmath.chebyfit interpolates at Chebyshev nodes (near-minimax); the printed error bounds the
# relative error of 1 + r + r^2 q(r) before rounding the coefficients to float / double.
print("// exp_fast: q(r) coefficients, highest degree first")
half_ln2 = mp.log(2) / 2


def exp_q(r):
    if abs(r) < mp.mpf("1e-30"):
        return mp.mpf(1) / 2
    return (mp.exp(r) - 1 - r) / r**2


for degree, name in ((4, "float"), (9, "double")):
    mp.mp.dps = 60
    coeffs, err = mp.chebyfit(exp_q, [-half_ln2 * mp.mpf("1.0001"), half_ln2 * mp.mpf("1.0001")],
                              degree + 1, error=True)
    rel = err * half_ln2**2 / mp.exp(-half_ln2)
    print(f"// {name}: degree {degree}, relative error of e^r about {mp.nstr(rel, 3)}")
    print("// " + ", ".join(mp.nstr(c, 19) for c in coeffs))
