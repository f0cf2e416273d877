/**
 * A metric pass: every batch of a split through the model's step without an optimiser step,
 * with the loss, accuracy, forward and backward NFE and step counts summed over the batches,
 * the wall time and, optionally, every evaluation and step time.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Metrics } from "./results.ts";
import { batchIndices, checkSplit, type Split } from "./splits.ts";
import { checkModel, runStep, type Trainable } from "./trainable.ts";

/** Options of {@link evaluate}. */
export interface EvaluateOptions {
  /** Examples per batch. */
  batchSize: number;
  /** Record evaluation and step times (default false). */
  recordTimes?: boolean;
  /** Shuffles the batches when given (e.g. from `seededRandom`). */
  random?: () => number;
  /** Called after each batch. */
  onBatch?: (info: BatchInfo) => void;
}

/** What {@link EvaluateOptions.onBatch} receives. */
export interface BatchInfo {
  /** This batch's number, from 1. */
  batch: number;
  /** Batches in the pass. */
  batches: number;
  /** This batch's loss. */
  loss: number;
  /** This batch's forward NFE. */
  forwardNfe: number;
  /** This batch's backward NFE. */
  backwardNfe: number;
}

async function evaluatePass<B>(
  model: Trainable<B>,
  split: Split<B>,
  options: EvaluateOptions,
): Promise<Metrics> {
  const timestamp = new Date().toISOString();
  const start = performance.now();
  const record = options.recordTimes ?? false;
  const batches = batchIndices(split.size, options.batchSize, options.random);
  let lossSum = 0;
  let count = 0;
  let correct: number | null = null;
  let sawCorrect = false;
  const m = {
    forwardNfe: 0,
    backwardNfe: 0,
    forwardAccepted: 0,
    forwardRejected: 0,
    backwardAccepted: 0,
    backwardRejected: 0,
  };
  const ts = record
    ? {
      forwardTs: [] as number[],
      forwardAcceptTs: [] as number[],
      forwardRejectTs: [] as number[],
      backwardTs: [] as number[],
      backwardAcceptTs: [] as number[],
      backwardRejectTs: [] as number[],
    }
    : null;
  for (let b = 0; b < batches.length; b++) {
    const out = await runStep(model, split, batches[b], { record, training: false });
    tf.dispose(out.grads);
    if (b > 0 && (out.correct !== undefined) !== sawCorrect) {
      throw new TypeError("model.step returned `correct` for some batches but not others");
    }
    sawCorrect = out.correct !== undefined;
    if (sawCorrect) correct = (correct ?? 0) + out.correct!;
    lossSum += out.loss * out.count;
    count += out.count;
    m.forwardNfe += out.forward.nfe;
    m.backwardNfe += out.backward.nfe;
    m.forwardAccepted += out.forward.nAccepted;
    m.forwardRejected += out.forward.nRejected;
    m.backwardAccepted += out.backward.nAccepted;
    m.backwardRejected += out.backward.nRejected;
    if (ts) {
      // Loops, not push(...xs): a solve may record more times than the argument limit.
      for (const t of out.forward.evalTs!) ts.forwardTs.push(t);
      for (const t of out.forward.acceptTs!) ts.forwardAcceptTs.push(t);
      for (const t of out.forward.rejectTs!) ts.forwardRejectTs.push(t);
      for (const t of out.backward.evalTs!) ts.backwardTs.push(t);
      for (const t of out.backward.acceptTs!) ts.backwardAcceptTs.push(t);
      for (const t of out.backward.rejectTs!) ts.backwardRejectTs.push(t);
    }
    options.onBatch?.({
      batch: b + 1,
      batches: batches.length,
      loss: out.loss,
      forwardNfe: out.forward.nfe,
      backwardNfe: out.backward.nfe,
    });
  }
  return {
    loss: lossSum / count,
    accuracy: correct === null ? null : correct / count,
    datasetSize: count,
    batches: batches.length,
    ...m,
    timespan: (performance.now() - start) / 1000,
    timestamp,
    ...ts,
  };
}

/**
 * One metric pass over `split` without an optimiser step: every batch's forward and backward
 * solve, with loss (example-weighted mean), accuracy (`null` for regression), NFE sums, wall
 * time and, with `recordTimes`, every evaluation and step time. This is what `train` runs
 * at metric epochs; use it alone to evaluate a trained model.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { tensorSplit, evaluate } from "@fasterode/fasterode/experiments";
 * import type { Trainable } from "@fasterode/fasterode/experiments";
 *
 * // A stand-in model: loss = mean(x), with made-up solve statistics.
 * const w = tf.variable(tf.scalar(0), true, "evaluate_doc_w");
 * const model: Trainable<{ x: tf.Tensor }> = {
 *   variables: [w],
 *   async step(batch) {
 *     const loss = (await tf.mean(batch.x).data())[0];
 *     const stats = { nfe: 14, nAccepted: 2, nRejected: 0 };
 *     return { loss, count: batch.x.shape[0], grads: { [w.name]: tf.zerosLike(w) },
 *       forward: stats, backward: stats };
 *   },
 * };
 * const x = tf.tensor1d([1, 2, 3, 4, 5]);
 * const m = await evaluate(model, tensorSplit({ x }), { batchSize: 2 });
 * assert.equal(m.loss, 3);          // (1.5·2 + 3.5·2 + 5·1) / 5
 * assert.equal(m.accuracy, null);   // regression
 * assert.equal(m.forwardNfe, 3 * 14); // summed over the 3 batches
 * tf.dispose([x, w]);
 * ```
 */
export async function evaluate<B>(
  model: Trainable<B>,
  split: Split<B>,
  options: EvaluateOptions,
): Promise<Metrics> {
  checkModel(model);
  checkSplit("split", split);
  if (
    options === null || typeof options !== "object" ||
    !(Number.isInteger(options.batchSize) && options.batchSize >= 1)
  ) {
    throw new RangeError("evaluate: options.batchSize must be an integer >= 1");
  }
  return await evaluatePass(model, split, options);
}
