"""LEAD against gradient descent-ascent: a bilinear game and a small GAN.

1. The bilinear game f(x, y) = x^T A y (A 4 x 4, singular values 0.5..1.5):
   simultaneous gradient descent-ascent spirals away from the equilibrium
   (0, 0), LEAD converges to it.
2. A GAN on 8 Gaussians on a ring (one seed, Adam-preconditioned players,
   3,000 steps each): modes covered, share of high-quality samples, energy
   distance to the data. One seed says little here: descent-ascent covers all
   modes in some runs and half of them in others. The three-seed comparison
   is ``benchmarks/lead_games.py`` (results in ``benchmarks/results/lead.md``).

Run: python examples/lead_minmax.py   (about a minute)
"""

import numpy as np
from scipy.spatial.distance import cdist

from graphsig.models import AdversarialGenerator
from graphsig.optim import solve_minmax

rng = np.random.default_rng(0)
Q1, Q2 = (np.linalg.qr(rng.normal(size=(4, 4)))[0] for _ in range(2))
A = Q1 @ np.diag(np.linspace(0.5, 1.5, 4)) @ Q2
x0, y0 = rng.normal(size=4), rng.normal(size=4)
print("bilinear game, learning rate 0.1: |grad| after 0, 100, 1000 steps")
for method in ("gda", "lead"):
    res = solve_minmax(lambda x, y: A @ y, lambda x, y: A.T @ x, x0, y0, method=method,
                       learning_rate=0.1, coupling=0.2, max_iter=1000)
    print(f"  {method.upper():4s}", "  ".join(f"{res.grad_norms[k]:.2e}" for k in (0, 100, -1)))

angle = 2 * np.pi * rng.integers(0, 8, 2000) / 8
X = 2 * np.column_stack([np.cos(angle), np.sin(angle)]) + 0.05 * rng.normal(size=(2000, 2))
modes = 2 * np.column_stack([np.cos(2 * np.pi * np.arange(8) / 8),
                             np.sin(2 * np.pi * np.arange(8) / 8)])
print("\nGAN on 8 Gaussians (ring of radius 2, std 0.05), 3000 steps")
for solver in ("gda", "lead"):
    gan = AdversarialGenerator(generator_hidden=(64, 64), discriminator_hidden=(64, 64),
                               solver=solver, preconditioner="adam", learning_rate=0.005,
                               batch_size=128, max_iter=3000, random_state=0).fit(X)
    S = gan.sample(2000, random_state=0)
    d = cdist(S, modes)
    good = d.min(axis=1) < 0.15
    covered = int((np.bincount(d.argmin(axis=1)[good], minlength=8) >= 40).sum())
    energy = 2 * cdist(S, X).mean() - cdist(S, S).mean() - cdist(X, X).mean()
    print(f"  {solver.upper():4s} modes {covered}/8, high-quality {good.mean():.3f}, "
          f"energy distance {energy:.4f}")
