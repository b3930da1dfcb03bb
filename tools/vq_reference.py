#!/usr/bin/env python3
"""Reference values for tests/quantize (latent issue 7), computed with numpy independently of
the C++ code. Run: /usr/bin/python3 tools/vq_reference.py

Prints:
  * codebook perplexities exp(-sum p log p) for fixed count vectors (Sonnet's definition);
  * two steps of the EMA codebook update (van den Oord et al. 2017 appendix A.1 with Sonnet's
    Laplace smoothing), with and without zero-debiasing, on a small example;
  * log K for the uniform-prior KL term.
"""
import numpy as np

np.set_printoptions(precision=17)


def perplexity(counts):
    c = np.asarray(counts, dtype=np.float64)
    p = c / c.sum()
    nz = p[p > 0]
    return float(np.exp(-(nz * np.log(nz)).sum()))


def ema_steps(codebook, batches, decay, eps, zero_debias):
    d, k = codebook.shape
    hidden_n = np.zeros(k)
    hidden_m = np.zeros((d, k)) if zero_debias else codebook.copy()
    out = []
    for t, (z, idx) in enumerate(batches, start=1):
        onehot = np.zeros((k, z.shape[1]))
        onehot[idx, np.arange(z.shape[1])] = 1.0
        n_k = onehot.sum(axis=1)
        s_k = z @ onehot.T
        hidden_n = decay * hidden_n + (1 - decay) * n_k
        hidden_m = decay * hidden_m + (1 - decay) * s_k
        c = 1.0 / (1.0 - decay ** t) if zero_debias else 1.0
        N = c * hidden_n
        M = c * hidden_m
        n = N.sum()
        smoothed = (N + eps) / (n + k * eps) * n
        out.append(M / smoothed[None, :])
    return out


def main():
    print("# perplexity")
    for counts in ([5, 0, 3, 2], [1, 1, 1, 1], [7], [0.5, 1.5, 2.0], [1, 2, 3, 4, 5, 6, 7, 8]):
        print(counts, repr(perplexity(counts)))

    print("# EMA example: D = 2, K = 3, decay = 0.5, eps = 0.1")
    codebook = np.array([[0.0, 1.0, 2.0], [0.0, 0.0, 1.0]])
    z1 = np.array([[0.5, 1.0, 1.5, 0.0], [0.0, 1.0, -1.0, 2.0]])
    i1 = np.array([0, 1, 1, 0])
    z2 = np.array([[2.0, 3.0], [1.0, 1.0]])
    i2 = np.array([2, 2])
    for debias in (False, True):
        res = ema_steps(codebook, [(z1, i1), (z2, i2)], 0.5, 0.1, debias)
        for t, e in enumerate(res, start=1):
            print("zero_debias =", debias, "step", t)
            for row in e:
                print("  ", ", ".join(repr(float(v)) for v in row))

    print("# log K")
    for k in (1, 2, 512, 8192):
        print(k, repr(float(np.log(k))))


if __name__ == "__main__":
    main()
