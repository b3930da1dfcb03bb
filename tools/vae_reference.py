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


def likelihoods():
    # Bernoulli from logits (columns of D = 3, B = 2), exact at +-100.
    bx = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    bl = torch.tensor([[100.0, -100.0, 2.5], [100.0, -100.0, -0.3]])
    b = td.Bernoulli(logits=bl).log_prob(bx)
    print("bernoulli elementwise:", [[repr(v) for v in r] for r in b.tolist()])
    print("bernoulli per sample:", b.sum(-1).tolist())
    # torch rounds x l - softplus(l) at l = +-100 to -0.0; the exact value is -log1p(e^-100).
    import mpmath
    mpmath.mp.dps = 50
    print("exact -log1p(exp(-100)):", mpmath.nstr(-mpmath.log1p(mpmath.exp(-100)), 17))
    print("exact 100 + log1p(exp(-100)) - 200 term:", mpmath.nstr(-100 - mpmath.log1p(mpmath.exp(-100)), 17))
    # Categorical from logits: K = 4 classes, B = 3 columns, labels 2, 0, 3.
    cl = torch.tensor([[0.1, 2.0, -1.0, 0.5], [50.0, -50.0, 0.0, 1.0], [-3.0, -3.0, -3.0, 4.0]])
    print("categorical per sample:", td.Categorical(logits=cl).log_prob(torch.tensor([2, 0, 3])).tolist())
    # Gaussian with fixed sigma = 0.5 on the X / MU fixture.
    g = td.Normal(torch.tensor(MU), 0.5).log_prob(torch.tensor(X)).sum(-1)
    print("gaussian fixed sigma=0.5 per sample:", g.tolist())


# Discretized Gaussian (Ho et al. 2020 eq. 13) with mpmath at 50 digits: (x, mean, log_var).
DISC = [(-1.0, 0.0, 0.0), (1.0, 0.2, -2.0), (0.5, 0.5, -10.0), (-1.0 + 2 * 37 / 255, 0.1, -1.0),
        (1.0, -5.0, -9.210340371976182), (-1.0, 0.9, -6.0), (0.2, -0.8, -7.824046010856292),
        (-1.0 + 2 * 200 / 255, -0.3, 1.5)]


def discretized():
    import mpmath
    mpmath.mp.dps = 50
    for x, m, lv in DISC:
        x, m, lv = mpmath.mpf(x), mpmath.mpf(m), mpmath.mpf(lv)
        s = mpmath.exp(lv / 2)
        lo = -mpmath.inf if x < -0.999 else (x - mpmath.mpf(1) / 255 - m) / s
        hi = mpmath.inf if x > 0.999 else (x + mpmath.mpf(1) / 255 - m) / s
        # Upper tails by symmetry, so that no digits cancel.
        p = mpmath.ncdf(-lo) - mpmath.ncdf(-hi) if lo > 0 else mpmath.ncdf(hi) - mpmath.ncdf(lo)
        print("discretized", float(x), float(m), float(lv), "log p =", mpmath.nstr(mpmath.log(p), 17))


# Full-covariance and low-rank fixtures (D = 3): lower Cholesky factors row by row.
FMU_Q = [0.3, -0.2, 1.0]
FL_Q = [[1.2, 0.0, 0.0], [0.3, 0.8, 0.0], [-0.5, 0.4, 0.6]]
FMU_P = [-0.1, 0.5, 0.2]
FL_P = [[0.9, 0.0, 0.0], [-0.2, 1.1, 0.0], [0.1, 0.3, 0.7]]
FX = [[0.5, 0.1, -0.3], [1.5, -2.0, 0.4]]  # two points (columns)
LW = [[0.5, -0.3], [1.0, 0.2], [-0.4, 0.8]]  # D x K = 3 x 2
LD = [0.3, 0.5, 0.2]
DP_MU = [0.1, -0.4, 0.3]
DP_LV = [0.2, -0.5, 0.1]


def full():
    t = torch.tensor
    q = td.MultivariateNormal(t(FMU_Q), scale_tril=t(FL_Q))
    p = td.MultivariateNormal(t(FMU_P), scale_tril=t(FL_P))
    std = td.MultivariateNormal(torch.zeros(3), torch.eye(3))
    print("full log_prob:", q.log_prob(t(FX)).tolist())
    print("full entropy:", q.entropy().item())
    print("KL(full q || full p):", td.kl_divergence(q, p).item())
    print("KL(full q || N(0,I)):", td.kl_divergence(q, std).item())
    lr = td.LowRankMultivariateNormal(t(FMU_Q), t(LW), t(LD))
    print("lowrank log_prob:", lr.log_prob(t(FX)).tolist())
    print("lowrank entropy:", lr.entropy().item())
    dp = td.MultivariateNormal(t(DP_MU), torch.diag(torch.exp(t(DP_LV))))
    print("KL(lowrank || diag p):", td.kl_divergence(lr, dp).item())
    print("KL(lowrank || N(0,I)):", td.kl_divergence(lr, std).item())
    print("KL(lowrank || full p):", td.kl_divergence(lr, p).item())


# Categorical fixtures: K = 4 classes, B = 2 columns (as lists of columns).
CP = [[0.1, 0.2, 0.3, 0.4], [0.0, 0.5, 0.5, 0.0]]
CQ = [[0.25, 0.25, 0.25, 0.25], [0.1, 0.6, 0.2, 0.1]]
CLP = [[1.0, -2.0, 0.5, 3.0], [40.0, -40.0, 0.0, 2.0]]
CLQ = [[0.0, 0.0, 1.0, -1.0], [-5.0, 5.0, 1.0, 30.0]]
# Concrete density points: y on the simplex (K = 3), logits, temperature.
CONC = [([0.2, 0.5, 0.3], [0.5, -1.0, 2.0], 0.5), ([0.9, 0.05, 0.05], [0.0, 0.0, 0.0], 1.0),
        ([0.001, 0.998, 0.001], [1.0, 2.0, -1.0], 0.1)]


def categorical():
    t = torch.tensor
    p, q = td.Categorical(probs=t(CP)), td.Categorical(probs=t(CQ))
    print("entropy(probs):", p.entropy().tolist())
    print("KL(p || q) probs:", td.kl_divergence(p, q).tolist())
    print("cross-entropy H(p, q) probs:", (td.kl_divergence(p, q) + p.entropy()).tolist())
    lp, lq = td.Categorical(logits=t(CLP)), td.Categorical(logits=t(CLQ))
    print("entropy(logits p):", lp.entropy().tolist())
    print("KL(p || q) logits:", td.kl_divergence(lp, lq).tolist())
    print("cross-entropy logits:", (td.kl_divergence(lp, lq) + lp.entropy()).tolist())
    u = td.Categorical(logits=torch.zeros(2, 4))
    print("KL(p || uniform) logits:", td.kl_divergence(lp, u).tolist())
    for y, l, tau in CONC:
        d = td.RelaxedOneHotCategorical(t(tau), logits=t(l))
        print("concrete log_prob", y, l, tau, ":", d.log_prob(t(y)).item())


SECTIONS = {"categorical": categorical, "full": full, "gaussian": gaussian, "likelihoods": likelihoods, "discretized": discretized}

if __name__ == "__main__":
    names = sys.argv[1:] or list(SECTIONS)
    for n in names:
        print("==", n)
        SECTIONS[n]()
