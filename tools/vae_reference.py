#!/usr/bin/python3
"""Reference values for latent's VAE side (tests/distributions, tests/divergences,
tests/objectives), computed with torch.distributions in float64.

Run: /usr/bin/python3 tools/vae_reference.py [section]
Each section prints the numbers that are pasted into the matching test file, which cites
this script. Inputs are written out literally here and in the tests (D x B, one sample per
column: the lists below are columns)."""
import sys
import torch
import torch.distributions as td

torch.set_default_dtype(torch.float64)

# Columns (samples) of the D = 3, B = 2 fixture shared by the Gaussian tests.
MU = [[0.5, -1.0, 2.0], [0.0, 0.3, -0.7]]
LV = [[-0.5, 0.2, 1.0], [0.0, -2.0, 0.4]]
X = [[1.0, 0.0, -1.0], [0.1, 0.2, 0.3]]
MU_P = [[0.1, 0.2, -0.3], [1.0, -1.0, 0.0]]
LV_P = [[0.3, -0.4, 0.0], [1.5, 0.5, -1.0]]


def normal(mu, lv):
    return td.Normal(torch.tensor(mu), torch.exp(0.5 * torch.tensor(lv)))


def gaussian():
    q = normal(MU, LV)
    p = normal(MU_P, LV_P)
    std = td.Normal(torch.zeros(2, 3), torch.ones(2, 3))
    x = torch.tensor(X)
    print("diag log_prob per sample:", q.log_prob(x).sum(-1).tolist())
    print("diag entropy per sample:", q.entropy().sum(-1).tolist())
    print("std normal log_prob per sample:", std.log_prob(x).sum(-1).tolist())
    print("KL(q || N(0,1)) per sample:", td.kl_divergence(q, std).sum(-1).tolist())
    print("KL(q || p) per sample:", td.kl_divergence(q, p).sum(-1).tolist())


SECTIONS = {"gaussian": gaussian}

if __name__ == "__main__":
    names = sys.argv[1:] or list(SECTIONS)
    for n in names:
        print("==", n)
        SECTIONS[n]()
