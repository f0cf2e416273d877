/**
 * Vector–Jacobian products: the one place that asks the tfjs engine for gradients.
 *
 * `vjp(fn, xs, cotangents)` evaluates `fn()` (which returns a list of tensors) and, in the same
 * pass, `Σ_k ⟨cotangent_k, ∂fn_k/∂x⟩` for every `x` of `xs`, including tensors `fn` only reads
 * through a closure (model variables). Inputs `fn` does not use get zero gradients.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** A function's value and the gradients of `⟨cotangents, value⟩` with respect to `xs`. */
export type VjpResult = {
  /** `fn()`, one tensor per output. */
  value: tf.Tensor[];
  /** One gradient per `x`, shaped like it (zeros where `fn` does not depend on `x`). */
  grads: tf.Tensor[];
  /** Per `x`, whether the tape reached it from `fn`'s outputs (`false`: its gradient is a 0). */
  reached: boolean[];
};

/**
 * Packs a list of tensors into one new flat tensor (a single tensor is cloned, so the value
 * returned to the caller is always the caller's to dispose, even when `fn` returns a tensor it
 * did not create).
 */
function pack(parts: tf.Tensor[]): tf.Tensor {
  return parts.length === 1 ? tf.clone(parts[0]) : tf.concat(parts.map((p) => tf.reshape(p, [-1])));
}

/**
 * Value and vector–Jacobian product of `fn` in one forward and one backward pass.
 *
 * Runs under the caller's `tf.tidy` (or wrap it in one). Must not be called while another
 * gradient tape is recording around it with the same inputs (tfjs shares one tape).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import assert from "node:assert/strict";
 * import { vjp } from "@fasterode/fasterode";
 * const x = tf.tensor([1, 2]);
 * const w = tf.variable(tf.tensor([3, 4]));
 * const unused = tf.variable(tf.tensor([5]));
 * // fn = [x ⊙ w]; cotangent [1, 1]: gradients are w (for x), x (for w) and 0 (for unused).
 * const { value, grads, reached } = vjp(() => [tf.mul(x, w)], [x, w, unused], [tf.ones([2])]);
 * assert.deepEqual(Array.from(await value[0].data()), [3, 8]);
 * assert.deepEqual(Array.from(await grads[0].data()), [3, 4]);
 * assert.deepEqual(Array.from(await grads[1].data()), [1, 2]);
 * assert.deepEqual(Array.from(await grads[2].data()), [0]);
 * assert.deepEqual(reached, [true, true, false]);
 * ```
 */
export function vjp(fn: () => tf.Tensor[], xs: tf.Tensor[], cotangents: tf.Tensor[]): VjpResult {
  let shapes: number[][] = [];
  const { value, grads } = tf.engine().gradients(
    () => {
      const out = fn();
      shapes = out.map((o) => o.shape);
      return pack(out);
    },
    xs,
    pack(cotangents),
    true,
  );
  const sizes = shapes.map((s) => s.reduce((a, b) => a * b, 1));
  const values = shapes.length === 1
    ? [value]
    : tf.split(value, sizes).map((v, i) => tf.reshape(v, shapes[i]));
  return {
    value: values,
    grads: grads.map((g, i) => g ?? tf.zerosLike(xs[i])),
    reached: grads.map((g) => g != null),
  };
}
