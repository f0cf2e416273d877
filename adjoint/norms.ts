/**
 * Norms for the backward (adjoint) solve, over the structured state `{ y, adjY, adjParams }`.
 *
 * - `"default"`: `max(‖y‖, ‖a_y‖, rms(a_θ₁), rms(a_θ₂), …)`, every parameter tensor's adjoint
 *   on its own scale (torchdiffeq ≥ 0.2).
 * - `"seminorm"`: `max(‖y‖, ‖a_y‖)`. The parameter adjoints `a_θ` are integrals that never feed
 *   back into the dynamics, so their accuracy does not need to limit the step size; dropping
 *   them from the norm is what makes the backward solve cheaper (Kidger, Chen & Lyons, 2021).
 * - any function of `{ y, adjY, adjParams }` returning a scalar.
 *
 * `‖·‖` is the forward solve's norm (RMS for one tensor, max of per-tensor RMS for a tuple).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { mixedNorm, type Norm, rmsGroupsOf, withRmsGroups } from "../solvers/norms.ts";

/** The backward state as a norm sees it: the scaled error of each part. */
export interface AdjointState {
  /** The state `z` (its tensors). */
  y: tf.Tensor[];
  /** Its adjoint `a_z = dL/dz`. */
  adjY: tf.Tensor[];
  /** The parameter adjoints `a_θ`, one per parameter tensor. */
  adjParams: tf.Tensor[];
}

/** A norm over the structured backward state. */
export type AdjointNorm = (state: AdjointState) => tf.Scalar;

/** The named backward norms: `"default"` (every channel) and `"seminorm"` (no `a_θ`). */
export type NormName = "default" | "seminorm";

/**
 * The named backward norms, the default norm first (the order experiments compare them in).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NORM_NAMES } from "@fasterode/fasterode";
 * assert.deepEqual(NORM_NAMES, ["default", "seminorm"]);
 * ```
 */
export const NORM_NAMES: readonly NormName[] = Object.freeze(["default", "seminorm"]);

/** What `adjoint.norm` accepts: a named norm or a function of the structured state. */
export type AdjointNormSpec = NormName | AdjointNorm;

/**
 * The adjoint norm for `spec`, as a plain {@link Norm} over the backward solve's flat tuple
 * `[...y, ...adjY, ...adjParams]` (`nY` tensors each for `y` and `adjY`). `stateNorm` measures
 * `y` and `adjY`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import assert from "node:assert/strict";
 * import { adjointNorm, rmsNorm } from "@fasterode/fasterode";
 * const parts = [tf.tensor([0.1]), tf.tensor([0.2]), tf.tensor([5])]; // y, adjY, one a_θ
 * const full = adjointNorm("default", rmsNorm, 1);
 * const semi = adjointNorm("seminorm", rmsNorm, 1);
 * assert.ok(Math.abs((await full(parts).data())[0] - 5) < 1e-6);
 * assert.ok(Math.abs((await semi(parts).data())[0] - 0.2) < 1e-6);
 * ```
 */
export function adjointNorm(spec: AdjointNormSpec, stateNorm: Norm, nY: number): Norm {
  const split = (parts: tf.Tensor[]): AdjointState => ({
    y: parts.slice(0, nY),
    adjY: parts.slice(nY, 2 * nY),
    adjParams: parts.slice(2 * nY),
  });
  if (typeof spec === "function") return (parts) => spec(split(parts));
  if (!(NORM_NAMES as readonly unknown[]).includes(spec)) {
    throw new TypeError(`Unknown adjoint norm "${spec}"; use "default", "seminorm" or a function`);
  }
  const norm: Norm = (parts) =>
    tf.tidy(() => {
      const { y, adjY, adjParams } = split(parts);
      const norms = [stateNorm(y), stateNorm(adjY)];
      if (spec === "default" && adjParams.length > 0) norms.push(mixedNorm(adjParams));
      return tf.max(tf.stack(norms)) as tf.Scalar;
    });
  // When ‖·‖ is itself a largest RMS over groups (the default RMS and mixed norms), so is this
  // norm: the solver then computes it fused, and skips a_θ altogether under the seminorm.
  const stateGroups = rmsGroupsOf(stateNorm);
  if (stateGroups === undefined) return norm;
  return withRmsGroups(norm, (nParts) => {
    const g = stateGroups(nY);
    const groups = [...g, ...g.map((group) => group.map((i) => i + nY))];
    if (spec === "default") {
      for (let i = 2 * nY; i < nParts; i++) groups.push([i]);
    }
    return groups;
  });
}
