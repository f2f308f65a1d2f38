"""BRIMs on sequential digits, tested with noise added to the images.

Each 8x8 digit is read row by row: a sequence of 8 steps of 8 features. A
``BRIMsClassifier`` (2 layers of 4 modules of 6 units, 2 active modules per
layer and step) and a tanh RNN with about as many parameters are trained on
clean images, then tested with Gaussian noise of growing standard deviation
on every (standardised) pixel, and again with 4 distractor steps after the
rows (zeros in training, noise at test). The script prints the accuracies at
each noise level, and how often each module of the BRIMs network is active.

``benchmarks/brims.py`` repeats this over three seeds, with an ablation
without competition and distractor steps.

Run: python examples/brims_noisy_digits.py   (one to two minutes)
"""

import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from graphsig.models import BRIMsClassifier, RelevancyScreeningRNNClassifier

warnings.filterwarnings("ignore", category=ConvergenceWarning)

digits = load_digits()
X = digits.data.reshape(-1, 8, 8)
X_train, X_test, y_train, y_test = train_test_split(
    X, digits.target, test_size=0.5, stratify=digits.target, random_state=0)
mean, std = X_train.mean(), X_train.std()
X_train, X_test = (X_train - mean) / std, (X_test - mean) / std

training = dict(max_iter=40, batch_size=64, learning_rate_init=1e-2, random_state=0)
brims = BRIMsClassifier(n_layers=2, n_modules=4, n_hidden=6, top_k=2, key_size=6,
                        **training).fit(X_train, y_train)
rnn = RelevancyScreeningRNNClassifier(37, attention="none", **training).fit(X_train, y_train)
print(f"parameters: BRIMs {brims.network_.n_params}, RNN {rnn.network_.n_params}")

rng = np.random.default_rng(0)
print("noise sigma   BRIMs   RNN")
for sigma in (0.0, 0.5, 1.0, 1.5):
    noisy = X_test + sigma * rng.normal(size=X_test.shape)
    print(f"{sigma:11.1f}   {brims.score(noisy, y_test):.3f}   {rnn.score(noisy, y_test):.3f}")

# distractor steps: 4 extra steps after the rows, zeros in training, noise at test
pad = np.zeros((len(X_train), 4, 8))
brims_d = BRIMsClassifier(n_layers=2, n_modules=4, n_hidden=6, top_k=2, key_size=6,
                          **training).fit(np.concatenate([X_train, pad], axis=1), y_train)
rnn_d = RelevancyScreeningRNNClassifier(37, attention="none", **training).fit(
    np.concatenate([X_train, pad], axis=1), y_train)
print("distractor sigma   BRIMs   RNN")
for sigma in (0.0, 1.0, 2.0, 4.0):
    noisy = np.concatenate([X_test, sigma * rng.normal(size=(len(X_test), 4, 8))], axis=1)
    print(f"{sigma:16.1f}   {brims_d.score(noisy, y_test):.3f}   "
          f"{rnn_d.score(noisy, y_test):.3f}")

active = brims.active_modules(X_test)  # (steps, layers, samples, modules)
print("fraction of steps each module is active, per layer:")
print(np.round(active.mean(axis=(0, 2)), 2))
