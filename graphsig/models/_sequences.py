"""Sequences as the input of the recurrent estimators, and labels per sequence or per step.

Shared by :class:`~graphsig.models.NonNormalRNNClassifier`,
:class:`~graphsig.models.RelevancyScreeningRNNClassifier` (and so
:class:`~graphsig.models.RecurrentPrimitivesClassifier`) and
:class:`~graphsig.models.BRIMsClassifier`: one place decides how ``X`` and
``y`` are read, so that every recurrent estimator reads them alike.
"""

import numpy as np
from sklearn.utils.validation import check_array, validate_data

from ._base import encode_labels

__all__ = ["SequenceInputMixin", "SequenceTargetsMixin", "nesting_depth"]


def nesting_depth(X):
    """Number of nested sequence levels of a list-like input (3 for sequences)."""
    depth = 0
    # a list that contains itself would nest forever; only depths up to 3 matter
    while isinstance(X, (list, tuple)) and len(X) and depth < 4:
        depth += 1
        X = X[0]
    return depth + (np.ndim(X) if isinstance(X, np.ndarray) else 0)


class SequenceInputMixin:
    """``X`` of shape (n_samples, n_timesteps, n_features), or 2-D cut into steps.

    A 2-D ``X`` is read as ``n_timesteps`` steps of equal width (one column
    per step when ``n_timesteps`` is None). Sets ``n_timesteps_`` and the
    width of a step at ``fit``; later calls must match them.
    """

    def _prepare_X(self, X, *, reset):
        dtype = [np.float64, np.float32]
        if getattr(X, "ndim", None) == 3 or (not hasattr(X, "ndim") and nesting_depth(X) == 3):
            X = check_array(X, allow_nd=True, dtype=dtype, input_name="X")
            if self.n_timesteps is not None and X.shape[1] != self.n_timesteps:
                raise ValueError(
                    f"X holds sequences of {X.shape[1]} time steps but n_timesteps="
                    f"{self.n_timesteps}"
                )
            if reset:
                self.n_features_in_ = X.shape[1] * X.shape[2]
                self.n_timesteps_, self._n_step_features = X.shape[1], X.shape[2]
            elif X.shape[1:] != (self.n_timesteps_, self._n_step_features):
                raise ValueError(
                    f"X holds sequences of {X.shape[1]} time steps with {X.shape[2]} features "
                    f"each, but {type(self).__name__} was fitted on sequences of "
                    f"{self.n_timesteps_} time steps with {self._n_step_features} features"
                )
            return X
        if getattr(X, "ndim", None) is not None and X.ndim > 3:
            raise ValueError(
                "X must be 2-D or 3-D (n_samples, n_timesteps, n_features), "
                f"got {X.ndim} dimensions"
            )
        X = validate_data(self, X, reset=reset, dtype=dtype)
        n_steps = X.shape[1] if self.n_timesteps is None else self.n_timesteps
        if X.shape[1] % n_steps:
            raise ValueError(
                f"X has {X.shape[1]} columns, which is not a multiple of n_timesteps={n_steps}"
            )
        X = X.reshape(X.shape[0], n_steps, X.shape[1] // n_steps)
        if reset:
            self.n_timesteps_, self._n_step_features = X.shape[1], X.shape[2]
        return X


class SequenceTargetsMixin:
    """``y`` with one label per sequence, or of shape (n_samples, n_timesteps): one per step."""

    def _prepare_y(self, y, *, reset, classes=None):
        y_arr = np.asarray(y)
        if y_arr.ndim != 2 or (y_arr.shape[1] == 1 and self.n_timesteps_ != 1):
            # a column vector is one label per sequence (with the usual warning)
            if reset:
                self._sequence_targets = False
            elif self._sequence_targets:
                raise ValueError("y must have one label per time step, as in fit")
            return super()._prepare_y(y, reset=reset, classes=classes)
        if y_arr.shape[1] != self.n_timesteps_:
            raise ValueError(
                f"y has {y_arr.shape[1]} labels per sequence but the sequences have "
                f"{self.n_timesteps_} time steps"
            )
        if not reset and not self._sequence_targets:
            raise ValueError("y must have one label per sequence, as in fit")
        codes = encode_labels(self, y_arr, reset=reset, classes=classes, per_item=True)
        if reset:
            self._sequence_targets = True
        return codes

    def _stratify(self, y):
        return None if y.ndim == 2 else super()._stratify(y)
