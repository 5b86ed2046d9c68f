"""Confusion matrix and per-class precision, recall and F1."""

from __future__ import annotations

import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """``(C, C)`` counts, rows the true class, columns the predicted one."""
    valid = (y_pred >= 0) & (y_pred < num_classes)
    m = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(m, (y_true[valid], y_pred[valid].astype(np.int64)), 1)
    return m


def per_class(confusion: np.ndarray, classes: tuple[str, ...]) -> list[dict]:
    tp = np.diag(confusion).astype(np.float64)
    predicted, actual = confusion.sum(axis=0), confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(actual > 0, tp / actual, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return [{"class": c, "precision": float(p), "recall": float(r), "f1": float(f),
             "support": int(s)} for c, p, r, f, s in zip(classes, precision, recall, f1, actual)]
