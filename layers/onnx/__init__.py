"""ONNX graphs evaluated on real, complex, dual, hyper-dual and bicomplex numbers.

``from_onnx(path_or_ModelProto)`` returns an ``OnnxModel`` with the interface of
``layers.Sequential`` (``init_params``, ``param_shapes``, ``param_groups``, ``unflatten``,
``forward``, ``loss``), so any exported model — attention, LayerNorm, GELU, batch norm,
residual connections — gets exact gradients, Hessian-vector products and projected Hessians
from ``hyperdual``, and can be checked by the bicomplex step::

    import hyperdual as hd
    from layers import from_onnx
    model = from_onnx("model.onnx")
    theta = model.init_params()
    value, g, H = hd.projected_hessian(lambda t: model.loss(t, X, y), theta, V)

Files: ``loading`` (the file as untrusted input), ``graph`` (checks, static analysis,
evaluation), ``registry`` (the operator table), ``ops_math``, ``ops_shape``, ``ops_conv`` (the
operators), ``model`` (``OnnxModel``). ``supported_ops()`` lists the operators.
"""

from .errors import OnnxDifferentiationError, OnnxError, OnnxFileError, UnsupportedOnnxError
from .graph import MAX_OPSET, MIN_OPSET, Graph
from .loading import MAX_EXTERNAL_BYTES, MAX_MODEL_BYTES, MAX_TENSOR_ELEMENTS, load_model
from .model import OnnxModel, from_onnx
from .registry import supported_ops

__all__ = [
    "from_onnx",
    "OnnxModel",
    "Graph",
    "load_model",
    "supported_ops",
    "OnnxError",
    "OnnxFileError",
    "UnsupportedOnnxError",
    "OnnxDifferentiationError",
    "MAX_MODEL_BYTES",
    "MAX_EXTERNAL_BYTES",
    "MAX_TENSOR_ELEMENTS",
    "MIN_OPSET",
    "MAX_OPSET",
]
