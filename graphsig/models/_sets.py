"""Validation of inputs that are sets or sequences of items (objects, tokens)."""

import numpy as np
from sklearn.utils.validation import check_array, validate_data

__all__ = ["input_ndim", "validate_sets"]


def input_ndim(X):
    """Number of dimensions of array-like ``X`` as given (3 when ragged: the
    validation then reports it)."""
    ndim = getattr(X, "ndim", None)
    if ndim is not None:
        return ndim
    try:
        return np.asarray(X).ndim
    except ValueError:
        return 3


def validate_sets(estimator, X, *, reset, n_items=None, item="object", min_items=1,
                  fixed_n_items=True):
    """Validate X as samples of items; return an array (n_samples, n_items, n_item_features).

    ``X`` is 3-D ``(n_samples, n_items, n_item_features)``, or 2-D
    ``(n_samples, n_items * n_item_features)`` with consecutive blocks of
    columns as items (``n_items`` given) or one column per item (``n_items``
    None). Sets ``n_features_in_``, ``n_<item>s_`` and ``n_<item>_features_`` on
    ``reset``; checks them otherwise (the number of items only when
    ``fixed_n_items``).
    """
    name = type(estimator).__name__
    n_attr, f_attr = f"n_{item}s_", f"n_{item}_features_"
    ndim = getattr(X, "ndim", None)
    if ndim is None:
        try:
            arr = np.asarray(X)
        except ValueError as exc:
            raise ValueError(
                f"X could not be read as an array of shape (n_samples, n_{item}s, n_features): "
                f"the {item}s have inconsistent feature widths or the samples inconsistent "
                f"numbers of {item}s"
            ) from exc
        if arr.dtype == object:
            raise ValueError(
                f"X is ragged: the {item}s have inconsistent feature widths or the samples "
                f"inconsistent numbers of {item}s"
            )
        ndim = arr.ndim
        X = arr
    if ndim == 3:
        X = check_array(X, allow_nd=True, dtype=[np.float64, np.float32], input_name="X")
        n_it, n_feat = X.shape[1], X.shape[2]
        if n_items is not None and n_it != n_items:
            raise ValueError(f"X has {n_it} {item}s per sample but n_{item}s={n_items}")
        if reset:
            estimator.n_features_in_ = n_it * n_feat
            if hasattr(estimator, "feature_names_in_"):
                del estimator.feature_names_in_
        else:
            if fixed_n_items and n_it != getattr(estimator, n_attr):
                raise ValueError(
                    f"X has {n_it} {item}s per sample, but {name} was fitted with "
                    f"{getattr(estimator, n_attr)} {item}s per sample"
                )
            if n_feat != getattr(estimator, f_attr):
                raise ValueError(
                    f"X has {n_feat} features per {item}, but {name} was fitted with "
                    f"{getattr(estimator, f_attr)} features per {item}"
                )
    elif ndim in (0, 1, 2):
        X = validate_data(estimator, X, reset=reset, dtype=[np.float64, np.float32])
        n_total = X.shape[1]
        if reset:
            n_it = n_items if n_items is not None else n_total
        else:
            n_it = n_total // getattr(estimator, f_attr)
        if n_total % n_it:
            raise ValueError(
                f"X has {n_total} columns, which cannot be split into n_{item}s={n_it} "
                f"{item}s of equal width"
            )
        X = X.reshape(X.shape[0], n_it, n_total // n_it)
        n_feat = X.shape[2]
    else:
        raise ValueError(
            f"X must be 2-D (n_samples, n_{item}s * n_features) or 3-D (n_samples, n_{item}s, "
            f"n_features); got {ndim} dimensions"
        )
    if n_it < min_items:
        raise ValueError(
            f"{name} needs at least {min_items} {item}s per sample, got {n_it} (X has "
            f"n_features={n_it * n_feat})"
        )
    if reset:
        setattr(estimator, n_attr, n_it)
        setattr(estimator, f_attr, n_feat)
    return X
