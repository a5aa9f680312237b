"""``cupyx.scipy.special`` of the strict CPU stand-in for CuPy: SciPy's special functions on
device arrays, computed by SciPy on the CPU (NumPy arrays refused, results on the device).
Every SciPy function is accepted, also those CuPy lacks (see ``cupy``'s docstring)."""

import cupy
import scipy.special


def __getattr__(name):
    """``cupyx.scipy.special.<name>``: SciPy's ``<name>`` on device arrays."""
    return cupy._device_function(getattr(scipy.special, name))
