"""pytest settings for executing the notebooks (nbmake).

Notebook kernels are child processes and inherit this environment. On small shared machines
(CI has 2 cores) multi-threaded BLAS fights other jobs and can make a 0.1 s eigendecomposition
take seconds, so the kernels default to one BLAS thread; set the variables to override.
"""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
