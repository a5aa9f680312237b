"""Compare another backend's results with the reference, quantity by quantity.

For every result array the case asks for, the candidate's values are compared with the
reference's (float64, cross-checked) by ``hyperdual.testing.relative_error``: the largest
absolute error divided by the largest absolute reference value (for ``hvp``, row by row: each
product against its own scale, the worst row reported). The tolerance is
``hyperdual.testing.tolerance(dtype, "exact")`` for the dtype the candidate *declares* it
computed in — the one tolerance table of the library (float64: 1e-11, float32: 2e-4). A
backend that claims float64 but delivers float32 accuracy therefore fails.

A row fails when the error is above tolerance, when the candidate has NaN or infinity where the
reference is finite, when the array is missing, has the wrong shape or dtype, or was not asked
for by the case.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hyperdual.testing import relative_error, tolerance

from .format import Case, Results, printable

__all__ = ["Row", "Comparison", "compare_results", "STATUS_OK"]

STATUS_OK = "ok"


@dataclass
class Row:
    """One quantity of a comparison."""

    quantity: str
    shape: tuple | None
    status: str  # "ok", "FAIL", "MISSING", "BAD", "NONFINITE", "UNEXPECTED"
    max_abs: float = float("nan")
    rel: float = float("nan")
    rtol: float = float("nan")
    detail: str = ""

    @property
    def ok(self):
        return self.status == STATUS_OK


@dataclass
class Comparison:
    """All rows of one comparison; ``ok`` when every row is, ``table()`` prints them."""

    candidate: str
    candidate_dtype: str
    reference: str
    rows: list = field(default_factory=list)

    @property
    def ok(self):
        return bool(self.rows) and all(r.ok for r in self.rows)

    @property
    def failures(self):
        return [r for r in self.rows if not r.ok]

    def row(self, quantity):
        for r in self.rows:
            if r.quantity == quantity:
                return r
        raise KeyError(quantity)

    def table(self):
        """A text table: quantity, shape, max abs error, relative error, tolerance, status."""
        head = (
            f"{'quantity':<10} {'shape':<12} {'max abs err':>12} {'rel err':>10} "
            f"{'tolerance':>9}  status"
        )
        # names and details come from the files: shown with control characters escaped
        lines = [
            f"candidate: {printable(self.candidate)} ({printable(self.candidate_dtype)})",
            f"reference: {printable(self.reference)}",
            head,
            "-" * len(head),
        ]
        for r in self.rows:
            shape = "-" if r.shape is None else str(tuple(r.shape))
            nums = (
                f"{r.max_abs:12.3e} {r.rel:10.3e} {r.rtol:9.1e}"
                if np.isfinite(r.rel)
                else f"{'':12} {'':10} " + (f"{r.rtol:9.1e}" if np.isfinite(r.rtol) else f"{'':9}")
            )
            lines.append(
                f"{printable(r.quantity):<10} {shape:<12} {nums}  {r.status}"
                + (f"  ({printable(r.detail)})" if r.detail else "")
            )
        n_bad = len(self.failures)
        lines.append("-" * len(head))
        lines.append(
            f"{'AGREE' if self.ok else 'DISAGREE'}: {len(self.rows) - n_bad} of "
            f"{len(self.rows)} quantities within tolerance"
        )
        return "\n".join(lines)

    def __str__(self):
        return self.table()


def _rel(quantity, actual, desired):
    """``relative_error``; for ``hvp`` each product against its own scale, worst row."""
    if quantity == "hvp" and desired.ndim == 2 and len(desired):
        return max(relative_error(a, d) for a, d in zip(actual, desired))
    return relative_error(actual, desired)


def compare_results(case, candidate, reference, *, skip=(), rtol=None):
    """Compare ``candidate`` results with ``reference`` results for ``case``.

    Parameters
    ----------
    case : Case
    candidate, reference : Results
        ``read_results`` of each (the reference normally from ``compute_reference``).
    skip : iterable of str
        Result arrays not to compare (they are listed as skipped, not failed); skipping
        every array the case asks for is refused (nothing would be compared).
    rtol : float, optional
        Override the tolerance chosen by the candidate's declared dtype.

    Returns
    -------
    Comparison
    """
    if (
        not isinstance(case, Case)
        or not isinstance(candidate, Results)
        or not isinstance(reference, Results)
    ):
        raise TypeError("compare_results(case, candidate, reference) takes a Case and two Results")
    skip = set(skip)
    expected = case.result_shapes()
    unknown = skip - set(expected)
    if unknown:
        raise ValueError(f"cannot skip {sorted(unknown)}: the case asks for {list(expected)}")
    if set(expected) <= skip:
        raise ValueError(
            f"nothing to compare: --skip names every result the case asks for "
            f"({', '.join(expected)})"
        )
    cmp = Comparison(
        candidate=candidate.backend,
        candidate_dtype=candidate.meta["dtype"],
        reference=reference.backend,
    )
    tol = tolerance(candidate.dtype, "exact") if rtol is None else float(rtol)
    for name, shape in expected.items():
        if name in skip:
            continue
        row = Row(name, shape, STATUS_OK, rtol=tol)
        if name not in reference.arrays:
            row.status, row.detail = "MISSING", "the reference lacks it"
        elif name in candidate.problems:
            row.status, row.detail = "BAD", candidate.problems[name]
        elif name not in candidate.arrays:
            row.status, row.detail = "MISSING", "not in the candidate's results"
        else:
            actual = np.asarray(candidate.arrays[name], dtype=np.float64)
            desired = np.asarray(reference.arrays[name], dtype=np.float64)
            finite = np.isfinite(desired)
            if np.any(finite & ~np.isfinite(actual)):
                row.status = "NONFINITE"
                row.detail = f"{int(np.sum(finite & ~np.isfinite(actual)))} NaN/inf entries"
            else:
                row.max_abs = float(np.max(np.abs(actual - desired), initial=0.0))
                row.rel = _rel(name, actual, desired)
                if not row.rel <= tol:
                    row.status = "FAIL"
                    flat = np.abs(actual - desired).reshape(-1)
                    if flat.size:
                        worst = np.unravel_index(int(np.argmax(flat)), desired.shape)
                        row.detail = (
                            f"worst at {tuple(int(k) for k in worst)}: "
                            f"{actual[worst]:.6g} vs {desired[worst]:.6g}"
                        )
        cmp.rows.append(row)
    for name, why in candidate.problems.items():
        if name not in expected:
            cmp.rows.append(Row(name, None, "UNEXPECTED", detail=why))
    return cmp
