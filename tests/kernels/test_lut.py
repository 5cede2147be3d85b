"""LUT and CDL kernels against small numpy references (the OCIO comparison is in tests/isp/test_grade.py)."""
import numpy as np
import pytest

from kernels import lut as kl


def _domain(n, lo, hi):
    lo = np.asarray(lo, dtype=np.float32)
    hi = np.asarray(hi, dtype=np.float32)
    return lo, ((n - 1) / (hi - lo)).astype(np.float32)


def _ref_trilinear(x, table, lo, hi):
    n = table.shape[0]
    v = np.clip((x.astype(np.float64) - lo) / (hi - lo) * (n - 1), 0, n - 1)
    i = np.minimum(v.astype(int), n - 2)
    f = v - i
    out = np.zeros_like(v)
    for dr in (0, 1):
        for dg in (0, 1):
            for db in (0, 1):
                w = (f[:, 0] if dr else 1 - f[:, 0]) * (f[:, 1] if dg else 1 - f[:, 1]) * (f[:, 2] if db else 1 - f[:, 2])
                out += w[:, None] * table[i[:, 0] + dr, i[:, 1] + dg, i[:, 2] + db]
    return out


def _ref_tetrahedral(x, table, lo, hi):
    n = table.shape[0]
    v = np.clip((x.astype(np.float64) - lo) / (hi - lo) * (n - 1), 0, n - 1)
    i = np.minimum(v.astype(int), n - 2)
    f = v - i
    out = np.empty_like(v)
    for p in range(len(x)):
        order = np.argsort(-f[p], kind="stable")
        fs = f[p][order]
        idx = i[p].copy()
        acc = (1 - fs[0]) * table[tuple(idx)]
        for k in range(3):
            idx[order[k]] += 1
            w = (fs[k] - fs[k + 1]) if k < 2 else fs[2]
            acc = acc + w * table[tuple(idx)]
        out[p] = acc
    return out


@pytest.fixture(scope="module")
def case():
    rng = np.random.default_rng(0)
    n = 5
    table = rng.uniform(-0.2, 1.5, (n, n, n, 3)).astype(np.float32)
    lo = np.array([-0.1, 0.0, 0.2])
    hi = np.array([1.2, 2.0, 0.9])
    x = rng.uniform(-0.5, 2.5, (3000, 3)).astype(np.float32)
    return table, lo, hi, x


def test_trilinear_matches_reference(case):
    table, lo, hi, x = case
    l, s = _domain(table.shape[0], lo, hi)
    out = kl.apply_lut3d_trilinear(x, table.reshape(-1), table.shape[0], l, s, np.empty_like(x))
    assert np.max(np.abs(out - _ref_trilinear(x, table, lo, hi))) < 1e-5


def test_tetrahedral_matches_reference(case):
    table, lo, hi, x = case
    l, s = _domain(table.shape[0], lo, hi)
    out = kl.apply_lut3d_tetrahedral(x, table.reshape(-1), table.shape[0], l, s, np.empty_like(x))
    assert np.max(np.abs(out - _ref_tetrahedral(x, table, lo, hi))) < 1e-5


def test_identity_lut_is_identity_inside_domain_and_clamps_outside():
    n = 9
    g = np.linspace(0, 1, n, dtype=np.float32)
    table = np.ascontiguousarray(np.stack(np.meshgrid(g, g, g, indexing="ij"), -1))
    x = np.random.default_rng(1).uniform(-0.5, 1.5, (2000, 3)).astype(np.float32)
    l, s = _domain(n, [0, 0, 0], [1, 1, 1])
    for fn in (kl.apply_lut3d_tetrahedral, kl.apply_lut3d_trilinear):
        out = fn(x, table.reshape(-1), n, l, s, np.empty_like(x))
        assert np.max(np.abs(out - np.clip(x, 0, 1))) < 1e-6


def test_nan_and_inf_inputs_do_not_escape_the_table():
    n = 3
    table = np.random.default_rng(2).uniform(0, 1, (n, n, n, 3)).astype(np.float32)
    x = np.array([[np.nan, 0.5, 0.5], [np.inf, -np.inf, np.nan], [1e30, -1e30, 0.5]], dtype=np.float32)
    l, s = _domain(n, [0, 0, 0], [1, 1, 1])
    out = kl.apply_lut3d_tetrahedral(x, table.reshape(-1), n, l, s, np.empty_like(x))
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out[1], table[2, 0, 0], atol=1e-6)  # +inf -> top, -inf and NaN -> bottom


def test_lut1d_regular_and_irregular_agree_with_np_interp():
    rng = np.random.default_rng(3)
    n = 17
    table = np.sort(rng.uniform(0, 2, (n, 3)), axis=0).astype(np.float32)
    x = rng.uniform(-1, 3, (5000, 3)).astype(np.float32)
    lo, hi = np.array([-0.5, 0, 0.25]), np.array([1.0, 2.0, 0.75])
    l, s = _domain(n, lo, hi)
    out = kl.apply_lut1d(x, table, l, s, np.empty_like(x))
    xs = np.linspace(lo, hi, n).astype(np.float32)
    out2 = kl.apply_lut1d_irregular(x, np.ascontiguousarray(xs), table, np.empty_like(x))
    for c in range(3):
        ref = np.interp(x[:, c], xs[:, c], table[:, c])
        assert np.max(np.abs(out[:, c] - ref)) < 1e-5
        assert np.max(np.abs(out2[:, c] - ref)) < 1e-5


def test_fused_shaper_equals_two_passes(case):
    table, lo, hi, x = case
    rng = np.random.default_rng(4)
    shaper = np.sort(rng.uniform(-0.1, 2.0, (11, 3)), axis=0).astype(np.float32)
    sl, ss = _domain(11, [-1, -1, -1], [3, 3, 3])
    l, s = _domain(table.shape[0], lo, hi)
    for tetra in (True, False):
        fused = kl.apply_shaper_lut3d(x, shaper, sl, ss, table.reshape(-1), table.shape[0], l, s, tetra, np.empty_like(x))
        a = kl.apply_lut1d(x, shaper, sl, ss, np.empty_like(x))
        f3 = kl.apply_lut3d_tetrahedral if tetra else kl.apply_lut3d_trilinear
        b = f3(a, table.reshape(-1), table.shape[0], l, s, np.empty_like(x))
        assert np.max(np.abs(fused - b)) < 1e-6  # FMA contraction may move the last bit


def test_cdl_formula():
    rng = np.random.default_rng(5)
    x = rng.uniform(-0.5, 2, (2000, 3)).astype(np.float32)
    slope = np.array([1.2, 0.9, 1.1], np.float32)
    offset = np.array([-0.05, 0.02, 0.1], np.float32)
    power = np.array([0.8, 1.3, 2.2], np.float32)
    sat = np.float32(0.7)
    lw = np.array([0.2126, 0.7152, 0.0722])
    for clamp in (False, True):
        out = kl.apply_cdl(x, slope, offset, power, sat, clamp, np.empty_like(x))
        v = x.astype(np.float64) * slope + offset
        if clamp:
            v = np.clip(v, 0, 1) ** power
        else:
            v = np.where(v > 0, np.abs(v) ** power, v)
        luma = (v @ lw)[:, None]
        v = luma + sat * (v - luma)
        if clamp:
            v = np.clip(v, 0, 1)
        assert np.max(np.abs(out - v) / np.maximum(1, np.abs(v))) < 1e-5
