"""The FoMoH paper's experiments and those of its companion papers, beside the application.

* :mod:`paper_experiments.rosenbrock` — §6.1, Figures 1a, 1b, 2 and 5
  (``fomoh rosenbrock``);
* :mod:`paper_experiments.presets` — Tables 1 and 2 as presets of ``fomoh compare``
  (``--preset mnist-logreg``, ``--preset mnist-cnn``);
* :mod:`paper_experiments.companion` — the companion papers: the Newton family,
  complex-step Newton-Krylov, partition Newton (``python -m paper_experiments.companion``);
* :mod:`paper_experiments.blowup` — FoMoH-KD blow-ups on the CNN, this project against the
  paper's code (``python -m paper_experiments.blowup``);
* :mod:`paper_experiments.cli` — the ``fomoh rosenbrock`` sub-command;
* :mod:`paper_experiments.plugin` — registers the presets and the sub-command with ``fomoh``.

Dependencies point one way: ``hyperdual`` ← ``layers``, ``optimizers`` ← ``hyperlab`` ←
``paper_experiments``. The experiments use the library and the application (its data sets,
the one step loop :mod:`hyperlab.loop`, ``train``, ``compare``); nothing in the library, the
application or the tests outside ``paper_experiments/tests`` imports this package. The
``fomoh`` command finds the experiments' presets and sub-command through the entry point
``hyperlab.plugins`` (see :mod:`hyperlab.plugins`).
"""
