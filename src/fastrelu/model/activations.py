"""Piecewise-linear activations, named and parametrised as in ``torch.nn``.

Every activation here is continuous and piecewise linear, so a network built from
them is too, and its pieces can be found exactly.  Each is described to the
kernels in one form, per hidden unit::

    v = z if z > 0 else alpha * z        # ReLU, LeakyReLU, PReLU, identity
    a = clip(v, lo, hi)                  # Hardtanh, ReLU6 (with alpha = 1)
    da/dz = dv/dz where lo < v < hi, else 0

At a breakpoint the slope is PyTorch autograd's: ``ReLU'(0) = 0``,
``LeakyReLU'(0) = negative_slope``, and Hardtanh's is 0 at both ends.  A unit is
counted *negative* where its pre-activation is ``<= 0``, whatever its activation,
so ``z = 0`` is always an activation boundary (where the count steps) even when
the slope does not change there.
"""

import json
import math

import numpy as np

__all__ = ["Activation", "as_activation", "NAMES"]

# name -> (default parameters, torch.nn class name)
_SPECS = {
    "relu": ({}, "ReLU"),
    "linear": ({}, "Identity"),
    "leaky_relu": ({"negative_slope": 0.01}, "LeakyReLU"),
    "prelu": ({"weight": 0.25}, "PReLU"),
    "hardtanh": ({"min_val": -1.0, "max_val": 1.0}, "Hardtanh"),
    "relu6": ({}, "ReLU6"),
}
NAMES = tuple(_SPECS)


class Activation:
    """One piecewise-linear activation, applied unit by unit.

    Parameters
    ----------
    name : {"relu", "linear", "leaky_relu", "prelu", "hardtanh", "relu6"}
        As in ``torch.nn``: ``ReLU``, ``Identity``, ``LeakyReLU``, ``PReLU``,
        ``Hardtanh``, ``ReLU6``.
    negative_slope : float, default 0.01
        ``leaky_relu`` only: the slope for ``z <= 0``.
    weight : float or array_like, default 0.25
        ``prelu`` only: the slope for ``z <= 0``, one for the layer or one per unit.
    min_val, max_val : float, default -1.0, 1.0
        ``hardtanh`` only: the clamp, ``min_val < max_val``.

    Examples
    --------
    >>> from fastrelu.model import Activation
    >>> act = Activation("leaky_relu", negative_slope=0.1)
    >>> act
    Activation('leaky_relu', negative_slope=0.1)
    >>> act([-2.0, 0.0, 3.0])
    array([-0.2,  0. ,  3. ])
    >>> Activation("hardtanh").breakpoints
    (-1.0, 0.0, 1.0)

    An activation of a float32 network holds its parameters rounded to float32 and
    prints each as the shortest decimal that rounds to that float32:

    >>> act32 = act.astype("float32")
    >>> act32, act32.params["negative_slope"]
    (Activation('leaky_relu', negative_slope=0.1), 0.10000000149011612)
    """

    # _precision: the float dtype the parameters were rounded to (``astype``), which
    # only decides how they print; equality and saving see the values alone
    __slots__ = ("name", "params", "_precision")

    def __init__(self, name, **params):
        if not isinstance(name, str) or name not in _SPECS:
            raise ValueError(f"activation must be one of {list(NAMES)}, got {name!r}")
        defaults, _ = _SPECS[name]
        unknown = set(params) - set(defaults)
        if unknown:
            raise TypeError(f"activation {name!r} takes no parameter {sorted(unknown)[0]!r} (it takes {sorted(defaults) or 'none'})")
        values = {**defaults, **params}
        for key, v in values.items():
            if key == "weight":
                w = np.array(v, np.float64)
                if w.ndim > 1 or w.size == 0:
                    raise ValueError(f"prelu weight must be a number or a 1-D array of per-unit slopes, got shape {w.shape}")
                if not np.isfinite(w).all():
                    raise ValueError("prelu weight must be finite")
                w.flags.writeable = False
                values[key] = float(w) if w.ndim == 0 else w
            else:
                if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not math.isfinite(v):
                    raise ValueError(f"activation {name!r}: {key} must be a finite number, got {v!r}")
                values[key] = float(v)
        if name == "hardtanh" and not values["min_val"] < values["max_val"]:
            raise ValueError(f"hardtanh needs min_val < max_val, got {values['min_val']} and {values['max_val']}")
        self.name, self.params, self._precision = name, values, np.dtype(np.float64)

    def astype(self, dtype):
        """The same activation with its parameters rounded to ``dtype``: a float32 network
        computes with float32 slopes and clamps, so it stores exactly those.

        The values are kept exactly (as float64 numbers equal to the float32 ones);
        only their printing follows ``dtype``: shortest decimals that round to them
        in it, ``0.1`` rather than ``0.10000000149011612``.
        """
        dtype = np.dtype(dtype)
        if dtype == np.float64:
            # same values; printed again as float64, where they may not be short
            return self if self._precision == dtype else Activation(self.name, **self.params)
        with np.errstate(over="ignore"):
            params = {k: np.asarray(v, dtype).astype(np.float64) for k, v in self.params.items()}
        params = {k: (v if v.ndim else float(v)) for k, v in params.items()}
        try:
            rounded = Activation(self.name, **params)
        except ValueError as exc:  # e.g. a clamp whose ends round to one float32, or overflow
            raise ValueError(f"{self!r} cannot be represented in {dtype.name}: {exc}; use float64") from None
        rounded._precision = dtype
        return rounded

    # -- the kernels' form -----------------------------------------------------------
    def kernel_form(self, width):
        """``(alpha, lo, hi)``: per-unit slopes for ``z <= 0`` (float64, shape ``(width,)``)
        and the layer's clamp (``-inf``/``inf`` for none)."""
        p = self.params
        lo, hi = -np.inf, np.inf
        if self.name == "relu":
            alpha = 0.0
        elif self.name == "leaky_relu":
            alpha = p["negative_slope"]
        elif self.name == "prelu":
            alpha = p["weight"]
            if np.ndim(alpha) == 1 and len(alpha) not in (1, width):
                raise ValueError(f"prelu has {len(alpha)} slopes for a layer of {width} units")
        else:  # linear, hardtanh, relu6: the identity, clamped or not
            alpha = 1.0
            if self.name == "hardtanh":
                lo, hi = p["min_val"], p["max_val"]
            elif self.name == "relu6":
                lo, hi = 0.0, 6.0
        return np.broadcast_to(np.asarray(alpha, np.float64), (width,)).copy(), lo, hi

    @property
    def breakpoints(self):
        """The pre-activations where the unit's activation pattern changes (always including 0)."""
        if self.name in ("hardtanh", "relu6"):
            _, lo, hi = self.kernel_form(1)
            return tuple(sorted({lo, 0.0, hi}))
        return (0.0,)

    @property
    def is_identity(self):
        return self.name == "linear"

    def __call__(self, z):
        """The activation of ``z``, elementwise (per-unit slopes along the last axis)."""
        z = np.asarray(z, np.float64)
        alpha, lo, hi = self.kernel_form(z.shape[-1] if z.ndim else 1)
        if z.ndim == 0:
            alpha = alpha[0]
        return np.clip(np.where(z > 0, z, alpha * z), lo, hi)

    # -- names, comparison, persistence ------------------------------------------------
    @property
    def torch_name(self):
        """The ``torch.nn`` class this activation is."""
        return _SPECS[self.name][1]

    def to_json(self):
        params = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in self.params.items()}
        return json.dumps({"name": self.name, **params}, sort_keys=True)

    @classmethod
    def from_json(cls, text):
        spec = json.loads(text)
        return cls(spec.pop("name"), **spec)

    def __eq__(self, other):
        if not isinstance(other, Activation):
            return NotImplemented
        return self.to_json() == other.to_json()

    def __hash__(self):
        return hash(self.to_json())

    def _shown(self, v):
        """A parameter as printed: the shortest decimal that rounds to ``v`` in the precision
        it was rounded to (numpy's shortest repr of that float type; Python's for float64)."""
        return repr(v) if self._precision == np.float64 else str(self._precision.type(v))

    def __repr__(self):
        shown = ", ".join(
            f"{k}={self._shown(v)}" if not isinstance(v, np.ndarray) else f"{k}=<{v.shape[0]} slopes>"
            for k, v in self.params.items()
        )
        return f"Activation({self.name!r}{', ' + shown if shown else ''})"

    def __str__(self):
        # a default is a default in any precision: leaky_relu's 0.01 rounded to float32 too
        defaults = {k: float(self._precision.type(v)) for k, v in _SPECS[self.name][0].items()}
        if not self.params or all(not isinstance(v, np.ndarray) and v == defaults[k] for k, v in self.params.items()):
            return self.name
        return repr(self)


def as_activation(spec, name="activation"):
    """An ``Activation`` from an ``Activation`` or a name (default parameters)."""
    if isinstance(spec, Activation):
        return spec
    if isinstance(spec, str):
        return Activation(spec)
    raise TypeError(f"{name} must be an activation name ({', '.join(NAMES)}) or a fastrelu.model.Activation, got {type(spec).__name__}")
