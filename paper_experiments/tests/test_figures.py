"""Every figure EXPERIMENTS.md shows has one recipe in ``paper_experiments.figures`` and
every recipe is a figure it shows; the recipes' command lines parse; a re-plot recipe
writes its image."""

import re
from pathlib import Path

import pytest

from hyperlab.cli import build_parser
from paper_experiments import figures
from paper_experiments.companion.cli import main as companion_main

ROOT = Path(__file__).resolve().parents[2]


def _shown_figures() -> set[str]:
    text = (ROOT / "EXPERIMENTS.md").read_text()
    return set(re.findall(r"!\[[^\]]*\]\(docs/figures/([\w.-]+)\.png\)", text))


def test_every_figure_shown_has_exactly_one_recipe():
    assert _shown_figures() == set(figures.FIGURES)


@pytest.mark.parametrize("name", sorted(figures.FIGURES))
def test_recipe_command_line_parses(name, tmp_path):
    figure = figures.FIGURES[name]
    argv = figures._argv(figure, tmp_path, "../shared/data/mnist", None)[2:]
    module, args = argv[0], argv[1:]
    if module == "hyperlab":
        parsed = build_parser().parse_args(args)
        assert parsed.command == args[0]
    else:
        assert module == "paper_experiments.companion"
        with pytest.raises(SystemExit) as done:  # --help parses the rest and exits 0
            companion_main([*args, "--help"])
        assert done.value.code == 0
    if figure.source is not None:
        assert (ROOT / figure.source).is_dir(), f"{name}: its histories are not in the repository"


def test_replot_recipe_writes_the_image(tmp_path):
    target = figures.regenerate("table2-short", "../shared/data/mnist", tmp_path)
    assert target == tmp_path / "table2-short.png"
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_list_names_every_recipe(capsys):
    assert figures.main(["--list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in figures.FIGURES)
