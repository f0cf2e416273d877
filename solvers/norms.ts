/**
 * Norms for step-size control.
 *
 * A norm maps the scaled error `err / (atol + rtol·max(|y0|, |y1|))`, given as the list of the
 * state's tensors, to a scalar; a step is accepted when it is at most 1. Any function of that
 * list works (`(parts) => tf.max(tf.abs(parts[0]))`, a weighted RMS, …).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** A norm over the tensors of a state; returns a scalar. */
export type Norm = (parts: tf.Tensor[]) => tf.Scalar;

/**
 * Root mean square over every element of every tensor: `sqrt(Σ x² / n)`. Default for a state
 * that is one tensor.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { rmsNorm } from "./norms.ts";
 * const r = rmsNorm([tf.tensor([3, 4]), tf.tensor([0, 0])]);  // sqrt(25 / 4)
 * assert.ok(Math.abs((await r.data())[0] - 2.5) < 1e-6);
 * ```
 */
export function rmsNorm(parts: tf.Tensor[]): tf.Scalar {
  return tf.tidy(() => {
    if (parts.length === 1) return tf.sqrt(tf.mean(tf.square(parts[0]))) as tf.Scalar;
    const n = parts.reduce((acc, p) => acc + p.size, 0);
    const sumSq = tf.addN(parts.map((p) => tf.sum(tf.square(p))));
    return tf.sqrt(tf.div(sumSq, n)) as tf.Scalar;
  });
}

/**
 * Largest absolute value over all tensors (the L∞ norm).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { maxNorm } from "./norms.ts";
 * const r = maxNorm([tf.tensor([3, -4]), tf.tensor([1])]);
 * assert.ok((await r.data())[0] === 4);
 * ```
 */
export function maxNorm(parts: tf.Tensor[]): tf.Scalar {
  return tf.tidy(() => {
    const maxes = parts.map((p) => tf.max(tf.abs(p)));
    return (maxes.length === 1 ? maxes[0] : tf.max(tf.stack(maxes))) as tf.Scalar;
  });
}

/**
 * Mixed norm: the largest of the per-tensor RMS values, so that each tensor of a tuple state is
 * controlled on its own scale. Default for tuple states. Zero for an empty list.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { mixedNorm } from "./norms.ts";
 * const r = mixedNorm([tf.tensor([3, 4]), tf.tensor([1, 1])]);  // max(sqrt(12.5), 1)
 * assert.ok(Math.abs((await r.data())[0] - Math.sqrt(12.5)) < 1e-6);
 * ```
 */
export function mixedNorm(parts: tf.Tensor[]): tf.Scalar {
  return tf.tidy(() => {
    if (parts.length === 0) return tf.scalar(0);
    const rms = parts.map((p) => tf.sqrt(tf.mean(tf.square(p))));
    return (rms.length === 1 ? rms[0] : tf.max(tf.stack(rms))) as tf.Scalar;
  });
}
