"""How far back in time the gradient of a recurrent network's loss reaches."""

import numpy as np

__all__ = ["gradient_propagation"]


def gradient_propagation(model, X, y, *, steps=None):
    """Norm of the loss gradient with respect to each hidden state, averaged over sequences.

    For a recurrent network with states ``h_1 .. h_T`` and a loss ``L``
    (the mean cross-entropy of the outputs at the time steps ``steps``), the
    total derivative ``dL/dh_t`` collects every path from ``h_t`` to the
    loss: through the recurrence and, in attentive networks, through the
    attention that later steps pay to ``h_t``. Its norm against the lag
    ``T - t`` shows how far credit can be assigned: in a plain RNN it usually
    decays exponentially with the lag (vanishing gradients), while attention
    to stored states gives direct paths whose length does not grow with it.

    Parameters
    ----------
    model : fitted estimator
        Anything with a method ``state_gradients(X, y, steps=None)``
        returning ``dL/dh_t`` of shape (n_sequences, n_timesteps, n_hidden),
        such as :class:`~graphsig.models.RelevancyScreeningRNNClassifier`.
    X : array-like of shape (n_sequences, n_timesteps, n_features)
    y : array-like of shape (n_sequences,) or (n_sequences, n_timesteps)
        Targets as in the model's ``fit``.
    steps : array-like of int or None, default=None
        For per-step targets: the time steps whose losses count (for example
        the output phase of the copy task); None counts all of them.

    Returns
    -------
    norms : ndarray of shape (n_timesteps,)
        ``mean over sequences of ||dL/dh_t||_2`` for each ``t``.

    Examples
    --------
    >>> import numpy as np
    >>> from graphsig.dynamics import gradient_propagation
    >>> from graphsig.models import RelevancyScreeningRNNClassifier
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(20, 30, 2)), rng.integers(0, 2, 20)
    >>> rnn = RelevancyScreeningRNNClassifier(8, attention="none", max_iter=1,
    ...                                       random_state=0).fit(X, y)
    >>> norms = gradient_propagation(rnn, X, y)
    >>> norms.shape, bool(norms[0] < norms[-1])
    ((30,), True)
    """
    if not hasattr(model, "state_gradients"):
        raise TypeError(
            "model must be a fitted recurrent estimator with a state_gradients(X, y, steps) "
            f"method, got {type(model).__name__}"
        )
    grads = np.asarray(model.state_gradients(X, y, steps=steps), dtype=np.float64)
    if grads.ndim != 3:
        raise ValueError(f"state_gradients must return an array of shape (n_sequences, "
                         f"n_timesteps, n_hidden), got shape {grads.shape}")
    return np.linalg.norm(grads, axis=2).mean(axis=0)
