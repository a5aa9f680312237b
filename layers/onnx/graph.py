"""The ONNX graph as a list of checked nodes, its static analysis, and its evaluation.

Loading (``Graph(model)``) checks everything that can be checked without data, so that a bad
model fails at once with a clear message rather than halfway through a forward pass:

* every node's op type is in the operator table (default domain only), its attributes are
  among the op's declared ones (values checked where the op says how), its number of inputs
  fits, and the outputs it cannot produce (MaxPool's indices, LayerNormalization's mean, ...)
  are not used;
* the nodes are in topological order and every tensor is defined once;
* **what carries derivatives.** Each tensor gets an element kind (float, integer, boolean)
  and a flag "depends on θ". A node whose floating output depends on θ *only* through integer
  or boolean inputs (a parameter cast to an integer and back, a float chosen by comparing
  parameters) would need derivatives of an integer or boolean tensor; so would a cast of a
  θ-dependent float to an integer. Both are refused (``OnnxDifferentiationError``).
  Comparisons used as *selectors* (``Where``'s condition, integer indices) are fine: the
  derivative flows through the selected values, as in ReLU and max pooling.

Evaluation runs the nodes in order on any number type, keeping a tensor only until its last
use (forward mode needs no tape).
"""

from __future__ import annotations

import inspect
from collections.abc import Collection
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from hyperdual.aliases import Array, DTypeLike, Operand

if TYPE_CHECKING:  # onnx is an optional dependency
    import onnx

from . import ops_conv, ops_math, ops_shape  # noqa: F401 - importing them fills the operator table
from .errors import OnnxDifferentiationError, OnnxError, OnnxFileError, UnsupportedOnnxError
from .loading import MAX_TENSOR_ELEMENTS, attribute_value, tensor_to_array, value_info
from .registry import ELEM_TYPES, OPS, REQUIRED, Context, supported_ops

MIN_OPSET, MAX_OPSET = 7, 23
"""Default-domain opsets whose operator semantics are implemented."""

_DEFAULT_DOMAINS = ("", "ai.onnx")
_BOOL_OPS = {"Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Not", "And", "Or"}


def _kind(dtype):
    """'f' (floating), 'i' (integer), 'b' (boolean) or None (unknown)."""
    if dtype is None:
        return None
    return {"f": "f", "c": "f", "i": "i", "u": "i", "b": "b"}[np.dtype(dtype).kind]


@dataclass
class Node:
    """One checked node: op type, name, inputs ('' for an omitted one), outputs, attributes."""

    op_type: str
    name: str
    inputs: tuple
    outputs: tuple
    attrs: dict
    spec: object

    def describe(self) -> str:
        return f"{self.op_type} node {self.name!r}"


class Graph:
    """A checked ONNX graph: parameters, constants, data inputs, outputs and nodes.

    Parameters
    ----------
    model : onnx.ModelProto
        With its external data already read (``loading.load_model``).
    parameters : collection of str, optional
        The floating initializers that make up θ (default: all of them, in graph order);
        the others are constants.
    """

    def __init__(
        self,
        model: onnx.ModelProto,
        parameters: Collection[str] | None = None,
        max_elements: int = MAX_TENSOR_ELEMENTS,
    ):
        self.max_elements = max_elements
        self.opset = self._opset(model)
        graph = model.graph
        if len(graph.sparse_initializer):
            raise UnsupportedOnnxError("sparse initializers are not supported")
        self.initializers = {}
        for tensor in graph.initializer:
            if tensor.name in self.initializers:
                raise OnnxFileError(f"initializer {tensor.name!r} is defined twice")
            self.initializers[tensor.name] = tensor_to_array(tensor, f"initializer {tensor.name!r}")
        floating = [n for n, a in self.initializers.items() if a.dtype.kind == "f"]
        if parameters is not None:
            unknown = sorted(set(parameters) - set(floating))
            if unknown:
                raise OnnxError(
                    f"parameters {unknown} are not floating initializers of the "
                    f"graph (those are {floating})"
                )
        self.param_names = [n for n in floating if parameters is None or n in parameters]
        self.constants = {n: a for n, a in self.initializers.items() if n not in self.param_names}
        self.inputs = [value_info(i) for i in graph.input if i.name not in self.initializers]
        self.outputs = [value_info(o) for o in graph.output]
        if not self.outputs:
            raise OnnxFileError("the graph has no outputs")
        self.nodes = [self._node(n, k) for k, n in enumerate(graph.node)]
        self.kinds, self.dependent = self._analyse()
        self._free_after = self._last_uses()
        self._constant_cache = {}

    # ------------------------------------------------------------------ checks
    @staticmethod
    def _opset(model):
        versions = [o.version for o in model.opset_import if o.domain in _DEFAULT_DOMAINS]
        if not versions:
            raise UnsupportedOnnxError("the model imports no default-domain opset")
        opset = max(versions)
        if not MIN_OPSET <= opset <= MAX_OPSET:
            raise UnsupportedOnnxError(
                f"opset {opset} is not supported (supported: {MIN_OPSET} to {MAX_OPSET})"
            )
        return opset

    def _node(self, proto, index):
        name = proto.name or f"#{index}"
        where = f"{proto.op_type} node {name!r}"
        if proto.domain not in _DEFAULT_DOMAINS or proto.op_type not in OPS:
            domain = f" of domain {proto.domain!r}" if proto.domain not in _DEFAULT_DOMAINS else ""
            raise UnsupportedOnnxError(
                f"{where}: operator {proto.op_type!r}{domain} is not "
                f"supported. Supported operators: "
                f"{', '.join(supported_ops())}"
            )
        spec = OPS[proto.op_type]
        attrs = dict(spec.attrs)
        for attr in proto.attribute:
            if attr.name not in spec.attrs:
                raise UnsupportedOnnxError(
                    f"{where}: attribute {attr.name!r} is not supported. Supported attributes "
                    f"of {proto.op_type}: {', '.join(sorted(spec.attrs)) or 'none'}"
                )
            attrs[attr.name] = attribute_value(attr, where)
        missing = [k for k, v in attrs.items() if v is REQUIRED]
        if missing:
            raise UnsupportedOnnxError(f"{where}: required attribute(s) {missing} missing")
        try:
            if spec.check is not None:
                spec.check(attrs, self.opset)
            inspect.signature(spec.fn).bind(None, attrs, *proto.input)
        except UnsupportedOnnxError as exc:
            raise UnsupportedOnnxError(f"{where}: {exc}") from None
        except TypeError:
            raise UnsupportedOnnxError(
                f"{where}: {len(proto.input)} inputs is more than {proto.op_type} takes"
            ) from None
        return Node(proto.op_type, name, tuple(proto.input), tuple(proto.output), attrs, spec)

    def _analyse(self):
        """Element kinds and θ-dependence of every tensor; refuses what needs derivatives of
        integer or boolean tensors, and checks the order, single definitions and outputs."""
        kinds = {n: _kind(a.dtype) for n, a in self.initializers.items()}
        kinds.update({name: _kind(dtype) for name, dtype, _ in self.inputs})
        dependent = set(self.param_names)
        used = {name for node in self.nodes for name in node.inputs if name}
        used |= {name for name, _, _ in self.outputs}
        for node in self.nodes:
            for name in node.inputs:
                if name and name not in kinds:
                    raise OnnxFileError(
                        f"{node.describe()}: input {name!r} is not defined "
                        "before it (nodes must be in topological order)"
                    )
            limit = node.spec.outputs
            for k, name in enumerate(node.outputs):
                if not name:
                    continue
                if name in kinds:
                    raise OnnxFileError(f"{node.describe()}: tensor {name!r} is defined twice")
                if limit is not None and k >= limit and name in used:
                    raise UnsupportedOnnxError(
                        f"{node.describe()}: output {k} ({name!r}) is "
                        f"not supported; only the first {limit} "
                        "output(s) may be used"
                    )
            out_kinds = self._output_kinds(node, [kinds.get(n) if n else None for n in node.inputs])
            via = [n for n in node.inputs if n in dependent]
            if via and node.op_type not in ("Shape", "Size"):
                through_float = any(kinds.get(n) in ("f", None) for n in via)
                for name, kind in zip(node.outputs, out_kinds):
                    if not name:
                        continue
                    if kind in ("i", "b") and through_float and node.op_type == "Cast":
                        raise OnnxDifferentiationError(
                            f"{node.describe()} casts {via[0]!r}, which depends on the "
                            f"parameters, to {ELEM_TYPES[node.attrs['to']]}: its derivatives "
                            "would be lost"
                        )
                    if kind in ("f", None) and not through_float:
                        raise OnnxDifferentiationError(
                            f"{node.describe()}: its output {name!r} depends on the parameters "
                            f"only through the integer or boolean tensor(s) {via}; "
                            "differentiating it would need derivatives of those"
                        )
                    dependent.add(name)
            for name, kind in zip(node.outputs, out_kinds):
                if name:
                    kinds[name] = kind
        for name, _, _ in self.outputs:
            if name not in kinds:
                raise OnnxFileError(f"graph output {name!r} is never computed")
        return kinds, dependent

    @staticmethod
    def _output_kinds(node, in_kinds):
        t, count = node.op_type, len(node.outputs)
        if t in ("Shape", "Size"):
            return ["i"]
        if t in _BOOL_OPS:
            return ["b"]
        if t == "Cast":
            return [_kind(ELEM_TYPES[node.attrs["to"]])]
        if t == "Constant":
            value = next(v for v in node.attrs.values() if v is not None)
            return [
                "f"
                if isinstance(value, float)
                or (isinstance(value, list) and value and isinstance(value[0], float))
                else _kind(np.asarray(value).dtype)
            ]
        if t == "ConstantOfShape":
            return ["f" if node.attrs["value"] is None else _kind(node.attrs["value"].dtype)]
        if t == "Where":
            return [in_kinds[1]]
        return [in_kinds[0] if in_kinds else None] * count

    def _last_uses(self):
        """For each node, the tensors no later node or graph output needs."""
        keep = {name for name, _, _ in self.outputs}
        last = {}
        for k, node in enumerate(self.nodes):
            for name in node.inputs:
                if name:
                    last[name] = k
        free = [[] for _ in self.nodes]
        for name, k in last.items():
            if name not in keep:
                free[k].append(name)
        return free

    # ------------------------------------------------------------------ evaluation
    def constants_for(self, ctx: Context) -> dict[str, Array]:
        """The constant initializers on ``ctx``'s device and in its real dtype (cached)."""
        key = (ctx.xp.__name__, ctx.real_dtype)
        if key not in self._constant_cache:
            self._constant_cache[key] = {n: ctx.constant(a) for n, a in self.constants.items()}
        return self._constant_cache[key]

    def run(
        self,
        params: dict[str, Operand],
        inputs: dict[str, Array],
        real_dtype: DTypeLike,
        xp: ModuleType,
        wanted: list[str],
    ) -> list[Operand]:
        """Evaluate the graph.

        Parameters
        ----------
        params : dict of str to array
            The θ tensors (any number type), by initializer name.
        inputs : dict of str to array
            The data inputs (plain arrays on ``xp``'s device).
        real_dtype : numpy dtype
            The evaluation's real dtype (that of θ); floating constants are cast to it.
        xp : module
            NumPy or CuPy.
        wanted : list of str
            The tensors to return.
        """
        ctx = Context(self.opset, real_dtype, xp, self.max_elements)
        env = {**self.constants_for(ctx), **params, **inputs}
        unknown = [name for name in wanted if name not in self.kinds]
        if unknown:
            raise KeyError(f"the graph has no tensors {unknown}")
        keep = set(wanted)
        for node, free in zip(self.nodes, self._free_after):
            args = [env[name] if name else None for name in node.inputs]
            ctx.num_outputs = len(node.outputs)
            try:
                result = node.spec.fn(ctx, node.attrs, *args)
            except UnsupportedOnnxError as exc:
                raise UnsupportedOnnxError(f"{node.describe()}: {exc}") from None
            except Exception as exc:
                shapes = [tuple(a.shape) if a is not None else None for a in args]
                exc.add_note(f"while evaluating {node.describe()} on inputs of shapes {shapes}")
                raise
            results = result if isinstance(result, tuple) else (result,)
            for name, value in zip(node.outputs, results):
                if name:
                    env[name] = value
            for name in free:
                if name not in keep:
                    env.pop(name, None)
        return [env[name] for name in wanted]

    def op_counts(self) -> dict[str, int]:
        """``{op type: number of nodes}``."""
        counts = {}
        for node in self.nodes:
            counts[node.op_type] = counts.get(node.op_type, 0) + 1
        return dict(sorted(counts.items()))
