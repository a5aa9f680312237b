"""Oracle cases whose model is an ONNX file (``fomoh oracle make-case --onnx``).

The case stores the file as ``model.onnx`` with its SHA-256; ``reference``, ``validate`` and
``compare`` work on it; tampering with the file, a path in the description, unknown
constants and unsupported graphs are refused; the PyTorch example round trip passes.
"""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

from backend_helpers import host
from onnx_helpers import cnn_model, helper, make_model, transformer_model  # noqa: E402

from hyperlab import oracle  # noqa: E402
from hyperlab.oracle import OracleFormatError  # noqa: E402
from hyperlab.oracle.cli import main as oracle_main  # noqa: E402

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def onnx_case(tmp_path_factory):
    """A transformer-block case with its reference results, via the CLI (the full Hessian is
    left out here: ``test_onnx_models`` checks it)."""
    folder = tmp_path_factory.mktemp("onnx")
    onnx.save_model(transformer_model(), folder / "block.onnx")
    case_dir = folder / "case"
    assert (
        oracle_main(
            [
                "make-case",
                str(case_dir),
                "--onnx",
                str(folder / "block.onnx"),
                "--batch",
                "3",
                "--seed",
                "4",
            ]
        )
        == 0
    )
    assert oracle_main(["reference", str(case_dir)]) == 0
    return oracle.read_case(case_dir), oracle.read_results(
        case_dir / "reference", oracle.read_case(case_dir)
    )


def test_case_stores_the_file_and_its_sha256(onnx_case):
    case, reference = onnx_case
    description = case.meta["model"]
    assert description["onnx"]["file"] == "model.onnx"
    data = (case.path / "model.onnx").read_bytes()
    import hashlib

    assert description["onnx"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert description["onnx"]["bytes"] == len(data)
    names = [t.name for t in transformer_model().graph.initializer]
    assert [p["name"] for p in case.meta["parameters"]] == names
    assert case.meta["num_classes"] == 3 and case.num_parameters == 187
    model = case.build_model()
    np.testing.assert_array_equal(host(model.init_params()), case.arrays["theta"])


def test_reference_cross_checks_agree_without_back_propagation(onnx_case):
    _, reference = onnx_case
    cross = reference.meta["cross_check"]
    assert cross["all_agree"] and cross["method"] == "forward"
    against = {c["against"] for c in cross["checks"]}
    assert "bicomplex step" in against and "back-propagation" not in against
    assert max(c["rel_error"] for c in cross["checks"]) < 1e-13


def test_compare_finds_a_planted_second_derivative_error(onnx_case, tmp_path, capsys):
    case, reference = onnx_case
    good = oracle.write_results(
        tmp_path / "good", case, reference.arrays, backend="copy", dtype="float64"
    )
    assert oracle_main(["compare", str(case.path), str(good)]) == 0
    arrays = dict(reference.arrays)
    arrays["kd_H"] = arrays["kd_H"] * (1 + 1e-9)
    bad = oracle.write_results(tmp_path / "bad", case, arrays, backend="planted", dtype="float64")
    assert oracle_main(["compare", str(case.path), str(bad)]) == 1
    table = capsys.readouterr().out
    assert "kd_H" in table and "FAIL" in table


def test_tampered_or_misplaced_onnx_files_are_refused(onnx_case, tmp_path):
    case, _ = onnx_case
    import shutil

    copy = tmp_path / "case"
    shutil.copytree(case.path, copy)
    model_file = copy / "model.onnx"
    data = bytearray(model_file.read_bytes())
    data[-1] ^= 1
    model_file.write_bytes(bytes(data))
    with pytest.raises(OracleFormatError, match="SHA-256 differs from model.onnx.sha256"):
        oracle.read_case(copy)
    assert oracle_main(["validate", str(copy)]) == 2
    model_file.unlink()
    with pytest.raises(OracleFormatError, match="ONNX file not found"):
        oracle.read_case(copy)
    meta = json.loads((case.path / "case.json").read_text())
    meta["model"]["onnx"]["file"] = "../block.onnx"
    (copy / "case.json").write_text(json.dumps(meta))
    with pytest.raises(OracleFormatError, match="must be 'model.onnx'"):
        oracle.read_case(copy)


def test_constants_are_held_out_of_theta(tmp_path):
    onnx.save_model(cnn_model(), tmp_path / "cnn.onnx")
    stats = ["bn.running_mean", "bn.running_var"]
    args = [
        "make-case",
        str(tmp_path / "case"),
        "--onnx",
        str(tmp_path / "cnn.onnx"),
        "--kd",
        "2",
        "--hvp",
        "1",
    ]
    assert oracle_main(args + sum((["--constant", s] for s in stats), [])) == 0
    case = oracle.read_case(tmp_path / "case")
    assert case.meta["model"]["constants"] == stats
    assert [p["name"] for p in case.meta["parameters"]] == [
        t.name for t in cnn_model().graph.initializer if t.name not in stats
    ]
    results = oracle.compute_reference(case)
    assert results.meta["cross_check"]["all_agree"]
    assert oracle_main(args + ["--constant", "nonexistent"]) == 2


def test_unsupported_graphs_and_misused_options_exit_2(tmp_path, capsys):
    node = helper.make_node("Cosh", ["x"], ["y"], name="hyperbolic")
    model = make_model([node], {}, {"x": np.zeros((1, 3))}, [("y", np.float64)])
    onnx.save_model(model, tmp_path / "cosh.onnx")
    assert (
        oracle_main(["make-case", str(tmp_path / "c"), "--onnx", str(tmp_path / "cosh.onnx")]) == 2
    )
    assert "Cosh node 'hyperbolic'" in capsys.readouterr().err
    onnx.save_model(cnn_model(), tmp_path / "cnn.onnx")
    assert (
        oracle_main(
            [
                "make-case",
                str(tmp_path / "d"),
                "--onnx",
                str(tmp_path / "cnn.onnx"),
                "--model-arg",
                "hidden=3",
            ]
        )
        == 2
    )
    assert oracle_main(["make-case", str(tmp_path / "e"), "--model", "mlp", "--constant", "x"]) == 2


def test_external_data_is_stored_inline_in_the_case(tmp_path):
    onnx.save_model(
        transformer_model(),
        tmp_path / "ext.onnx",
        save_as_external_data=True,
        location="ext.data",
        size_threshold=0,
    )
    from hyperlab.oracle import make_onnx_case

    case = make_onnx_case(tmp_path / "case", tmp_path / "ext.onnx", batch=2, pairs=1, kd=2, hvp=1)
    assert sorted(p.name for p in case.path.iterdir()) == ["case.json", "case.npz", "model.onnx"]
    stored = onnx.load_model(case.path / "model.onnx", load_external_data=False)
    assert all(t.data_location == onnx.TensorProto.DEFAULT for t in stored.graph.initializer)
    assert oracle.compute_reference(case).meta["cross_check"]["all_agree"]
    # A case's model.onnx must be self-contained: side files are not read from a case.
    onnx.save_model(
        transformer_model(),
        case.path / "model.onnx",
        save_as_external_data=True,
        location="side.data",
        size_threshold=0,
    )
    meta = json.loads((case.path / "case.json").read_text())
    data = (case.path / "model.onnx").read_bytes()
    import hashlib

    meta["model"]["onnx"].update(sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))
    (case.path / "case.json").write_text(json.dumps(meta))
    with pytest.raises(OracleFormatError, match="external file"):
        oracle.read_case(case.path)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # PyTorch's TorchScript exporter
def test_pytorch_example_round_trip(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: threads only add overhead here
    spec = importlib.util.spec_from_file_location(
        "oracle_onnx_torch", EXAMPLES / "oracle_onnx_torch.py"
    )
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    try:
        assert example.main([str(tmp_path), "--no-hessian"]) == 0
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr().out
    assert "AGREE: 8 of 8 quantities within tolerance" in out
