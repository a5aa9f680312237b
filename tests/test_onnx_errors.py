"""What ``layers.from_onnx`` refuses, and how it says so.

* unsupported operators, attributes, attribute values, domains, opsets and element types:
  the message names the op type, the node and what is supported;
* graphs that would need derivatives through integer or boolean tensors;
* files as untrusted input: missing, too large, not ONNX, external data outside the model's
  folder (``..``, absolute paths, symbolic links), with a wrong length, or in a ModelProto
  held in memory; data-dependent sizes above the element limit; nodes out of order.
"""

import os

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

from backend_helpers import host
from onnx_helpers import TensorProto, helper, make_model, numpy_helper

from layers import from_onnx
from layers.onnx import OnnxDifferentiationError, OnnxFileError, UnsupportedOnnxError, supported_ops

A = np.arange(6.0).reshape(2, 3) / 7 + 0.1


def single(op_type, inputs=("A",), opset=17, initializers=None, **attrs):
    node = helper.make_node(op_type, list(inputs), ["Y"], name="the_node", **attrs)
    return make_model([node], initializers or {"A": A}, {}, [("Y", np.float64)], opset=opset)


# --------------------------------------------------------------------------- unsupported
def test_unsupported_operator_names_op_node_and_supported_list():
    with pytest.raises(UnsupportedOnnxError) as info:
        from_onnx(single("Cosh"))
    message = str(info.value)
    assert "Cosh" in message and "'the_node'" in message
    assert all(op in message for op in supported_ops())


def test_unsupported_attribute_names_it_and_the_supported_ones():
    with pytest.raises(UnsupportedOnnxError) as info:
        from_onnx(single("Softmax", axis=1, frobnicate=3))
    message = str(info.value)
    assert "frobnicate" in message and "Softmax" in message and "'the_node'" in message
    assert "Supported attributes of Softmax: axis" in message


@pytest.mark.parametrize(
    "op_type, attrs, what",
    [
        ("Pad", {"mode": "reflect"}, "mode='reflect'"),
        ("Conv", {"auto_pad": "MAGIC"}, "auto_pad='MAGIC'"),
        ("BatchNormalization", {"training_mode": 1}, "training_mode=1"),
        ("Gelu", {"approximate": "erf"}, "approximate='erf'"),
        ("ConvTranspose", {"dilations": [2, 2]}, "dilations"),
        ("Cast", {"to": TensorProto.STRING}, "to=8"),
    ],
)
def test_unsupported_attribute_values(op_type, attrs, what):
    with pytest.raises(UnsupportedOnnxError, match=what) as info:
        from_onnx(single(op_type, opset=20, **attrs))
    assert op_type in str(info.value) and "'the_node'" in str(info.value)


def test_custom_domain_and_opsets_outside_the_supported_range():
    node = helper.make_node("Relu", ["A"], ["Y"], name="custom", domain="com.example")
    model = make_model([node], {"A": A}, {}, [("Y", np.float64)])
    model.opset_import.append(helper.make_opsetid("com.example", 1))
    with pytest.raises(UnsupportedOnnxError, match="domain 'com.example'"):
        from_onnx(model)
    for opset in (6, 99):
        with pytest.raises(UnsupportedOnnxError, match=f"opset {opset}"):
            from_onnx(single("Relu", opset=opset))


def test_outputs_it_cannot_produce_are_refused_only_when_used():
    pool = helper.make_node("MaxPool", ["A"], ["Y", "I"], name="pool", kernel_shape=[1])
    x = np.ones((1, 1, 4))
    unused = make_model([pool], {"A": x}, {}, [("Y", np.float64)])
    assert from_onnx(unused).forward(from_onnx(unused).init_params(), {}).shape == (1, 1, 4)
    used = make_model([pool], {"A": x}, {}, [("Y", np.float64), ("I", np.int64)])
    with pytest.raises(UnsupportedOnnxError, match="output 1"):
        from_onnx(used)


def test_unsupported_element_types():
    tensor = helper.make_tensor("S", TensorProto.STRING, [1], [b"x"])
    model = make_model(
        [helper.make_node("Identity", ["A"], ["Y"])], {"A": A}, {}, [("Y", np.float64)]
    )
    model.graph.initializer.append(tensor)
    with pytest.raises(UnsupportedOnnxError, match="STRING"):
        from_onnx(model)


# --------------------------------------------------------------------------- derivatives
def test_a_parameter_cast_to_an_integer_is_refused():
    nodes = [
        helper.make_node("Cast", ["A"], ["I"], name="to_int", to=TensorProto.INT64),
        helper.make_node("Cast", ["I"], ["Y"], name="back", to=TensorProto.DOUBLE),
    ]
    with pytest.raises(OnnxDifferentiationError, match="'to_int' casts 'A'"):
        from_onnx(make_model(nodes, {"A": A}, {}, [("Y", np.float64)]))


def test_a_float_chosen_only_by_comparing_parameters_is_refused():
    nodes = [
        helper.make_node("Constant", [], ["zero"], value=numpy_helper.from_array(np.array(0.5))),
        helper.make_node("Greater", ["A", "zero"], ["mask"], name="compare"),
        helper.make_node("Cast", ["mask"], ["Y"], name="mask_to_float", to=TensorProto.DOUBLE),
    ]
    with pytest.raises(OnnxDifferentiationError, match="only through the integer or boolean"):
        from_onnx(make_model(nodes, {"A": A}, {}, [("Y", np.float64)]))
    nodes[2] = helper.make_node("Where", ["mask", "zero", "zero"], ["Y"], name="select")
    with pytest.raises(OnnxDifferentiationError, match="'select'"):
        from_onnx(make_model(nodes, {"A": A}, {}, [("Y", np.float64)]))


def test_comparisons_as_selectors_are_fine():
    """``Where(A > 0.5, A, 0.5)``: the derivative flows through the selected values."""
    nodes = [
        helper.make_node("Constant", [], ["half"], value=numpy_helper.from_array(np.array(0.5))),
        helper.make_node("Greater", ["A", "half"], ["mask"]),
        helper.make_node("Where", ["mask", "A", "half"], ["Y"]),
    ]
    model = from_onnx(make_model(nodes, {"A": A}, {}, [("Y", np.float64)]))
    import hyperdual as hd

    theta = model.init_params()
    y = model.forward(hd.HyperDual(theta, np.ones_like(theta)), {})
    np.testing.assert_array_equal(host(y.eps1[0]), (A > 0.5).astype(float))


# --------------------------------------------------------------------------- files
def test_missing_too_large_and_garbage_files(tmp_path):
    with pytest.raises(OnnxFileError, match="not found"):
        from_onnx(tmp_path / "nope.onnx")
    path = tmp_path / "m.onnx"
    onnx.save_model(single("Relu"), path)
    with pytest.raises(OnnxFileError, match="larger than the limit"):
        from_onnx(path, max_bytes=16)
    path.write_bytes(b"\x00\xff" * 100)
    with pytest.raises(OnnxFileError, match="not an ONNX model"):
        from_onnx(path)


def _with_external(tmp_path, location, offset=0, length=None):
    model = single("Relu")
    tensor = model.graph.initializer[0]
    tensor.ClearField("raw_data")
    tensor.ClearField("double_data")
    tensor.data_location = TensorProto.EXTERNAL
    entries = {"location": location, "offset": str(offset)}
    if length is not None:
        entries["length"] = str(length)
    for key, value in entries.items():
        tensor.external_data.add(key=key, value=value)
    folder = tmp_path / "model"
    folder.mkdir(exist_ok=True)
    path = folder / "m.onnx"
    path.write_bytes(model.SerializeToString())
    return path


def test_external_data_inside_the_folder_is_read(tmp_path):
    path = _with_external(tmp_path, "weights.bin", offset=8, length=A.nbytes)
    (path.parent / "weights.bin").write_bytes(b"\x00" * 8 + A.tobytes())
    model = from_onnx(path)
    np.testing.assert_array_equal(host(model.forward(model.init_params(), {})), np.maximum(A, 0))


def test_external_data_saved_by_onnx_itself(tmp_path):
    path = tmp_path / "m.onnx"
    onnx.save_model(
        single("Relu"), path, save_as_external_data=True, location="w.data", size_threshold=0
    )
    assert (tmp_path / "w.data").is_file()
    model = from_onnx(path)
    np.testing.assert_array_equal(host(model.init_params()), A.ravel())


@pytest.mark.parametrize(
    "location", ["../secret.bin", "/etc/hostname", "sub/../../secret.bin", "C:\\\\secret.bin"]
)
def test_external_data_outside_the_folder_is_refused(tmp_path, location):
    (tmp_path / "secret.bin").write_bytes(A.tobytes())
    with pytest.raises(OnnxFileError, match="relative path inside the model's folder"):
        from_onnx(_with_external(tmp_path, location))


def test_symbolic_link_out_of_the_folder_is_refused(tmp_path):
    (tmp_path / "secret.bin").write_bytes(A.tobytes())
    path = _with_external(tmp_path, "link.bin")
    os.symlink(tmp_path / "secret.bin", path.parent / "link.bin")
    with pytest.raises(OnnxFileError, match="not a file inside the model's folder"):
        from_onnx(path)


def test_external_data_of_the_wrong_size_or_in_memory_is_refused(tmp_path):
    path = _with_external(tmp_path, "weights.bin", length=A.nbytes - 8)
    (path.parent / "weights.bin").write_bytes(A.tobytes())
    with pytest.raises(OnnxFileError, match="does not hold"):
        from_onnx(path)
    path = _with_external(tmp_path, "short.bin")
    (path.parent / "short.bin").write_bytes(A.tobytes()[:-1])
    with pytest.raises(OnnxFileError, match="does not hold"):
        from_onnx(path)
    with pytest.raises(OnnxFileError, match="load the model from its path"):
        from_onnx(onnx.load_model(path, load_external_data=False))


def test_huge_declared_tensors_and_data_dependent_sizes(tmp_path):
    model = single("Relu")
    tensor = model.graph.initializer[0]
    tensor.ClearField("dims")
    tensor.dims.extend([1 << 20, 1 << 20])
    with pytest.raises(OnnxFileError, match="more than the limit"):
        from_onnx(model)
    nodes = [helper.make_node("ConstantOfShape", ["shape"], ["Y"], name="bomb")]
    bomb = make_model(
        nodes, {"shape": np.array([1 << 20, 1 << 20], dtype=np.int64)}, {}, [("Y", np.float32)]
    )
    with pytest.raises(UnsupportedOnnxError, match="'bomb'.*more than the limit"):
        from_onnx(bomb).forward(np.zeros(0), {})


def test_nodes_out_of_order_and_tensors_defined_twice():
    nodes = [helper.make_node("Relu", ["B"], ["Y"]), helper.make_node("Neg", ["A"], ["B"])]
    with pytest.raises(OnnxFileError, match="topological order"):
        from_onnx(make_model(nodes, {"A": A}, {}, [("Y", np.float64)]))
    nodes = [helper.make_node("Neg", ["A"], ["Y"]), helper.make_node("Relu", ["A"], ["Y"])]
    with pytest.raises(OnnxFileError, match="defined twice"):
        from_onnx(make_model(nodes, {"A": A}, {}, [("Y", np.float64)]))


def test_bad_inputs_and_parameters_are_explained():
    model = from_onnx(single("Relu"))
    with pytest.raises(ValueError, match="theta must have shape"):
        model.forward(np.zeros(5), {})
    with pytest.raises(ValueError, match="not floating initializers"):
        from_onnx(single("Relu"), parameters=["B"])
    two = make_model(
        [helper.make_node("Add", ["X", "Z"], ["Y"])], {}, {"X": A, "Z": A}, [("Y", np.float64)]
    )
    with pytest.raises(ValueError, match="pass a dict or a tuple"):
        from_onnx(two).forward(np.zeros(0), A)
    np.testing.assert_array_equal(from_onnx(two).forward(np.zeros(0), (A, A)), 2 * A)
