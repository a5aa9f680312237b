"""``cupyx.scipy`` of the strict CPU stand-in for CuPy: only ``special`` (see ``cupy``)."""
