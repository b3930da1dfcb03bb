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
# A diagonal q with B = 2 columns (KL(diag || full)): means and log-variances, as columns.
DQ_MU = [[0.3, 1.0, 0.1], [-0.2, 0.5, -0.6]]
DQ_LV = [[-0.5, 0.4, -1.0], [0.2, 0.1, 0.3]]


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
    # KL(diag q || full p), one KL per column of q: each column as a MultivariateNormal with a
    # diagonal covariance, against p broadcast to the batch.
    dq = td.MultivariateNormal(t(DQ_MU), torch.diag_embed(torch.exp(t(DQ_LV))))
    pb = td.MultivariateNormal(t(FMU_P).expand(2, 3), scale_tril=t(FL_P).expand(2, 3, 3))
    print("KL(diag q || full p) per column:", td.kl_divergence(dq, pb).tolist())
    print("KL(diag q || full q), same mean and diag(Sigma_q) (>= 0):",
          td.kl_divergence(td.MultivariateNormal(t(FMU_Q), torch.diag(torch.diag(t(FL_Q) @ t(FL_Q).T))),
                           td.MultivariateNormal(t(FMU_Q), scale_tril=t(FL_Q))).item())
    # Its gradient by torch.autograd for the upstream row g = (0.7, -1.3) (kl_divergence_vjp):
    # d/dmu_q and d/dlog var_q (as columns), d/dmu_p, d/dL_p (lower triangle, row by row).
    mq, lvq = t(DQ_MU).requires_grad_(), t(DQ_LV).requires_grad_()
    mp, lp = t(FMU_P).requires_grad_(), t(FL_P).requires_grad_()
    dq = td.MultivariateNormal(mq, torch.diag_embed(torch.exp(lvq)))
    pb = td.MultivariateNormal(mp.expand(2, 3), scale_tril=torch.tril(lp).expand(2, 3, 3))
    (td.kl_divergence(dq, pb) * t([0.7, -1.3])).sum().backward()
    print("VJP d/dmu_q columns:", mq.grad.tolist())
    print("VJP d/dlog_var_q columns:", lvq.grad.tolist())
    print("VJP d/dmu_p:", mp.grad.tolist())
    print("VJP d/dL_p rows:", torch.tril(lp.grad).tolist())


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


# ---------------------------------------------------------------------------------------
# Markovian hierarchical VAE on a linear-Gaussian hierarchy (tests/objectives/hierarchical_elbo,
# docs/vae.md section 6), one coordinate at a time (coordinates are independent):
#   q(z_t | z_{t-1}) = N(a_t z_{t-1}, s_t^2), t = 1..T, z_0 = x;
#   p(z_T) = N(0, 1), p(z_{t-1} | z_t) = N(c_t z_t, r_t), t = 1..T (t = 1 is p(x | z_1)).
# Every estimator below is a quadratic polynomial of the Gaussian trajectory z = m + L e,
# e ~ N(0, I), so its exact mean and variance follow from its gradient g and Hessian 2A in e
# at e = 0: mean = f(0) + tr A, variance = 2 ||A||_F^2 + ||g||^2 (Gaussian quadratic forms,
# e.g. Mathai & Provost 1992, "Quadratic Forms in Random Variables", thm. 3.2b.2). g and A are
# taken by central differences with step 1, exact for a quadratic up to rounding. The estimators
# are written here from their definitions (docs/vae.md), independently of the C++ code.
import math


def _lnorm(x, m, v):
    return -0.5 * (math.log(2 * math.pi) + math.log(v) + (x - m) ** 2 / v)


def _kl(m1, v1, m2, v2):
    return 0.5 * (math.log(v2 / v1) + (v1 + (m1 - m2) ** 2) / v2 - 1)


class Hierarchy:
    def __init__(self, alpha, c, r, x):
        self.a = [math.sqrt(al) for al in alpha]
        self.s2 = [1 - al for al in alpha]
        self.c, self.r, self.x, self.T = list(c), list(r), x, len(alpha)
        T = self.T
        self.ab, self.vb = [1.0] * (T + 1), [0.0] * (T + 1)
        for t in range(1, T + 1):
            self.ab[t] = self.a[t - 1] * self.ab[t - 1]
            self.vb[t] = self.a[t - 1] ** 2 * self.vb[t - 1] + self.s2[t - 1]
        # Joint of z_1..z_T given x: mean abar_t x, Cov(z_i, z_j) = vbar_i a_{i+1} ... a_j.
        self.m = torch.tensor([self.ab[t] * x for t in range(1, T + 1)])
        C = torch.zeros(T, T)
        for i in range(1, T + 1):
            for j in range(i, T + 1):
                C[i - 1, j - 1] = C[j - 1, i - 1] = self.vb[i] * math.prod(self.a[i:j])
        self.L = torch.linalg.cholesky(C)

    def _z(self, z, t):
        return self.x if t == 0 else z[t - 1]

    def rec(self, z):
        return _lnorm(self.x, self.c[0] * z[0], self.r[0])

    def plain(self, z):  # log p(x, z) - log q(z | x)
        T, e = self.T, _lnorm(z[self.T - 1], 0, 1) + self.rec(z)
        for t in range(2, T + 1):
            e += _lnorm(z[t - 2], self.c[t - 1] * z[t - 1], self.r[t - 1])
        for t in range(1, T + 1):
            e -= _lnorm(z[t - 1], self.a[t - 1] * self._z(z, t - 1), self.s2[t - 1])
        return e

    def consistency_ratio(self, z):  # (a), log-ratio consistency terms, prior term integrated
        T = self.T
        e = self.rec(z) - _kl(self.a[T - 1] * self._z(z, T - 1), self.s2[T - 1], 0, 1)
        for t in range(1, T):
            e += _lnorm(z[t - 1], self.c[t] * z[t], self.r[t]) - \
                _lnorm(z[t - 1], self.a[t - 1] * self._z(z, t - 1), self.s2[t - 1])
        return e

    def consistency(self, z):  # (a), z_t integrated out under q(z_t | z_{t-1}, z_{t+1})
        T = self.T
        e = self.rec(z) - _kl(self.a[T - 1] * self._z(z, T - 1), self.s2[T - 1], 0, 1)
        for t in range(1, T):
            v = 1 / (1 / self.s2[t - 1] + self.a[t] ** 2 / self.s2[t])
            rm = v * (self.a[t - 1] * self._z(z, t - 1) / self.s2[t - 1] + self.a[t] * z[t] / self.s2[t])
            e += _kl(rm, v, self.a[t - 1] * self._z(z, t - 1), self.s2[t - 1]) - \
                _kl(rm, v, self.c[t] * z[t], self.r[t])
        return e

    def literal45(self, z):  # Luo's eq. 45 read literally: biased
        T = self.T
        e = self.rec(z) - _kl(self.a[T - 1] * self._z(z, T - 1), self.s2[T - 1], 0, 1)
        for t in range(1, T):
            e -= _kl(self.a[t - 1] * self._z(z, t - 1), self.s2[t - 1], self.c[t] * z[t], self.r[t])
        return e

    def denoising(self, z):  # (b)
        T = self.T
        e = self.rec(z) - _kl(self.ab[T] * self.x, self.vb[T], 0, 1)
        for t in range(2, T + 1):
            v = 1 / (1 / self.vb[t - 1] + self.a[t - 1] ** 2 / self.s2[t - 1])
            pm = v * (self.ab[t - 1] * self.x / self.vb[t - 1] + self.a[t - 1] * z[t - 1] / self.s2[t - 1])
            e -= _kl(pm, v, self.c[t - 1] * z[t - 1], self.r[t - 1])
        return e

    def moments(self, f):
        T = self.T
        g = lambda e: f((self.m + self.L @ e).tolist())
        I = torch.eye(T)
        grad = torch.tensor([(g(I[i]) - g(-I[i])) / 2 for i in range(T)])
        A = torch.tensor([[(g(I[i] + I[j]) - g(I[i] - I[j]) - g(-I[i] + I[j]) + g(-I[i] - I[j])) / 8
                           for j in range(T)] for i in range(T)])
        return g(torch.zeros(T)) + A.trace().item(), (2 * (A * A).sum() + grad @ grad).item()

    def exact_elbo(self):
        """E_q[log p(x, z)] + H[q(z|x)] from the second moments of the chain."""
        T, x = self.T, self.x
        mean = lambda i: x if i == 0 else self.m[i - 1].item()
        cov = (self.L @ self.L.T)
        mom = lambda i, j: mean(i) * mean(j) + (0.0 if i == 0 or j == 0 else cov[i - 1, j - 1].item())
        e = -0.5 * (math.log(2 * math.pi) + mom(T, T))
        for t in range(1, T + 1):
            c, r = self.c[t - 1], self.r[t - 1]
            sq = mom(t - 1, t - 1) - 2 * c * mom(t - 1, t) + c * c * mom(t, t)
            e += -0.5 * (math.log(2 * math.pi * r) + sq / r)
        return e + sum(0.5 * math.log(2 * math.pi * math.e * v) for v in self.s2)


def reverse_decoder(alpha, sd):
    """The exact reverse transitions of the chain for data x ~ N(0, sd^2): what a decoder
    fitted to those data learns, p(z_{t-1} | z_t) = N(a_t V_{t-1} / V_t z_t,
    V_{t-1} - a_t^2 V_{t-1}^2 / V_t), V_0 = sd^2, V_t = a_t^2 V_{t-1} + 1 - alpha_t."""
    V, c, r = [sd * sd], [], []
    for al in alpha:
        V.append(al * V[-1] + 1 - al)
    for t, al in enumerate(alpha, start=1):
        c.append(math.sqrt(al) * V[t - 1] / V[t])
        r.append(V[t - 1] - al * V[t - 1] ** 2 / V[t])
    return c, r


ESTIMATORS = ["consistency", "consistency_ratio", "denoising", "literal45", "plain"]


def summed(alpha, c, r, xs):
    """Exact ELBO, and exact mean and variance of every estimator, summed over coordinates."""
    out = {n: [0.0, 0.0] for n in ESTIMATORS}
    exact = 0.0
    for x in xs:
        h = Hierarchy(alpha, c, r, x)
        exact += h.exact_elbo()
        for n in ESTIMATORS:
            mu, var = h.moments(getattr(h, n))
            out[n][0] += mu
            out[n][1] += var
    for n in ["consistency", "consistency_ratio", "denoising", "plain"]:
        assert abs(out[n][0] - exact) < 1e-9 * max(1, abs(exact)), (n, out[n][0], exact)
    return exact, out


MH_ALPHA = [0.9, 0.75, 0.6, 0.5]


def mhvae():
    # The two hierarchies of the test: decoder = exact reverse of the chain for data
    # N(0, sd^2), evaluated at two typical points x = (0.7 sd, -0.4 sd).
    for sd in [0.1, 1.0]:
        c, r = reverse_decoder(MH_ALPHA, sd)
        exact, out = summed(MH_ALPHA, c, r, [0.7 * sd, -0.4 * sd])
        print("sd = %g: c = %s r = %s" % (sd, [round(v, 6) for v in c], [round(v, 6) for v in r]))
        print("  exact ELBO %.12g" % exact)
        for n in ESTIMATORS:
            print("  %-18s mean %.10g variance %.10g" % (n, out[n][0], out[n][1]))
        print("  var(b) / var(a) = %.6f" % (out["denoising"][1] / out["consistency"][1]))


def mhvae_table():
    # docs/vae.md: var(b) / var(a) [and var(log p(x,z) - log q(z|x)) / var(a)] over depth T,
    # constant alpha, and the data spread sd the decoder was fitted to, at x = 0.7 sd; then
    # under-fitted decoders (slopes c_t shrunk by lam, variances r_t scaled by rho) for sd = 1.
    print("| T | alpha | sd = 0.1 | sd = 0.3 | sd = 0.5 | sd = 1 | sd = 2 | sd = 1, c x 0.7 | sd = 1, c x 0.5 | sd = 1, r x 3 |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for T in [2, 4, 8, 16]:
        for al in [0.5, 0.9, 0.99]:
            alpha = [al] * T
            cells = []
            for sd, lam, rho in [(0.1, 0, 1), (0.3, 0, 1), (0.5, 0, 1), (1, 0, 1), (2, 0, 1),
                                 (1, 0.3, 1), (1, 0.5, 1), (1, 0, 3)]:
                c, r = reverse_decoder(alpha, sd)
                c = [(1 - lam) * v for v in c]
                r = [rho * v for v in r]
                _, out = summed(alpha, c, r, [0.7 * sd])
                va = out["consistency"][1]
                cells.append("%.2f (%.2g)" % (out["denoising"][1] / va, out["plain"][1] / va))
            print("| %d | %g | %s |" % (T, al, " | ".join(cells)))


SECTIONS = {"categorical": categorical, "full": full, "gaussian": gaussian, "likelihoods": likelihoods, "discretized": discretized,
            "mhvae": mhvae, "mhvae_table": mhvae_table}

if __name__ == "__main__":
    names = sys.argv[1:] or list(SECTIONS)
    for n in names:
        print("==", n)
        SECTIONS[n]()
