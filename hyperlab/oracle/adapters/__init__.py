"""Worked oracle adapters for other AD backends, shipped with the package.

* ``oracle_torch`` — PyTorch (``torch.func``);
* ``oracle_jax`` — JAX (nested ``jax.jvp``).

Each answers a case (``docs/oracle-format.md``) and writes results in the exchange format::

    pip install "fomoh-hyperdual[oracle-adapters]"          # torch, jax, jaxlib
    python -m hyperlab.oracle.adapters.oracle_torch CASE_DIR --dtype float64
    fomoh oracle compare CASE_DIR CASE_DIR/torch-float64

Each module needs only NumPy and its framework (importing this package does not import
either), so it can also be copied out as a single file and adapted to another backend.
"""
