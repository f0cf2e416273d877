/**
 * The options of {@link train} and their checks: {@link resolveTrainOptions} settles every
 * default and throws, before any work, for an unknown option or a value out of range.
 *
 * @module
 */
import type { CheckpointOptions } from "./checkpoint.ts";
import type { ProgressEvent, ProgressMode } from "./progress.ts";
import type { ResultLocation, TrainSettings } from "./results.ts";

/** Options of `train`. */
export interface TrainOptions {
  /** Most epochs (0 only evaluates the initial model, as the paper's HEAD does). */
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
  /** Shuffle the batches of metric passes too, as the paper's loaders do (default true). */
  shuffleEval?: boolean;
  /** The experiment's configuration, stored in the result (must be JSON-serialisable). */
  config?: Record<string, unknown>;
  /** Where to save the result JSON; not saved without it. */
  save?: ResultLocation;
  /**
   * Checkpoint after every epoch into `dir`, and resume from it with `resume: true`; stop on
   * SIGINT/SIGTERM with a checkpoint saved (see `train`). No checkpoints without it.
   */
  checkpoint?: CheckpointOptions;
  /** Terminal display (default `"auto"`, or `"none"` when `onProgress` is given). */
  progress?: ProgressMode;
  /** `"lines"` display: least seconds between two batch lines (default 60). */
  progressInterval?: number;
  /** Called with every progress event (every batch, metric epoch and message). */
  onProgress?: (event: ProgressEvent) => void;
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
  "checkpoint",
  "progress",
  "progressInterval",
  "onProgress",
];

function isInt(x: unknown, min: number): boolean {
  return typeof x === "number" && Number.isInteger(x) && x >= min;
}

/**
 * Checks `options` and fills in the defaults: the settings a run records. Throws a `TypeError`
 * for an unknown option, a bad `config` (not a plain, JSON-serialisable object) or `onProgress`
 * (not a function), and a `RangeError` naming any value out of range.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveTrainOptions } from "./train_options.ts";
 * const s = resolveTrainOptions({ maxEpochs: 3, batchSize: 8, learningRate: 1e-2 });
 * assert.deepEqual([s.weightDecay, s.epochsPerMetric, s.plateauTerminate], [0.01, 10, 100]);
 * assert.throws(() => resolveTrainOptions({ maxEpochs: -1, batchSize: 8, learningRate: 1 }),
 *   /maxEpochs must be an integer >= 0/);
 * ```
 */
export function resolveTrainOptions(options: TrainOptions): TrainSettings {
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
  const config = options.config ?? {};
  if (config === null || typeof config !== "object" || Array.isArray(config)) {
    throw new TypeError("train: config must be a plain object");
  }
  JSON.stringify(config); // fail now, not after training, on cycles or BigInts
  const ck = options.checkpoint;
  if (
    ck !== undefined &&
    (ck === null || typeof ck !== "object" || typeof ck.dir !== "string" || ck.dir === "")
  ) {
    throw new TypeError("train: checkpoint must be { dir: a folder, resume?: boolean }");
  }
  if (options.onProgress !== undefined && typeof options.onProgress !== "function") {
    throw new TypeError("train: onProgress must be a function");
  }
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
