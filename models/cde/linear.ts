/**
 * Linear interpolation of batched, irregular, partly missing time series (torchcde's
 * `linear_interpolation_coeffs` and `LinearInterpolation`): the control path of the paper's
 * Speech Commands Neural CDE.
 *
 * `X(t) = x_k + (t − t_k)·(x_{k+1} − x_k)/(t_{k+1} − t_k)` on `[t_k, t_{k+1}]`. The path is
 * continuous but `dX/dt` jumps at every knot, so all knots are its `jumpTimes`: an adaptive
 * solver should step exactly to them (`cdeint` passes them as `jumpT` by default).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { checkKnots, PiecewisePolynomial } from "./control_path.ts";
import { fillMissing } from "./missing.ts";

/**
 * The coefficients of the linear interpolation of `x` (`[batch, length, channels]`, NaN =
 * missing) at times `t` (default `0, 1, …, length − 1`): `x` with its missing values filled
 * as torchcde does (linearly between observations, the first/last observation carried to the
 * ends). Compute them once per dataset and slice batches from them. Throws, naming the sample
 * and channel, when a series has no observation at all.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { linearInterpolationCoeffs } from "@fasterode/fasterode/models/cde";
 * const x = tf.tensor3d([[[1], [NaN], [4]]]);
 * const coeffs = await linearInterpolationCoeffs(x, [0, 2, 3]);  // filled at t = 2 of [0, 3]
 * assert.deepEqual(Array.from(await coeffs.data()), [1, 3, 4]);
 * tf.dispose([x, coeffs]);
 * ```
 */
export async function linearInterpolationCoeffs(
  x: tf.Tensor,
  t?: ArrayLike<number>,
): Promise<tf.Tensor3D> {
  return await fillMissing(x, t);
}

/**
 * The piecewise-linear path through complete coefficients `[batch, length, channels]` (from
 * {@link linearInterpolationCoeffs}; they must contain no NaN) at knot times `t` (default
 * `0, 1, …, length − 1`). The coefficients are copied; dispose the interpolation when done.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { LinearInterpolation } from "@fasterode/fasterode/models/cde";
 * const coeffs = tf.tensor3d([[[0, 1], [2, 1], [2, 5]]]);   // 1 path, 2 channels, 3 knots
 * const X = new LinearInterpolation(coeffs, [0, 1, 3]);
 * const x = X.evaluate(2);
 * const dx = X.derivative(2);
 * assert.deepEqual(Array.from(await x.data()), [2, 3]);
 * assert.deepEqual(Array.from(await dx.data()), [0, 2]);
 * assert.deepEqual(X.jumpTimes, [0, 1, 3]);
 * tf.dispose([coeffs, x, dx]);
 * X.dispose();
 * ```
 */
export class LinearInterpolation extends PiecewisePolynomial {
  /** `coeffs`: complete values `[batch, length, channels]`; `t`: their `length` knot times. */
  constructor(coeffs: tf.Tensor, t?: ArrayLike<number>) {
    if (!(coeffs instanceof tf.Tensor) || coeffs.rank !== 3) {
      throw new RangeError(
        "linear coefficients must be a tf.Tensor [batch, length, channels] " +
          "(see linearInterpolationCoeffs)",
      );
    }
    const [batch, length, channels] = coeffs.shape as number[];
    if (length < 2) throw new RangeError(`need at least 2 knots; length is ${length}`);
    const times = checkKnots(t, length);
    const pieces = length - 1;
    const n = batch * channels;
    const table = tf.tidy(() => {
      // Knot-major [length, batch·channels], so that every operation below is a contiguous
      // slice, a concatenation or a same-shape elementwise op (fast on every backend; tfjs's
      // cpu backend is slow at strided slices and most broadcasts).
      const xt = tf.reshape(tf.transpose(coeffs, [1, 0, 2]), [length, n]);
      const x0 = tf.slice(xt, [0, 0], [pieces, n]);
      const x1 = tf.slice(xt, [1, 0], [pieces, n]);
      const slope = tf.mul(tf.sub(x1, x0), reciprocalSteps(times, n));
      return tf.stack([x0, slope], 1) as tf.Tensor3D; // [pieces, 2, n]
    });
    super(table, batch, channels, times, { jumps: true });
  }
}

/**
 * `1/(t_{k+1} − t_k)` for every piece `k`, as a scalar when the knots are equally spaced (up to
 * float32 rounding), else repeated over the `n` columns: `[pieces, n]`.
 */
function reciprocalSteps(times: number[], n: number): tf.Tensor {
  const inv = times.slice(1).map((ti, i) => 1 / (ti - times[i]));
  if (inv.every((v) => Math.fround(v) === Math.fround(inv[0]))) return tf.scalar(inv[0]);
  const full = new Float32Array(inv.length * n);
  inv.forEach((v, k) => full.fill(v, k * n, (k + 1) * n));
  return tf.tensor2d(full, [inv.length, n]);
}

/**
 * {@link linearInterpolationCoeffs} and {@link LinearInterpolation} in one call: the linear
 * interpolation of `x` (`[batch, length, channels]`, NaN = missing) at times `t`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { linearInterpolation } from "@fasterode/fasterode/models/cde";
 * const x = tf.tensor3d([[[0], [NaN], [6]]]);
 * const X = await linearInterpolation(x);            // t = 0, 1, 2
 * const mid = X.evaluate(0.5);
 * assert.deepEqual(Array.from(await mid.data()), [1.5]);
 * tf.dispose([x, mid]);
 * X.dispose();
 * ```
 */
export async function linearInterpolation(
  x: tf.Tensor,
  t?: ArrayLike<number>,
): Promise<LinearInterpolation> {
  const coeffs = await linearInterpolationCoeffs(x, t);
  try {
    return new LinearInterpolation(coeffs, t);
  } finally {
    coeffs.dispose();
  }
}
