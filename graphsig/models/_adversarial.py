"""A generative adversarial model of tabular data, trained as a two-player game.

A generator ``G`` maps Gaussian noise to samples and a discriminator ``D``
scores samples (a logit). The discriminator maximises

.. math::

    f(G, D) = \\mathbb{E}_x \\log \\sigma(D(x)) + \\mathbb{E}_z \\log(1 - \\sigma(D(G(z))))

and the generator minimises ``f`` ('minimax') or
``-E_z log sigma(D(G(z)))`` ('nonsaturating'). Both players move together
with LEAD or with gradient descent-ascent (:class:`graphsig.optim.LEADOptimizer`);
the mixed products of LEAD are differences of each player's gradient at the
other player's current and previous parameters, on the same mini-batch.
"""

import numbers

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import NumberInterval, _blas_limit
from ._activations import sigmoid as _sigmoid
from ._activations import softplus as _softplus
from ._layers import make_mlp
from ._optim import Adam

__all__ = ["AdversarialGenerator"]


def _hidden_sizes(sizes, name):
    sizes = [sizes] if isinstance(sizes, numbers.Integral) else list(sizes)
    if not sizes or any(isinstance(s, (bool, np.bool_)) or not isinstance(s, numbers.Integral)
                        or s < 1 for s in sizes):
        raise ValueError(f"{name} must be a non-empty sequence of positive integers, "
                         f"got {sizes!r}")
    return [int(s) for s in sizes]


class AdversarialGenerator(BaseEstimator):
    """Generative adversarial network for tabular data, trained with LEAD or descent-ascent.

    Features are standardised before training (and samples mapped back). At
    each step a mini-batch of data and one of noise give both players'
    gradients, and both move simultaneously: ``solver='lead'`` adds momentum
    and the coupling through the mixed second derivatives
    (:class:`graphsig.optim.LEADOptimizer`); ``solver='gda'`` is simultaneous
    gradient descent-ascent with the same learning rate and momentum.

    Parameters
    ----------
    n_latent : int, default=2
        Dimension of the Gaussian noise fed to the generator.
    generator_hidden : sequence of int, default=(32, 32)
    discriminator_hidden : sequence of int, default=(32, 32)
    activation : {'relu', 'leaky_relu', 'tanh'}, default='leaky_relu'
        Hidden nonlinearity of both networks.
    loss : {'nonsaturating', 'minimax'}, default='nonsaturating'
        Generator loss; the discriminator always maximises ``f`` above.
    solver : {'lead', 'gda'}, default='lead'
    learning_rate : float, default=0.02
    momentum : float, default=0.0
        ``beta`` in ``(-1, 1)``, for both solvers.
    coupling : float or None, default=None
        LEAD's ``alpha`` (None: ``learning_rate``); ignored by 'gda'.
    preconditioner : {'none', 'adam'}, default='none'
        'adam' feeds each player's direction, ``g + (alpha / eta) * mixed``
        (``g`` alone for 'gda'), to Adam (``beta_1 = 0.5``,
        ``beta_2 = 0.999``) at ``learning_rate`` instead of taking the plain
        step; ``momentum`` is then unused (Adam's first moment replaces it).
        Adam-preconditioned players are what trains a GAN on a mixture of
        Gaussians in a few thousand steps.
    batch_size : int, default=64
        Data and noise samples per step (at most the number of samples).
    max_iter : int, default=300
        Number of steps (each on one mini-batch). The default is a quick fit;
        the ring of 8 Gaussians in the documentation needs about 3,000.
    standardize : bool, default=True
        Centre and scale each feature before training.
    random_state : int, RandomState instance or None, default=None

    Attributes
    ----------
    generator_, discriminator_ : Sequential
        The two networks (on standardised features).
    mean_, scale_ : ndarray of shape (n_features,)
        Standardisation (0 and 1 with ``standardize=False``).
    n_features_in_ : int
    n_iter_ : int
        Steps taken.
    generator_loss_curve_, discriminator_value_curve_ : list of float
        The generator's loss and the value ``f`` at every step.

    Examples
    --------
    >>> import numpy as np
    >>> from graphsig.models import AdversarialGenerator
    >>> X = np.random.default_rng(0).normal(loc=3.0, size=(200, 2))
    >>> gan = AdversarialGenerator(max_iter=300, random_state=0).fit(X)
    >>> gan.sample(500, random_state=0).shape
    (500, 2)

    References
    ----------
    Hemmat, Mitra, Lajoie and Mitliagkas, "LEAD: Least-Action Dynamics for
    Min-Max Optimization", arXiv:2010.13846, 2020.
    """

    _parameter_constraints = {
        "n_latent": [NumberInterval(numbers.Integral, 1, None, closed="left")],
        "generator_hidden": ["array-like", NumberInterval(numbers.Integral, 1, None,
                                                          closed="left")],
        "discriminator_hidden": ["array-like", NumberInterval(numbers.Integral, 1, None,
                                                              closed="left")],
        "activation": [StrOptions({"relu", "leaky_relu", "tanh"})],
        "loss": [StrOptions({"nonsaturating", "minimax"})],
        "solver": [StrOptions({"lead", "gda"})],
        "learning_rate": [NumberInterval(numbers.Real, 0, None, closed="neither")],
        "momentum": [NumberInterval(numbers.Real, -1, 1, closed="neither")],
        "coupling": [None, NumberInterval(numbers.Real, 0, None, closed="left")],
        "batch_size": [NumberInterval(numbers.Integral, 1, None, closed="left")],
        "max_iter": [NumberInterval(numbers.Integral, 1, None, closed="left")],
        "preconditioner": [StrOptions({"none", "adam"})],
        "standardize": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(self, n_latent=2, *, generator_hidden=(32, 32), discriminator_hidden=(32, 32),
                 activation="leaky_relu", loss="nonsaturating", solver="lead",
                 learning_rate=0.02, momentum=0.0, coupling=None, preconditioner="none",
                 batch_size=64, max_iter=300, standardize=True, random_state=None):
        self.n_latent = n_latent
        self.generator_hidden = generator_hidden
        self.discriminator_hidden = discriminator_hidden
        self.activation = activation
        self.loss = loss
        self.solver = solver
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.coupling = coupling
        self.preconditioner = preconditioner
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.standardize = standardize
        self.random_state = random_state

    # -- the two players ------------------------------------------------------------
    def _discriminator_value(self, X, z):
        """``f`` and its gradient with respect to the discriminator's parameters."""
        G, D = self.generator_, self.discriminator_
        fake = G.forward(z)
        D.zero_grad()
        logits = D.forward(np.concatenate([X, fake]))[:, 0]
        real, gen = logits[: len(X)], logits[len(X):]
        value = -float(_softplus(-real).mean()) - float(_softplus(gen).mean())
        grad = np.concatenate([_sigmoid(-real) / len(X), -_sigmoid(gen) / len(z)])
        D.backward(grad[:, None])
        return value, D.get_flat_grads()

    def _generator_loss(self, z):
        """The generator's loss and its gradient with respect to the generator's parameters."""
        G, D = self.generator_, self.discriminator_
        G.zero_grad()
        D.zero_grad()
        gen = D.forward(G.forward(z))[:, 0]
        if self.loss == "minimax":
            value = -float(_softplus(gen).mean())
            grad = -_sigmoid(gen) / len(z)
        else:
            value = float(_softplus(-gen).mean())
            grad = -_sigmoid(-gen) / len(z)
        G.backward(D.backward(grad[:, None]))
        return value, G.get_flat_grads()

    @staticmethod
    def _at(module, flat, fn, *args):
        """``fn(*args)`` with ``module``'s parameters temporarily set to ``flat``."""
        saved = module.get_flat_params()
        module.set_flat_params(flat)
        try:
            return fn(*args)
        finally:
            module.set_flat_params(saved)

    @staticmethod
    def _split(flat, like):
        out, start = [], 0
        for p in like:
            out.append(flat[start:start + p.size].reshape(p.shape))
            start += p.size
        return out

    # -- training -------------------------------------------------------------------
    def fit(self, X, y=None):
        """Train the generator and the discriminator on the rows of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : None
            Ignored.

        Returns
        -------
        self
        """
        from ..optim import LEADOptimizer

        self._validate_params()
        g_hidden = _hidden_sizes(self.generator_hidden, "generator_hidden")
        d_hidden = _hidden_sizes(self.discriminator_hidden, "discriminator_hidden")
        X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_min_samples=2)
        self._dtype = X.dtype
        X = X.astype(np.float64)
        n_samples, n_features = X.shape
        if self.standardize:
            self.mean_ = X.mean(axis=0)
            scale = X.std(axis=0)
            self.scale_ = np.where(scale > 0, scale, 1.0)
        else:
            self.mean_, self.scale_ = np.zeros(n_features), np.ones(n_features)
        Xs = (X - self.mean_) / self.scale_
        rng = check_random_state(self.random_state)
        self.generator_ = make_mlp([self.n_latent, *g_hidden, n_features],
                                   activation=self.activation, random_state=rng)
        self.discriminator_ = make_mlp([n_features, *d_hidden, 1], activation=self.activation,
                                       random_state=rng)
        G, D = self.generator_, self.discriminator_
        lead = self.solver == "lead"
        opt = LEADOptimizer(G.params, D.params, learning_rate=self.learning_rate,
                            momentum=self.momentum, coupling=self.coupling if lead else 0.0)
        if self.preconditioner == "adam":
            # Adam on each player's LEAD direction g + (alpha / eta) * mixed; the
            # maximiser's direction is negated so that both descend
            adam_g = Adam(G.params, learning_rate=self.learning_rate, beta_1=0.5)
            adam_d = Adam(D.params, learning_rate=self.learning_rate, beta_1=0.5)
            ratio = opt.coupling / opt.learning_rate
        batch = min(int(self.batch_size), n_samples)
        self.generator_loss_curve_, self.discriminator_value_curve_ = [], []
        self.n_iter_ = 0
        with _blas_limit(1), np.errstate(over="ignore", invalid="ignore"):
            for step in range(self.max_iter):
                Xb = Xs[rng.choice(n_samples, batch, replace=False)]
                z = rng.standard_normal((batch, self.n_latent))
                g_value, g_grad = self._generator_loss(z)
                d_value, d_grad = self._discriminator_value(Xb, z)
                mixed_g = mixed_d = None
                if lead and opt.coupling != 0.0 and step > 0:
                    prev_d = np.concatenate([p.ravel() for p in opt.previous_y])
                    prev_g = np.concatenate([p.ravel() for p in opt.previous_x])
                    mixed_g = g_grad - self._at(D, prev_d, self._generator_loss, z)[1]
                    mixed_d = d_grad - self._at(G, prev_g, self._discriminator_value, Xb, z)[1]
                    mixed_g = self._split(mixed_g, G.params)
                    mixed_d = self._split(mixed_d, D.params)
                if not (np.isfinite(g_value) and np.isfinite(d_value)
                        and np.all(np.isfinite(g_grad)) and np.all(np.isfinite(d_grad))):
                    raise FloatingPointError(
                        f"{type(self).__name__}: training diverged at step {step} (non-finite "
                        "loss or gradients); lower learning_rate")
                if self.preconditioner == "adam":
                    prev_g = [p.copy() for p in G.params]
                    prev_d = [p.copy() for p in D.params]
                    dir_g, dir_d = g_grad, -d_grad
                    if mixed_g is not None:
                        dir_g = dir_g + ratio * np.concatenate([m.ravel() for m in mixed_g])
                        dir_d = dir_d - ratio * np.concatenate([m.ravel() for m in mixed_d])
                    adam_g.step(self._split(dir_g, G.params))
                    adam_d.step(self._split(dir_d, D.params))
                    for p, q in zip(opt.previous_x + opt.previous_y, prev_g + prev_d):
                        p[...] = q
                else:
                    opt.step(self._split(g_grad, G.params), self._split(d_grad, D.params),
                             mixed_g, mixed_d)
                self.generator_loss_curve_.append(g_value)
                self.discriminator_value_curve_.append(d_value)
                self.n_iter_ += 1
        G.clear_cache()
        D.clear_cache()
        return self

    # -- use ------------------------------------------------------------------------
    def sample(self, n_samples=1, *, random_state=None):
        """Draw samples from the fitted generator.

        Parameters
        ----------
        n_samples : int, default=1
        random_state : int, RandomState instance or None, default=None
            Draws the noise.

        Returns
        -------
        ndarray of shape (n_samples, n_features)
            In the dtype of the training data.
        """
        check_is_fitted(self, "generator_")
        if (isinstance(n_samples, (bool, np.bool_)) or not isinstance(n_samples, numbers.Integral)
                or n_samples < 1):
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
        rng = check_random_state(random_state)
        z = rng.standard_normal((int(n_samples), self.n_latent))
        with _blas_limit(1):
            out = self.generator_.forward(z)
        self.generator_.clear_cache()
        return (out * self.scale_ + self.mean_).astype(self._dtype, copy=False)

    def discriminator_logit(self, X):
        """The discriminator's logit (higher: judged more like the data).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "discriminator_")
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        with _blas_limit(1):
            out = self.discriminator_.forward((X.astype(np.float64) - self.mean_) / self.scale_)
        self.discriminator_.clear_cache()
        return out[:, 0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        tags.target_tags.required = False
        return tags

