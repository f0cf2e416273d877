import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  CubicSpline,
  fillMissing,
  hermiteCubicCoeffs,
  hermiteCubicInterpolation,
  type Interpolation,
  LinearInterpolation,
  linearInterpolation,
  linearInterpolationCoeffs,
  naturalCubicCoeffs,
  naturalCubicSpline,
  pieceOf,
  rectilinearInterpolation,
  rectilinearInterpolationCoeffs,
} from "../../../models/cde/mod.ts";
import { assertClose, values } from "../../helpers.ts";

await tf.setBackend("cpu");

/** X(t) and dX/dt(t) read back as arrays (and disposed). */
async function at(X: Interpolation, t: number): Promise<{ x: number[]; dx: number[] }> {
  const x = X.evaluate(t);
  const dx = X.derivative(t);
  const out = { x: await values(x), dx: await values(dx) };
  tf.dispose([x, dx]);
  return out;
}

type Scheme = "linear" | "hermite" | "natural";
const SCHEMES: Scheme[] = ["linear", "hermite", "natural"];

function build(scheme: Scheme, x: tf.Tensor, t?: number[]): Promise<Interpolation> {
  if (scheme === "linear") return linearInterpolation(x, t);
  if (scheme === "hermite") return hermiteCubicInterpolation(x, t);
  return naturalCubicSpline(x, t);
}

// Irregular knots, a batch of 2 paths with 3 channels.
const T = [-1, 0, 0.5, 2, 2.25, 4];
const B = 2;
const C = 3;

/** x[b, k, c] = p(b, c) + q(b, c)·t_k: an affine function of t per series. */
const p = (b: number, c: number) => 1 + b - 0.5 * c;
const q = (b: number, c: number) => 0.3 * (c + 1) * (b === 0 ? 1 : -2);
function affineData(): tf.Tensor3D {
  return tf.tensor3d(
    Array.from(
      { length: B },
      (_, b) => T.map((t) => Array.from({ length: C }, (_, c) => p(b, c) + q(b, c) * t)),
    ),
  );
}

Deno.test("every scheme reproduces an affine path exactly, extrapolation included", async () => {
  const x = affineData();
  for (const scheme of SCHEMES) {
    const before = tf.memory().numTensors;
    const X = await build(scheme, x, T);
    assert.equal(X.batch, B);
    assert.equal(X.channels, C);
    assert.deepEqual(X.knots, T);
    assert.equal(X.t0, -1);
    assert.equal(X.t1, 4);
    assert.deepEqual(X.jumpTimes, scheme === "linear" ? T : []);
    // Inside pieces, at knots, and outside [t0, t1] (the end pieces extrapolated, still affine).
    for (const t of [-2, -1, -0.3, 0, 0.5, 1.7, 2, 2.1, 3.99, 4, 5.5]) {
      const { x: xv, dx } = await at(X, t);
      const ex: number[] = [];
      const edx: number[] = [];
      for (let b = 0; b < B; b++) {
        for (let c = 0; c < C; c++) {
          ex.push(p(b, c) + q(b, c) * t);
          edx.push(q(b, c));
        }
      }
      // float32 coefficients and values of size ≤ ~10: a few ulps.
      assertClose(xv, ex, { rtol: 1e-5, atol: 1e-5 }, `${scheme} X(${t})`);
      assertClose(dx, edx, { rtol: 1e-5, atol: 1e-5 }, `${scheme} X'(${t})`);
    }
    X.dispose();
    assert.equal(tf.memory().numTensors, before, `${scheme}: leaked tensors`);
  }
  x.dispose();
});

Deno.test("derivative agrees with central finite differences of evaluate, all schemes", async () => {
  // Smooth but not polynomial data, so every coefficient of the cubic schemes matters.
  const data = Array.from(
    { length: B },
    (_, b) =>
      T.map((t) => Array.from({ length: C }, (_, c) => Math.sin(1.3 * t + b) + 0.2 * c * t * t)),
  );
  const x = tf.tensor3d(data);
  for (const scheme of SCHEMES) {
    const X = await build(scheme, x, T);
    // Points inside pieces (not at knots, where the linear derivative jumps).
    for (const t of [-0.6, 0.2, 1.1, 2.1, 3.3]) {
      const h = 1e-2;
      const plus = await at(X, t + h);
      const minus = await at(X, t - h);
      const { dx } = await at(X, t);
      // Central differences of a cubic have error h²·|X'''|/6 ≲ 1e-3 here; float32 values of
      // size ~1 divided by 2h add ~1e-5.
      const fd = plus.x.map((v, i) => (v - minus.x[i]) / (2 * h));
      assertClose(dx, fd, { rtol: 2e-3, atol: 2e-3 }, `${scheme} X'(${t})`);
    }
    X.dispose();
  }
  x.dispose();
});

Deno.test("every scheme interpolates the observations and is continuous at the knots", async () => {
  const data = Array.from(
    { length: B },
    (_, b) => T.map((t, k) => Array.from({ length: C }, (_, c) => Math.cos(t * (c + 1)) + b * k)),
  );
  const x = tf.tensor3d(data);
  const eps = 1e-6;
  for (const scheme of SCHEMES) {
    const X = await build(scheme, x, T);
    for (let k = 0; k < T.length; k++) {
      const { x: xv } = await at(X, T[k]);
      const expected = data.flatMap((row) => row[k]);
      assertClose(xv, expected, { rtol: 1e-5, atol: 1e-5 }, `${scheme} X(t_${k})`);
    }
    for (let k = 1; k < T.length - 1; k++) {
      const left = await at(X, T[k] - eps);
      const right = await at(X, T[k] + eps);
      // Values: continuous for every scheme (jump ≤ |X'|·2eps + float32 rounding).
      assertClose(left.x, right.x, { rtol: 1e-4, atol: 1e-4 }, `${scheme} X jump at t_${k}`);
      if (scheme !== "linear") {
        // Hermite (C¹) and natural (C²): the derivative is continuous too.
        assertClose(left.dx, right.dx, { rtol: 1e-4, atol: 1e-4 }, `${scheme} X' jump at t_${k}`);
      }
    }
    X.dispose();
  }
  x.dispose();
});

Deno.test("Hermite: slopes at the knots are the backward differences (torchcde's formula)", async () => {
  const t = [0, 1, 3, 3.5];
  const xs = [2, 0, 4, 5];
  const x = tf.tensor3d([xs.map((v) => [v])]);
  const coeffs = await hermiteCubicCoeffs(x, t);
  assert.deepEqual(coeffs.shape, [1, 3, 4]);
  // torchcde: a = x_k, b = m_{k−1} (m_{−1} = m_0), c = 3(Δx/Δt² − b/Δt) − (m_k − m_{k−1})/Δt,
  // d = (m_k − b)/(3Δt²) − 2c/(3Δt); stored as [a, b, 2c, 3d].
  const m = [0, 1, 2].map((k) => (xs[k + 1] - xs[k]) / (t[k + 1] - t[k]));
  const expected = [0, 1, 2].flatMap((k) => {
    const dt = t[k + 1] - t[k];
    const b = m[Math.max(k - 1, 0)];
    const c = 3 * ((xs[k + 1] - xs[k]) / dt ** 2 - b / dt) - (m[k] - b) / dt;
    const d = (m[k] - b) / (3 * dt ** 2) - 2 * c / (3 * dt);
    return [xs[k], b, 2 * c, 3 * d];
  });
  assertClose(await values(coeffs), expected, { rtol: 1e-5, atol: 1e-5 }, "hermite coefficients");
  // The derivative at every knot (from the right) is the previous piece's slope.
  const X = new CubicSpline(coeffs, t);
  for (const [k, slope] of [[0, m[0]], [1, m[0]], [2, m[1]]] as const) {
    assertClose((await at(X, t[k] + 1e-7)).dx, [slope], { rtol: 1e-4, atol: 1e-4 }, `X'(t_${k}+)`);
  }
  assertClose((await at(X, 3.5)).dx, [m[2]], { rtol: 1e-5, atol: 1e-5 }, "X'(t_3)");
  tf.dispose([x, coeffs]);
  X.dispose();
});

/** The natural cubic spline through (0, 0), (1, 1), (2, 0): 1.5t − 0.5t³ on [0, 1], mirrored. */
function S(t: number): number {
  const u = t <= 1 ? t : 2 - t;
  return 1.5 * u - 0.5 * u ** 3;
}
function dS(t: number): number {
  return t <= 1 ? 1.5 - 1.5 * t ** 2 : -(1.5 - 1.5 * (2 - t) ** 2);
}

Deno.test("natural spline: closed form, and reproduces a natural spline on finer knots", async () => {
  // The spline through samples of a natural cubic spline S at a superset of its knots is S itself
  // (cubic on every piece, C², natural, interpolating: unique). An interior NaN removes a knot
  // that is not one of S's, so the result is still S.
  const t = [0, 0.3, 1, 1.4, 2];
  const rows = [t.map((ti) => [S(ti), 2 * S(ti)]), t.map((ti, k) => [k === 3 ? NaN : S(ti), 1])];
  const x = tf.tensor3d(rows);
  const X = await naturalCubicSpline(x, t);
  for (const s of [0, 0.1, 0.3, 0.77, 1, 1.2, 1.4, 1.9, 2]) {
    const { x: xv, dx } = await at(X, s);
    assertClose(xv, [S(s), 2 * S(s), S(s), 1], { rtol: 1e-5, atol: 1e-5 }, `natural X(${s})`);
    assertClose(dx, [dS(s), 2 * dS(s), dS(s), 0], { rtol: 1e-5, atol: 1e-5 }, `natural X'(${s})`);
  }
  // Natural boundary conditions: X'' = 0 at both ends (finite differences of X').
  for (const s of [0, 2]) {
    const h = 1e-3;
    const a = await at(X, s === 0 ? 0 : 2 - h);
    const b = await at(X, s === 0 ? h : 2);
    assertClose(
      a.dx.map((v, i) => (b.dx[i] - v) / h),
      [0, 0, 0, 0],
      { rtol: 1e-2, atol: 1e-2 },
      `X''(${s})`,
    );
  }
  tf.dispose(x);
  X.dispose();
});

Deno.test("natural spline: leading/trailing NaNs take the first/last observation", async () => {
  // torchcde ≥ 0.2: fill the ends, then spline through the observed points. Observed (1, 3),
  // (2, 5) with filled ends (0, 3) and (3, 5): the natural spline through 3, 3, 5, 5 at 0..3.
  const x = tf.tensor3d([[[NaN], [3], [5], [NaN]]]);
  const filled = tf.tensor3d([[[3], [3], [5], [5]]]);
  const [a, b] = [await naturalCubicCoeffs(x), await naturalCubicCoeffs(filled)];
  assertClose(await values(a), await values(b), { rtol: 1e-6, atol: 1e-6 }, "coefficients");
  // By symmetry of the data the spline passes through 4 at t = 1.5 with slope ≥ 2 (it overshoots
  // the linear slope of 2 between the plateaus, which natural splines do).
  const X = new CubicSpline(a);
  const mid = await at(X, 1.5);
  assertClose(mid.x, [4], { rtol: 1e-6, atol: 1e-6 }, "X(1.5)");
  assert.ok(mid.dx[0] > 2, `X'(1.5) = ${mid.dx[0]}`);
  tf.dispose([x, filled, a, b]);
  X.dispose();
});

Deno.test("NaN filling equals hand-computed torchcde values, per sample and channel", async () => {
  const t = [0, 1, 3, 4, 8];
  const x = tf.tensor3d([
    // channel 0: leading NaN; channel 1: interior gap of 2 on irregular times; channel 2: trailing
    [[NaN, 0, 1], [2, NaN, 2], [NaN, NaN, NaN], [6, 8, NaN], [7, 9, NaN]],
    // a single observation in a channel is carried everywhere
    [[NaN, 1, 0], [NaN, 1, 0], [5, 1, 0], [NaN, 1, 0], [NaN, 1, 0]],
  ]);
  const expected = [
    // ch0: t=3 between (1, 2) and (4, 6): 2 + (2/3)·4. ch1: (0, 0) → (4, 8): 2 at t=1, 6 at t=3.
    [[2, 0, 1], [2, 2, 2], [2 + 8 / 3, 6, 2], [6, 8, 2], [7, 9, 2]],
    [[5, 1, 0], [5, 1, 0], [5, 1, 0], [5, 1, 0], [5, 1, 0]],
  ].flat(2);
  const before = tf.memory().numTensors;
  const filled = await fillMissing(x, t);
  assertClose(await values(filled), expected, { rtol: 1e-6, atol: 1e-6 }, "filled");
  const coeffs = await linearInterpolationCoeffs(x, t);
  assertClose(await values(coeffs), expected, { rtol: 1e-6, atol: 1e-6 }, "linear coefficients");
  tf.dispose([filled, coeffs]);
  // The Hermite spline fills the same way (its knot values are the filled data).
  const X = await hermiteCubicInterpolation(x, t);
  const atKnot2 = [...expected.slice(6, 9), ...expected.slice(21, 24)];
  assertClose((await at(X, 3)).x, atKnot2, { rtol: 1e-5, atol: 1e-5 }, "Hermite X(3)");
  X.dispose();
  assert.equal(tf.memory().numTensors, before, "leaked tensors");
  x.dispose();
});

Deno.test("an all-NaN series and bad input are clear errors, without leaks", async () => {
  const x = tf.tensor3d([[[1, 2], [3, 4]], [[5, NaN], [6, NaN]]]);
  const inf = tf.tensor3d([[[1], [Infinity]]]);
  const before = tf.memory().numTensors;
  for (const make of [fillMissing, naturalCubicCoeffs, hermiteCubicCoeffs] as const) {
    await assert.rejects(make(x), /sample 1, channel 1.*every value is NaN/);
  }
  await assert.rejects(rectilinearInterpolationCoeffs(x, 0), /sample 1, channel 1/);
  await assert.rejects(linearInterpolation(inf), /Infinity; use NaN/);
  await assert.rejects(linearInterpolation(x, [0, 0]), /strictly increasing/);
  await assert.rejects(linearInterpolation(x, [0, 1, 2]), /one time per observation/);
  await assert.rejects(linearInterpolation(tf.zeros([2, 3]) as tf.Tensor), /\[batch, length/);
  assert.equal(tf.memory().numTensors, before + 1, "leaked tensors"); // + the tf.zeros above
  const ok = await linearInterpolation(tf.tensor3d([[[0], [1]]]));
  assert.throws(() => ok.evaluate(NaN), /finite number/);
  ok.dispose();
  assert.throws(() => ok.derivative(0), /disposed/);
  tf.dispose([x, inf]);
});

Deno.test("rectilinear: torchcde's lagged, forward-filled knots and the path through them", async () => {
  // channel 1 = time (irregular per sample), channels 0 and 2 = features with missing values.
  const x = tf.tensor3d([
    [[1, 0, NaN], [NaN, 0.5, 3], [4, 2, NaN]],
    [[2, 10, 1], [3, 11, 1], [NaN, 15, 0]],
  ]);
  const coeffs = await rectilinearInterpolationCoeffs(x, 1);
  assert.deepEqual(coeffs.shape, [2, 5, 3]);
  // knots (t_0, x_0), (t_1, x_0), (t_1, x_1), (t_2, x_1), (t_2, x_2); forward fill; the leading
  // NaN of sample 0, channel 2 takes the first observation (3).
  assert.deepEqual(await coeffs.array(), [
    [[1, 0, 3], [1, 0.5, 3], [1, 0.5, 3], [1, 2, 3], [4, 2, 3]],
    [[2, 10, 1], [2, 11, 1], [3, 11, 1], [3, 15, 1], [3, 15, 0]],
  ]);
  const X = await rectilinearInterpolation(x, 1);
  assert.deepEqual(X.knots, [0, 1, 2, 3, 4]);
  assert.deepEqual(X.jumpTimes, [0, 1, 2, 3, 4]);
  // A piece from an even knot moves time only, one from an odd knot the features only: at
  // s = 2.5 (piece 2) time moves from t_1 to t_2; at s = 3.5 (piece 3) the features move.
  const mid = await at(X, 2.5);
  assertClose(mid.x, [1, 1.25, 3, 3, 13, 1], { rtol: 1e-6, atol: 1e-6 }, "X(2.5)");
  assertClose(mid.dx, [0, 1.5, 0, 0, 4, 0], { rtol: 1e-6, atol: 1e-6 }, "X'(2.5)");
  const late = await at(X, 3.5);
  assertClose(late.dx, [3, 0, 0, 0, 0, -1], { rtol: 1e-6, atol: 1e-6 }, "X'(3.5)");
  await assert.rejects(
    rectilinearInterpolationCoeffs(tf.tensor3d([[[NaN, 1], [0, 2]]]), 0),
    /time channel 0 has a missing value at sample 0, observation 0/,
  );
  await assert.rejects(rectilinearInterpolationCoeffs(x, 3), /timeChannel/);
  tf.dispose([x, coeffs]);
  X.dispose();
});

Deno.test("pieces: a knot belongs to its left piece; the ends extrapolate", async () => {
  const knots = [0, 1, 2.5];
  assert.equal(pieceOf(knots, 0), 0);
  assert.equal(pieceOf(knots, 1), 0);
  assert.equal(pieceOf(knots, 1 + 1e-12), 1);
  assert.equal(pieceOf(knots, 2.5), 1);
  assert.equal(pieceOf(knots, 100), 1);
  assert.equal(pieceOf(knots, -100), 0);
  // Left piece at a knot for the derivative of a linear path (as the solver's stages expect:
  // the FSAL stage just before a knot, the re-evaluation just after it).
  const coeffs = tf.tensor3d([[[0], [1], [-2]]]);
  const X = new LinearInterpolation(coeffs, knots);
  assert.deepEqual((await at(X, 1)).dx, [1]);
  assertClose((await at(X, 1 + 1e-12)).dx, [-3 / 1.5], { rtol: 1e-6, atol: 1e-6 }, "right slope");
  assertClose((await at(X, -1)).x, [-1], { rtol: 1e-6, atol: 1e-6 }, "extrapolated first piece");
  assertClose((await at(X, 3.5)).x, [-4], { rtol: 1e-6, atol: 1e-6 }, "extrapolated last piece");
  tf.dispose(coeffs);
  X.dispose();
});

Deno.test("cubic coefficients keep torchcde's [a, b, 2c, 3d] layout", async () => {
  const x = tf.tensor3d([[[0, 1], [1, 1], [0, 1]]]);
  const coeffs = await naturalCubicCoeffs(x);
  assert.deepEqual(coeffs.shape, [1, 2, 8]);
  // Channel 0 on [0, 1]: 1.5t − 0.5t³: a = 0, b = 1.5, 2c = 0, 3d = −1.5; channel 1 constant.
  assertClose((await values(coeffs)).slice(0, 8), [0, 1, 1.5, 0, 0, 0, -1.5, 0], {
    rtol: 1e-6,
    atol: 1e-6,
  }, "piece 0");
  assert.throws(() => new CubicSpline(tf.zeros([1, 2, 7])), /4·channels/);
  coeffs.dispose();
});

Deno.test("per-piece tensors: X(t) and dX/dt(t) slice nothing, equal the closed form, and are freed with the path", async () => {
  // 40 pieces, 2 paths, 3 channels; affine data, so every scheme's values are p + q·t and the
  // derivative is q (the closed form of the first test), on every piece.
  const knots = Array.from({ length: 41 }, (_, k) => k * 0.25 + (k % 3) * 0.01);
  const x = tf.tensor3d(
    Array.from(
      { length: B },
      (_, b) => knots.map((t) => Array.from({ length: C }, (_, c) => p(b, c) + q(b, c) * t)),
    ),
  );
  for (const scheme of SCHEMES) {
    const before = tf.memory().numTensors;
    const X = await build(scheme, x, knots);
    // One tensor per piece for X and one for dX/dt: nothing proportional to the calls.
    assert.equal(tf.memory().numTensors, before + 2 * 40, `${scheme}: tensors held by the path`);
    for (const t of [0.1, 2.5, 5.13, 9.9]) {
      const profile = await tf.profile(() => {
        const [v, d] = [X.evaluate(t), X.derivative(t)];
        tf.dispose([v, d]);
      });
      const kernels = profile.kernelNames;
      assert.ok(!kernels.includes("Slice"), `${scheme} at ${t}: kernels ${kernels}`);
      const got = await at(X, t);
      const xs = [], dxs = [];
      for (let b = 0; b < B; b++) {
        for (let c = 0; c < C; c++) {
          xs.push(p(b, c) + q(b, c) * t);
          dxs.push(q(b, c));
        }
      }
      // float32 coefficients: a few ulps of values up to ~10.
      assertClose(got.x, xs, { rtol: 1e-5, atol: 1e-5 }, `${scheme} X(${t})`);
      assertClose(got.dx, dxs, { rtol: 1e-5, atol: 1e-5 }, `${scheme} X'(${t})`);
    }
    // A returned derivative is the caller's: disposing it leaves the path intact.
    const d0 = X.derivative(1);
    d0.dispose();
    assertClose((await at(X, 1)).dx, [q(0, 0), q(0, 1), q(0, 2), q(1, 0), q(1, 1), q(1, 2)], {
      rtol: 1e-5,
      atol: 1e-5,
    }, `${scheme}: after disposing a returned derivative`);
    X.dispose();
    X.dispose(); // a second dispose does nothing
    assert.equal(tf.memory().numTensors, before, `${scheme}: leaked tensors`);
  }
  x.dispose();
});

Deno.test("NaN or Inf in a control path's data is an error naming X, the sample, channel and piece", () => {
  const before = tf.memory().numTensors;
  const nan = tf.tensor3d([[[0, 1], [1, 2], [2, 3]], [[0, 1], [1, NaN], [2, 3]]]);
  // Sample 1, channel 1 is NaN at knot 1: the first piece's slope is already NaN.
  assert.throws(
    () => new LinearInterpolation(nan),
    /control path X is not finite.*NaN for sample 1, channel 1 on piece 0 \(t in \[0, 1\]\)/,
  );
  const inf = tf.tensor3d([[[0], [1], [Infinity]]]);
  assert.throws(() => new LinearInterpolation(inf, [0, 1, 3]), /X is not finite.*piece 1/);
  const allNaN = tf.fill([1, 2, 4], NaN);
  assert.throws(() => new CubicSpline(allNaN), /control path X is not finite/);
  // The error is raised before any per-piece tensor is kept: only the three inputs remain.
  assert.equal(tf.memory().numTensors, before + 3, "leaked tensors");
  tf.dispose([nan, inf, allNaN]);
});
