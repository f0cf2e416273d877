/**
 * Rectilinear interpolation (torchcde's `linear_interpolation_coeffs(x, rectilinear=i)`): a
 * causal path for data whose own time stamps are channel `i` of `x`, possibly different for
 * every sample.
 *
 * Missing values are filled forward (the last observation is held), then every observation
 * becomes two consecutive knots: the path first moves along the time channel with the features
 * held, then moves the features with the time held. From `L` observations this gives `2L − 1`
 * knots at the parameter values `0, 1, …, 2L − 2` (the time of the CDE; the real time is the
 * path's channel `i`):
 *
 * ```
 * knot 2k:     (t_k,     x_k)
 * knot 2k + 1: (t_{k+1}, x_k)      k = 0 … L − 2
 * knot 2L − 2: (t_{L−1}, x_{L−1})
 * ```
 *
 * The path is then linear between knots, as {@link LinearInterpolation}.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { checkPath } from "./control_path.ts";
import { readPath } from "./missing.ts";
import { LinearInterpolation } from "./linear.ts";

/**
 * The rectilinear coefficients `[batch, 2·length − 1, channels]` of `x`
 * (`[batch, length, channels]`, NaN = missing) whose channel `timeChannel` holds each sample's
 * observation times. Use them with `new LinearInterpolation(coeffs)` (knots `0 … 2·length − 2`).
 *
 * The time channel must be complete (no NaN). Other channels are filled forward; NaNs before
 * a channel's first observation take that first value, which is not causal (torchcde warns
 * about it; here it is documented instead): fill the start of such channels yourself (with the
 * channel mean, say) when causality matters. A channel with no observation at all is an error
 * naming the sample and channel.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { rectilinearInterpolationCoeffs } from "@fasterode/fasterode/models/cde";
 * // channel 0 = time, channel 1 = a feature with a missing value
 * const x = tf.tensor3d([[[0, 5], [2, NaN], [3, 7]]]);
 * const coeffs = await rectilinearInterpolationCoeffs(x, 0);
 * assert.deepEqual(await coeffs.array(), [[[0, 5], [2, 5], [2, 5], [3, 5], [3, 7]]]);
 * tf.dispose([x, coeffs]);
 * ```
 */
export async function rectilinearInterpolationCoeffs(
  x: tf.Tensor,
  timeChannel: number,
): Promise<tf.Tensor3D> {
  const [batch, length, channels] = checkPath(x);
  if (!Number.isInteger(timeChannel) || timeChannel < 0 || timeChannel >= channels) {
    throw new RangeError(
      `timeChannel must be an integer channel index in [0, ${channels - 1}]; got ${timeChannel}`,
    );
  }
  const data = await readPath(x);
  const at = (b: number, i: number, c: number) => (b * length + i) * channels + c;
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < length; i++) {
      const ti = data[at(b, i, timeChannel)];
      if (Number.isNaN(ti)) {
        throw new RangeError(
          `the time channel ${timeChannel} has a missing value at sample ${b}, observation ` +
            `${i}; times must be complete (forward-fill trailing padding times)`,
        );
      }
    }
    for (let c = 0; c < channels; c++) {
      // Forward fill; leading NaNs take the first observation.
      let first = 0;
      while (Number.isNaN(data[at(b, first, c)])) first++;
      for (let i = 0; i < first; i++) data[at(b, i, c)] = data[at(b, first, c)];
      for (let i = first + 1; i < length; i++) {
        if (Number.isNaN(data[at(b, i, c)])) data[at(b, i, c)] = data[at(b, i - 1, c)];
      }
    }
  }
  const n = 2 * length - 1;
  const out = new Float32Array(batch * n * channels);
  for (let b = 0; b < batch; b++) {
    for (let j = 0; j < n; j++) {
      const obs = j >> 1; // the observation whose features this knot holds
      for (let c = 0; c < channels; c++) {
        // Odd knots already carry the next observation's time.
        const src = c === timeChannel && j % 2 === 1 ? obs + 1 : obs;
        out[(b * n + j) * channels + c] = data[at(b, src, c)];
      }
    }
  }
  return tf.tensor3d(out, [batch, n, channels]);
}

/**
 * {@link rectilinearInterpolationCoeffs} and `LinearInterpolation` in one call: the rectilinear
 * path of `x`, parameterised by `s ∈ [0, 2·length − 2]` (solve the CDE over that interval).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { rectilinearInterpolation } from "@fasterode/fasterode/models/cde";
 * const x = tf.tensor3d([[[0, 1], [0.5, 3]]]);       // time channel 0
 * const X = await rectilinearInterpolation(x, 0);
 * assert.deepEqual([X.t0, X.t1], [0, 2]);
 * const dx = X.derivative(0.5);                      // first leg: only time moves
 * assert.deepEqual(Array.from(await dx.data()), [0.5, 0]);
 * tf.dispose([x, dx]);
 * X.dispose();
 * ```
 */
export async function rectilinearInterpolation(
  x: tf.Tensor,
  timeChannel: number,
): Promise<LinearInterpolation> {
  const coeffs = await rectilinearInterpolationCoeffs(x, timeChannel);
  try {
    return new LinearInterpolation(coeffs);
  } finally {
    coeffs.dispose();
  }
}
