"""The errors of the ONNX interpreter; each message names the file, node or tensor concerned."""

from __future__ import annotations


class OnnxError(ValueError):
    """Base class: an ONNX model that cannot be evaluated faithfully."""


class OnnxFileError(OnnxError):
    """The file is missing, too large, not an ONNX model, or points outside its folder."""


class UnsupportedOnnxError(OnnxError):
    """An operator, attribute, attribute value, data type or opset the interpreter does not know.

    The message names the op type and the node and lists what is supported, so that the user
    can tell whether re-exporting (another opset, other options) would help.
    """


class OnnxDifferentiationError(OnnxError):
    """The graph would need derivatives through an integer or boolean tensor.

    Such a path (a parameter cast to an integer and back, a float chosen by a comparison of
    parameters) is piecewise constant in θ: its derivative is silently zero, which is almost
    never what the exported model meant. The interpreter refuses it instead of guessing.
    """
