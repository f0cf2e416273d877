/**
 * The divergence `tr(∂f/∂z)` of a CNF's velocity field, and the squared Frobenius norm
 * `‖∂f/∂z‖²_F` of RNODE's Jacobian regulariser, from Jacobian–vector products with probes:
 *
 * - **exact**: the `D` basis vectors `e_k` as probes, `tr J = Σ_k e_kᵀ J e_k` and
 *   `‖J‖²_F = Σ_k ‖J e_k‖²` (D products per example: for small dimensions);
 * - **Hutchinson**: one random probe `ε` with `E[ε εᵀ] = I` (Rademacher ±1 or standard
 *   Gaussian), `tr J ≈ εᵀ J ε` and `‖J‖²_F ≈ ‖J ε‖²`, both unbiased (FFJORD; RNODE). The probe
 *   is drawn once per solve and held fixed through it, so the field stays a deterministic
 *   ODE the adaptive solver and the adjoint can integrate.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { normalSamples } from "./normal.ts";
import type { CnfVelocity } from "./velocity.ts";

/** How the divergence is computed. */
export type TraceEstimator = "exact" | "hutchinson";

/** The distribution of Hutchinson's probes. */
export type ProbeNoise = "rademacher" | "gaussian";

/**
 * The basis probes of the exact trace: `[batch, D, D]`, probe `k` of every example `e_k`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { exactProbes } from "@fasterode/fasterode/models/cnf";
 * const v = exactProbes(2, 3);
 * assert.deepEqual(v.shape, [2, 3, 3]);
 * assert.equal(v.sum().dataSync()[0], 6);
 * v.dispose();
 * ```
 */
export function exactProbes(batch: number, dim: number): tf.Tensor3D {
  return tf.tidy(() => tf.tile(tf.reshape(tf.eye(dim), [1, dim, dim]), [batch, 1, 1]));
}

/**
 * `count` Hutchinson probes per example, `[batch, count, D]`, drawn from `random`: Rademacher
 * (±1 with probability ½ each) or standard Gaussian; either has `E[ε εᵀ] = I`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { seededRandom } from "@fasterode/fasterode/models/data";
 * import { hutchinsonProbes } from "@fasterode/fasterode/models/cnf";
 * const v = hutchinsonProbes(4, 1, 2, "rademacher", seededRandom(1));
 * assert.deepEqual(v.shape, [4, 1, 2]);
 * assert.ok(Array.from(v.dataSync()).every((x) => x === 1 || x === -1));
 * v.dispose();
 * ```
 */
export function hutchinsonProbes(
  batch: number,
  count: number,
  dim: number,
  noise: ProbeNoise,
  random: () => number,
): tf.Tensor3D {
  const n = batch * count * dim;
  let values: Float32Array;
  if (noise === "rademacher") {
    values = new Float32Array(n);
    for (let i = 0; i < n; i++) values[i] = random() < 0.5 ? -1 : 1;
  } else if (noise === "gaussian") {
    values = normalSamples(n, random);
  } else {
    throw new RangeError(`probe noise must be "rademacher" or "gaussian", got "${noise}"`);
  }
  return tf.tensor3d(values, [batch, count, dim]);
}

/** What {@link divergence} returns. */
export interface Divergence {
  /** `f(t, z)` `[B, D]`. */
  value: tf.Tensor2D;
  /** `tr(∂f/∂z)` per example, `[B, 1]` (exact or estimated). */
  trace: tf.Tensor2D;
  /** `‖∂f/∂z‖²_F` per example, `[B, 1]` (exact or estimated). */
  frobenius: tf.Tensor2D;
}

/**
 * The field's value, divergence and squared Jacobian Frobenius norm at `(t, z)` from the probes
 * `v` `[B, K, D]`: exact (`v` from {@link exactProbes}, sums over the `D` probes) or
 * Hutchinson's estimate (means over the `K` random probes).
 *
 * @example The exact trace of a linear field `f(z) = z·A` is `tr A`
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { divergence, exactProbes } from "@fasterode/fasterode/models/cnf";
 * const A = tf.tensor2d([[1, 2], [3, -4]]);
 * const linear = {
 *   dim: 2, variables: [],
 *   value: (_t: number, z: tf.Tensor2D) => tf.matMul(z, A) as tf.Tensor2D,
 *   jvp: (_t: number, z: tf.Tensor2D, v: tf.Tensor3D) => ({
 *     value: tf.matMul(z, A) as tf.Tensor2D,
 *     jv: tf.reshape(tf.matMul(tf.reshape(v, [-1, 2]), A), v.shape) as tf.Tensor3D,
 *   }),
 * };
 * const d = divergence(linear, 0, tf.tensor2d([[1, 1]]), exactProbes(1, 2), "exact");
 * assert.equal(d.trace.dataSync()[0], -3);
 * assert.equal(d.frobenius.dataSync()[0], 1 + 4 + 9 + 16);
 * ```
 */
export function divergence(
  velocity: CnfVelocity,
  t: number,
  z: tf.Tensor2D,
  v: tf.Tensor3D,
  estimator: TraceEstimator,
): Divergence {
  return tf.tidy(() => {
    const { value, jv } = velocity.jvp(t, z, v);
    const scale = estimator === "exact" ? 1 : 1 / v.shape[1];
    const B = z.shape[0];
    const trace = tf.reshape(tf.mul(tf.sum(tf.mul(jv, v), [1, 2]), scale), [B, 1]) as tf.Tensor2D;
    const frobenius = tf.reshape(
      tf.mul(tf.sum(tf.square(jv), [1, 2]), scale),
      [B, 1],
    ) as tf.Tensor2D;
    return { value, trace, frobenius };
  });
}
