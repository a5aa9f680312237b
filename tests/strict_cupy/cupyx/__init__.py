"""``cupyx`` of the strict CPU stand-in for CuPy: only ``cupyx.scipy.special`` (see ``cupy``)."""
