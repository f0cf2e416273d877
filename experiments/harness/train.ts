/**
 * The training harness shared by the experiments, measuring what the seed's `train/train.py`
 * measures:
 *
 * - every epoch, one AdamW step per (shuffled) training batch;
 * - at metric epochs (`epoch % epochsPerMetric === 0` and the last epoch), a separate pass over
 *   the training and validation splits without an optimiser step, recording the loss, accuracy,
 *   forward and backward NFE (summed over batches), the pass's wall time and, optionally, the
 *   time of every evaluation and of every accepted and rejected step;
 * - the best model by training loss (improvement: `loss·1.0001 < best`) is kept and restored at
 *   the end; the learning rate is cut ×0.1 after more than 2 metric evaluations without
 *   improvement (ReduceLROnPlateau), and training stops at the first metric epoch more than 100
 *   epochs after the best one;
 * - finally train, val and test passes on the best model, and one JSON result file per run.
 *
 * The experiment supplies a {@link Trainable} (its `step` computes the loss and the gradients,
 * usually with `adjointValueAndGrads`) and {@link TrainData}.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { SolveStats } from "../../mod.ts";
import { AdamW } from "./adamw.ts";
import { batchIndices, type Split, type TrainData } from "./splits.ts";
import { plateauSchedule } from "./plateau.ts";
import { seededRandom } from "../../models/data/mod.ts";
import {
  formatMetrics,
  type Phase,
  type ProgressEvent,
  type ProgressMode,
  progressReporter,
} from "./progress.ts";
import {
  type HistoryEntry,
  type Metrics,
  resultFolder,
  type ResultLocation,
  type RunResult,
  saveResult,
  type TrainSettings,
} from "./results.ts";

// The harness's vocabulary in one import.
export { AdamW, type AdamWOptions } from "./adamw.ts";
export { batchIndices, type Split, tensorSplit, type TrainData } from "./splits.ts";
export { seededRandom } from "../../models/data/mod.ts";
export {
  formatMetrics,
  formatProgress,
  type ProgressEvent,
  type ProgressMode,
} from "./progress.ts";
export {
  configName,
  type HistoryEntry,
  type Metrics,
  readResults,
  type ResultLocation,
  type RunResult,
  saveResult,
} from "./results.ts";

/** What the harness tells {@link Trainable.step}. */
export interface StepOptions {
  /**
   * Record the time of every evaluation and step: run the forward solve with `record: true`
   * and the backward one with `adjoint: { record: true }`. True only in metric passes of a run
   * with `recordTimes`.
   */
  record: boolean;
  /** True in training epochs (the gradients are then applied), false in metric passes. */
  training: boolean;
}

/** The outcome of one {@link Trainable.step}. */
export interface StepResult {
  /** Mean loss over the batch's examples. */
  loss: number;
  /** Correctly classified examples; leave out for regression. */
  correct?: number;
  /** Examples in the batch (weights `loss` in the split's mean). */
  count: number;
  /** `dL/dv` for every variable of the model, by name. The harness disposes them. */
  grads: tf.NamedTensorMap;
  /** Forward-solve statistics (summed over the batch's solves if there are several). */
  forward: SolveStats;
  /** Backward-solve statistics. */
  backward: SolveStats;
}

/**
 * A model the harness can train: its variables and a step computing loss and gradients of one
 * batch, typically
 * `const r = await adjointValueAndGrads({ before, solve, after }, variables)` followed by
 * `return { loss: r.value, count, grads: r.grads, forward: r.forward, backward: r.backward }`.
 */
export interface Trainable<B> {
  /** The trained variables (distinct names; every one needs a gradient in every step). */
  variables: tf.Variable[];
  /** Loss and gradients of one batch. Must not dispose `batch` (the harness does). */
  step(batch: B, options: StepOptions): Promise<StepResult>;
  /** A description for the result file (the seed stored `str(model)`). */
  description?: string;
}

/** Options of {@link train}. */
export interface TrainOptions {
  /** Most epochs (0 only evaluates the initial model, as the seed's HEAD does). */
  maxEpochs: number;
  /** Examples per batch (the last batch of a split may be smaller). */
  batchSize: number;
  /** Initial AdamW learning rate. */
  learningRate: number;
  /** AdamW decoupled weight decay (default 0.01). */
  weightDecay?: number;
  /** Seed of the generator that shuffles the batches (default 0). */
  seed?: number;
  /** Metrics every this many epochs and at the last epoch (default 10). */
  epochsPerMetric?: number;
  /** Metric evaluations without improvement tolerated before a learning-rate cut (default 2). */
  plateauPatience?: number;
  /** Factor of a learning-rate cut (default 0.1). */
  plateauFactor?: number;
  /**
   * Stop at the first metric epoch more than this many epochs after the best training loss
   * (default 100; `Infinity`: never). As in the seed, only metric epochs check it.
   */
  plateauTerminate?: number;
  /** Record evaluation and step times in the metric passes, for histograms (default false). */
  recordTimes?: boolean;
  /** Shuffle the batches of metric passes too, as the seed's loaders do (default true). */
  shuffleEval?: boolean;
  /** The experiment's configuration, stored in the result (must be JSON-serialisable). */
  config?: Record<string, unknown>;
  /** Where to save the result JSON; not saved without it. */
  save?: ResultLocation;
  /** Terminal display (default `"auto"`, or `"none"` when `onProgress` is given). */
  progress?: ProgressMode;
  /** `"lines"` display: least seconds between two batch lines (default 60). */
  progressInterval?: number;
  /** Called with every progress event (every batch, metric epoch and message). */
  onProgress?: (event: ProgressEvent) => void;
}

/** The result of {@link train}: the run's record and where it was saved. */
export interface TrainResult extends RunResult {
  /** The saved file, or `null` without `save`. */
  path: string | null;
}

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

const OPTION_KEYS = [
  "maxEpochs",
  "batchSize",
  "learningRate",
  "weightDecay",
  "seed",
  "epochsPerMetric",
  "plateauPatience",
  "plateauFactor",
  "plateauTerminate",
  "recordTimes",
  "shuffleEval",
  "config",
  "save",
  "progress",
  "progressInterval",
  "onProgress",
];

/** Relative improvement of the training loss that makes a new best model (the seed's 1.0001). */
const BEST_FACTOR = 1.0001;

function isInt(x: unknown, min: number): boolean {
  return typeof x === "number" && Number.isInteger(x) && x >= min;
}

function resolveOptions(options: TrainOptions): TrainSettings {
  if (options === null || typeof options !== "object") {
    throw new TypeError("train: options must be an object");
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.includes(key)) {
      throw new TypeError(`train: unknown option "${key}" (known: ${OPTION_KEYS.join(", ")})`);
    }
  }
  const {
    maxEpochs,
    batchSize,
    learningRate,
    weightDecay = 0.01,
    seed = 0,
    epochsPerMetric = 10,
    plateauPatience = 2,
    plateauFactor = 0.1,
    plateauTerminate = 100,
    recordTimes = false,
    shuffleEval = true,
  } = options;
  const fail = (what: string, value: unknown): never => {
    throw new RangeError(`train: ${what}, got ${value}`);
  };
  if (!isInt(maxEpochs, 0)) fail("maxEpochs must be an integer >= 0", maxEpochs);
  if (!isInt(batchSize, 1)) fail("batchSize must be an integer >= 1", batchSize);
  if (!(typeof learningRate === "number" && learningRate > 0 && learningRate < Infinity)) {
    fail("learningRate must be a finite number > 0", learningRate);
  }
  if (!(typeof weightDecay === "number" && weightDecay >= 0 && weightDecay < Infinity)) {
    fail("weightDecay must be a finite number >= 0", weightDecay);
  }
  if (!(typeof seed === "number" && Number.isFinite(seed))) fail("seed must be finite", seed);
  if (!isInt(epochsPerMetric, 1)) fail("epochsPerMetric must be an integer >= 1", epochsPerMetric);
  if (!isInt(plateauPatience, 0)) fail("plateauPatience must be an integer >= 0", plateauPatience);
  if (!(typeof plateauFactor === "number" && plateauFactor > 0 && plateauFactor < 1)) {
    fail("plateauFactor must be in (0, 1)", plateauFactor);
  }
  if (!(isInt(plateauTerminate, 0) || plateauTerminate === Infinity)) {
    fail("plateauTerminate must be an integer >= 0 or Infinity", plateauTerminate);
  }
  if (typeof recordTimes !== "boolean") fail("recordTimes must be a boolean", recordTimes);
  if (typeof shuffleEval !== "boolean") fail("shuffleEval must be a boolean", shuffleEval);
  return {
    maxEpochs,
    batchSize,
    learningRate,
    weightDecay,
    seed,
    epochsPerMetric,
    plateauPatience,
    plateauFactor,
    plateauTerminate,
    recordTimes,
    shuffleEval,
  };
}

function checkModel<B>(model: Trainable<B>): void {
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

function checkSplit<B>(what: string, split: Split<B> | undefined): void {
  if (
    split === null || typeof split !== "object" || typeof split.batch !== "function" ||
    !isInt(split.size, 1)
  ) {
    throw new TypeError(`train: data.${what} must be a split with size >= 1 and batch(indices)`);
  }
}

/** Runs `model.step` on the batch of `indices`, disposing the batch, and checks the result. */
async function runStep<B>(
  model: Trainable<B>,
  split: Split<B>,
  indices: number[],
  options: StepOptions,
): Promise<StepResult> {
  const batch = split.batch(indices);
  let out: StepResult;
  try {
    out = await model.step(batch, options);
  } finally {
    tf.dispose(batch as unknown as tf.TensorContainer);
  }
  const problem = (() => {
    if (out === null || typeof out !== "object") return "returned no result";
    if (typeof out.loss !== "number") return "returned a non-number loss";
    if (!isInt(out.count, 1)) return `returned count ${out.count} (need an integer >= 1)`;
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
        "(run the forward solve with record: true and the backward with adjoint: { record: true })";
    }
    return null;
  })();
  if (problem !== null) {
    if (out?.grads) tf.dispose(out.grads);
    throw new TypeError(`model.step ${problem}`);
  }
  return out;
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
 * time and, with `recordTimes`, every evaluation and step time. This is what {@link train} runs
 * at metric epochs; use it alone to evaluate a trained model.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { tensorSplit } from "./splits.ts";
 * import { evaluate, type Trainable } from "./train.ts";
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
  if (options === null || typeof options !== "object" || !isInt(options.batchSize, 1)) {
    throw new RangeError("evaluate: options.batchSize must be an integer >= 1");
  }
  return await evaluatePass(model, split, options);
}

/**
 * Trains `model` on `data` with AdamW and records the seed's metrics (see the module docs):
 * training epochs, metric passes at every `epochsPerMetric`-th epoch and the last, best-model
 * restore, plateau learning-rate cuts, early stop, final train/val/test metrics on the best
 * model, and the result (saved as `<dir>/<experiment>/<name>/<n>.json` with `save`).
 *
 * Errors thrown by `model.step` (a failed solve) end the run; a non-finite training loss ends it
 * with an error naming the epoch and batch. The model's variables hold the best model after a
 * successful run. No tensors are left behind (batches, gradients, the optimiser's moments and the
 * best-model copies are disposed).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { tensorSplit } from "./splits.ts";
 * import { train, type Trainable } from "./train.ts";
 *
 * // Fit y = 2x with a one-weight model; the "solve" statistics are made up.
 * const w = tf.variable(tf.scalar(0), true, "train_doc_w");
 * const model: Trainable<{ x: tf.Tensor; y: tf.Tensor }> = {
 *   variables: [w],
 *   async step({ x, y }) {
 *     const { value, grads } = tf.variableGrads(
 *       () => tf.losses.meanSquaredError(y, tf.mul(w, x)) as tf.Scalar, [w]);
 *     const loss = (await value.data())[0];
 *     value.dispose();
 *     const stats = { nfe: 8, nAccepted: 1, nRejected: 0 };
 *     return { loss, count: x.shape[0], grads, forward: stats, backward: stats };
 *   },
 * };
 * const x = tf.linspace(-1, 1, 32);
 * const y = tf.mul(x, 2);
 * const split = tensorSplit({ x, y });
 * const result = await train(model, { train: split, val: split }, {
 *   maxEpochs: 30, batchSize: 8, learningRate: 0.1, weightDecay: 0, progress: "none",
 * });
 * assert.deepEqual(result.history.map((h) => h.epoch), [0, 10, 20, 29]);
 * assert.ok(result.train.loss < 1e-3);
 * assert.equal(result.train.forwardNfe, 4 * 8); // 4 batches of 8 evaluations
 * tf.dispose([x, y, w]);
 * ```
 */
export async function train<B>(
  model: Trainable<B>,
  data: TrainData<B>,
  options: TrainOptions,
): Promise<TrainResult> {
  const settings = resolveOptions(options);
  checkModel(model);
  if (data === null || typeof data !== "object") throw new TypeError("train: data must be given");
  checkSplit("train", data.train);
  checkSplit("val", data.val);
  if (data.test !== undefined) checkSplit("test", data.test);
  const config = options.config ?? {};
  if (config === null || typeof config !== "object" || Array.isArray(config)) {
    throw new TypeError("train: config must be a plain object");
  }
  JSON.stringify(config); // fail now, not after training, on cycles or BigInts
  if (options.save !== undefined) await Deno.mkdir(resultFolder(options.save), { recursive: true });
  if (options.onProgress !== undefined && typeof options.onProgress !== "function") {
    throw new TypeError("train: onProgress must be a function");
  }
  const reporter = progressReporter(
    options.progress ?? (options.onProgress ? "none" : "auto"),
    { interval: options.progressInterval },
  );
  const startTime = new Date().toISOString();
  const t0 = performance.now();
  const elapsed = (): number => (performance.now() - t0) / 1000;
  const emit = (event: ProgressEvent): void => {
    reporter.report(event);
    options.onProgress?.(event);
  };
  const { maxEpochs, batchSize, epochsPerMetric, recordTimes } = settings;
  const random = seededRandom(settings.seed);
  const evalRandom = settings.shuffleEval ? random : undefined;
  const names = model.variables.map((v) => v.name);
  const optimizer = new AdamW({
    learningRate: settings.learningRate,
    weightDecay: settings.weightDecay,
  });
  const schedule = plateauSchedule({
    patience: settings.plateauPatience,
    factor: settings.plateauFactor,
  });
  let best: tf.Tensor[] | null = null;
  let bestLoss = Infinity;
  let bestEpoch: number | null = null;
  const history: HistoryEntry[] = [];
  let epochs = 0;
  let stoppedEarly = false;

  const pass = (phase: Phase, epoch: number, split: Split<B>): Promise<Metrics> =>
    evaluatePass(model, split, {
      batchSize,
      recordTimes,
      random: evalRandom,
      onBatch: (info) =>
        emit({
          kind: "batch",
          phase,
          epoch,
          maxEpochs,
          ...info,
          lr: optimizer.lr,
          elapsed: elapsed(),
        }),
    });

  try {
    for (let epoch = 0; epoch < maxEpochs; epoch++) {
      const lr = optimizer.lr;
      const batches = batchIndices(data.train.size, batchSize, random);
      for (let b = 0; b < batches.length; b++) {
        const out = await runStep(model, data.train, batches[b], { record: false, training: true });
        try {
          const missing = names.filter((n) => !(n in out.grads));
          const extra = Object.keys(out.grads).filter((n) => !names.includes(n));
          if (missing.length > 0 || extra.length > 0) {
            throw new TypeError(
              "model.step must return a gradient for exactly model.variables " +
                `(missing: [${missing.join(", ")}], unknown: [${extra.join(", ")}])`,
            );
          }
          if (!Number.isFinite(out.loss)) {
            throw new Error(`train: the loss is ${out.loss} at epoch ${epoch}, batch ${b + 1}`);
          }
          optimizer.applyGradients(out.grads);
        } finally {
          tf.dispose(out.grads);
        }
        emit({
          kind: "batch",
          phase: "train",
          epoch,
          maxEpochs,
          batch: b + 1,
          batches: batches.length,
          loss: out.loss,
          forwardNfe: out.forward.nfe,
          backwardNfe: out.backward.nfe,
          lr,
          elapsed: elapsed(),
        });
      }
      epochs = epoch + 1;
      if (epoch % epochsPerMetric === 0 || epoch === maxEpochs - 1) {
        const train = await pass("eval:train", epoch, data.train);
        const val = await pass("eval:val", epoch, data.val);
        const improved = train.loss * BEST_FACTOR < bestLoss;
        if (improved) {
          bestLoss = train.loss;
          bestEpoch = epoch;
          const copies = model.variables.map((v) => tf.clone(v));
          tf.dispose(best ?? []);
          best = copies;
        }
        const nextLr = schedule.step(train.loss, lr);
        optimizer.lr = nextLr;
        const entry: HistoryEntry = { epoch, lr, train, val };
        history.push(entry);
        emit({ kind: "metrics", entry, maxEpochs, improved, nextLr, elapsed: elapsed() });
        // As the seed: checked at metric epochs only, so a run always ends with metrics.
        if (epoch > (bestEpoch ?? 0) + settings.plateauTerminate) {
          stoppedEarly = true;
          emit({
            kind: "message",
            text: `stopping: no improvement in training loss for ${settings.plateauTerminate} ` +
              "epochs",
            elapsed: elapsed(),
          });
          break;
        }
      }
    }
    const timespan = elapsed();
    if (best !== null) {
      const copies: tf.Tensor[] = best;
      model.variables.forEach((v, i) => v.assign(copies[i]));
      tf.dispose(copies);
      best = null;
    }
    const last = Math.max(epochs - 1, 0);
    const train = await pass("final:train", last, data.train);
    const val = await pass("final:val", last, data.val);
    const test = data.test ? await pass("final:test", last, data.test) : null;
    const result: TrainResult = {
      experiment: options.save?.experiment ?? null,
      name: options.save?.name ?? null,
      run: null,
      config,
      training: settings,
      model: model.description ?? null,
      parameters: model.variables.reduce((n, v) => n + v.size, 0),
      backend: tf.getBackend(),
      startTime,
      timespan,
      epochs,
      stoppedEarly,
      bestEpoch,
      bestTrainLoss: bestEpoch === null ? null : bestLoss,
      finalLr: optimizer.lr,
      history,
      train,
      val,
      test,
      path: null,
    };
    const summary = [["train", train], ["val", val], ["test", test]] as const;
    emit({
      kind: "message",
      text: "final (best model): " +
        summary.filter(([, m]) => m !== null).map(([k, m]) => `${k} ${formatMetrics(m!)}`)
          .join(" | "),
      elapsed: elapsed(),
    });
    if (options.save !== undefined) {
      const { path: _, ...record } = result;
      const saved = await saveResult(record, options.save);
      result.run = saved.run;
      result.path = saved.path;
      emit({ kind: "message", text: `saved ${saved.path}`, elapsed: elapsed() });
    }
    return result;
  } finally {
    reporter.close();
    optimizer.dispose();
    if (best !== null) tf.dispose(best);
  }
}
