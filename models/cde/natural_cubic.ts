/**
 * Natural cubic splines (torchcde's `natural_cubic_coeffs`): the C² piecewise cubic through the
 * observations with zero second derivative at both ends. Not causal: the path before a time
 * depends on later observations.
 *
 * Missing values as torchcde (≥ 0.2) handles them, per sample and channel: NaNs before the
 * first observation take its value and NaNs after the last observation take the last value;
 * the spline then passes through the observed (and so filled) points only, and is re-expressed
 * on every piece between the original knots. A series with no observation is an error.
 *
 * The coefficients are computed on the host in float64 (a tridiagonal solve per series) and
 * stored once as float32.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { checkKnots, checkPath, CubicSpline } from "./control_path.ts";
import { readPath } from "./missing.ts";

/**
 * Monomial coefficients `[a, b, c, d]` (in `t − τ_j`) of the natural cubic spline through
 * `(tau[j], y[j])`, `n ≥ 2` points, written to `coef[4j … 4j + 3]`.
 */
function naturalSpline(tau: Float64Array, y: Float64Array, n: number, coef: Float64Array): void {
  // Second derivatives M (M_0 = M_{n−1} = 0) from the tridiagonal system, by the Thomas
  // algorithm (diagonally dominant, so stable without pivoting).
  const m = new Float64Array(n);
  if (n > 2) {
    const diag = new Float64Array(n);
    const rhs = new Float64Array(n);
    for (let i = 1; i < n - 1; i++) {
      const h0 = tau[i] - tau[i - 1];
      const h1 = tau[i + 1] - tau[i];
      diag[i] = 2 * (h0 + h1);
      rhs[i] = 6 * ((y[i + 1] - y[i]) / h1 - (y[i] - y[i - 1]) / h0);
    }
    for (let i = 2; i < n - 1; i++) {
      const w = (tau[i] - tau[i - 1]) / diag[i - 1]; // sub-diagonal h_{i−1} over the pivot
      diag[i] -= w * (tau[i] - tau[i - 1]); // super-diagonal of row i − 1 is h_{i−1} too
      rhs[i] -= w * rhs[i - 1];
    }
    m[n - 2] = rhs[n - 2] / diag[n - 2];
    for (let i = n - 3; i >= 1; i--) {
      m[i] = (rhs[i] - (tau[i + 1] - tau[i]) * m[i + 1]) / diag[i];
    }
  }
  for (let j = 0; j < n - 1; j++) {
    const h = tau[j + 1] - tau[j];
    coef[4 * j] = y[j];
    coef[4 * j + 1] = (y[j + 1] - y[j]) / h - h * (2 * m[j] + m[j + 1]) / 6;
    coef[4 * j + 2] = m[j] / 2;
    coef[4 * j + 3] = (m[j + 1] - m[j]) / (6 * h);
  }
}

/**
 * The natural cubic spline coefficients of `x` (`[batch, length, channels]`, NaN = missing) at
 * times `t` (default `0, 1, …, length − 1`): `[batch, length − 1, 4·channels]` in torchcde's
 * `[a, b, 2c, 3d]` layout, for `new CubicSpline(coeffs, t)`.
 *
 * @example Through (0, 0), (1, 1), (2, 0) the natural spline is `1.5t − 0.5t³` on `[0, 1]`
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { naturalCubicCoeffs, CubicSpline } from "@fasterode/fasterode/models/cde";
 * const x = tf.tensor3d([[[0], [1], [0]]]);
 * const coeffs = await naturalCubicCoeffs(x);
 * const X = new CubicSpline(coeffs);
 * const v = X.evaluate(0.5);
 * assert.ok(Math.abs((await v.data())[0] - (0.75 - 0.0625)) < 1e-6);
 * tf.dispose([x, coeffs, v]);
 * X.dispose();
 * ```
 */
export async function naturalCubicCoeffs(
  x: tf.Tensor,
  t?: ArrayLike<number>,
): Promise<tf.Tensor3D> {
  const [batch, length, channels] = checkPath(x);
  const times = checkKnots(t, length);
  const data = await readPath(x);
  const pieces = length - 1;
  const out = new Float32Array(batch * pieces * 4 * channels);
  const tau = new Float64Array(length);
  const y = new Float64Array(length);
  const coef = new Float64Array(4 * pieces);
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < channels; c++) {
      const at = (i: number) => data[(b * length + i) * channels + c];
      // Observed points, with the first/last observation carried to the ends.
      let first = 0;
      while (Number.isNaN(at(first))) first++;
      let last = length - 1;
      while (Number.isNaN(at(last))) last--;
      let n = 0;
      for (let i = 0; i < length; i++) {
        const v = i < first ? at(first) : i > last ? at(last) : at(i);
        if (Number.isNaN(v)) continue;
        tau[n] = times[i];
        y[n] = v;
        n++;
      }
      naturalSpline(tau, y, n, coef);
      // Re-express the spline piece containing each original piece [t_k, t_{k+1}].
      let j = 0;
      for (let k = 0; k < pieces; k++) {
        while (j < n - 2 && tau[j + 1] <= times[k]) j++;
        const o = times[k] - tau[j];
        const [a0, b0, c0, d0] = coef.subarray(4 * j, 4 * j + 4);
        const a = a0 + o * (b0 + o * (c0 + o * d0));
        const bk = b0 + o * (2 * c0 + 3 * d0 * o);
        const ck = c0 + 3 * d0 * o;
        const base = (b * pieces + k) * 4 * channels + c;
        out[base] = a;
        out[base + channels] = bk;
        out[base + 2 * channels] = 2 * ck;
        out[base + 3 * channels] = 3 * d0;
      }
    }
  }
  return tf.tensor3d(out, [batch, pieces, 4 * channels]);
}

/**
 * {@link naturalCubicCoeffs} and `CubicSpline` in one call: the natural cubic spline of `x` at
 * times `t`.
 *
 * @example The second derivative vanishes at both ends
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { naturalCubicSpline } from "@fasterode/fasterode/models/cde";
 * const x = tf.tensor3d([[[0], [2], [1], [3]]]);
 * const X = await naturalCubicSpline(x, [0, 1, 2.5, 3]);
 * const h = 1e-3;
 * const [d0, d1] = [X.derivative(0), X.derivative(h)];
 * const second = ((await d1.data())[0] - (await d0.data())[0]) / h;
 * assert.ok(Math.abs(second) < 1e-2);
 * tf.dispose([x, d0, d1]);
 * X.dispose();
 * ```
 */
export async function naturalCubicSpline(
  x: tf.Tensor,
  t?: ArrayLike<number>,
): Promise<CubicSpline> {
  const coeffs = await naturalCubicCoeffs(x, t);
  try {
    return new CubicSpline(coeffs, t);
  } finally {
    coeffs.dispose();
  }
}
