"""Reading an ONNX model as untrusted input: size limits, tensors, attributes, external data.

A model file is treated like every other file the project reads: it may be truncated, corrupt
or hostile, so sizes are validated before anything is allocated, nothing in it is executed,
and every failure names the file and what was wrong:

* the file's size is checked before it is parsed (``MAX_MODEL_BYTES``);
* every tensor's element count is checked before it is converted (``MAX_TENSOR_ELEMENTS``),
  and only plain numeric element types are read (no strings, no subgraphs);
* **external data** (large initializers kept in side files) is read by this module, never by
  ``onnx``'s own loader: the location must be a relative path that resolves — symbolic links
  followed — to a regular file inside the model's folder; the byte range must lie in that file
  and match the tensor's size; the total is capped (``MAX_EXTERNAL_BYTES``). A ``ModelProto``
  given in memory has no folder, so external data is refused for it;
* nothing in the file is executed: op types are looked up in a fixed table
  (``registry.OPS``), custom domains and local functions are refused.
"""

from __future__ import annotations

import math
import os
from pathlib import Path, PurePosixPath, PureWindowsPath
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # onnx is an optional dependency
    import onnx

from .errors import OnnxFileError, UnsupportedOnnxError
from .registry import ELEM_TYPES

MAX_MODEL_BYTES = 1 << 30
"""A model file larger than this (1 GiB) is refused before it is parsed."""
MAX_EXTERNAL_BYTES = 1 << 32
"""Total bytes of external data read for one model (4 GiB)."""
MAX_TENSOR_ELEMENTS = 1 << 28
"""Largest number of elements of one initializer, constant or computed array."""
MAX_NODES = 100_000


def require_onnx() -> ModuleType:
    """The ``onnx`` module, or an ImportError saying how to install it."""
    try:
        import onnx
    except ImportError as exc:  # pragma: no cover - exercised without onnx only
        raise ImportError(
            "reading ONNX models needs the onnx package: pip install 'fomoh-hyperdual[onnx]'"
        ) from exc
    return onnx


def load_model(
    source: str | os.PathLike | onnx.ModelProto,
    max_bytes: int = MAX_MODEL_BYTES,
    external_data: bool = True,
) -> tuple[onnx.ModelProto, Path | None]:
    """Parse ``source`` (a path or an ``onnx.ModelProto``) and read its external data.

    ``external_data=False`` refuses a model that keeps tensors in side files.

    Returns
    -------
    model : onnx.ModelProto
        A copy; every tensor holds its data inline.
    folder : pathlib.Path or None
        The model's folder (None for a ModelProto given in memory).
    """
    onnx = require_onnx()
    if isinstance(source, onnx.ModelProto):
        model, folder, what = onnx.ModelProto(), None, "the ONNX model"
        model.CopyFrom(source)
    else:
        path = Path(source)
        what = str(path)
        if not path.is_file():
            raise OnnxFileError(f"{path}: ONNX file not found")
        size = path.stat().st_size
        if size > max_bytes:
            raise OnnxFileError(
                f"{path}: {size} bytes, larger than the limit of {max_bytes} "
                "for an ONNX file (raise max_bytes if you trust it)"
            )
        model, folder = onnx.ModelProto(), path.parent
        try:
            model.ParseFromString(path.read_bytes())
        except Exception as exc:  # protobuf's DecodeError and friends
            raise OnnxFileError(
                f"{path}: not an ONNX model ({type(exc).__name__}: {exc})"
            ) from None
    if not model.HasField("graph"):
        raise OnnxFileError(f"{what}: the model has no graph")
    if len(model.graph.node) > MAX_NODES:
        raise OnnxFileError(
            f"{what}: {len(model.graph.node)} nodes, more than the limit {MAX_NODES}"
        )
    _read_external_data(model, folder if external_data else None, what)
    return model, folder


# --------------------------------------------------------------------------- external data
def all_tensors(model: onnx.ModelProto) -> list[onnx.TensorProto]:
    """Initializers and the tensors inside node attributes (Constant values)."""
    yield from model.graph.initializer
    for node in model.graph.node:
        for attr in node.attribute:
            if attr.HasField("t"):
                yield attr.t
            yield from attr.tensors


def _read_external_data(model, folder, what):
    onnx = require_onnx()
    budget = MAX_EXTERNAL_BYTES
    for tensor in all_tensors(model):
        if tensor.data_location != onnx.TensorProto.EXTERNAL:
            continue
        where = f"{what}: tensor {tensor.name!r}"
        if folder is None:
            raise OnnxFileError(
                f"{where} keeps its data in an external file; load the model "
                "from its path so the file can be looked up in its folder "
                "(where external data is allowed)"
            )
        info = {entry.key: entry.value for entry in tensor.external_data}
        location = info.get("location", "")
        if (
            not location
            or PurePosixPath(location).is_absolute()
            or PureWindowsPath(location).is_absolute()
            or ".." in PurePosixPath(location.replace("\\", "/")).parts
        ):
            raise OnnxFileError(
                f"{where}: external data location {location!r} must be a "
                "relative path inside the model's folder"
            )
        root = folder.resolve()
        target = (root / location).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            raise OnnxFileError(
                f"{where}: external data {location!r} is not a file inside the "
                f"model's folder {root}"
            )
        nbytes = _element_count(tensor, where) * _dtype(tensor, where).itemsize
        try:
            offset = int(info.get("offset", 0))
            length = int(info.get("length", nbytes))
        except ValueError:
            raise OnnxFileError(f"{where}: offset and length must be integers") from None
        if length != nbytes or offset < 0 or offset + nbytes > target.stat().st_size:
            raise OnnxFileError(
                f"{where}: external data range (offset {offset}, length "
                f"{length}) does not hold the {nbytes} bytes of the tensor in "
                f"{location!r}"
            )
        budget -= nbytes
        if budget < 0:
            raise OnnxFileError(f"{what}: more than {MAX_EXTERNAL_BYTES} bytes of external data")
        with open(target, "rb") as fh:
            fh.seek(offset)
            tensor.raw_data = fh.read(nbytes)
        del tensor.external_data[:]
        tensor.data_location = onnx.TensorProto.DEFAULT


# --------------------------------------------------------------------------- tensors
def _dtype(tensor, where):
    if tensor.data_type not in ELEM_TYPES:
        try:
            name = require_onnx().TensorProto.DataType.Name(tensor.data_type)
        except ValueError:
            name = str(tensor.data_type)
        raise UnsupportedOnnxError(
            f"{where}: element type {name} is not supported (supported: "
            f"{sorted(str(t) for t in ELEM_TYPES.values())})"
        )
    return ELEM_TYPES[tensor.data_type]


def _element_count(tensor, where):
    dims = list(tensor.dims)
    if any(d < 0 for d in dims):
        raise OnnxFileError(f"{where}: negative dimension in {dims}")
    count = math.prod(dims)
    if count > MAX_TENSOR_ELEMENTS:
        raise OnnxFileError(f"{where}: {count} elements, more than the limit {MAX_TENSOR_ELEMENTS}")
    return count


def tensor_to_array(tensor: onnx.TensorProto, where: str) -> np.ndarray:
    """A TensorProto as a NumPy array, after checking its type, size and data length."""
    onnx = require_onnx()
    dtype = _dtype(tensor, where)
    count = _element_count(tensor, where)
    if tensor.data_location == onnx.TensorProto.EXTERNAL:
        raise OnnxFileError(f"{where}: external data was not read")
    if tensor.HasField("raw_data") and len(tensor.raw_data) != count * dtype.itemsize:
        raise OnnxFileError(
            f"{where}: {len(tensor.raw_data)} bytes of data for {count} elements of {dtype}"
        )
    try:
        array = onnx.numpy_helper.to_array(tensor)
    except Exception as exc:
        raise OnnxFileError(f"{where}: unreadable tensor data ({exc})") from None
    if array.shape != tuple(tensor.dims):
        raise OnnxFileError(f"{where}: data of shape {array.shape} for dims {list(tensor.dims)}")
    return np.array(array, dtype=dtype, copy=True)


def attribute_value(attr: onnx.AttributeProto, where: str) -> object:
    """A node attribute as a Python value (numbers, strings, lists, NumPy arrays)."""
    A = require_onnx().AttributeProto
    if attr.ref_attr_name:
        raise UnsupportedOnnxError(
            f"{where}: attribute {attr.name!r} refers to a function "
            "attribute (local functions are not supported)"
        )
    if attr.type == A.FLOAT:
        return float(attr.f)
    if attr.type == A.INT:
        return int(attr.i)
    if attr.type == A.STRING:
        return attr.s.decode("utf-8", errors="replace")
    if attr.type == A.TENSOR:
        return tensor_to_array(attr.t, f"{where}: attribute {attr.name!r}")
    if attr.type == A.FLOATS:
        return [float(v) for v in attr.floats]
    if attr.type == A.INTS:
        return [int(v) for v in attr.ints]
    if attr.type == A.STRINGS:
        return [s.decode("utf-8", errors="replace") for s in attr.strings]
    raise UnsupportedOnnxError(
        f"{where}: attribute {attr.name!r} of type "
        f"{A.AttributeType.Name(attr.type)} (subgraph, sparse tensor or "
        "type) is not supported"
    )


def value_info(info: onnx.ValueInfoProto) -> tuple[str, np.dtype | None, list | None]:
    """``(name, dtype or None, dims)`` of a graph input or output; a dim is an int, a symbol
    (str) or None."""
    tensor_type = info.type.tensor_type
    dtype = ELEM_TYPES.get(tensor_type.elem_type)
    dims = None
    if tensor_type.HasField("shape"):
        dims = [
            d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
            for d in tensor_type.shape.dim
        ]
    return info.name, dtype, dims
