/**
 * torchcde's handling of missing (NaN) observations in the data of a control path: reading the
 * data to the host with checks ({@link readPath}: no ±Infinity, no series without any
 * observation) and filling the missing values linearly in time ({@link fillMissing},
 * {@link readFilledPath}), per sample and channel.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { checkKnots, checkPath } from "./control_path.ts";

/** One missing-value problem, described for an error message. */
function describe(b: number, c: number): string {
  return `sample ${b}, channel ${c}`;
}

/**
 * Reads `x` to the host, checking that no value is ±Infinity and that every (sample, channel)
 * series has at least one observation (a non-NaN value).
 */
async function readObserved(x: tf.Tensor, what: string): Promise<Float32Array> {
  const [batch, length, channels] = checkPath(x, what);
  const data = Float32Array.from(await x.data() as Float32Array);
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < channels; c++) {
      let seen = false;
      for (let i = 0; i < length; i++) {
        const v = data[(b * length + i) * channels + c];
        if (v === Infinity || v === -Infinity) {
          throw new RangeError(`${what}[${b}, ${i}, ${c}] is ${v}; use NaN for a missing value`);
        }
        if (!Number.isNaN(v)) seen = true;
      }
      if (!seen) {
        throw new RangeError(
          `${what} has no observation at all for ${describe(b, c)} (every value is NaN): ` +
            `a path cannot be interpolated from nothing; drop the sample or fill that channel`,
        );
      }
    }
  }
  return data;
}

/** Whether every value of `x` is finite (one reduction read back). */
async function allFinite(x: tf.Tensor): Promise<boolean> {
  const probe = tf.tidy(() => tf.sum(tf.mul(x, 0)));
  try {
    return (await probe.data())[0] === 0;
  } finally {
    probe.dispose();
  }
}

/** Fills NaNs in place, linearly in time per (sample, channel); ends take the nearest value. */
function fillLinear(
  data: Float32Array,
  [batch, length, channels]: [number, number, number],
  times: number[],
): void {
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < channels; c++) {
      const at = (i: number) => (b * length + i) * channels + c;
      let prev = -1; // last observed index
      for (let i = 0; i <= length; i++) {
        if (i < length && Number.isNaN(data[at(i)])) continue;
        // i is observed (or the end): fill the gap (prev, i).
        for (let j = prev + 1; j < i; j++) {
          if (prev < 0) data[at(j)] = data[at(i)];
          else if (i === length) data[at(j)] = data[at(prev)];
          else {
            const x0 = data[at(prev)];
            const x1 = data[at(i)];
            const r = (times[j] - times[prev]) / (times[i] - times[prev]);
            data[at(j)] = x0 + r * (x1 - x0);
          }
        }
        prev = i;
      }
    }
  }
}

/**
 * The observed values of `x` with missing (NaN) ones filled as torchcde's
 * `linear_interpolation_coeffs` does, per sample and channel: a NaN between two observations
 * is linearly interpolated in time between them; NaNs before the first observation take its
 * value and NaNs after the last one take the last value. Returns a new tensor (a copy when
 * nothing is missing). A series with no observation at all, or a ±Infinity, is an error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { fillMissing } from "@fasterode/fasterode/models/cde";
 * const x = tf.tensor3d([[[NaN], [1], [NaN], [NaN], [7], [NaN]]]);
 * const filled = await fillMissing(x, [0, 1, 2, 3, 4, 5]);
 * assert.deepEqual(Array.from(await filled.data()), [1, 1, 3, 5, 7, 7]);
 * tf.dispose([x, filled]);
 * ```
 */
export async function fillMissing(
  x: tf.Tensor,
  t?: ArrayLike<number>,
  what = "x",
): Promise<tf.Tensor3D> {
  const shape = checkPath(x, what);
  checkKnots(t, shape[1]);
  if (await allFinite(x)) return tf.clone(x) as tf.Tensor3D;
  return tf.tensor3d(await readFilledPath(x, t, what), shape);
}

/**
 * Reads `x` (`[batch, length, channels]`) to the host as float32 values, for coefficients
 * computed there, after the same checks as {@link fillMissing} (no ±Infinity, no series
 * without observations); NaNs are kept.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { readPath } from "@fasterode/fasterode/models/cde";
 * const x = tf.tensor3d([[[NaN], [NaN]], [[1], [2]]]);
 * await assert.rejects(readPath(x), /sample 0, channel 0/);
 * x.dispose();
 * ```
 */
export async function readPath(x: tf.Tensor, what = "x"): Promise<Float32Array> {
  return await readObserved(x, what);
}

/**
 * {@link readPath} with the missing values filled as {@link fillMissing} fills them: the
 * host-side values of the linear interpolation's knots.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { readFilledPath } from "@fasterode/fasterode/models/cde";
 * const x = tf.tensor3d([[[0], [NaN], [4]]]);
 * assert.deepEqual(Array.from(await readFilledPath(x, [0, 3, 4])), [0, 3, 4]);
 * x.dispose();
 * ```
 */
export async function readFilledPath(
  x: tf.Tensor,
  t?: ArrayLike<number>,
  what = "x",
): Promise<Float32Array> {
  const shape = checkPath(x, what);
  const times = checkKnots(t, shape[1]);
  const data = await readObserved(x, what);
  fillLinear(data, shape, times);
  return data;
}
