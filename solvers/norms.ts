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
 * Groups of a state's tensors (by index) for a norm of the form "largest RMS over groups":
 * `max_g sqrt(Σ_{p∈g} Σ x_p² / Σ_{p∈g} size_p)`; tensors in no group are not measured.
 */
export type RmsGroups = (nParts: number) => number[][];

const RMS_GROUPS = new WeakMap<Norm, RmsGroups>();

/**
 * Declares that `norm` is the largest RMS over `groups` of the state's tensors, so that the
 * solver may compute it with fewer kernels (one sum of squares per tensor, combined on the host)
 * and skip the tensors it does not measure. `norm` itself must compute the same value: it is
 * still what a solve calls where it has no fused path. Returns `norm`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { rmsGroupsOf, withRmsGroups } from "@fasterode/fasterode";
 * // RMS of the first tensor only.
 * // The RMS of the first tensor only: the other tensors' errors do not limit the steps.
 * const first = withRmsGroups(
 *   (parts: tf.Tensor[]) => tf.sqrt(tf.mean(tf.square(parts[0]))) as tf.Scalar,
 *   () => [[0]],
 * );
 * assert.deepEqual(rmsGroupsOf(first)?.(3), [[0]]);
 * ```
 */
export function withRmsGroups(norm: Norm, groups: RmsGroups): Norm {
  RMS_GROUPS.set(norm, groups);
  return norm;
}

/**
 * The groups declared for `norm` with {@link withRmsGroups}, if any (the default norms declare
 * theirs: {@link rmsNorm} one group of every part, {@link mixedNorm} one group per part).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maxNorm, mixedNorm, rmsGroupsOf, rmsNorm } from "@fasterode/fasterode";
 * assert.deepEqual(rmsGroupsOf(rmsNorm)?.(2), [[0, 1]]);
 * assert.deepEqual(rmsGroupsOf(mixedNorm)?.(2), [[0], [1]]);
 * assert.equal(rmsGroupsOf(maxNorm), undefined);
 * ```
 */
export function rmsGroupsOf(norm: Norm): RmsGroups | undefined {
  return RMS_GROUPS.get(norm);
}

/**
 * Root mean square over every element of every tensor: `sqrt(Σ x² / n)`. Default for a state
 * that is one tensor.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { rmsNorm } from "@fasterode/fasterode";
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
 * import { maxNorm } from "@fasterode/fasterode";
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
 * import { mixedNorm } from "@fasterode/fasterode";
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

withRmsGroups(rmsNorm, (n) => [Array.from({ length: n }, (_, i) => i)]);
withRmsGroups(mixedNorm, (n) => Array.from({ length: n }, (_, i) => [i]));
