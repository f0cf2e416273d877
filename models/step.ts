/**
 * The one shape of a training step, from the solver to the optimiser: what a model's training
 * step returns and the training harness (`experiments/harness/`) consumes as it is.
 *
 * @module
 */
import type { Gradients, SolveStats } from "../mod.ts";

/**
 * Loss, gradients and solve statistics of one training step on one batch: usually
 * `adjointValueAndGrads`'s `value` (as `loss`), `grads`, `forward` and `backward`, plus the
 * batch's size and, for a classifier, the number correct.
 *
 * @example A step result built from `adjointValueAndGrads`
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { adjointValueAndGrads, odeintAdjoint } from "@fasterode/fasterode";
 * import type { StepResult } from "@fasterode/fasterode/models";
 *
 * const rate = tf.variable(tf.scalar(-1), true, "step_doc_rate"); // y' = rate·y
 * const y0 = tf.tensor2d([[1], [2]]);                               // a batch of 2
 * const r = await adjointValueAndGrads({
 *   before: () => y0,
 *   solve: (y) => odeintAdjoint((_t, z) => tf.mul(rate, z), y, [0, 1], [rate]),
 *   after: (ys) => tf.mean(tf.slice(ys, [1, 0, 0], [1, -1, -1])),  // mean y(1)
 * }, [rate]);
 * const step: StepResult = {
 *   loss: r.value, count: 2, grads: r.grads, forward: r.forward, backward: r.backward,
 * };
 * assert.ok(Math.abs(step.loss - 1.5 * Math.exp(-1)) < 1e-4);
 * tf.dispose([y0, rate, step.grads]);
 * ```
 */
export interface StepResult {
  /** Mean loss over the batch's examples. */
  loss: number;
  /** Correctly classified examples; absent for regression. */
  correct?: number;
  /** Examples in the batch (weights `loss` in a split's mean). */
  count: number;
  /**
   * `dL/dv` for every variable of the model, by name (`Gradients`: what every tfjs optimizer's
   * `applyGradients` takes without a cast); the caller disposes them.
   */
  grads: Gradients;
  /** Forward-solve statistics (summed over the batch's solves if there are several). */
  forward: SolveStats;
  /** Backward-solve statistics. */
  backward: SolveStats;
}
