/**
 * Hermite cubic splines with backward differences (torchcde's
 * `hermite_cubic_coefficients_with_backward_differences`): a C¹ path, "kind of" causal, that
 * torchcde recommends with adaptive solvers because `dX/dt` has no jumps.
 *
 * On each piece `[t_k, t_{k+1}]` the path is the cubic Hermite interpolant with values
 * `x_k, x_{k+1}` and slopes `m_{k−1}, m_k` at the two ends, where
 * `m_k = (x_{k+1} − x_k)/(t_{k+1} − t_k)` is the slope of the linear interpolation and
 * `m_{−1} := m_0`. So the derivative at a knot is the slope of the piece before it: continuous,
 * and known once the previous observation is. Missing values are filled first exactly as for
 * linear interpolation. The coefficients are computed on the host (float64) from one read of
 * the data.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { checkKnots, checkPath, CubicSpline } from "./control_path.ts";
import { readFilledPath } from "./missing.ts";

/**
 * The Hermite cubic coefficients of `x` (`[batch, length, channels]`, NaN = missing) at times
 * `t` (default `0, 1, …, length − 1`): `[batch, length − 1, 4·channels]` in torchcde's
 * `[a, b, 2c, 3d]` layout, for `new CubicSpline(coeffs, t)`.
 *
 * ```
 * a = x_k    b = m_{k−1}    c = (3·Δx/Δt − 2·m_{k−1} − m_k)/Δt    d = (m_{k−1} + m_k − 2·Δx/Δt)/Δt²
 * ```
 *
 * with `Δx/Δt = m_k`, so `c = 2(m_k − m_{k−1})/Δt` and `d = (m_{k−1} − m_k)/Δt²`.
 *
 * @example A straight line is reproduced exactly
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { hermiteCubicCoeffs, CubicSpline } from "@fasterode/fasterode/models/cde";
 * const t = [0, 1, 3];
 * const x = tf.tensor3d([[[1], [3], [7]]]);          // x = 1 + 2t
 * const coeffs = await hermiteCubicCoeffs(x, t);
 * const X = new CubicSpline(coeffs, t);
 * const [v, d] = [X.evaluate(2), X.derivative(2)];
 * assert.ok(Math.abs((await v.data())[0] - 5) < 1e-6);
 * assert.ok(Math.abs((await d.data())[0] - 2) < 1e-6);
 * tf.dispose([x, coeffs, v, d]);
 * X.dispose();
 * ```
 */
export async function hermiteCubicCoeffs(
  x: tf.Tensor,
  t?: ArrayLike<number>,
): Promise<tf.Tensor3D> {
  const [batch, length, channels] = checkPath(x);
  const times = checkKnots(t, length);
  const data = await readFilledPath(x, times);
  const pieces = length - 1;
  const out = new Float32Array(batch * pieces * 4 * channels);
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < channels; c++) {
      const at = (i: number) => data[(b * length + i) * channels + c];
      let prev = (at(1) - at(0)) / (times[1] - times[0]); // m_{−1} := m_0
      for (let k = 0; k < pieces; k++) {
        // The cubic through x_k, x_{k+1} with end slopes m_{k−1}, m_k, where Δx/Δt = m_k.
        const dt = times[k + 1] - times[k];
        const slope = (at(k + 1) - at(k)) / dt;
        const jump = slope - prev;
        const base = (b * pieces + k) * 4 * channels + c;
        out[base] = at(k);
        out[base + channels] = prev;
        out[base + 2 * channels] = 2 * (2 * jump / dt); // 2c
        out[base + 3 * channels] = 3 * (-jump / (dt * dt)); // 3d
        prev = slope;
      }
    }
  }
  return tf.tensor3d(out, [batch, pieces, 4 * channels]);
}

/**
 * {@link hermiteCubicCoeffs} and `CubicSpline` in one call: the Hermite cubic path (with
 * backward differences) of `x` at times `t`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { hermiteCubicInterpolation } from "@fasterode/fasterode/models/cde";
 * const x = tf.tensor3d([[[0], [1], [1]]]);
 * const X = await hermiteCubicInterpolation(x);      // t = 0, 1, 2
 * const [left, right] = [X.derivative(1 - 1e-7), X.derivative(1 + 1e-7)];
 * // C¹: the slope at t = 1 is the slope of the previous piece, 1, from both sides.
 * assert.ok(Math.abs((await left.data())[0] - 1) < 1e-5);
 * assert.ok(Math.abs((await right.data())[0] - 1) < 1e-5);
 * tf.dispose([x, left, right]);
 * X.dispose();
 * ```
 */
export async function hermiteCubicInterpolation(
  x: tf.Tensor,
  t?: ArrayLike<number>,
): Promise<CubicSpline> {
  const coeffs = await hermiteCubicCoeffs(x, t);
  try {
    return new CubicSpline(coeffs, t);
  } finally {
    coeffs.dispose();
  }
}
