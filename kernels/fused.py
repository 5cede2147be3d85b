"""The per-pixel end of the pipeline in one pass: camera RGB -> output colour space (3x3) ->
transfer function -> ASC CDL -> 1D shaper -> 3D LUT -> quantisation to the output's integers.

Halide's `camera_pipe` schedule in numba terms: the maths is the inline per-value functions of
`kernels.colour` and `kernels.lut`; this driver only decides the loop, so a frame (or a
demosaiced tile, see `kernels.develop`) is read once and written once instead of once per stage.

Grade parameters travel as two tuples so the signature stays readable:
    cdl = (on, slope, offset, power, saturation, clamp)      slope/offset/power float32 (3,)
    lut = (shaper_on, shaper, shaper_lo, shaper_scale,       shaper (n1, 3) float32
           cube_on, flat, n, lo, scale, tetrahedral)         flat n*n*n*3 float32 table
`quantise` = 0 keeps floats; 255 or 65535 clips to [0, 1] (NaN -> 0) and rounds to that range;
HALF (-1) stores the float16 bits of the float result (numpy's rounding, bit for bit).

The transfer function and the CDL's slope/offset/power are per-channel curves of one value, so
they are evaluated together through a table (`curve_tables`) indexed by the bits of the float32
input, as half-float LUTs are: 64 cells per octave for magnitudes from 2^-24 to 2^8 (each sign
its own half: noise around black goes negative), a quadratic through the exact curve at each
cell's start, middle and end (error ~ cell width cubed), checked at six more points per cell
against the exact curve to 1e-6 (or half a float32 ulp of large values; the tests hold it
there). Inputs outside that range, NaN, and cells where a piecewise curve jumps or kinks take
the exact function. A pow() or log() per channel per pixel would otherwise be most of the
pass's time.

How the pass is laid out (the loop structure is Halide's "split into stages over a tile, each
stage vectorised" schedule, Ragan-Kelley et al. 2013; the 3D LUT maths is OCIO's, as before):
each row is cut into chunks of `CHUNK` pixels held as planar (structure-of-arrays) buffers that
stay in cache (L2 at 2048 pixels; the longer chunks measured ~10-15% faster than L1-sized ones
when there are curves or a LUT, and each chunk has a fixed cost of ~200 ns, the reference
counts of its 19 buffers), and every stage is a simple loop over a chunk
(`finish_chunk`, which `kernels.develop` also runs on each demosaiced tile):
  1. load: the interleaved RGB row is de-interleaved into three planes (8 pixels per step,
     `_load3`), the 3x3 matrix is a plain loop LLVM vectorises;
  2. curves: `_cells8` turns 8 values at a time into table offsets and positions with int32 bit
     arithmetic; `_quad8` reads each offset back as a scalar (moving lanes out of a vector
     register costs more), loads each cell's quadratic coefficients as one 16-byte vector and
     evaluates them with two FMAs. Out-of-range inputs are sent to a sentinel cell whose
     coefficients are NaN, so "needs the exact curve" is simply "came out NaN", found by a
     vector compare; only a chunk with such a value has a scalar fix-up (`curve_exact`);
  3. CDL saturation, 1D shaper: plain loops;
  4. tetrahedral 3D LUT: a branch-free loop computes each pixel's cell, the two inner corners of
     its tetrahedron and the four weights (1-f1, f1-f2, f2-f3, f3 of the sorted fractions), as
     OpenColorIO's AVX2 path (Lut3DOpCPU_AVX2.cpp) selects them with compares and blends, in
     float32 (offsets exact below 2^24: cubes up to `_FLOAT_OFFSETS_MAX_N`, larger ones take
     the scalar `kernels.lut.lut3d_tetrahedral`); `_tetra8` then loads each corner's RGB as one
     unaligned 16-byte vector (as OCIO's SSE2 path does, Lut3DOpCPU_SSE2.cpp), two pixels to a
     256-bit register, accumulates the weighted sum with FMAs in OCIO's order and transposes
     8 results back to planes;
  5. quantise: a plain loop into planes of the output's dtype, re-interleaved 8 pixels at a time
     (`_store3`).
`_load3`, `_store3`, `_cells8`, `_quad8` and `_tetra8` are numba intrinsics that emit generic
LLVM vector IR (loads, shufflevector, llvm.fma): LLVM's cost model for this CPU (znver4 without
AVX-512) vectorises neither table gathers nor these stride-3 accesses on its own (hardware
gathers are slow here: vgatherdps measured ~1 cycle per element, scalar-indexed vector loads
~2-3x cheaper), so those steps are spelled out; the target decides the instructions (AVX2
here, SSE or NEON elsewhere). Stages run one after another over a cache-resident chunk
(Halide-style, Ragan-Kelley et al. 2013), so each loop is simple and has no call in it (vector
registers do not survive calls).
"""
import functools

import numba as nb
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload, register_jitable

from kernels.colour import encode_value
from kernels.half import half_bits
from kernels.lut import cdl_channel, cdl_saturation, lut1d_value, lut3d_tetrahedral, lut3d_trilinear


_MANTISSA_BITS = 6  # 64 cells per octave
_LOW_EXP, _HIGH_EXP = -24, 8  # tabulated magnitudes: [2^-24, 2^8)
_SHIFT = 23 - _MANTISSA_BITS
_BASE = (127 + _LOW_EXP) << _MANTISSA_BITS
_CELLS = (_HIGH_EXP - _LOW_EXP) << _MANTISSA_BITS
_FRAC = np.float32(1.0 / (1 << _SHIFT))
_SENTINEL = 2 * _CELLS  # the all-NaN cell: inputs outside the table
_ROW = 2 * _CELLS + 1  # cells per channel in the table
_CHECKS = (0.125, 0.25, 0.375, 0.625, 0.75, 0.875)  # where each cell's fit is checked

CHUNK = 2048  # pixels per chunk (measured best of 256..4096 with curves and a LUT)
_LANES = 8
_BLOCK_ROWS = 4  # rows per parallel task
_FLOAT_OFFSETS_MAX_N = 160  # 3 n^3 < 2^24: cube offsets are exact in float32


# the output dtype of each `quantise`; HALF stores float16 bits (view the output as np.float16)
HALF = -1
DTYPES = {0: np.float32, 255: np.uint8, 65535: np.uint16, HALF: np.uint16}
# the arguments that switch a step off
IDENTITY = np.eye(3, dtype=np.float32)
NO_CDL = (False, np.ones(3, np.float32), np.zeros(3, np.float32), np.ones(3, np.float32), np.float32(1), False)
NO_LUT = (False, np.zeros((2, 3), np.float32), np.zeros(3, np.float32), np.ones(3, np.float32),
          False, np.zeros(24, np.float32), np.int64(2), np.zeros(3, np.float32), np.ones(3, np.float32), True)


@functools.cache
def linear_curves() -> np.ndarray:
    """The curve table of the linear transfer without a CDL (`finish` does not read it)."""
    return curve_tables(0, NO_CDL)


def curve_tables(tf: int, cdl: tuple, tolerance: float = 1e-6) -> np.ndarray:
    """(3, 2 * cells + 1, 4) float32: per channel and cell, the coefficients (a, b, c, 0) of the
    quadratic a + b t + c t^2 (t in [0, 1) across the cell) through the exact curve at the
    cell's start, middle and end, for x -> CDL slope/offset/power (when `cdl` is on) of the
    transfer curve `tf` at x.

    Both are per-channel curves of one value, so one table lookup stands for a pow() or log() of
    the transfer and another of the CDL power. Cells are 1/64 octave (by the float's bits, as
    half-float LUTs are indexed), for magnitudes 2^-24 .. 2^8, each sign its own half (noise
    around black goes negative). Quadratic rather than linear interpolation: the error of a
    quadratic through three points falls as the cube of the cell width, so 64 cells per octave
    keep within `tolerance` of the exact curve with 1/16 of the cells a linear table needs, and
    the table stays in cache. A cell where the fit misses the exact curve by more than
    `tolerance` (or one float32 ulp of the value, if that is larger) at any of the check points (a jump or kink in a
    piecewise curve, such as BT.709's at 0.018 or the CDL's clamp) gets a = NaN: there the exact
    curve is used. The last cell is a sentinel, all NaN, for inputs outside the tabulated range.
    """
    step = 1 << _SHIFT
    magnitude = (np.arange(_CELLS + 1, dtype=np.int64) + _BASE) << _SHIFT
    tables = np.zeros((3, _ROW, 4), np.float32)
    tables[:, _SENTINEL] = np.nan
    for half, sign in enumerate((0, 1 << 31)):  # positive inputs, then negative ones
        def at(t, edge=False):
            bits = (magnitude if edge else magnitude[:-1] + int(t * step)) | sign
            return bits.astype(np.uint32).view(np.float32)

        cells = slice(half * _CELLS, (half + 1) * _CELLS)
        for c in range(3):
            ends = _curve_all(at(0, True), c, tf, cdl).astype(np.float64)
            f0, f1 = ends[:-1], ends[1:]
            fm = _curve_all(at(0.5), c, tf, cdl).astype(np.float64)
            bad = np.zeros(_CELLS, bool)
            with np.errstate(invalid="ignore", over="ignore"):  # inf and NaN cells end up NaN
                coef = np.stack([f0, 4 * fm - 3 * f0 - f1, 2 * f1 - 4 * fm + 2 * f0], -1).astype(np.float32)
                for t in (0.5,) + _CHECKS:
                    exact = _curve_all(at(t), c, tf, cdl).astype(np.float64)
                    # the kernel's two FMAs: float32 products are exact in float64, one rounding each
                    a, b, c2 = (coef[:, i].astype(np.float64) for i in range(3))
                    inner = (t * c2 + b).astype(np.float32).astype(np.float64)
                    fit = (t * inner + a).astype(np.float32)
                    err = np.abs(fit.astype(np.float64) - exact)
                    bad |= ~(err <= np.maximum(tolerance, 0.5 * np.spacing(np.abs(exact).astype(np.float32))))
            coef[bad, 0] = np.nan
            tables[c, cells, :3] = coef
    return tables


@nb.njit(cache=True)
def _curve_all(x, c, tf, cdl):
    out = np.empty(x.size, np.float32)
    for i in range(x.size):
        out[i] = curve_exact(x[i], c, tf, cdl)
    return out


@nb.njit(cache=True)
def curve_exact(x, c, tf, cdl):
    """Channel c's curve computed exactly: the transfer, then the CDL's slope, offset, power.
    A call rather than inlined: rare, and inlining it thrice makes the pass slow to compile."""
    v = np.float32(encode_value(x, tf))
    if cdl[0]:
        v = cdl_channel(v, cdl[1][c], cdl[2][c], cdl[3][c], cdl[5])
    return v


# ---------------------------------------------------------------------------------------------
# vector intrinsics: generic LLVM IR over 8 lanes, memory to memory on the chunk planes
# ---------------------------------------------------------------------------------------------
_I32, _I64 = ir.IntType(32), ir.IntType(64)
_F32 = ir.FloatType()


def _vec(t, n=_LANES):
    return ir.VectorType(t, n)


def _mask(values):
    return ir.Constant(_vec(_I32, len(values)), list(values))


def _data(context, builder, aty, aval):
    return context.make_array(aty)(context, builder, aval).data


def _vptr(builder, ptr, index, vty):
    """Pointer to a vector of type vty at element `index` of `ptr`."""
    return builder.bitcast(builder.gep(ptr, [index]), vty.as_pointer())


def _fma(builder, a, b, c):
    """a * b + c in one rounding (llvm.fma on a vector type)."""
    t = a.type
    name = f"llvm.fma.v{t.count}f32"
    fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(t, [t, t, t]), name)
    return builder.call(fn, [a, b, c])


def _splat(builder, v, n):
    vec = builder.insert_element(ir.Constant(_vec(v.type, n), None), v, ir.Constant(_I32, 0))
    return builder.shuffle_vector(vec, vec, _mask([0] * n))


def _transpose_lanes(builder, rows):
    """In-lane 4x4 transpose of four 8-float vectors (each 128-bit half transposed on its own,
    as _MM_TRANSPOSE4_PS does): out[i] = (rows[0][i], rows[1][i], rows[2][i], rows[3][i] |
    rows[0][4+i], ...). Spelled as unpack-lo/hi steps so LLVM emits unpcklps/unpckhps."""
    lo, hi = _mask([0, 8, 1, 9, 4, 12, 5, 13]), _mask([2, 10, 3, 11, 6, 14, 7, 15])
    t0 = builder.shuffle_vector(rows[0], rows[1], lo)
    t1 = builder.shuffle_vector(rows[0], rows[1], hi)
    t2 = builder.shuffle_vector(rows[2], rows[3], lo)
    t3 = builder.shuffle_vector(rows[2], rows[3], hi)
    lo2, hi2 = _mask([0, 1, 8, 9, 4, 5, 12, 13]), _mask([2, 3, 10, 11, 6, 7, 14, 15])
    return (builder.shuffle_vector(t0, t2, lo2), builder.shuffle_vector(t0, t2, hi2),
            builder.shuffle_vector(t1, t3, lo2), builder.shuffle_vector(t1, t3, hi2))


def _plane_ok(*planes):
    return all(isinstance(p, types.Array) and p.ndim == 1 and p.layout == "C" for p in planes)


@intrinsic
def _load3(typingctx, a, base, r, g, b, j):
    """r, g, b[j:j+8] = the 8 interleaved pixels at element base + 3 j of C-contiguous `a`."""
    if not (_plane_ok(r, g, b) and isinstance(a, types.Array) and a.layout == "C"):
        return None
    sig = types.void(a, base, r, g, b, j)

    def codegen(context, builder, sig, args):
        a_, base_, r_, g_, b_, j_ = args
        ety = context.get_value_type(sig.args[0].dtype)
        start = builder.add(base_, builder.mul(j_, ir.Constant(j_.type, 3)))
        v = builder.load(_vptr(builder, _data(context, builder, sig.args[0], a_), start, _vec(ety, 24)), align=1)
        for c, plane in enumerate((r_, g_, b_)):
            part = builder.shuffle_vector(v, v, _mask(range(c, 24, 3)))
            builder.store(part, _vptr(builder, _data(context, builder, sig.args[2 + c], plane), j_, _vec(ety)), align=1)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _store3(typingctx, a, base, r, g, b, j):
    """The 8 interleaved pixels at element base + 3 j of C-contiguous `a` = r, g, b[j:j+8]."""
    if not (_plane_ok(r, g, b) and isinstance(a, types.Array) and a.layout == "C"
            and r.dtype == a.dtype == g.dtype == b.dtype):
        return None
    sig = types.void(a, base, r, g, b, j)

    def codegen(context, builder, sig, args):
        a_, base_, r_, g_, b_, j_ = args
        ety = context.get_value_type(sig.args[0].dtype)
        parts = [builder.load(_vptr(builder, _data(context, builder, sig.args[2 + c], p), j_, _vec(ety)), align=1)
                 for c, p in enumerate((r_, g_, b_))]
        rg = builder.shuffle_vector(parts[0], parts[1], _mask(range(16)))
        b0 = builder.shuffle_vector(parts[2], parts[2], _mask(list(range(8)) + [8] * 8))
        order = [k // 3 + 8 * (k % 3) for k in range(24)]  # pixel k//3, channel k%3
        v = builder.shuffle_vector(rg, b0, _mask(order))
        start = builder.add(base_, builder.mul(j_, ir.Constant(j_.type, 3)))
        builder.store(v, _vptr(builder, _data(context, builder, sig.args[0], a_), start, _vec(ety, 24)), align=1)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _cells8(typingctx, x, cells, frac, j):
    """cells[j:j+8] = the flat offset (4 floats a cell) of each x[j:j+8]'s table cell within its
    channel, frac[j:j+8] = its position t in [0, 1) across the cell. The cell is
    ((bits & 0x7fffffff) >> shift) - base (+ cells if negative), the sentinel when outside;
    t is the bits below the cell's, scaled. Int32 lanes throughout."""
    if not _plane_ok(x, cells, frac):
        return None
    sig = types.void(x, cells, frac, j)

    def codegen(context, builder, sig, args):
        x_, c_, f_, j_ = args
        i32v, f32v = _vec(_I32), _vec(_F32)

        def k(v):
            return _splat(builder, ir.Constant(_I32, v), _LANES)

        xv = builder.load(_vptr(builder, _data(context, builder, sig.args[0], x_), j_, f32v), align=1)
        bits = builder.bitcast(xv, i32v)
        cell = builder.sub(builder.lshr(builder.and_(bits, k(0x7FFFFFFF)), k(_SHIFT)), k(_BASE))
        inside = builder.icmp_unsigned("<", cell, k(_CELLS))
        cell = builder.add(cell, builder.mul(builder.lshr(bits, k(31)), k(_CELLS)))
        cell = builder.shl(builder.select(inside, cell, k(_SENTINEL)), k(2))
        t = builder.fmul(builder.sitofp(builder.and_(bits, k((1 << _SHIFT) - 1)), f32v),
                         _splat(builder, ir.Constant(_F32, float(_FRAC)), _LANES))
        builder.store(cell, _vptr(builder, _data(context, builder, sig.args[1], c_), j_, i32v), align=1)
        builder.store(t, _vptr(builder, _data(context, builder, sig.args[2], f_), j_, f32v), align=1)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _quad8(typingctx, tables, off, cells, frac, y, j):
    """y[j:j+8] = a + t (b + t c) of each lane's cell (cells, frac from `_cells8`) in the table
    at element `off` of `tables` (one channel of `curve_tables`), two FMAs; returns a bit mask
    of the lanes that came out NaN (the exact curve is needed there). The cell offsets are read
    back from memory one by one (cheaper than moving them out of a vector register), each
    cell's four floats are one 16-byte load, pairs of cells share a register and an in-lane
    transpose turns them into a, b, c vectors."""
    if not (_plane_ok(cells, frac, y) and isinstance(tables, types.Array) and tables.layout == "C"):
        return None
    sig = types.int64(tables, off, cells, frac, y, j)

    def codegen(context, builder, sig, args):
        t_, off_, c_, f_, y_, j_ = args
        f32v = _vec(_F32)
        tptr = builder.gep(_data(context, builder, sig.args[0], t_), [off_])
        cptr = builder.gep(_data(context, builder, sig.args[2], c_), [j_])
        rows = []
        for k in range(4):
            halves = []
            for lane in (k, k + 4):
                ck = builder.zext(builder.load(builder.gep(cptr, [ir.Constant(_I64, lane)]), align=4), _I64)
                halves.append(builder.load(_vptr(builder, tptr, ck, _vec(_F32, 4)), align=4))
            rows.append(builder.shuffle_vector(halves[0], halves[1], _mask(range(8))))
        coef = _transpose_lanes(builder, rows)
        t = builder.load(_vptr(builder, _data(context, builder, sig.args[3], f_), j_, f32v), align=1)
        out = _fma(builder, t, _fma(builder, t, coef[2], coef[1]), coef[0])
        builder.store(out, _vptr(builder, _data(context, builder, sig.args[4], y_), j_, f32v), align=1)
        nan = builder.fcmp_unordered("uno", out, out)
        return builder.zext(builder.bitcast(nan, ir.IntType(8)), _I64)

    return sig, codegen


@intrinsic
def _tetra8(typingctx, flat, diag, c0, c1, c2, w0, w1, w2, w3, r, g, b, j):
    """r, g, b[j:j+8] = sum over t of w_t * flat[c_t : c_t + 3] for each of the 8 pixels
    (c_3 = c_0 + diag): the four corners of each pixel's tetrahedron, each loaded as one 4-float vector (the fourth
    float is the next entry's and is ignored; the last corner is loaded from one float earlier,
    as it may be the table's last entry), accumulated with FMAs, transposed back to planes."""
    if not (_plane_ok(flat, c0, c1, c2, w0, w1, w2, w3, r, g, b)):
        return None
    sig = types.void(flat, diag, c0, c1, c2, w0, w1, w2, w3, r, g, b, j)

    def codegen(context, builder, sig, args):
        j_ = args[-1]
        f4, f8, i8v = _vec(_F32, 4), _vec(_F32), _vec(_I32)
        tab = _data(context, builder, sig.args[0], args[0])
        corners = [builder.load(_vptr(builder, _data(context, builder, sig.args[2 + t], args[2 + t]), j_, i8v), align=1)
                   for t in range(3)]
        weights = [builder.load(_vptr(builder, _data(context, builder, sig.args[5 + t], args[5 + t]), j_, f8), align=1)
                   for t in range(4)]
        acc = []
        for k in range(_LANES // 2):  # pixels k and k + 4 share a register: k low, k + 4 high
            total = None
            for t in range(4):
                halves = []
                for lane in (k, k + 4):
                    at = builder.zext(builder.extract_element(corners[0 if t == 3 else t], ir.Constant(_I32, lane)), _I64)
                    if t == 3:  # c111 = c000 + diag, loaded from one float earlier
                        at = builder.add(at, builder.sub(args[1], ir.Constant(_I64, 1)))
                    halves.append(builder.load(_vptr(builder, tab, at, f4), align=4))
                v = builder.shuffle_vector(halves[0], halves[1], _mask(range(8)))
                if t == 3:
                    v = builder.shuffle_vector(v, v, _mask([1, 2, 3, 0, 5, 6, 7, 4]))
                w = builder.shuffle_vector(weights[t], weights[t], _mask([k] * 4 + [k + 4] * 4))
                total = builder.fmul(w, v) if total is None else _fma(builder, w, v, total)
            acc.append(total)
        planes = _transpose_lanes(builder, acc)
        for c in range(3):
            builder.store(planes[c], _vptr(builder, _data(context, builder, sig.args[9 + c], args[9 + c]), j_, f8), align=1)
        return context.get_dummy_value()

    return sig, codegen


# ---------------------------------------------------------------------------------------------
# stages over one chunk of planes
# ---------------------------------------------------------------------------------------------
def _load_chunk(src, y, x0, n, r, g, b):
    pass


@overload(_load_chunk, jit_options={"cache": True})
def _load_chunk_impl(src, y, x0, n, r, g, b):
    """r, g, b[:n] = src[y, x0:x0+n]."""
    if src.layout == "C":
        def impl(src, y, x0, n, r, g, b):
            base = (y * src.shape[1] + x0) * 3
            n8 = n - n % _LANES
            for j in range(0, n8, _LANES):
                _load3(src, base, r, g, b, j)
            for j in range(n8, n):
                r[j] = src[y, x0 + j, 0]
                g[j] = src[y, x0 + j, 1]
                b[j] = src[y, x0 + j, 2]
        return impl

    def impl(src, y, x0, n, r, g, b):
        for j in range(n):
            r[j] = src[y, x0 + j, 0]
            g[j] = src[y, x0 + j, 1]
            b[j] = src[y, x0 + j, 2]
    return impl


def _store_chunk(dst, y, x0, n, r, g, b, off):
    pass


@overload(_store_chunk, jit_options={"cache": True})
def _store_chunk_impl(dst, y, x0, n, r, g, b, off):
    """dst[y, x0:x0+n] = r, g, b[off:off+n]."""
    if dst.layout == "C" and r.dtype == dst.dtype:
        def impl(dst, y, x0, n, r, g, b, off):
            base = (y * dst.shape[1] + x0 - off) * 3  # _store3 writes plane index j at base + 3 j
            n8 = n - n % _LANES
            for j in range(off, off + n8, _LANES):
                _store3(dst, base, r, g, b, j)
            for j in range(n8, n):
                dst[y, x0 + j, 0] = r[off + j]
                dst[y, x0 + j, 1] = g[off + j]
                dst[y, x0 + j, 2] = b[off + j]
        return impl

    def impl(dst, y, x0, n, r, g, b, off):
        for j in range(n):
            dst[y, x0 + j, 0] = r[off + j]
            dst[y, x0 + j, 1] = g[off + j]
            dst[y, x0 + j, 2] = b[off + j]
    return impl


@register_jitable(inline="always")
def _is_identity(m):
    return (m[0, 0] == 1 and m[1, 1] == 1 and m[2, 2] == 1 and m[0, 1] == 0 and m[0, 2] == 0
            and m[1, 0] == 0 and m[1, 2] == 0 and m[2, 0] == 0 and m[2, 1] == 0)


@register_jitable(inline="always")
def _matrix_planes(m, r, g, b, nv):
    m00, m01, m02 = m[0, 0], m[0, 1], m[0, 2]
    m10, m11, m12 = m[1, 0], m[1, 1], m[1, 2]
    m20, m21, m22 = m[2, 0], m[2, 1], m[2, 2]
    for j in range(nv):
        x, y, z = r[j], g[j], b[j]
        r[j] = m00 * x + m01 * y + m02 * z
        g[j] = m10 * x + m11 * y + m12 * z
        b[j] = m20 * x + m21 * y + m22 * z


@nb.njit(cache=True)
def _fix_curve(x, y, masks, n, c, tf, cdl):
    """The exact curve in the lanes (below n) that `_quad8` flagged in `masks`."""
    for group in range(masks.size):
        bad = masks[group]
        if bad:
            j = group * _LANES
            for k in range(min(_LANES, n - j)):
                if (bad >> k) & 1:
                    y[j + k] = curve_exact(x[j + k], c, tf, cdl)


@register_jitable(inline="always")
def _curve_plane(x, tables, c, y, cells, frac, masks, nv, n, tf, cdl):
    """y[:nv] = channel c's curve of x[:nv], 8 at a time: the cells first (`_cells8`), then the
    table (`_quad8`), in two loops so the offsets go through memory; the lanes (below n) the
    table leaves NaN (outside its range, a kink, a NaN input) take the exact curve. The fix-up
    is a call after the vector loops, not inside them: a call in the loop costs more than the
    fix-ups do (vector registers do not survive calls)."""
    off = c * (4 * _ROW)
    for j in range(0, nv, _LANES):
        _cells8(x, cells, frac, j)
    anybad = 0
    for j in range(0, nv, _LANES):
        bad = _quad8(tables, off, cells, frac, y, j)
        masks[j // _LANES] = bad
        anybad |= bad
    if anybad:
        _fix_curve(x, y, masks[:nv // _LANES], n, c, tf, cdl)


@register_jitable(inline="always")
def _tetra_setup(r, g, b, nv, n, lo, scale, c0, c1, c2, w0, w1, w2, w3):
    """Per pixel: the cell (as `kernels.lut._cell`), the flat offsets of the first three corners
    of the tetrahedron holding the point (the fourth, c111, is c000 + the diagonal) and their
    weights, branch-free. With the fractions sorted f1 >= f2 >= f3, OCIO's tetrahedral is
    (1-f1) c000 + (f1-f2) c_1 + (f2-f3) c_12 + f3 c111, c_1 one step along the largest
    fraction's axis, c_12 one step along the two largest (OCIO's Lut3DOpCPU_AVX2.cpp selects
    the corners the same way). Offsets are computed in float32 (exact below 2^24, see
    `_FLOAT_OFFSETS_MAX_N`) so the loop stays 8 lanes wide, as OCIO's AVX2 path does."""
    z = np.float32(0.0)
    one = np.float32(1.0)
    top = np.float32(n - 1)
    last = np.float32(n - 2)
    lr, lg, lb = lo[0], lo[1], lo[2]
    kr, kg, kb = scale[0], scale[1], scale[2]
    sb = np.float32(3)
    sg = np.float32(3 * n)
    sr = np.float32(3 * n * n)
    diag = sr + sg + sb
    for j in range(nv):
        vr = (r[j] - lr) * kr
        vg = (g[j] - lg) * kg
        vb = (b[j] - lb) * kb
        vr = min(vr if vr > z else z, top)  # NaN -> 0
        vg = min(vg if vg > z else z, top)
        vb = min(vb if vb > z else z, top)
        pr = min(np.floor(vr), last)
        pg = min(np.floor(vg), last)
        pb = min(np.floor(vb), last)
        fr = vr - pr
        fg = vg - pg
        fb = vb - pb
        base = pr * sr + pg * sg + pb * sb
        r_max = fr >= fg and fr >= fb
        g_max = fg >= fb and not r_max
        b_min = fb <= fr and fb <= fg
        g_min = fg <= fr and not b_min
        step1 = sr if r_max else (sg if g_max else sb)
        step12 = diag - (sb if b_min else (sg if g_min else sr))
        f1 = max(max(fr, fg), fb)
        f3 = min(min(fr, fg), fb)
        f2 = max(min(fr, fg), min(max(fr, fg), fb))
        c0[j] = np.int32(base)
        c1[j] = np.int32(base + step1)
        c2[j] = np.int32(base + step12)
        w0[j] = one - f1
        w1[j] = f1 - f2
        w2[j] = f2 - f3
        w3[j] = f3


@register_jitable(inline="always")
def chunk_scratch(dtype):
    """The planes `finish_chunk` works in, CHUNK pixels each: (r, g, b, curve r, g, b, cube corner
    offsets c0, c1, c2, weights w0..w3, quantised r, g, b, fix-up masks, curve cells and
    positions). Separate allocations in the caller's own code (inlined), so that LLVM knows they
    do not overlap and vectorises the loops over them without run-time overlap checks."""
    f = np.float32
    return (np.empty(CHUNK, f), np.empty(CHUNK, f), np.empty(CHUNK, f),
            np.empty(CHUNK, f), np.empty(CHUNK, f), np.empty(CHUNK, f),
            np.empty(CHUNK, np.int32), np.empty(CHUNK, np.int32), np.empty(CHUNK, np.int32),
            np.empty(CHUNK, f), np.empty(CHUNK, f), np.empty(CHUNK, f), np.empty(CHUNK, f),
            np.empty(CHUNK, dtype), np.empty(CHUNK, dtype), np.empty(CHUNK, dtype),
            np.empty(CHUNK // _LANES, np.uint8), np.empty(CHUNK, np.int32), np.empty(CHUNK, f))


@register_jitable
def finish_chunk(bufs, cnt, m, tf, tables, cdl, lut, quantise):
    """Every stage over one chunk of `cnt` pixels held in the planes r, g, b of `bufs` (from
    `chunk_scratch`; the lanes after `cnt` up to the next multiple of 8 are set to 1.0, so the
    vector loops run on finite values there). Returns
    the result planes (float32); with `quantise`, the quantised ones of `bufs` hold them too.
    Called from a function of its own rather than the body of a prange loop, which numba
    compiles into slower code for these loops. Not inlined by numba (LLVM inlines it): numba's
    inlining of this body cost the tiled develop ~35 s of its ~70 s cold compile, for no speed."""
    nv = (cnt + _LANES - 1) // _LANES * _LANES
    r, g, b, cr, cg, cb, c0, c1, c2, w0, w1, w2, w3, qr, qg, qb, masks, cells, frac = bufs
    for j in range(cnt, nv):
        r[j] = g[j] = b[j] = np.float32(1.0)
    curves_on = tf != 0 or cdl[0]  # the linear curve without a CDL is the identity
    if not _is_identity(m):  # skipped, so that inf in one channel does not make 0 * inf = NaN in others
        _matrix_planes(m, r, g, b, nv)
    if curves_on:
        for c in range(3):
            _curve_plane(r if c == 0 else (g if c == 1 else b), tables, c,
                         cr if c == 0 else (cg if c == 1 else cb), cells, frac, masks, nv, cnt, tf, cdl)
        pr, pg, pb = cr, cg, cb
    else:
        pr, pg, pb = r, g, b
    if cdl[0]:
        sat = cdl[4]
        clamp = cdl[5]
        for j in range(nv):
            pr[j], pg[j], pb[j] = cdl_saturation(pr[j], pg[j], pb[j], sat, clamp)
    if lut[0]:
        for j in range(nv):
            pr[j] = lut1d_value(pr[j], lut[1], 0, lut[2][0], lut[3][0])
            pg[j] = lut1d_value(pg[j], lut[1], 1, lut[2][1], lut[3][1])
            pb[j] = lut1d_value(pb[j], lut[1], 2, lut[2][2], lut[3][2])
    if lut[4]:
        flat = lut[5]
        n = lut[6]
        if lut[9] and n <= _FLOAT_OFFSETS_MAX_N:
            diag = 3 * (n * n + n + 1)  # flat offset from a cell's c000 to its c111
            _tetra_setup(pr, pg, pb, nv, n, lut[7], lut[8], c0, c1, c2, w0, w1, w2, w3)
            for j in range(0, nv, _LANES):
                _tetra8(flat, diag, c0, c1, c2, w0, w1, w2, w3, r, g, b, j)
        elif lut[9]:
            for j in range(nv):
                r[j], g[j], b[j] = lut3d_tetrahedral(pr[j], pg[j], pb[j], flat, n, lut[7], lut[8])
        else:
            for j in range(nv):
                r[j], g[j], b[j] = lut3d_trilinear(pr[j], pg[j], pb[j], flat, n, lut[7], lut[8])
        pr, pg, pb = r, g, b
    if quantise < 0:  # HALF: the float16 bits, rounded to nearest even (kernels.half)
        for j in range(nv):
            qr[j] = half_bits(pr[j])
            qg[j] = half_bits(pg[j])
            qb[j] = half_bits(pb[j])
    elif quantise != 0:
        z = np.float32(0.0)
        one = np.float32(1.0)
        half = np.float32(0.5)
        s = np.float32(quantise)
        for j in range(nv):
            vr = pr[j]
            vg = pg[j]
            vb = pb[j]
            qr[j] = np.floor(min(vr if vr > z else z, one) * s + half)
            qg[j] = np.floor(min(vg if vg > z else z, one) * s + half)
            qb[j] = np.floor(min(vb if vb > z else z, one) * s + half)
    return pr, pg, pb


@register_jitable(inline="always")
def store_chunk_row(dst, y, x0, n, planes, bufs, off, quantise):
    """dst[y, x0:x0+n] = the chunk's results from plane index off: `planes` (float, as
    `finish_chunk` returns them), or the quantised planes of `bufs`."""
    if quantise == 0:
        _store_chunk(dst, y, x0, n, planes[0], planes[1], planes[2], off)
    else:
        _store_chunk(dst, y, x0, n, bufs[13], bufs[14], bufs[15], off)


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _finish_rows(src, y0, y1, dst, dst_y0, m, tf, tables, cdl, lut, quantise):
    """`finish` on rows y0..y1 in this thread: its own scratch, every stage over each chunk."""
    w = src.shape[1]
    bufs = chunk_scratch(dst.dtype)
    for y in range(y0, y1):
        oy = dst_y0 + y - y0
        for x0 in range(0, w, CHUNK):
            cnt = min(CHUNK, w - x0)
            _load_chunk(src, y, x0, cnt, bufs[0], bufs[1], bufs[2])
            planes = finish_chunk(bufs, cnt, m, tf, tables, cdl, lut, quantise)
            store_chunk_row(dst, oy, x0, cnt, planes, bufs, 0, quantise)


@nb.njit(parallel=True, cache=True, nogil=True, error_model="numpy")
def finish(src, y0, y1, dst, dst_y0, m, tf, tables, cdl, lut, quantise):
    """Rows y0..y1 of the (H, W, 3) float32 `src`, through colour, grade and quantisation, into
    `dst` from row dst_y0. Each row goes through cache-resident planar chunks one stage at a time
    (see the module docstring); blocks of `_BLOCK_ROWS` rows run in parallel."""
    nblocks = (y1 - y0 + _BLOCK_ROWS - 1) // _BLOCK_ROWS
    for blk in nb.prange(nblocks):
        ya = y0 + blk * _BLOCK_ROWS
        yb = min(y1, ya + _BLOCK_ROWS)
        _finish_rows(src, ya, yb, dst, dst_y0 + ya - y0, m, tf, tables, cdl, lut, quantise)
    return dst
