"""The oracle exchange format (hyperlab.oracle): round trips, reference cross-checks, compare with
planted errors, and hostile or broken files."""

import json
import os
import shutil
import zipfile

import numpy as np
import pytest
from backend_helpers import on_backend

import hyperdual as hd
from hyperlab import oracle
from hyperlab.oracle import OracleFormatError, metadata
from hyperlab.oracle import format as fmt
from hyperlab.oracle.cli import main as oracle_main
from layers import (
    AvgPool2d,
    Conv2d,
    Dense,
    Flatten,
    MaxPool2d,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    models,
)

SECOND_ORDER = ("dir_d12", "kd_H", "hvp", "hessian")
FIRST_ORDER = ("loss", "grad", "dir_d1", "dir_d2", "kd_g")


def conv_model():
    """Two convolutions (the second with C_in = 3 > 1, so a transposed layout shows), tanh,
    max-pool, sigmoid, flatten, dense: D = 119."""
    return Sequential(
        [
            Conv2d(2, 3, 3, padding=1),
            Tanh(),
            MaxPool2d(2),
            Conv2d(3, 2, 2),
            Sigmoid(),
            Flatten(),
            Dense(8, 4),
        ],
        input_shape=(2, 6, 6),
    )


@pytest.fixture(scope="module")
def conv_case(tmp_path_factory):
    """A conv case asking for every quantity, with its reference results on disk."""
    case = oracle.make_case(
        tmp_path_factory.mktemp("conv") / "case",
        conv_model(),
        batch=3,
        pairs=2,
        kd=3,
        hvp=2,
        hessian=True,
        seed=1,
    )
    reference = oracle.compute_reference(case, case.path / "reference")
    return case, reference


def candidate(case, tmp_path, arrays, name="candidate", dtype="float64", backend="test"):
    """Write ``arrays`` as another backend's results and read them back."""
    path = oracle.write_results(tmp_path / name, case, arrays, backend=backend, dtype=dtype)
    return oracle.read_results(path, case)


def statuses(comparison):
    return {row.quantity: row.status for row in comparison.rows}


# --------------------------------------------------------------------------- model descriptions
@pytest.mark.parametrize(
    "model",
    [
        models.logistic_regression(n_features=5, n_classes=3),
        models.mlp(hidden=4, n_features=6, n_classes=3),
        models.lenet5(input_shape=(1, 12, 12), n_classes=4),
        models.mnist_cnn(input_shape=(1, 16, 16), n_classes=3),
        models.deep_mlp(width=3, depth=3, n_features=4, n_classes=2, activation="tanh"),
        Sequential(
            [
                Conv2d(1, 2, (2, 3), stride=2, padding=1),
                ReLU(),
                AvgPool2d(3, stride=2, padding=1),
                Flatten(),
                Dense(8, 3),
            ],
            input_shape=(1, 5, 7),
        ),
    ],
    ids=["logreg", "mlp", "lenet5", "mnist_cnn", "deep_mlp", "strided"],
)
def test_description_maps_one_to_one_onto_sequential(model):
    description = oracle.describe_model(model)
    rebuilt = oracle.build_model(json.loads(json.dumps(description)))  # through JSON
    assert rebuilt.param_shapes() == model.param_shapes()
    entries = fmt.parameter_layout(oracle.validate_model(description)[1])
    assert [
        (e["name"], slice(e["offset"], e["offset"] + e["size"])) for e in entries
    ] == model.param_groups()
    rng = np.random.default_rng(0)
    theta = model.init_params(seed=0) + on_backend(0.1 * rng.standard_normal(model.num_params))
    x = on_backend(rng.standard_normal((2, *model.input_shape)))
    y = on_backend(rng.integers(0, model.output_shape[0], 2))
    assert rebuilt.loss(theta, x, y) == model.loss(theta, x, y)


def test_case_round_trip(tmp_path):
    model = conv_model()
    rng = np.random.default_rng(3)
    D = model.num_params
    theta, x, y = rng.standard_normal(D), rng.standard_normal((2, 2, 6, 6)), np.array([0, 3])
    V = rng.standard_normal((2, D))
    case = oracle.write_case(tmp_path / "c", model, theta, x, y, V=V, name="round trip")
    meta = json.loads((tmp_path / "c" / "case.json").read_text())
    assert meta["quantities"] == ["loss", "grad", "projected_hessian"]
    assert meta["directions"] == {"pairs": 0, "kd": 2, "hvp": 0}
    assert meta["num_parameters"] == D and meta["num_classes"] == 4
    assert [p["name"] for p in meta["parameters"]] == [n for n, _ in model.param_shapes()]
    with np.load(tmp_path / "c" / "case.npz", allow_pickle=False) as z:
        assert sorted(z.files) == ["V", "theta", "x", "y"]
    for key, value in {"theta": theta, "x": x, "y": y, "V": V}.items():
        np.testing.assert_array_equal(case.arrays[key], value)
    assert case.result_shapes() == {"loss": (), "grad": (D,), "kd_g": (2,), "kd_H": (2, 2)}


# --------------------------------------------------------------------------- reference
def test_reference_cross_checks_agree_and_are_recorded(conv_case):
    case, reference = conv_case
    cc = reference.meta["cross_check"]
    assert cc["all_agree"], cc["checks"]
    checked = {(c["quantity"], c["against"]) for c in cc["checks"]}
    for name in case.result_shapes():
        assert (name, "bicomplex step") in checked
    assert ("hvp", "forward-over-reverse") in checked and ("grad", "back-propagation") in checked
    on_disk = json.loads((case.path / "reference" / "results.json").read_text())
    assert on_disk["cross_check"]["all_agree"] and on_disk["dtype"] == "float64"
    H = reference.arrays["hessian"]
    np.testing.assert_allclose(
        reference.arrays["hvp"], case.arrays["hvp_v"] @ H, rtol=0, atol=1e-13 * np.abs(H).max()
    )


def test_reverse_method_matches_forward(conv_case):
    case, reference = conv_case
    reverse = oracle.compute_reference(case, method="reverse")
    cmp = oracle.compare_results(case, reverse, reference)
    assert cmp.ok, cmp.table()


def test_reference_raises_when_a_cross_check_fails(conv_case, monkeypatch):
    from hyperlab.oracle import reference as ref_module

    case, _ = conv_case
    real = ref_module.bicomplex_directional

    def off_by_a_bit(f, theta, v1, v2):
        value, d1, d12 = real(f, theta, v1, v2)
        return value, d1, d12 * (1 + 1e-6)

    monkeypatch.setattr(ref_module, "bicomplex_directional", off_by_a_bit)
    with pytest.raises(oracle.CrossCheckError, match="kd_H vs bicomplex step"):
        oracle.compute_reference(case)


# --------------------------------------------------------------------------- compare
def test_reference_agrees_with_itself_and_cli_exits_zero(conv_case, capsys):
    case, reference = conv_case
    assert oracle.compare_results(case, reference, reference).ok
    assert oracle_main(["compare", str(case.path), str(case.path / "reference")]) == 0
    out = capsys.readouterr().out
    assert "AGREE: 9 of 9" in out


def test_planted_gradient_entry_is_caught(conv_case, tmp_path, capsys):
    case, reference = conv_case
    arrays = dict(reference.arrays)
    arrays["grad"] = arrays["grad"].copy()
    arrays["grad"][7] += 1e-8 * np.abs(arrays["grad"]).max()
    cand = candidate(case, tmp_path, arrays)
    cmp = oracle.compare_results(case, cand, reference)
    assert statuses(cmp) == {**{k: "ok" for k in case.result_shapes()}, "grad": "FAIL"}
    assert "worst at (7,)" in cmp.row("grad").detail
    assert oracle_main(["compare", str(case.path), str(tmp_path / "candidate")]) == 1
    out = capsys.readouterr().out
    assert "DISAGREE: 8 of 9" in out and "FAIL" in out


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def numpy_logreg_backend(case, wrong_softmax_hessian=False):
    """A 'foreign' backend in plain NumPy for a one-layer (Dense) case, in closed form.

    z = x Wᵀ + b, p = softmax(z), L = mean(-log p[y]). With ``wrong_softmax_hessian`` the
    softmax Jacobian in the second derivative is taken as diag(p(1 - p)) — the sigmoid's —
    instead of diag(p) - p pᵀ: a classic bug that first derivatives cannot reveal.
    """
    (spec,) = case.meta["model"]["layers"]
    n_out, n_in = spec["out_features"], spec["in_features"]
    a = case.arrays
    theta, x, y = a["theta"], a["x"], a["y"]
    N = len(y)

    def unpack(t):
        return t[: n_out * n_in].reshape(n_out, n_in), t[n_out * n_in :]

    W, b = unpack(theta)
    p = _softmax(x @ W.T + b)
    onehot = np.eye(n_out)[y]

    def hv(v):
        dW, db = unpack(v)
        dz = x @ dW.T + db
        if wrong_softmax_hessian:
            dp = p * (1 - p) * dz
        else:
            dp = p * dz - p * np.sum(p * dz, axis=1, keepdims=True)
        return np.concatenate([(dp.T @ x).reshape(-1), dp.sum(axis=0)]) / N

    r = p - onehot
    g = np.concatenate([(r.T @ x).reshape(-1), r.sum(axis=0)]) / N
    H = np.stack([hv(e) for e in np.eye(theta.size)])
    out = {
        "loss": np.mean(-np.log(p[np.arange(N), y])),
        "grad": g,
        "dir_d1": a["v1"] @ g,
        "dir_d2": a["v2"] @ g,
        "dir_d12": np.einsum("pd,de,pe->p", a["v1"], H, a["v2"]),
        "kd_g": a["V"] @ g,
        "kd_H": a["V"] @ H @ a["V"].T,
        "hvp": np.stack([hv(v) for v in a["hvp_v"]]),
        "hessian": H,
    }
    return out


@pytest.fixture(scope="module")
def logreg_case(tmp_path_factory):
    model = models.logistic_regression(n_features=5, n_classes=3)
    case = oracle.make_case(
        tmp_path_factory.mktemp("logreg") / "case", model, batch=6, hessian=True, seed=2
    )
    return case, oracle.compute_reference(case, case.path / "reference")


def test_numpy_backend_passes(logreg_case, tmp_path):
    case, reference = logreg_case
    cand = candidate(case, tmp_path, numpy_logreg_backend(case), backend="numpy closed form")
    cmp = oracle.compare_results(case, cand, reference)
    assert cmp.ok, cmp.table()


def test_wrong_softmax_second_derivative_is_caught(logreg_case, tmp_path):
    case, reference = logreg_case
    cand = candidate(case, tmp_path, numpy_logreg_backend(case, wrong_softmax_hessian=True))
    cmp = oracle.compare_results(case, cand, reference)
    got = statuses(cmp)
    assert all(got[k] == "ok" for k in FIRST_ORDER), cmp.table()
    assert all(got[k] == "FAIL" for k in SECOND_ORDER), cmp.table()


def test_transposed_conv_weight_layout_is_caught(conv_case, tmp_path):
    """A backend that reads the second conv weight (C_out=2, C_in=3, 2, 2) as
    (C_in, C_out, 2, 2)."""
    case, reference = conv_case
    model = case.build_model()
    layout = dict(model.param_groups())
    sl = layout["conv2.weight"]
    perm = np.arange(case.num_parameters)
    perm[sl] = np.arange(sl.start, sl.stop).reshape(3, 2, 2, 2).transpose(1, 0, 2, 3).reshape(-1)
    a = case.arrays

    def f(t):
        return model.loss(t[perm], a["x"], a["y"])

    theta = a["theta"]
    value, d1, d2, d12 = hd.directional(f, theta, a["v1"], a["v2"])
    _, kd_g, kd_H = hd.projected_hessian(f, theta, a["V"])
    arrays = {
        "loss": value,
        "grad": hd.gradient(f, theta),
        "dir_d1": d1,
        "dir_d2": d2,
        "dir_d12": d12,
        "kd_g": kd_g,
        "kd_H": kd_H,
        "hvp": np.stack([hd.hvp(f, theta, v) for v in a["hvp_v"]]),
        "hessian": hd.hessian(f, theta),
    }
    cmp = oracle.compare_results(case, candidate(case, tmp_path, arrays), reference)
    assert not cmp.ok
    assert statuses(cmp)["loss"] == "FAIL" and statuses(cmp)["hessian"] == "FAIL"


def test_tolerance_follows_the_declared_dtype(conv_case, tmp_path):
    case, reference = conv_case
    rounded = {k: v.astype(np.float32) for k, v in reference.arrays.items()}
    honest = candidate(case, tmp_path, rounded, "f32", dtype="float32")
    cmp = oracle.compare_results(case, honest, reference)
    assert cmp.ok, cmp.table()
    assert {row.rtol for row in cmp.rows} == {hd.testing.tolerance(np.float32, "exact")}
    upcast = {k: v.astype(np.float64) for k, v in rounded.items()}
    claims64 = candidate(case, tmp_path, upcast, "f64", dtype="float64")
    cmp = oracle.compare_results(case, claims64, reference)
    assert set(statuses(cmp).values()) == {"FAIL"}, cmp.table()
    # float32 arrays under a float64 claim are a dtype problem, reported per quantity
    path = tmp_path / "f64-with-f32-arrays"
    shutil.copytree(tmp_path / "f32", path)
    doc = json.loads((path / "results.json").read_text())
    doc["dtype"], doc["arrays_sha256"] = "float64", None
    (path / "results.json").write_text(json.dumps(doc))
    cmp = oracle.compare_results(case, oracle.read_results(path, case), reference)
    assert set(statuses(cmp).values()) == {"BAD"} and "dtype" in cmp.row("loss").detail


def test_missing_wrong_shape_nonfinite_and_unexpected(conv_case, tmp_path, capsys):
    case, reference = conv_case
    arrays = {k: v.copy() for k, v in reference.arrays.items()}
    del arrays["kd_g"]
    arrays["dir_d12"][0] = np.nan
    path = oracle.write_results(tmp_path / "c", case, arrays, backend="b", dtype="float64")
    # swap in a transposed hvp and an array the case did not ask for, bypassing the writer
    raw = {k: v for k, v in arrays.items()}
    raw["hvp"] = raw["hvp"].T.copy()
    raw["jacobian"] = np.zeros(3)
    np.savez(path / "results.npz", **raw)
    doc = json.loads((path / "results.json").read_text())
    doc["quantities"] = sorted(raw)
    doc.pop("arrays_sha256")
    (path / "results.json").write_text(json.dumps(doc))
    cmp = oracle.compare_results(case, oracle.read_results(path, case), reference)
    got = statuses(cmp)
    assert got["kd_g"] == "MISSING" and got["dir_d12"] == "NONFINITE"
    assert got["hvp"] == "BAD" and "shape (119, 2)" in cmp.row("hvp").detail
    assert got["jacobian"] == "UNEXPECTED" and got["loss"] == "ok"
    assert oracle_main(["compare", str(case.path), str(path)]) == 1
    assert oracle_main(["validate", str(case.path), str(path)]) == 2
    assert "unusable results" in capsys.readouterr().err
    cmp = oracle.compare_results(
        case, oracle.read_results(path, case), reference, skip=["kd_g", "dir_d12", "hvp"]
    )
    assert statuses(cmp)["jacobian"] == "UNEXPECTED" and not cmp.ok


def test_results_of_another_case_are_refused(conv_case, logreg_case):
    case, _ = conv_case
    other_case, _ = logreg_case
    with pytest.raises(OracleFormatError, match="answer another case"):
        oracle.read_results(other_case.path / "reference", case)


# --------------------------------------------------------------------------- hostile files
@pytest.fixture
def case_copy(conv_case, tmp_path):
    case, _ = conv_case
    path = tmp_path / "case"
    shutil.copytree(case.path, path, ignore=shutil.ignore_patterns("reference"))
    return path


def _edit_json(path, edit):
    doc = json.loads((path / "case.json").read_text())
    edit(doc)
    (path / "case.json").write_text(json.dumps(doc))


def _edit_npz(path, edit, update_sha=True):
    with np.load(path / "case.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    edit(arrays)
    np.savez(path / "case.npz", **arrays)
    if update_sha:
        _edit_json(path, lambda d: d.update(arrays_sha256=fmt.sha256_file(path / "case.npz")))


def _dense(doc):
    return doc["model"]["layers"][-1]


JSON_MUTATIONS = {
    "version": (lambda d: d.update(version=2), "version 2 is not supported"),
    "format": (lambda d: d.update(format="something-else"), "'format' must be"),
    "unknown key": (lambda d: d.update(execute="rm -rf /"), "unknown key"),
    "missing key": (lambda d: d.pop("parameters"), "lacks the key"),
    "layer type": (
        lambda d: d["model"]["layers"].insert(0, {"type": "__import__", "name": "x"}),
        "type must be one of",
    ),
    "layer field": (lambda d: _dense(d).update(activation="softmax"), "unknown key"),
    "float field": (lambda d: d["model"]["layers"][0].update(stride=1.5), "must be an integer"),
    "bool field": (lambda d: d["model"]["layers"][0].update(padding=True), "must be an integer"),
    "shape chain": (lambda d: _dense(d).update(in_features=9), "Dense expects samples of shape"),
    "num_parameters": (lambda d: d.update(num_parameters=120), "'num_parameters' is 120"),
    "layout": (lambda d: d["parameters"][0].update(shape=[2, 3, 3, 3]), "'parameters'\\[0\\]"),
    "layout order": (lambda d: d["parameters"].reverse(), "'parameters'\\[0\\]"),
    "num_classes": (lambda d: d.update(num_classes=5), "'num_classes'"),
    "quantity": (lambda d: d["quantities"].append("third_derivative"), "'quantities'"),
    "direction count": (lambda d: d["directions"].update(kd=4), "array 'V' has shape"),
    "duplicate names": (lambda d: d["model"]["layers"][1].update(name="conv1"), "used twice"),
    "loss": (lambda d: d["model"].update(loss="mse"), "model.loss"),
    "huge layer": (lambda d: _dense(d).update(out_features=10**9), "integer in"),
}


@pytest.mark.parametrize("name", list(JSON_MUTATIONS))
def test_invalid_case_json_is_refused_naming_the_file(case_copy, name):
    edit, message = JSON_MUTATIONS[name]
    _edit_json(case_copy, edit)
    with pytest.raises(OracleFormatError, match=message) as info:
        oracle.read_case(case_copy)
    assert str(case_copy) in str(info.value)


def test_unreadable_json(case_copy):
    path = case_copy / "case.json"
    text = path.read_text()
    path.write_text(text.replace('"batch_size": 3', '"batch_size": NaN'))
    with pytest.raises(OracleFormatError, match="not valid JSON"):
        oracle.read_case(case_copy)
    path.write_text(text[: len(text) // 2])
    with pytest.raises(OracleFormatError, match=f"{path}: not valid JSON"):
        oracle.read_case(case_copy)
    path.write_text("[" * 100000 + "]" * 100000)
    with pytest.raises(OracleFormatError, match="not valid JSON|top level"):
        oracle.read_case(case_copy)
    path.write_bytes(b" " * (fmt.MAX_JSON_BYTES + 1))
    with pytest.raises(OracleFormatError, match="larger than the limit"):
        oracle.read_case(case_copy)
    path.unlink()
    with pytest.raises(OracleFormatError, match="case file not found"):
        oracle.read_case(case_copy)


def test_full_hessian_only_for_small_models(case_copy, monkeypatch):
    monkeypatch.setattr(metadata, "MAX_HESSIAN_PARAMETERS", 100)  # where the check reads it
    with pytest.raises(OracleFormatError, match="full Hessian is available for at most 100"):
        oracle.read_case(case_copy)


class _Exploit:
    """Unpickling this would create a file: proof that nothing in a case is executed."""

    marker = None

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


NPZ_MUTATIONS = {
    "missing": (lambda a: a.pop("V"), "missing \\['V'\\]"),
    "extra": (lambda a: a.update(script=np.zeros(3)), "unexpected \\['script'\\]"),
    "shape": (lambda a: a.update(theta=a["theta"][:-1]), "array 'theta' has shape \\(118,\\)"),
    "int theta": (lambda a: a.update(theta=a["theta"].astype(np.int64)), "'theta' has dtype"),
    "complex": (lambda a: a.update(x=a["x"].astype(np.complex128)), "'x' has dtype"),
    "float labels": (lambda a: a.update(y=a["y"].astype(np.float64)), "'y' has dtype"),
    "labels range": (lambda a: a.update(y=a["y"] + 4), "labels 'y' must lie in \\[0, 4\\)"),
    "negative label": (lambda a: a.update(y=a["y"] - 9), "labels 'y' must lie in"),
    "nan": (lambda a: a["V"].__setitem__((1, 3), np.nan), "'V' holds NaN"),
    "inf": (lambda a: a["x"].__setitem__((0, 0, 0, 0), np.inf), "'x' holds NaN or infinite"),
    "structured": (lambda a: a.update(theta=np.zeros(119, dtype=[("a", "f8")])), "plain numeric"),
}


@pytest.mark.parametrize("name", list(NPZ_MUTATIONS))
def test_invalid_case_arrays_are_refused_naming_the_file(case_copy, name):
    edit, message = NPZ_MUTATIONS[name]
    _edit_npz(case_copy, edit)
    with pytest.raises(OracleFormatError, match=message) as info:
        oracle.read_case(case_copy)
    assert str(case_copy / "case.npz") in str(info.value)


def test_pickled_arrays_are_never_loaded(case_copy, tmp_path):
    _Exploit.marker = tmp_path / "pwned"
    payload = np.empty(119, dtype=object)
    payload[:] = [_Exploit()] * 119
    _edit_npz(case_copy, lambda a: a.update(theta=payload))
    with pytest.raises(OracleFormatError, match="no objects, no pickles"):
        oracle.read_case(case_copy)
    assert not _Exploit.marker.exists()


def test_corrupt_truncated_and_mismatched_archives(case_copy):
    npz = case_copy / "case.npz"
    good = npz.read_bytes()
    npz.write_bytes(good[: len(good) // 2])
    with pytest.raises(OracleFormatError, match=f"{npz}: (not a valid .npz|corrupt)"):
        oracle.read_case(case_copy)
    npz.write_bytes(b"PK\x03\x04 this is not a zip file at all")
    with pytest.raises(OracleFormatError, match="not a valid .npz"):
        oracle.read_case(case_copy)
    npz.write_bytes(good + b"\0" * (1 << 22))
    with pytest.raises(OracleFormatError, match="more than the"):
        oracle.read_case(case_copy)
    npz.write_bytes(good)
    _edit_npz(case_copy, lambda a: a["theta"].__setitem__(0, 0.5), update_sha=False)
    with pytest.raises(OracleFormatError, match="SHA-256 differs"):
        oracle.read_case(case_copy)
    assert oracle.read_case(case_copy, verify_sha256=False).arrays["theta"][0] == 0.5


def test_member_larger_than_its_shape_is_refused_before_reading(case_copy):
    npz = case_copy / "case.npz"
    with np.load(npz, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    with zipfile.ZipFile(npz, "w", compression=zipfile.ZIP_DEFLATED) as zf:  # a zip bomb
        for key, value in arrays.items():
            with zf.open(key + ".npy", "w") as fh:
                np.lib.format.write_array(fh, value)
                if key == "y":  # data beyond the shape in the header
                    fh.write(b"\0" * (1 << 20))
    _edit_json(case_copy, lambda d: d.update(arrays_sha256=fmt.sha256_file(npz)))
    with pytest.raises(OracleFormatError, match="array 'y' is .* bytes, more than"):
        oracle.read_case(case_copy)


# --------------------------------------------------------------------------- command line
def test_command_line_round_trip(tmp_path, capsys):
    from hyperlab.cli import main as fomoh_main

    case_dir = tmp_path / "case"
    assert (
        fomoh_main(
            [
                "oracle",
                "make-case",
                str(case_dir),
                "--model",
                "mlp",
                "--model-arg",
                "hidden=3",
                "--model-arg",
                "n_features=4",
                "--model-arg",
                "n_classes=3",
                "--hessian",
                "--kd",
                "2",
            ]
        )
        == 0
    )
    assert fomoh_main(["oracle", "reference", str(case_dir)]) == 0
    out = capsys.readouterr().out
    assert "bicomplex step" in out and "NO" not in out.split()
    assert fomoh_main(["oracle", "validate", str(case_dir), str(case_dir / "reference")]) == 0
    assert fomoh_main(["oracle", "compare", str(case_dir), str(case_dir / "reference")]) == 0
    assert "AGREE: 9 of 9" in capsys.readouterr().out
    assert (
        fomoh_main(
            [
                "oracle",
                "compare",
                str(case_dir),
                str(case_dir / "reference"),
                "--skip",
                "third_derivative",
            ]
        )
        == 2
    )
    assert (
        fomoh_main(
            ["oracle", "make-case", str(tmp_path / "x"), "--model", "mlp", "--model-arg", "hiden=3"]
        )
        == 2
    )
    assert "unexpected keyword argument 'hiden'" in capsys.readouterr().err
    (case_dir / "case.json").write_text("{}")
    assert fomoh_main(["oracle", "validate", str(case_dir)]) == 2
    assert f"{case_dir / 'case.json'}: 'format' must be" in capsys.readouterr().err


def test_compare_computes_the_reference_when_none_is_given(logreg_case, tmp_path, capsys):
    case, reference = logreg_case
    path = tmp_path / "case"
    shutil.copytree(case.path, path, ignore=shutil.ignore_patterns("reference"))
    cand = oracle.write_results(
        tmp_path / "cand",
        oracle.read_case(path),
        numpy_logreg_backend(case),
        backend="numpy",
        dtype="float64",
    )
    assert oracle_main(["compare", str(path), str(cand)]) == 0
    assert "computing them now" in capsys.readouterr().out
    assert not os.path.exists(path / "reference")
