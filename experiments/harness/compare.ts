/**
 * The comparison every experiment makes: train the same model once per backward norm, from the
 * same seed (the same initial weights and batches), with {@link train}, and read the measures
 * the paper compares from each run's record. An experiment supplies its data, how to build its
 * model, the model's {@link Trainable} for a norm, and what else to read from a trained model
 * ({@link CompareSpec}); {@link compareNorms} does the rest: it checks the norms, seed and
 * results folder ({@link resolveComparison}), builds, trains and disposes one model per norm,
 * and sums the metric passes' backward and forward NFE, batches and time ({@link NormRun}).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { NORM_NAMES, type NormName } from "../../mod.ts";
import { rootPath } from "../../models/data/mod.ts";
import { hasCheckpoint } from "../../models/mod.ts";
import { TrainingInterrupted } from "./checkpoint.ts";
import type { ProgressEvent, ProgressMode } from "./progress.ts";
import type { TrainData } from "./splits.ts";
import { train, type TrainResult } from "./train.ts";
import type { TrainOptions } from "./train_options.ts";
import type { Trainable } from "./trainable.ts";

/** The options every comparison takes; {@link resolveComparison} gives their defaults. */
export interface ComparisonOptions<N extends string = NormName> {
  /**
   * The norms to train with, in order, each from the same seed (default both library norms,
   * `"default"` and `"seminorm"`). An experiment may accept more names than the library's
   * ({@link CompareSpec.normNames}: the acrobot's `"paper-code-seminorm"`).
   */
  norms?: readonly N[];
  /** Seed of the initial weights and of the batch order (default 0). */
  seed?: number;
  /**
   * Results directory (default `<root>/results`, `rootPath("results")` of models/data/root.ts:
   * root = `$FASTERODE_ROOT` or the project folder); a folder given is relative to the current
   * directory; `false` saves nothing.
   */
  out?: string | false;
  /**
   * The comparison's checkpoint folder (one sub-folder per norm), written after every epoch;
   * default `<out>/checkpoints/<results>/<time>-<pid>`, none with `out: false`.
   */
  checkpoint?: string;
  /**
   * Continue the comparison whose checkpoint folder this is: finished norms are not trained
   * again (their results are reused), an interrupted one resumes, later ones start. The same
   * settings must be given (a resume from other settings fails, naming them).
   */
  resume?: string;
}

/** {@link ComparisonOptions} checked, with their defaults. */
export interface ComparisonSetup<N extends string = NormName> {
  /** The norms, in order. */
  norms: N[];
  /** Seed of the initial weights and of the batch order. */
  seed: number;
  /** Results directory, or `false`. */
  out: string | false;
  /** The checkpoint folder given (`resume` or `checkpoint`), if any. */
  checkpoint: string | null;
  /** Whether the comparison resumes from `checkpoint`. */
  resume: boolean;
}

/**
 * The norms, seed and results folder of a comparison, checked, with their defaults (both norms,
 * seed 0, `<root>/results`); messages start with `experiment`. Experiments call it before loading
 * any data, so that a bad option fails before any work.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveComparison } from "@fasterode/fasterode/experiments";
 * import { rootPath } from "@fasterode/fasterode/models/data";
 *
 * assert.deepEqual(resolveComparison("demo", {}), {
 *   norms: ["default", "seminorm"],
 *   seed: 0,
 *   out: rootPath("results"),
 *   checkpoint: null,
 *   resume: false,
 * });
 * assert.deepEqual(resolveComparison("demo", { resume: "ck" }).checkpoint, "ck");
 * assert.deepEqual(resolveComparison("demo", { norms: ["seminorm"], out: false }).norms, [
 *   "seminorm",
 * ]);
 * assert.throws(
 *   () => resolveComparison("demo", { norms: ["semi" as never] }),
 *   /demo: unknown norm "semi" \(default or seminorm\)/,
 * );
 * assert.throws(() => resolveComparison("demo", { seed: -1 }), /seed must be an integer >= 0/);
 * ```
 *
 * @param experiment the experiment's name, which starts every message
 * @param options the caller's options (other keys are ignored)
 * @returns the norms, seed and results folder
 * @throws {TypeError} On an empty norm list or a bad `out`.
 * @throws {RangeError} On an unknown norm or a bad seed.
 */
export function resolveComparison<N extends string = NormName>(
  experiment: string,
  options: ComparisonOptions<N>,
  normNames: readonly N[] = NORM_NAMES as readonly string[] as readonly N[],
): ComparisonSetup<N> {
  const norms = options.norms ?? (NORM_NAMES as readonly string[] as readonly N[]);
  const names = normNames.map((n) => `"${n}"`).join(" / ");
  if (!Array.isArray(norms) || norms.length === 0) {
    throw new TypeError(`${experiment}: norms must be a non-empty list of ${names}`);
  }
  for (const n of norms) {
    if (!normNames.includes(n)) {
      throw new RangeError(
        `${experiment}: unknown norm "${n}" (${normNames.join(" or ")})`,
      );
    }
  }
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0) {
    throw new RangeError(`${experiment}: seed must be an integer >= 0, got ${seed}`);
  }
  const out = options.out ?? rootPath("results");
  if (out !== false && (typeof out !== "string" || out === "")) {
    throw new TypeError(`${experiment}: out must be a directory or false`);
  }
  for (const key of ["checkpoint", "resume"] as const) {
    const v = options[key];
    if (v !== undefined && (typeof v !== "string" || v === "")) {
      throw new TypeError(`${experiment}: ${key} must be a folder, got ${JSON.stringify(v)}`);
    }
  }
  if (options.checkpoint !== undefined && options.resume !== undefined) {
    throw new TypeError(
      `${experiment}: give checkpoint (a new run's folder) or resume (an old run's), not both`,
    );
  }
  const checkpoint = options.resume ?? options.checkpoint ?? null;
  return { norms: [...norms], seed, out, checkpoint, resume: options.resume !== undefined };
}

/** What {@link compareNorms} needs of a model: its size, and how to free it. */
export interface ComparedModel {
  /** Trainable scalars. */
  readonly parameterCount: number;
  /** Frees the model's tensors. */
  dispose(): void;
}

/**
 * One norm's run as {@link compareNorms} reports it: the harness's record, and the measures of
 * the metric passes on the training split (the paper's `parse_results.py` sums those).
 */
export interface NormRun<N extends string = NormName> {
  /** The backward norm. */
  norm: N;
  /** The result folder's name: the readable configuration name and the settings key. */
  name: string;
  /** The saved result file, or `null` when nothing is saved. */
  path: string | null;
  /** The harness's record of the run (history, final metrics, settings). */
  result: TrainResult;
  /**
   * Backward NFE summed over the metric passes on the training split (the paper's "BNFE"; its
   * metric passes sample every `epochsPerMetric`-th epoch).
   */
  backwardNfe: number;
  /** {@link NormRun.backwardNfe} per batch of those passes. */
  backwardNfePerBatch: number;
  /** Forward NFE summed over the same metric passes. */
  forwardNfe: number;
  /** Batches of those metric passes. */
  batches: number;
  /** Wall time of those metric passes (forward + backward solves of every batch), in seconds. */
  passSeconds: number;
  /** Backward NFE summed over the training steps of every epoch. */
  trainingBackwardNfe: number;
  /** Wall time of the run (training, metric passes and final passes), in seconds. */
  seconds: number;
}

/**
 * An experiment's part of a comparison: its data, model and training settings. `X` is what
 * `finish` adds to each run.
 */
export interface CompareSpec<
  M extends ComparedModel,
  B,
  X extends object,
  N extends string = NormName,
> extends ComparisonOptions<N> {
  /** Every norm name `norms` may hold (default the library's, `NORM_NAMES`). */
  normNames?: readonly N[];
  /** The experiment's name, which starts every message (`"cde"`, `"acrobot"`). */
  experiment: string;
  /** The results' experiment: `<out>/<results>/<name>/<n>.json` (`"speech_commands"`). */
  results: string;
  /** The preset the settings started from (written into every run's config). */
  preset: string;
  /** The data, shared by every run (the caller disposes it). */
  data: TrainData<B>;
  /** A fresh model from `seed`; the same for every norm. */
  model(seed: number): M;
  /** The model as the harness trains it, with `norm` for its backward solves. */
  trainable(model: M, norm: N): Trainable<B>;
  /** The configuration name of a norm's result folder (`configName([...])`). */
  name(norm: N): string;
  /**
   * The run's configuration besides `experiment`, `preset`, `norm` and `seed` (which come
   * first), saved in the result file.
   */
  config: Record<string, unknown>;
  /**
   * The training settings; the seed, config, results folder and progress hook come from the
   * comparison, and `progress` defaults to `"auto"`.
   */
  training: Omit<TrainOptions, "seed" | "config" | "save" | "onProgress">;
  /** Called with every progress event of every run, and the run's norm. */
  onProgress?: (event: ProgressEvent, norm: N) => void;
  /**
   * Called once before any training (the first model built): the model's size and the backend,
   * so that a command line prints its configuration before the runs, not after them.
   */
  onStart?: (start: ComparisonStart) => void;
  /** What else to report of a trained model (it is disposed after); default nothing. */
  finish?: (model: M, run: NormRun<N>) => X | Promise<X>;
}

/** What {@link CompareSpec.onStart} is told before the first run. */
export interface ComparisonStart {
  /** Trainable scalars of the model. */
  parameters: number;
  /** The tfjs backend the runs use. */
  backend: string;
}

/** The training settings every experiment's presets have, under the same names. */
export interface TrainingSettings {
  /** Training epochs. */
  epochs: number;
  /** Examples per batch. */
  batchSize: number;
  /** AdamW learning rate. */
  learningRate: number;
  /** AdamW decoupled weight decay. */
  weightDecay: number;
  /** Metric passes every this many epochs (and after the last). */
  epochsPerMetric: number;
}

/**
 * A preset's training settings and the run's display options as {@link CompareSpec.training}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { trainingOptions } from "@fasterode/fasterode/experiments";
 * const settings = { epochs: 3, batchSize: 128, learningRate: 1e-2, weightDecay: 0.01, epochsPerMetric: 1 };
 * assert.deepEqual(trainingOptions(settings, { progress: "none" }), {
 *   maxEpochs: 3, batchSize: 128, learningRate: 1e-2, weightDecay: 0.01, epochsPerMetric: 1,
 *   recordTimes: false, progress: "none",
 * });
 * ```
 *
 * @param settings the preset's settings (overrides applied)
 * @param options whether to record evaluation times, and the terminal display
 * @returns the training options of a comparison
 */
export function trainingOptions(
  settings: TrainingSettings,
  options: { recordTimes?: boolean; progress?: ProgressMode },
): CompareSpec<ComparedModel, unknown, object>["training"] {
  return {
    maxEpochs: settings.epochs,
    batchSize: settings.batchSize,
    learningRate: settings.learningRate,
    weightDecay: settings.weightDecay,
    epochsPerMetric: settings.epochsPerMetric,
    recordTimes: options.recordTimes ?? false,
    progress: options.progress,
  };
}

/** What {@link compareNorms} returns. */
export interface Comparison<X extends object, N extends string = NormName> {
  /** One run per norm, in the order asked for, with what `finish` added. */
  runs: (NormRun<N> & X)[];
  /** Trainable scalars of the model. */
  parameters: number;
  /** The tfjs backend the runs used. */
  backend: string;
}

/** The sum of `xs`. */
function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

/**
 * Trains `spec.model(seed)` once per norm with {@link train} (same seed, so the same initial
 * weights and batches), saving each run as `<out>/<results>/<name(norm)>/<n>.json`, and returns
 * the runs with the measures of their metric passes. Each model is disposed after its run
 * (after `finish`), also when a run throws; the data stay the caller's.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { compareNorms, tensorSplit } from "@fasterode/fasterode/experiments";
 *
 * // Fit y = 2x with a one-weight "model"; its solve statistics are made up (the seminorm's
 * // backward solve takes 6 evaluations instead of 8).
 * const x = tf.linspace(-1, 1, 16);
 * const y = tf.mul(x, 2);
 * const split = tensorSplit({ x, y });
 * const starts: { parameters: number; backend: string }[] = [];
 * const { runs, parameters } = await compareNorms({
 *   experiment: "line",
 *   results: "line",
 *   preset: "small",
 *   out: false,
 *   data: { train: split, val: split },
 *   model: () => {
 *     const w = tf.variable(tf.scalar(0));
 *     return { w, parameterCount: 1, dispose: () => w.dispose() };
 *   },
 *   trainable: ({ w }, norm) => ({
 *     variables: [w],
 *     async step(batch: { x: tf.Tensor; y: tf.Tensor }) {
 *       const { value, grads } = tf.variableGrads(
 *         () => tf.losses.meanSquaredError(batch.y, tf.mul(w, batch.x)) as tf.Scalar, [w]);
 *       const loss = (await value.data())[0];
 *       value.dispose();
 *       const nfe = norm === "seminorm" ? 6 : 8;
 *       return {
 *         loss, count: batch.x.shape[0], grads,
 *         forward: { nfe: 8, nAccepted: 1, nRejected: 0 },
 *         backward: { nfe, nAccepted: 1, nRejected: 0 },
 *       };
 *     },
 *   }),
 *   name: (norm) => `small-${norm}`,
 *   config: {},
 *   training: { maxEpochs: 2, batchSize: 8, learningRate: 0.1, progress: "none" },
 *   finish: (_model, run) => ({ finalLoss: run.result.train.loss }),
 *   onStart: (start) => starts.push(start), // where a command line prints its configuration
 * });
 * assert.deepEqual(starts, [{ parameters: 1, backend: tf.getBackend() }]); // once, before training
 * assert.equal(parameters, 1);
 * assert.deepEqual(runs.map((r) => r.norm), ["default", "seminorm"]);
 * // Two metric passes (epochs 0 and 1) of 2 batches each.
 * assert.deepEqual(runs.map((r) => [r.batches, r.backwardNfe]), [[4, 32], [4, 24]]);
 * assert.deepEqual(runs.map((r) => r.trainingBackwardNfe), [32, 24]);
 * assert.ok(runs.every((r) => r.finalLoss < 1));
 * tf.dispose([x, y]);
 * ```
 *
 * @param spec the experiment's data, model, settings and options
 * @returns the runs, the model's size and the backend
 * @throws {TypeError | RangeError} On bad norms, seed or `out` (see {@link resolveComparison}).
 */
export async function compareNorms<
  M extends ComparedModel,
  B,
  X extends object = object,
  N extends string = NormName,
>(
  spec: CompareSpec<M, B, X, N>,
): Promise<Comparison<X, N>> {
  const { norms, seed, out, checkpoint, resume } = resolveComparison(
    spec.experiment,
    spec,
    spec.normNames,
  );
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const root = checkpoint ??
    (out === false ? null : join(out, "checkpoints", spec.results, `${stamp}-${Deno.pid}`));
  const saved = new Map<N, boolean>();
  if (root !== null) {
    for (const norm of norms) saved.set(norm, await hasCheckpoint(join(root, norm)));
    if (resume && ![...saved.values()].some((x) => x)) {
      throw new Error(
        `${spec.experiment}: ${root} holds no checkpoint of the norms ${norms.join(", ")} (is it ` +
          `the folder a run printed? a --norm other than that run's?)`,
      );
    }
    if (!resume && [...saved.values()].some((x) => x)) {
      throw new Error(
        `${spec.experiment}: ${root} holds checkpoints already; resume them (--resume ${root}) ` +
          `or choose another folder (nothing is overwritten)`,
      );
    }
  }
  const runs: (NormRun<N> & X)[] = [];
  let parameters = 0;
  for (const norm of norms) {
    const name = spec.name(norm);
    const model = spec.model(seed);
    const dir = root === null ? undefined : join(root, norm);
    try {
      if (runs.length === 0) {
        spec.onStart?.({ parameters: model.parameterCount, backend: tf.getBackend() });
      }
      parameters = model.parameterCount;
      const start = performance.now();
      const result = await train(spec.trainable(model, norm), spec.data, {
        ...spec.training,
        progress: spec.training.progress ?? "auto",
        seed,
        config: { experiment: spec.results, preset: spec.preset, norm, seed, ...spec.config },
        save: out === false ? undefined : { dir: out, experiment: spec.results, name },
        onProgress: (event) => spec.onProgress?.(event, norm),
        checkpoint: dir === undefined ? undefined : { dir, resume: saved.get(norm) },
      }).catch((e) => {
        if (e instanceof TrainingInterrupted && root !== null) {
          e.resumeDir = root;
          e.finished = runs.map((r) => r.path).filter((p): p is string => p !== null);
        }
        throw e;
      });
      const seconds = (performance.now() - start) / 1000;
      const passes = result.history.map((h) => h.train);
      const backwardNfe = sum(passes.map((m) => m.backwardNfe));
      const batches = sum(passes.map((m) => m.batches));
      const run: NormRun<N> = {
        norm,
        name: result.name ?? name,
        path: result.path,
        result,
        backwardNfe,
        backwardNfePerBatch: batches > 0 ? backwardNfe / batches : 0,
        forwardNfe: sum(passes.map((m) => m.forwardNfe)),
        batches,
        passSeconds: sum(passes.map((m) => m.timespan)),
        trainingBackwardNfe: sum(result.trainingNfe.map((e) => e.backward)),
        seconds,
      };
      const extra = spec.finish ? await spec.finish(model, run) : ({} as X);
      runs.push({ ...run, ...extra });
    } finally {
      model.dispose();
    }
  }
  return { runs, parameters, backend: tf.getBackend() };
}
