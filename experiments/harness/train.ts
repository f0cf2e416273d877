/**
 * The training harness shared by the experiments, measuring what the paper's `train/train.py`
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
 * - finally train, val and test passes on the best model, and one JSON result file per run;
 * - the forward and backward NFE of every epoch's training steps, summed, in the result
 *   (`trainingNfe`);
 * - with `checkpoint`, a checkpoint after every epoch (checkpoint.ts), resumable to the result the
 *   run would have reached uninterrupted; SIGINT/SIGTERM stop it after the current step with a
 *   checkpoint saved.
 *
 * The experiment supplies a `Trainable` (trainable.ts: its `step` computes the loss and the
 * gradients, usually a model's own training step) and `TrainData` (splits.ts). The options and
 * their checks are in train_options.ts, the metric pass in evaluate.ts.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { seededRandom } from "../../models/data/mod.ts";
import { hasCheckpoint } from "../../models/mod.ts";
import { AdamW } from "./adamw.ts";
import {
  readRunCheckpoint,
  type RunState,
  type RunTensors,
  saveRunCheckpoint,
  type SignalStop,
  stopOnSignals,
  TrainingInterrupted,
} from "./checkpoint.ts";
import { evaluate } from "./evaluate.ts";
import { plateauSchedule } from "./plateau.ts";
import { formatMetrics, type Phase, type ProgressEvent, progressReporter } from "./progress.ts";
import {
  type HistoryEntry,
  keyedName,
  type Metrics,
  resultFolder,
  type RunResult,
  saveResult,
  type TrainingNfe,
} from "./results.ts";
import { batchIndices, checkSplit, type Split, type TrainData } from "./splits.ts";
import { checkModel, runStep, type Trainable } from "./trainable.ts";
import { resolveTrainOptions, type TrainOptions } from "./train_options.ts";

/** The result of {@link train}: the run's record and where it was saved. */
export interface TrainResult extends RunResult {
  /** The saved file, or `null` without `save`. */
  path: string | null;
}

/** Relative improvement of the training loss that makes a new best model (the paper's 1.0001). */
const BEST_FACTOR = 1.0001;

/**
 * Trains `model` on `data` with AdamW and records the paper's metrics (see the module docs):
 * training epochs, metric passes at every `epochsPerMetric`-th epoch and the last, best-model
 * restore, plateau learning-rate cuts, early stop, final train/val/test metrics on the best
 * model, and the result (saved as `<dir>/<experiment>/<name>-<settings key>/<n>.json` with
 * `save`: `keyedName`, so runs of other settings never share a folder).
 *
 * With `checkpoint: { dir }` the run's state (weights, best model, AdamW moments and step count,
 * the shuffling generator's position, history, settings) is saved in `dir` after every epoch, and
 * at the end with the result (`status: "done"`); `resume: true` continues from it (same
 * settings and configuration, else an error naming the differences) and ends exactly where the
 * uninterrupted run would have: same weights, NFE and metrics (a finished run's checkpoint just
 * returns its result and loads its final weights). On SIGINT or SIGTERM the run finishes its
 * current training step, saves a checkpoint and throws {@link TrainingInterrupted}.
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
 * import { tensorSplit, train } from "@fasterode/fasterode/experiments";
 * import type { Trainable } from "@fasterode/fasterode/experiments";
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
 * assert.equal(result.trainingNfe.length, 30);   // the training steps' NFE, per epoch
 * assert.deepEqual(result.trainingNfe[0], { forward: 4 * 8, backward: 4 * 8 });
 * tf.dispose([x, y, w]);
 * ```
 */
export async function train<B>(
  model: Trainable<B>,
  data: TrainData<B>,
  options: TrainOptions,
): Promise<TrainResult> {
  const settings = resolveTrainOptions(options);
  checkModel(model);
  if (data === null || typeof data !== "object") throw new TypeError("train: data must be given");
  checkSplit("train", data.train);
  checkSplit("val", data.val);
  if (data.test !== undefined) checkSplit("test", data.test);
  const config = options.config ?? {};
  const ck = options.checkpoint;
  if (ck !== undefined && !ck.resume && await hasCheckpoint(ck.dir)) {
    throw new Error(
      `train: ${ck.dir} already holds a checkpoint; resume it (--resume ${ck.dir}) or choose ` +
        `another folder (nothing is overwritten)`,
    );
  }
  const resumed = ck?.resume
    ? await readRunCheckpoint(ck.dir, model.variables, { settings, config })
    : undefined;
  if (resumed?.state.status === "done") {
    // A finished run: its final weights and its result.
    try {
      model.variables.forEach((v, i) => v.assign(resumed.tensors.variables[i]));
    } finally {
      disposeRunTensors(resumed.tensors);
    }
    options.onProgress?.({
      kind: "message",
      text: `${ck!.dir}: the run had finished; its result is ${resumed.state.result!.path}`,
      elapsed: 0,
    });
    return resumed.state.result!;
  }
  // The result's folder: the readable name plus the hash of every setting.
  const keyed = options.save === undefined
    ? undefined
    : await keyedName(options.save.name, { config, training: settings });
  const save = options.save === undefined ? undefined : { ...options.save, name: keyed!.name };
  if (save !== undefined) await Deno.mkdir(resultFolder(save), { recursive: true });
  const reporter = progressReporter(
    options.progress ?? (options.onProgress ? "none" : "auto"),
    { interval: options.progressInterval },
  );
  const startTime = resumed?.state.startTime ?? new Date().toISOString();
  const t0 = performance.now();
  const before = resumed?.state.elapsed ?? 0;
  const elapsed = (): number => before + (performance.now() - t0) / 1000;
  const emit = (event: ProgressEvent): void => {
    reporter.report(event);
    options.onProgress?.(event);
  };
  const { maxEpochs, batchSize, epochsPerMetric, recordTimes } = settings;
  // The shuffling generator, counting its draws: its state is the count (a resume redraws them).
  const generator = seededRandom(settings.seed);
  let draws = 0;
  const random = (): number => (draws++, generator());
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
  const trainingNfe: TrainingNfe[] = [];
  let epochs = 0;
  let stoppedEarly = false;
  let startEpoch = 0, startBatch = 0, drawsAtEpoch = 0;
  let stop: SignalStop | undefined;
  if (resumed !== undefined) {
    const { state, tensors } = resumed;
    try {
      model.variables.forEach((v, i) => v.assign(tensors.variables[i]));
      best = tensors.best === null ? null : tensors.best.map((t) => tf.clone(t));
      optimizer.setState(
        { ...state.optimizer, first: tensors.first, second: tensors.second },
        names,
      );
    } finally {
      disposeRunTensors(tensors);
    }
    bestLoss = state.bestLoss ?? Infinity;
    bestEpoch = state.bestEpoch;
    history.push(...state.history);
    trainingNfe.push(...state.trainingNfe);
    // The schedule's state is a function of the metric losses seen: replay them.
    for (const h of state.history) schedule.step(h.train.loss, h.lr);
    stoppedEarly = state.stoppedEarly;
    startEpoch = state.epoch;
    startBatch = state.batch;
    epochs = startBatch > 0 ? startEpoch + 1 : startEpoch;
    drawsAtEpoch = state.drawsAtEpoch;
    const target = startBatch > 0 ? state.drawsAtEpoch : state.draws;
    while (draws < target) random();
  }
  /** The run's state now, for a checkpoint. */
  const runState = (epoch: number, batch: number): RunState => {
    const { first: _f, second: _s, ...opt } = optimizer.getState(names);
    return {
      status: "training",
      epoch,
      batch,
      drawsAtEpoch,
      draws,
      optimizer: opt,
      bestLoss: Number.isFinite(bestLoss) ? bestLoss : null,
      bestEpoch,
      hasBest: best !== null,
      stoppedEarly,
      history,
      trainingNfe,
      elapsed: elapsed(),
      startTime,
      variables: names,
      settings,
      config,
    };
  };
  const checkpoint = async (epoch: number, batch: number): Promise<string> => {
    const { first, second } = optimizer.getState(names);
    const path = await saveRunCheckpoint(ck!.dir, runState(epoch, batch), {
      variables: model.variables,
      best,
      first,
      second,
    });
    return path;
  };
  /** Saves (when asked) and throws the interruption. */
  const interrupt = async (epoch: number, batch: number, batches: number): Promise<never> => {
    const path = await checkpoint(epoch, batch);
    const where = batch === 0
      ? `after epoch ${epoch} of ${maxEpochs}`
      : `in epoch ${epoch + 1} of ${maxEpochs}, after batch ${batch} of ${batches}`;
    throw new TrainingInterrupted(stop!.requested!, ck!.dir, `saved ${path} (${where})`);
  };

  const pass = (phase: Phase, epoch: number, split: Split<B>): Promise<Metrics> =>
    evaluate(model, split, {
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
    if (ck !== undefined && ck.signals !== false) stop = stopOnSignals();
    if (ck !== undefined) {
      const at = startBatch > 0
        ? `epoch ${startEpoch + 1}, batch ${startBatch + 1}`
        : `epoch ${startEpoch + 1}`;
      emit({
        kind: "message",
        text: resumed ? `resuming ${ck.dir} at ${at}` : `checkpoints in ${ck.dir}`,
        elapsed: elapsed(),
      });
    }
    for (let epoch = startEpoch; epoch < maxEpochs && !stoppedEarly; epoch++) {
      const lr = optimizer.lr;
      const midEpoch = epoch === startEpoch && startBatch > 0;
      drawsAtEpoch = draws;
      const batches = batchIndices(data.train.size, batchSize, random);
      let nfe: TrainingNfe;
      if (midEpoch) nfe = trainingNfe[epoch];
      else trainingNfe.push(nfe = { forward: 0, backward: 0 });
      for (let b = midEpoch ? startBatch : 0; b < batches.length; b++) {
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
        nfe.forward += out.forward.nfe;
        nfe.backward += out.backward.nfe;
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
        // A macrotask turn, so that a signal's listener can run: the solves may await only
        // settled promises (microtasks), which never let the event loop poll for signals.
        if (stop !== undefined) await new Promise((resolve) => setTimeout(resolve, 0));
        if (stop?.requested && b + 1 < batches.length) {
          await interrupt(epoch, b + 1, batches.length);
        }
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
        // As the paper's code: checked at metric epochs only, so a run always ends with metrics.
        if (epoch > (bestEpoch ?? 0) + settings.plateauTerminate) {
          stoppedEarly = true;
          emit({
            kind: "message",
            text: `stopping: no improvement in training loss for ${settings.plateauTerminate} ` +
              "epochs",
            elapsed: elapsed(),
          });
        }
      }
      if (ck !== undefined) await checkpoint(epoch + 1, 0);
      if (stop?.requested) await interrupt(epoch + 1, 0, 0);
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
      experiment: save?.experiment ?? null,
      name: save?.name ?? null,
      run: null,
      ...(keyed === undefined
        ? {}
        : { settingsKey: keyed.settingsKey, comparisonKey: keyed.comparisonKey }),
      ...(ck === undefined ? {} : { checkpoint: ck.dir }),
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
      trainingNfe,
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
    if (save !== undefined) {
      const { path: _, ...record } = result;
      const saved = await saveResult(record, save);
      result.run = saved.run;
      result.path = saved.path;
      emit({ kind: "message", text: `saved ${saved.path}`, elapsed: elapsed() });
    }
    if (ck !== undefined) {
      // The finished run: its result and final weights (a resume returns them).
      const done: RunState = { ...runState(epochs, 0), status: "done", hasBest: false, result };
      await saveRunCheckpoint(ck.dir, done, {
        variables: model.variables,
        best: null,
        first: [],
        second: [],
      });
    }
    return result;
  } finally {
    stop?.dispose();
    reporter.close();
    optimizer.dispose();
    if (best !== null) tf.dispose(best);
  }
}

/** Frees a checkpoint's tensors. */
function disposeRunTensors(t: RunTensors): void {
  tf.dispose([...t.variables, ...(t.best ?? []), ...t.first, ...t.second]);
}
