"""Numba backend: the twin of csrc/dense_c_sweep.inc and csrc/dense_c_vec.inc.

Read it line by line against the C files: same functions (``name`` here is
``name_<SFX>`` there, with the dtype's suffix), same arguments in the same order (the
C ones also take the lengths, each after the last array it counts), same loops, same
names.  Arrays in, arrays out; the caller (``fastrelu.sweeps.sweep``) has validated,
converted and allocated everything.
"""

import threading

import numba
import numpy as np
from llvmlite import ir as llvm_ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, models, register_model

from ..utils.config import (
    CHUNK,
    DEEP_CHUNK_TILES,
    DEEP_KBLOCK,
    DEEP_MBLOCK,
    DEEP_ROWS,
    DEEP_TILE,
    DEEP_VECTOR,
    HBLOCK,
    MAX_RBLOCK,
    jit,
)
from . import threads


# A register block's accumulators must live in registers, as the C twin's local
# arrays do.  LLVM can promote a stack array of known size to registers, never a heap
# one (np.empty): with np.empty the one-layer kernel ran at 12e9 pairs/s in float32,
# with this at 20e9 (Zen 4, benchmarks/README.md).
@intrinsic
def _alloca(typingctx, size, dtype):
    def codegen(context, builder, signature, args):
        return cgutils.alloca_once(builder, context.get_value_type(dtype.dtype), size=args[0])

    return types.CPointer(dtype.dtype)(types.intp, dtype), codegen


# Points per vector register in the deep kernel's register blocks: the C twin's
# POINTS, deep_vector_bytes / sizeof(REAL) for the target Numba compiles for.  An
# intrinsic, so that it is a constant in the generated code and the loops over a
# register block unroll completely.
@intrinsic
def _vector_points(typingctx, dtype):
    points = deep_vector_bytes(_target_features()) // (dtype.dtype.bitwidth // 8)

    def codegen(context, builder, signature, args):
        return context.get_constant(types.intp, points)

    return types.intp(dtype), codegen


def _target_features():
    """LLVM's feature string of the CPU target Numba compiles for (read when a kernel is
    typed: Numba's cache is keyed on the same target, so a cached kernel has its widths)."""
    from numba.core.registry import cpu_target

    return cpu_target.target_context.codegen().magic_tuple()[2]


def deep_vector_bytes(features):
    """The deep kernel's vector width, in bytes, on a compile target with ``features``.

    The rule the C twin applies to the running CPU (``deep_vector_bytes`` in
    csrc/dense_c.c): AVX-512's 64 where the target has it (its FMA units are as wide),
    else DEEP_VECTOR, AVX2's.
    """
    return 64 if target_vector_bytes(features) >= 64 else DEEP_VECTOR


def target_vector_bytes(features):
    """The widest vector register a compile target with ``features`` has, in bytes.

    The rule the C twin applies to the running CPU (``vector_bytes`` in csrc/dense_c.c):
    64 with AVX-512, 32 with AVX2, else 16.  ``features`` is LLVM's feature string
    (``"+avx2,-avx512f,..."``), empty for Numba's portable ``generic`` target.
    """
    have = set(features.split(","))
    if {"+avx512f", "+avx512vl", "+avx512bw", "+avx512dq"} <= have:
        return 64
    if {"+avx2", "+fma"} <= have:
        return 32
    return 16


# Points in the one-layer kernel's register block: two vector registers of the compile
# target (csrc/dense_c_vec.inc says why two).  A compile-time constant read from the
# target Numba compiles for; Numba's cache is keyed on that target, so a cached kernel
# always has the block of the CPU it was compiled for.
@intrinsic
def _register_points(typingctx, dtype):
    def codegen(context, builder, signature, args):
        features = context.codegen().magic_tuple()[2]
        points = 2 * target_vector_bytes(features) // (dtype.dtype.bitwidth // 8)
        if points > MAX_RBLOCK:  # the stack arrays are sized for MAX_RBLOCK
            raise ValueError(f"a register block of {points} points is more than MAX_RBLOCK = {MAX_RBLOCK}")
        return context.get_constant(types.intp, points)

    return types.intp(dtype), codegen


# The signed integer dtype as wide as a float dtype (the C twin's IREAL), so that the
# one-layer kernel's counts vectorise at the width of its values.
@intrinsic
def _same_width_int(typingctx, dtype):
    itype = types.DType(types.Integer.from_bitwidth(dtype.dtype.bitwidth, signed=True))

    def codegen(context, builder, signature, args):
        return context.get_dummy_value()

    return itype(dtype), codegen


# LLVM tunes Intel server CPUs to prefer 256-bit vectors even where AVX-512 has 512,
# which halved the kernel's speed there against the C twin (GCC's x86-64-v4 clone uses
# 512-bit ones).  This marks the function being compiled to prefer the widest vectors
# and keeps it out of line, so the mark is not lost by inlining into its caller.  The
# attribute is a plain LLVM string attribute, which llvmlite's checked set does not
# list, hence set.add.  On CPUs without AVX-512 it changes nothing.
@intrinsic
def _prefer_wide_vectors(typingctx):
    def codegen(context, builder, signature, args):
        attributes = builder.function.attributes
        set.add(attributes, '"prefer-vector-width"="512"')
        attributes.add("noinline")
        return context.get_dummy_value()

    return types.none(), codegen


# The deep kernel's vector register, deep_vector_bytes of a float dtype: the C twin's
# dvec (a GCC vector extension), an LLVM vector here, with the four operations its
# register block uses.  Loads and stores are unaligned, as the C twin's memcpy is; the
# multiply-add is LLVM's fma, as C's contracted ``acc += w * x`` is: the same bits.
class DeepVector(types.Type):
    def __init__(self, dtype, lanes):
        self.dtype = dtype
        self.lanes = lanes
        super().__init__(name=f"DeepVector({dtype} x {lanes})")


def _deep_vector(dtype):
    return DeepVector(dtype, deep_vector_bytes(_target_features()) // (dtype.bitwidth // 8))


@register_model(DeepVector)
class _DeepVectorModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        element = dmm.lookup(fe_type.dtype).get_value_type()
        super().__init__(dmm, fe_type, llvm_ir.VectorType(element, fe_type.lanes))


def _vector_pointer(context, builder, arrty, arr, index, vty):
    data = context.make_array(arrty)(context, builder, arr).data
    return builder.bitcast(builder.gep(data, [index]), context.get_value_type(vty).as_pointer())


@intrinsic
def _vector_load(typingctx, a, i):
    vty = _deep_vector(a.dtype)

    def codegen(context, builder, signature, args):
        return builder.load(_vector_pointer(context, builder, signature.args[0], args[0], args[1], vty), align=1)

    return vty(a, types.intp), codegen


@intrinsic
def _vector_store(typingctx, a, i, v):
    def codegen(context, builder, signature, args):
        builder.store(args[2], _vector_pointer(context, builder, signature.args[0], args[0], args[1], signature.args[2]), align=1)
        return context.get_dummy_value()

    return types.none(a, types.intp, v), codegen


@intrinsic
def _vector_zero(typingctx, dtype):
    vty = _deep_vector(dtype.dtype)

    def codegen(context, builder, signature, args):
        return llvm_ir.Constant(context.get_value_type(vty), None)

    return vty(dtype), codegen


@intrinsic
def _vector_fma(typingctx, w, x, acc):
    def codegen(context, builder, signature, args):
        vty = context.get_value_type(signature.args[1])
        lanes = llvm_ir.Constant(vty, None)
        one = builder.insert_element(lanes, args[0], llvm_ir.Constant(llvm_ir.IntType(32), 0))
        broadcast = builder.shuffle_vector(one, lanes, llvm_ir.Constant(llvm_ir.VectorType(llvm_ir.IntType(32), vty.count), None))
        name = f"llvm.fma.v{vty.count}{'f64' if vty.element == llvm_ir.DoubleType() else 'f32'}"
        fma = cgutils.get_or_insert_function(builder.module, llvm_ir.FunctionType(vty, [vty, vty, vty]), name)
        return builder.call(fma, [broadcast, args[1], args[2]])

    return x(x.dtype, x, acc), codegen


# The activation step's operations on that vector, lane by lane the C twin's scalar
# expressions (deep_activate): a product, a sum, the ordered comparisons of C's < and >
# (false where either side is NaN) and C's ?: as a select.  An operand may be a number,
# broadcast to every lane.  No min or max: they would drop a NaN (LLVM still lowers a
# compare and select to the CPU's min and max where that keeps every bit).  Written
# out for the same reason as the register block's: left to the SLP pass, the
# comparisons of the clamp stayed scalar (compare, branch-free select, one lane at a
# time), where GCC vectorises the C twin's.
class DeepMask(types.Type):
    def __init__(self, lanes):
        self.lanes = lanes
        super().__init__(name=f"DeepMask({lanes})")


@register_model(DeepMask)
class _DeepMaskModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, llvm_ir.VectorType(llvm_ir.IntType(1), fe_type.lanes))


def _lanes_type(*operands):
    """The vector type of an operation on ``operands`` (vectors or numbers), or None."""
    vectors = [a for a in operands if isinstance(a, DeepVector)]
    numbers = [a for a in operands if isinstance(a, types.Float)]
    if not vectors or len(vectors) + len(numbers) != len(operands):
        return None
    if any(a != vectors[0] for a in vectors) or any(a != vectors[0].dtype for a in numbers):
        return None
    return vectors[0]


def _lanes(context, builder, vty, aty, a):
    """Operand ``a`` of type ``aty`` as a vector of ``vty``'s lanes (a number broadcast)."""
    if isinstance(aty, DeepVector):
        return a
    lanes = llvm_ir.Constant(context.get_value_type(vty), None)
    one = builder.insert_element(lanes, a, llvm_ir.Constant(llvm_ir.IntType(32), 0))
    return builder.shuffle_vector(one, lanes, llvm_ir.Constant(llvm_ir.VectorType(llvm_ir.IntType(32), vty.lanes), None))


def _lanewise(build, result=None):
    """An intrinsic of two operands, vectors or numbers: ``build(builder, a, b)``."""

    def typer(typingctx, a, b):
        vty = _lanes_type(a, b)
        if vty is None:
            return None

        def codegen(context, builder, signature, args):
            return build(builder, *(_lanes(context, builder, vty, t, v) for t, v in zip(signature.args, args)))

        return (vty if result is None else result(vty.lanes))(a, b), codegen

    return intrinsic(typer)


_vector_mul = _lanewise(lambda builder, a, b: builder.fmul(a, b))
_vector_add = _lanewise(lambda builder, a, b: builder.fadd(a, b))
_vector_gt = _lanewise(lambda builder, a, b: builder.fcmp_ordered(">", a, b), DeepMask)
_vector_lt = _lanewise(lambda builder, a, b: builder.fcmp_ordered("<", a, b), DeepMask)


@intrinsic
def _mask_and(typingctx, m, n):
    if not (isinstance(m, DeepMask) and m == n):
        return None

    def codegen(context, builder, signature, args):
        return builder.and_(args[0], args[1])

    return m(m, n), codegen


@intrinsic
def _vector_select(typingctx, mask, a, b):
    if not isinstance(mask, DeepMask):
        return None
    vty = _lanes_type(a, b)
    if vty is None and isinstance(a, types.Float) and a == b:  # two numbers: the mask's lanes
        vty = DeepVector(a, mask.lanes)
    if vty is None or mask.lanes != vty.lanes:
        return None

    def codegen(context, builder, signature, args):
        a = _lanes(context, builder, vty, signature.args[1], args[1])
        b = _lanes(context, builder, vty, signature.args[2], args[2])
        return builder.select(args[0], a, b)

    return vty(mask, a, b), codegen


@intrinsic
def _vector_splat(typingctx, x):
    vty = _deep_vector(x)

    def codegen(context, builder, signature, args):
        return _lanes(context, builder, vty, signature.args[0], args[0])

    return vty(x), codegen


# The first layer reads the points' coordinates from tt, nk numbers a point: lane l is
# a[i + l * stride].  Numbers loaded one by one into the lanes; with the stride a
# constant (1 or 2, once inlined) LLVM makes that one or two vector loads and a shuffle.
@intrinsic
def _vector_load_strided(typingctx, a, i, stride):
    vty = _deep_vector(a.dtype)

    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        v = llvm_ir.Constant(context.get_value_type(vty), None)
        for lane in range(vty.lanes):
            index = builder.add(args[1], builder.mul(args[2], context.get_constant(types.intp, lane)))
            v = builder.insert_element(v, builder.load(builder.gep(data, [index])), llvm_ir.Constant(llvm_ir.IntType(32), lane))
        return v

    return vty(a, types.intp, types.intp), codegen


if numba.config.DISABLE_JIT:  # coverage runs: plain Python, no intrinsics

    def stack_empty(n, dtype):
        return np.empty(n, dtype)

    def _host_features():
        import llvmlite.binding as llvm

        return ",".join(f"{'+' if on else '-'}{name}" for name, on in llvm.get_host_cpu_features().items())

    def vector_points(dtype):
        return deep_vector_bytes(_host_features()) // np.dtype(dtype).itemsize

    def register_points(dtype):
        return 2 * target_vector_bytes(_host_features()) // np.dtype(dtype).itemsize

    def prefer_wide_vectors():
        pass

    def same_width_int(dtype):
        return np.dtype(f"i{np.dtype(dtype).itemsize}")

    # a vector is a copy of deep_vector_bytes of the array (plain Python has no fused
    # multiply-add: coverage runs check the paths, not the bits)
    def vector_load(a, i):
        return a[i : i + vector_points(a.dtype)].copy()

    def vector_store(a, i, v):
        a[i : i + v.shape[0]] = v

    def vector_zero(dtype):
        return np.zeros(vector_points(dtype), dtype)

    def vector_fma(w, x, acc):
        return acc + w * x

    def vector_splat(x):
        return np.full(vector_points(np.asarray(x).dtype), x)

    def vector_load_strided(a, i, stride):
        return a[i : i + stride * vector_points(a.dtype) : stride].copy()

    def vector_mul(a, b):
        return a * b

    def vector_add(a, b):
        return a + b

    def vector_gt(a, b):
        return a > b

    def vector_lt(a, b):
        return a < b

    def mask_and(m, n):
        return m & n

    def vector_select(mask, a, b):
        return np.where(mask, a, b)

else:

    @numba.njit(inline="always")
    def vector_points(dtype):
        """Points per vector register for ``dtype`` (a constant)."""
        return _vector_points(dtype)


    @numba.njit(inline="always")
    def register_points(dtype):
        """Points in the one-layer kernel's register block for ``dtype`` (a constant)."""
        return _register_points(dtype)


    @numba.njit(inline="always")
    def same_width_int(dtype):
        """The signed integer dtype of ``dtype``'s width."""
        return _same_width_int(dtype)


    @numba.njit(inline="always")
    def prefer_wide_vectors():
        """Compile the calling function for the widest vectors, out of line."""
        _prefer_wide_vectors()


    @numba.njit(inline="always")
    def vector_load(a, i):
        """The vector at a[i : i + points] (unaligned)."""
        return _vector_load(a, i)


    @numba.njit(inline="always")
    def vector_store(a, i, v):
        """a[i : i + points] = v (unaligned)."""
        _vector_store(a, i, v)


    @numba.njit(inline="always")
    def vector_zero(dtype):
        """A vector of zeros."""
        return _vector_zero(dtype)


    @numba.njit(inline="always")
    def vector_fma(w, x, acc):
        """acc + w * x in every lane, fused (one rounding)."""
        return _vector_fma(w, x, acc)


    @numba.njit(inline="always")
    def vector_splat(x):
        """The number x in every lane."""
        return _vector_splat(x)


    @numba.njit(inline="always")
    def vector_load_strided(a, i, stride):
        """The vector of a[i], a[i + stride], ..., one lane a point."""
        return _vector_load_strided(a, i, stride)


    @numba.njit(inline="always")
    def vector_mul(a, b):
        """a * b in every lane (a number is broadcast)."""
        return _vector_mul(a, b)


    @numba.njit(inline="always")
    def vector_add(a, b):
        """a + b in every lane (a number is broadcast)."""
        return _vector_add(a, b)


    @numba.njit(inline="always")
    def vector_gt(a, b):
        """The mask of lanes where a > b (false where either is NaN)."""
        return _vector_gt(a, b)


    @numba.njit(inline="always")
    def vector_lt(a, b):
        """The mask of lanes where a < b (false where either is NaN)."""
        return _vector_lt(a, b)


    @numba.njit(inline="always")
    def mask_and(m, n):
        """The lanes set in both masks."""
        return _mask_and(m, n)


    @numba.njit(inline="always")
    def vector_select(mask, a, b):
        """mask ? a : b in every lane (a number is broadcast)."""
        return _vector_select(mask, a, b)


    @numba.njit(inline="always")
    def stack_empty(n, dtype):
        """An uninitialised 1-D array of ``n`` ``dtype`` on the stack (``n`` a constant)."""
        return numba.carray(_alloca(n, dtype), n)


# ---- The one-layer kernel: one hidden layer of the scalar x -----------------------
#
# The twin of csrc/dense_c_vec.inc and of sweep_kernel in csrc/dense_c_sweep.inc,
# function for function: sweep_vec here is sweep_vec_<VBYTES>_<SFX> there (one chunk),
# _sweep_kernel is the body of the C sweep_kernel's parallel loop over chunks, and
# sweep_kernel (at the end of this file) the rest of it: the chunk count and the threads.


# One chunk of n points against all h hidden units.  Twin: sweep_vec_<VBYTES>_<SFX>,
# the whole of csrc/dense_c_vec.inc, whose comments say why it is blocked as it is:
# the same loops over the same bounds, line for line, and the same names.  The C
# function writes its register block of rb points as two vectors (the loops over v);
# this one loops over the rb points one by one (the loops over t) and LLVM's SLP pass
# packs the unrolled loop into the same two vectors.  It counts the units with z > 0
# up by one where C subtracts the comparison's mask, -1 in those lanes.
@jit()
def sweep_vec(x, w1, b1, w2, b2, c, alpha, y, slope, negative):
    prefer_wide_vectors()
    n = x.shape[0]
    h = w1.shape[0]
    # typed constants: an untyped 0 or 1 would promote float32 work to float64
    zero = x.dtype.type(0)
    rb = register_points(x.dtype)
    xb = stack_empty(MAX_RBLOCK, x.dtype)
    yb = stack_empty(MAX_RBLOCK, x.dtype)
    sb = stack_empty(MAX_RBLOCK, x.dtype)
    pb = stack_empty(MAX_RBLOCK, same_width_int(x.dtype))  # units with z > 0
    pzero = pb.dtype.type(0)
    pone = pb.dtype.type(1)
    for j0 in range(0, h, HBLOCK):
        j1 = min(j0 + HBLOCK, h)
        for i0 in range(0, n, rb):
            m = min(n - i0, rb)
            for t in range(rb):
                # pad a short last block with its last point: no branch in the hot loop
                k = i0 + min(t, m - 1)
                xb[t] = x[k]
                yb[t] = zero if j0 == 0 else y[k]
                sb[t] = zero if j0 == 0 else slope[k]
                pb[t] = pzero
            for j in range(j0, j1):
                # an unsigned index: Numba would wrap a negative one, and the checks
                # for it were a third of the loop's instructions
                u = np.uintp(j)
                w1j = w1[u]
                b1j = b1[u]
                w2j = w2[u]
                cj = c[u]
                acj = alpha * cj
                for t in range(rb):
                    # one mask, two blends: the activation and the slope's term
                    z = w1j * xb[t] + b1j
                    a = z if z > zero else alpha * z
                    yb[t] += w2j * a
                    sb[t] += cj if z > zero else acj
                    pb[t] += pone if z > zero else pzero
            for t in range(m):
                y[i0 + t] = yb[t] + b2 if j1 == h else yb[t]
                slope[i0 + t] = sb[t]
                negative[i0 + t] = (0 if j0 == 0 else negative[i0 + t]) + np.int32(j1 - j0 - pb[t])


# Chunks k0..k1-1 of CHUNK points, each one call of sweep_vec.  Twin: the body of the
# loop over k in sweep_kernel, csrc/dense_c_sweep.inc (x[i0 : i0 + m] here is x + i0
# there).  A call takes a range of chunks, as threads.run hands them out, rather than
# one: calling into Numba from Python costs microseconds, a chunk of 64 units less.
@jit()
def _sweep_kernel(k0, k1, x, w1, b1, w2, b2, c, alpha, y, slope, negative):
    n = x.shape[0]
    for k in range(k0, k1):
        i0 = k * CHUNK
        m = min(n - i0, CHUNK)
        sweep_vec(x[i0 : i0 + m], w1, b1, w2, b2, c, alpha, y[i0 : i0 + m], slope[i0 : i0 + m], negative[i0 : i0 + m])


# ---- The deep kernel: a network of nk coordinates through every layer ------------
#
# The twin of the second half of csrc/dense_c_sweep.inc, whose comments say why each
# piece is as it is.  A tile of DEEP_TILE points goes through all the layers together.
# A layer's activations are stored as DEEP_TILE // points panels, one per group of
# `points` points (one vector register): panel c holds, for each unit i (rows padded
# to a multiple of DEEP_ROWS), the points' values then their nk tangents (one per
# coordinate: nk = 1 on a line, 2 on a plane), (1 + nk) * points numbers.  The points
# t are flat, nk numbers per point, and slope is (N, out * nk).

# The accumulators of a register block, sized for the widest vectors (64 bytes), the
# narrowest dtype (float32) and the most tangents (MAX_TANGENTS, a plane's two).
MAX_TANGENTS = 2
_DEEP_ACC = DEEP_ROWS * (1 + MAX_TANGENTS) * (max(64, DEEP_VECTOR) // 4)


# deep_activate: the C twin's loops over a panel's lanes written on the panel's vectors
# (z holds the points' inputs; lane q of every vector is the C twin's q).  Each lane is
# the C function's expressions on that point, in the same order: the same bits.
@numba.njit(inline="always")
def deep_activate(z, aj, lo, hi, o, p, nk, neg):
    """The activation of one unit at a panel's points: writes a at o[p : p + points], scales
    the nk tangents at o[(1 + c) * points + p :][:points] in place, adds 1 to neg[:points]
    in the lanes where z <= 0 (the unit counts as negative)."""
    zero = o.dtype.type(0)
    one = o.dtype.type(1)
    points = vector_points(o.dtype)
    positive = vector_gt(z, zero)
    v = vector_select(positive, z, vector_mul(aj, z))
    vector_store(o, p, vector_select(vector_lt(v, lo), lo, vector_select(vector_gt(v, hi), hi, v)))
    vector_store(neg, 0, vector_add(vector_load(neg, 0), vector_select(positive, zero, one)))
    inside = mask_and(vector_gt(v, lo), vector_lt(v, hi))
    for c in range(1, nk + 1):
        dz = vector_load(o, c * points + p)
        dv = vector_select(positive, dz, vector_mul(aj, dz))
        vector_store(o, c * points + p, vector_select(inside, dv, zero))


@numba.njit(inline="always")
def deep_first_nk(w, b, fan_out, nk, tt, dst, alpha, lo, hi, negt):
    points = vector_points(dst.dtype)
    fan_pad = (fan_out + DEEP_ROWS - 1) // DEEP_ROWS * DEEP_ROWS
    for c0 in range(0, DEEP_TILE, points):
        pout = dst[c0 * (1 + nk) * fan_pad :]
        for j in range(fan_out):
            bj = b[j]
            aj = alpha[j]
            o = pout[j * (1 + nk) * points :]
            # lane q is the C twin's z[q], the same fused products in the same order
            z = vector_fma(w[j * nk], vector_load_strided(tt, c0 * nk, nk), vector_splat(bj))
            for c in range(1, nk):
                z = vector_fma(w[j * nk + c], vector_load_strided(tt, c0 * nk + c, nk), z)
            for c in range(nk):
                vector_store(o, (1 + c) * points, vector_splat(w[j * nk + c]))
            deep_activate(z, aj, lo, hi, o, 0, nk, negt[c0:])


# The first layer and any later one (deep_first_nk, deep_layer_nk) inlined by Numba
# with nk a constant, 1 or 2, as the C twin's are (csrc/dense_c_deep.inc says why):
# the loops over the tangents unroll; those over a panel's points are its vectors here.
@jit()
def deep_first(w, b, fan_out, nk, tt, dst, alpha, lo, hi, negt):
    if nk == 1:
        deep_first_nk(w, b, fan_out, 1, tt, dst, alpha, lo, hi, negt)
    else:
        deep_first_nk(w, b, fan_out, 2, tt, dst, alpha, lo, hi, negt)


# deep_block's loops, with its accumulators as vectors of deep_vector_bytes (points
# numbers: the C twin's dvec), loaded, stored and fused-multiply-added whole.  Numba
# inlines this into deep_block's two branches before LLVM sees it, so that the vector
# count a unit, groups (2 on a line, 3 on a plane), is a constant there, the loops
# unroll completely and the accumulators live in registers.
#
# Written as scalar loops for LLVM's SLP pass to pack (as it was), the block ran at 9
# Gflop/s against the C twin's 45 (float64, AVX-512, Numba 0.68 on LLVM 22): Numba
# optimises each function before inlining it into its callers, so a column count passed
# in was not a constant when the loops were vectorised, and with it a constant the SLP
# pass made vectors of 40 lanes and shuffled between them (2.5 Gflop/s).  Vectors
# written out leave LLVM nothing to guess, as GCC's vector extensions do in the C twin.
@numba.njit(inline="always")
def deep_block_groups(wp, pin, kc, o, first, groups):
    points = vector_points(o.dtype)
    acc = stack_empty(_DEEP_ACC, o.dtype)
    for q in range(DEEP_ROWS):
        for g in range(groups):
            vector_store(acc, (q * groups + g) * points, vector_zero(o.dtype))
            if not first:
                vector_store(acc, (q * groups + g) * points, vector_load(o, (q * groups + g) * points))
    for i in range(kc):
        for q in range(DEEP_ROWS):
            wq = wp[q * kc + i]
            for g in range(groups):
                x = vector_load(pin, (i * groups + g) * points)
                vector_store(acc, (q * groups + g) * points, vector_fma(wq, x, vector_load(acc, (q * groups + g) * points)))
    for q in range(DEEP_ROWS):
        for g in range(groups):
            vector_store(o, (q * groups + g) * points, vector_load(acc, (q * groups + g) * points))


@jit()
def deep_block(wp, pin, kc, o, first, nk):
    # LLVM may split 512-bit vectors in two where it tunes a CPU for 256-bit ones; and
    # out of line, as the C twin's deep_block is
    prefer_wide_vectors()
    if nk == 1:
        deep_block_groups(wp, pin, kc, o, first, 2)
    else:
        deep_block_groups(wp, pin, kc, o, first, 3)


@numba.njit(inline="always")
def deep_layer_nk(wp, b, fan_in, fan_out, nk, src, dst, alpha, lo, hi, negt, last, y, slope, m):
    points = vector_points(dst.dtype)
    in_pad = (fan_in + DEEP_ROWS - 1) // DEEP_ROWS * DEEP_ROWS
    fan_pad = (fan_out + DEEP_ROWS - 1) // DEEP_ROWS * DEEP_ROWS
    for i0 in range(0, fan_in, DEEP_KBLOCK):
        i1 = min(i0 + DEEP_KBLOCK, fan_in)
        for j00 in range(0, fan_out, DEEP_MBLOCK):
            j01 = min(j00 + DEEP_MBLOCK, fan_out)
            for c0 in range(0, DEEP_TILE, points):
                pin = src[c0 * (1 + nk) * in_pad :]
                pout = dst[c0 * (1 + nk) * fan_pad :]
                for j0 in range(j00, j01, DEEP_ROWS):
                    deep_block(wp[i0 * fan_pad + j0 * (i1 - i0) :], pin[i0 * (1 + nk) * points :], i1 - i0,
                               pout[j0 * (1 + nk) * points :], i0 == 0, nk)
                if i1 < fan_in:  # more inputs to come
                    continue
                for j in range(j00, j01):
                    o = pout[j * (1 + nk) * points :]
                    bj = b[j]
                    if not last:
                        aj = alpha[j]
                        z = vector_add(vector_load(o, 0), bj)
                        deep_activate(z, aj, lo, hi, o, 0, nk, negt[c0:])
                    else:
                        for p in range(min(points, m - c0)):
                            y[c0 + p, j] = o[p] + bj
                            for c in range(nk):
                                slope[c0 + p, j * nk + c] = o[(1 + c) * points + p]


@jit()
def deep_layer(wp, b, fan_in, fan_out, nk, src, dst, alpha, lo, hi, negt, last, y, slope, m):
    if nk == 1:
        deep_layer_nk(wp, b, fan_in, fan_out, 1, src, dst, alpha, lo, hi, negt, last, y, slope, m)
    else:
        deep_layer_nk(wp, b, fan_in, fan_out, 2, src, dst, alpha, lo, hi, negt, last, y, slope, m)


@jit()
def deep_pack(widths, depth, weights, wp):
    zero = wp.dtype.type(0)
    iw = widths[0] * widths[1]
    ip = 0
    for k in range(1, depth + 1):
        fan_in = widths[k]
        fan_out = widths[k + 1]
        fan_pad = (fan_out + DEEP_ROWS - 1) // DEEP_ROWS * DEEP_ROWS
        for i0 in range(0, fan_in, DEEP_KBLOCK):
            i1 = min(i0 + DEEP_KBLOCK, fan_in)
            for j in range(fan_pad):
                for i in range(i0, i1):
                    wp[ip + i0 * fan_pad + j * (i1 - i0) + (i - i0)] = weights[iw + j * fan_in + i] if j < fan_out else zero
        iw += fan_in * fan_out
        ip += fan_pad * fan_in
    return ip


@jit()
def deep_tile(t, m, widths, depth, weights, wp, biases, alpha, lo, hi, y, slope, negative, src, dst, tt, negt):
    zero = t.dtype.type(0)
    nk = widths[0]
    ip = 0
    ib = 0
    for p in range(DEEP_TILE):
        for c in range(nk):
            tt[p * nk + c] = t[min(p, m - 1) * nk + c]  # pad a short last tile with its last point
    for k in range(depth + 1):
        fan_in = widths[k]
        fan_out = widths[k + 1]
        for p in range(DEEP_TILE):
            negt[p] = zero
        if k == 0:
            deep_first(weights, biases, fan_out, nk, tt, dst, alpha, lo[0], hi[0], negt)
        elif k < depth:
            deep_layer(wp[ip:], biases[ib:], fan_in, fan_out, nk, src, dst, alpha[ib:], lo[k], hi[k], negt, False, y, slope, m)
        else:
            deep_layer(wp[ip:], biases[ib:], fan_in, fan_out, nk, src, dst, alpha[ib:], zero, zero, negt, True, y, slope, m)
        if k < depth:
            for p in range(m):
                negative[p, k] = np.int32(negt[p])
        if k > 0:
            ip += (fan_out + DEEP_ROWS - 1) // DEEP_ROWS * DEEP_ROWS * fan_in
        ib += fan_out
        src, dst = dst, src


@jit()
def _sweep_deep(c0, c1, t, widths, weights, wp, biases, alpha, lo, hi, y, slope, negative):
    """Chunks c0..c1-1 of DEEP_CHUNK_TILES tiles; wp holds the weights packed by deep_pack."""
    nk = widths[0]
    n = t.shape[0] // nk
    depth = widths.shape[0] - 2
    wmax = 1
    for k in range(depth + 2):
        wmax = max(wmax, widths[k])
    wmax = (wmax + DEEP_ROWS - 1) // DEEP_ROWS * DEEP_ROWS
    chunk = DEEP_TILE * DEEP_CHUNK_TILES
    # scratch once per range of chunks, as the C twin allocates it once per thread
    src = np.empty(wmax * (1 + nk) * DEEP_TILE, t.dtype)
    dst = np.empty(wmax * (1 + nk) * DEEP_TILE, t.dtype)
    tt = np.empty(DEEP_TILE * nk, t.dtype)
    negt = np.empty(DEEP_TILE, t.dtype)
    for kc in range(c0, c1):
        i0 = kc * chunk
        m = min(n - i0, chunk)
        for it in range(0, m, DEEP_TILE):
            mt = min(m - it, DEEP_TILE)
            j = i0 + it
            deep_tile(t[j * nk :], mt, widths, depth, weights, wp, biases, alpha, lo, hi, y[j:], slope[j:], negative[j:],
                      src, dst, tt, negt)


# Numba runs LLVM's SLP vectoriser only when NUMBA_SLP_VECTORIZE=1 (it is off by
# default), and both kernels' register blocks need it: without it deep_block's 12
# vector accumulators stay 48 scalar ones and the deep kernel runs at 2 Gflop/s instead
# of 35 (float64, one core), and the one-layer kernel at a tenth of its speed.  So the
# kernels are compiled with it switched on, and only they: the setting is read when a
# function is compiled, and is put back at once.  The lock keeps two threads from
# compiling at the same time.
_SLP_LOCK = threading.Lock()
_COMPILED = set()


def _compile_vectorised(kernel, args):
    """Compile the jitted ``kernel`` for ``args`` with SLP on, once."""
    if not numba.config.DISABLE_JIT:
        # what decides Numba's type of each argument, read in a microsecond (numba.typeof
        # of the ten arguments took 70)
        key = (kernel, *(_layout(a) for a in args))
        if key not in _COMPILED:
            with _SLP_LOCK:
                slp = numba.config.SLP_VECTORIZE
                numba.config.SLP_VECTORIZE = 1
                try:
                    kernel.compile(tuple(numba.typeof(a) for a in args))
                finally:
                    numba.config.SLP_VECTORIZE = slp
                _COMPILED.add(key)


def _layout(a):
    if isinstance(a, np.ndarray):
        return a.dtype, a.ndim, a.flags.c_contiguous, a.flags.writeable, a.flags.aligned
    return type(a)


def sweep_kernel(x, w1, b1, w2, b2, c, alpha, y, slope, negative):
    """``_sweep_kernel`` over chunks of CHUNK points on fastrelu's threads (``threads.run``).

    Twin: sweep_kernel in csrc/dense_c_sweep.inc, whose OpenMP loop over the chunks
    is ``threads.run`` here.  ``_sweep_kernel`` is called from Python, not from
    ``prange``, so that it runs as optimised once (see ``fastrelu.kernels.threads``).
    """
    args = (x, w1, b1, w2, b2, c, alpha, y, slope, negative)
    _compile_vectorised(_sweep_kernel, (0, 0, *args))
    n = x.shape[0]
    nchunks = (n + CHUNK - 1) // CHUNK
    threads.run(lambda k0, k1: _sweep_kernel(k0, k1, *args), nchunks)


def sweep_deep(t, widths, weights, biases, alpha, lo, hi, y, slope, negative, span=None):
    """The weights packed once (``deep_pack``), then ``_sweep_deep`` over chunks of
    DEEP_CHUNK_TILES tiles on fastrelu's threads: the C twin's sweep_deep.

    ``t`` (N,) or (N, nk) and ``slope`` (N, out) or (N, out, nk) are handed to the
    kernels flat, as the C twin takes them: ``t`` (N * nk,), ``slope`` (N, out * nk).
    """
    nk = int(widths[0])
    if not 1 <= nk <= MAX_TANGENTS:
        raise ValueError(f"the deep kernel takes networks of 1 to {MAX_TANGENTS} coordinates, not {nk}")
    n = t.shape[0]
    t, slope = t.reshape(-1), slope.reshape(n, -1)
    depth = widths.shape[0] - 2
    rows = (widths[2:] + DEEP_ROWS - 1) // DEEP_ROWS * DEEP_ROWS
    wp = np.empty(max(int(np.sum(rows * widths[1:-1])), 1), t.dtype)
    deep_pack(widths, depth, weights, wp)
    args = (t, widths, weights, wp, biases, alpha, lo, hi, y, slope, negative)
    _compile_vectorised(_sweep_deep, (0, 0, *args))
    chunk = DEEP_TILE * DEEP_CHUNK_TILES
    threads.run(lambda c0, c1: _sweep_deep(c0, c1, *args), (n + chunk - 1) // chunk)


get_num_threads = threads.get_num_threads
set_num_threads = threads.set_num_threads
