/**
 * What the training harness trains: a {@link Trainable} (its variables and a step computing
 * one batch's loss and gradients), what the harness tells the step ({@link StepOptions}) and
 * what the step returns ({@link TrainStepResult}: a model's `StepResult` as it is, or the same
 * with gradients from `tf.variableGrads`), with the checks the harness applies to both.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { StepResult } from "../../models/mod.ts";
import type { Split } from "./splits.ts";

export type { StepResult };

/**
 * What {@link Trainable.step} returns: a model's {@link StepResult}, whose `grads` may be any
 * `tf.NamedTensorMap` (a model's `Gradients`, or `tf.variableGrads`'s `grads`: the harness's
 * optimizer takes both).
 */
export type TrainStepResult = Omit<StepResult, "grads"> & { grads: tf.NamedTensorMap };

/** What the harness tells {@link Trainable.step}. */
export interface StepOptions {
  /**
   * Record the time of every evaluation and step: pass it on as the model step's `record`
   * (the forward solve's, which the backward solve inherits). True only in metric passes of a
   * run with `recordTimes`.
   */
  record: boolean;
  /** True in training epochs (the gradients are then applied), false in metric passes. */
  training: boolean;
}

/**
 * A model the harness can train: its variables and a step computing loss and gradients of one
 * batch, usually a model's own training step returned as it is, e.g.
 * `step: (batch, { record }) => model.lossAndGrads(batch.X, batch.y, { record, adjoint })`.
 */
export interface Trainable<B> {
  /** The trained variables (distinct names; every one needs a gradient in every step). */
  variables: tf.Variable[];
  /** Loss and gradients of one batch. Must not dispose `batch` (the harness does). */
  step(batch: B, options: StepOptions): Promise<TrainStepResult>;
  /** A description for the result file (the paper's code stored `str(model)`). */
  description?: string;
}

/**
 * Checks that `model` is a {@link Trainable}: a `step` method and distinctly named
 * `tf.Variable`s. Throws a `TypeError` naming the fault.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkModel } from "./trainable.ts";
 * assert.throws(() => checkModel({ variables: [], step: async () => ({}) } as never), TypeError);
 * ```
 */
export function checkModel<B>(model: Trainable<B>): void {
  if (model === null || typeof model !== "object" || typeof model.step !== "function") {
    throw new TypeError("train: model must have a step(batch, options) method");
  }
  if (!Array.isArray(model.variables) || model.variables.length === 0) {
    throw new TypeError("train: model.variables must be a non-empty array of tf.Variable");
  }
  const names = new Set<string>();
  for (const v of model.variables) {
    if (!(v instanceof tf.Variable)) {
      throw new TypeError("train: model.variables must be tf.Variables");
    }
    if (names.has(v.name)) throw new TypeError(`train: two variables are named "${v.name}"`);
    names.add(v.name);
  }
}

/**
 * Runs `model.step` on the batch of `indices` of `split`, disposes the batch, and checks the
 * result (a `TypeError` naming the fault, after disposing its gradients).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { tensorSplit, type Trainable } from "@fasterode/fasterode/experiments";
 * import { runStep } from "./trainable.ts";
 * const w = tf.variable(tf.scalar(1), true, "run_step_doc_w");
 * const stats = { nfe: 8, nAccepted: 1, nRejected: 0 };
 * const model: Trainable<{ x: tf.Tensor }> = {
 *   variables: [w],
 *   async step(batch) {
 *     return { loss: 0, count: batch.x.shape[0], grads: { [w.name]: tf.zerosLike(w) },
 *       forward: stats, backward: stats };
 *   },
 * };
 * const x = tf.tensor1d([1, 2, 3]);
 * const out = await runStep(model, tensorSplit({ x }), [0, 2], { record: false, training: true });
 * assert.equal(out.count, 2);
 * tf.dispose([x, w, out.grads]);
 * ```
 */
export async function runStep<B>(
  model: Trainable<B>,
  split: Split<B>,
  indices: number[],
  options: StepOptions,
): Promise<TrainStepResult> {
  const batch = split.batch(indices);
  let out: TrainStepResult;
  try {
    out = await model.step(batch, options);
  } finally {
    tf.dispose(batch as unknown as tf.TensorContainer);
  }
  const problem = (() => {
    if (out === null || typeof out !== "object") return "returned no result";
    if (typeof out.loss !== "number") return "returned a non-number loss";
    if (!(Number.isInteger(out.count) && out.count >= 1)) {
      return `returned count ${out.count} (need an integer >= 1)`;
    }
    if (out.correct !== undefined && !(out.correct >= 0 && out.correct <= out.count)) {
      return `returned correct ${out.correct} outside [0, count]`;
    }
    if (out.grads === null || typeof out.grads !== "object") return "returned no grads";
    if (!out.forward || !out.backward) return "returned no forward/backward SolveStats";
    if (
      options.record &&
      [out.forward, out.backward].some((s) => !s.evalTs || !s.acceptTs || !s.rejectTs)
    ) {
      return "was asked to record but its stats have no evalTs/acceptTs/rejectTs " +
        "(run the solves with record: true)";
    }
    return null;
  })();
  if (problem !== null) {
    if (out?.grads) tf.dispose(out.grads);
    throw new TypeError(`model.step ${problem}`);
  }
  return out;
}
