/**
 * The demo's run, {@link runDemo}: train the spiral neural ODE once with each backward norm
 * from the same seed, with Adam on the same batches, counting the forward and backward NFE.
 * (The demo trains with its own short Adam loop rather than the harness's `compareNorms`: it
 * has no splits, metric passes or result files, and its table is known by these figures.)
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { NORM_NAMES, type NormName } from "../../mod.ts";
import { join } from "node:path";
import { seededRandom } from "../../models/data/mod.ts";
import {
  assignSaved,
  CheckpointError,
  hasCheckpoint,
  readCheckpoint,
  saveCheckpoint,
} from "../../models/mod.ts";
import { sampleBatch, spiralData, SpiralODE } from "../../models/spiral/mod.ts";
import {
  AdamW,
  type AdamWState,
  resolveComparison,
  type SignalStop,
  stopOnSignals,
  TrainingInterrupted,
} from "../harness/mod.ts";
import { type DemoOptions, type DemoSettings, resolveDemoSettings } from "./settings.ts";

/** Result of training with one backward norm. */
export interface DemoRun {
  /** The backward norm. */
  norm: NormName;
  /** Forward NFE summed over the training iterations. */
  forwardNfe: number;
  /** Backward NFE summed over the training iterations. */
  backwardNfe: number;
  /** Loss after training on a fixed evaluation set of 200 segments. */
  finalLoss: number;
  /** Wall time of the training iterations, in seconds. */
  seconds: number;
}

/**
 * Trains a fresh model with each norm on the same batches and returns both runs (default norm
 * first). Nothing is left allocated.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runDemo } from "@fasterode/fasterode/experiments";
 * const [full, semi] = await runDemo({ iters: 2, batch: 4, width: 16 });
 * assert.ok(semi.backwardNfe <= full.backwardNfe);
 * ```
 *
 * @param options overrides of the demo's settings, the seed and a progress hook
 * @returns one run per norm
 * @throws {TypeError | RangeError} On bad options, before any work.
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoRun[]> {
  const settings = resolveDemoSettings(options);
  const { iters, batch, length, stride, width, rtol, atol } = settings;
  const { seed, checkpoint: root, resume } = resolveComparison("demo", {
    seed: options.seed,
    checkpoint: options.checkpoint,
    resume: options.resume,
    out: false,
  });
  const every = options.checkpointEvery ?? 50;
  if (!(Number.isInteger(every) && every >= 1)) {
    throw new RangeError(`demo: checkpointEvery must be an integer >= 1, got ${every}`);
  }
  if (root !== null) {
    const found = await Promise.all(NORM_NAMES.map((n) => hasCheckpoint(join(root, n))));
    if (resume && !found.some((x) => x)) {
      throw new Error(
        `demo: ${root} holds no checkpoint of the demo (is it the folder it printed?)`,
      );
    }
    if (!resume && found.some((x) => x)) {
      throw new Error(
        `demo: ${root} holds checkpoints already; resume them (--resume ${root}) or choose ` +
          `another folder (nothing is overwritten)`,
      );
    }
  }
  const data = await spiralData();
  const runs: DemoRun[] = [];
  const stop: SignalStop | undefined = root === null ? undefined : stopOnSignals();
  try {
    for (const norm of NORM_NAMES) {
      const model = new SpiralODE({ width, seed });
      // Adam (tf.train.adam's epsilon 1e-7, no decay), with a state a checkpoint can hold.
      const optimizer = new AdamW({ learningRate: 0.01, weightDecay: 0, epsilon: 1e-7 });
      const names = model.variables.map((v) => v.name);
      const generator = seededRandom(seed + 1);
      let draws = 0;
      const random = () => (draws++, generator());
      let forwardNfe = 0, backwardNfe = 0, first = 1, before = 0;
      let start = performance.now();
      const dir = root === null ? undefined : join(root, norm);
      const save = async (done: number, final?: DemoRun): Promise<string> => {
        const { first: m, second: v, ...opt } = optimizer.getState(names);
        const state: DemoState = {
          kind: "spiral-demo",
          settings,
          seed,
          norm,
          iteration: done,
          draws,
          forwardNfe,
          backwardNfe,
          seconds: before + (performance.now() - start) / 1000,
          optimizer: opt,
          ...(final === undefined ? {} : { final }),
        };
        return await saveCheckpoint(dir!, [
          ...model.variables.map((tensor, i) => ({ name: `variables/${i}`, tensor })),
          ...m.map((tensor, i) => ({ name: `adam/m/${i}`, tensor })),
          ...v.map((tensor, i) => ({ name: `adam/v/${i}`, tensor })),
        ], state);
      };
      try {
        if (dir !== undefined && resume && await hasCheckpoint(dir)) {
          const restored = await restoreDemo(dir, { settings, seed, norm }, model, optimizer);
          if (restored.final !== undefined) {
            runs.push(restored.final);
            continue;
          }
          ({ forwardNfe, backwardNfe, seconds: before } = restored);
          first = restored.iteration + 1;
          while (draws < restored.draws) random();
        }
        start = performance.now();
        for (let it = first; it <= iters; it++) {
          const b = sampleBatch(data, batch, length, random, stride);
          const r = await model.lossAndGrads(b.y0, b.ts, b.target, {
            rtol,
            atol,
            adjoint: { norm },
          });
          optimizer.applyGradients(r.grads);
          forwardNfe += r.forward.nfe;
          backwardNfe += r.backward.nfe;
          tf.dispose([b.y0, b.target, r.grads]);
          options.onIteration?.(norm, it, r.loss);
          if (stop === undefined) continue;
          await new Promise((resolve) => setTimeout(resolve, 0)); // let a signal's listener run
          if (stop.requested) {
            const path = await save(it);
            const e = new TrainingInterrupted(
              stop.requested,
              root!,
              `saved ${path} (${norm} norm, after iteration ${it} of ${iters})`,
            );
            e.finished = runs.map((r) => `${r.norm} norm (${join(root!, r.norm)})`);
            throw e;
          }
          if (it % every === 0 && it < iters) await save(it);
        }
        const seconds = before + (performance.now() - start) / 1000;
        const evalSet = sampleBatch(data, 200, length, seededRandom(12345), stride);
        const finalLoss = await model.loss(evalSet.y0, evalSet.ts, evalSet.target, { rtol, atol });
        tf.dispose([evalSet.y0, evalSet.target]);
        const run = { norm, forwardNfe, backwardNfe, finalLoss, seconds };
        if (dir !== undefined) await save(iters, run);
        runs.push(run);
      } finally {
        optimizer.dispose();
        model.dispose();
      }
    }
  } finally {
    stop?.dispose();
    data.ys.dispose();
  }
  return runs;
}

/** What a demo checkpoint's manifest holds. */
interface DemoState {
  kind: "spiral-demo";
  settings: DemoSettings;
  seed: number;
  norm: NormName;
  /** Iterations done. */
  iteration: number;
  /** Numbers drawn from the batch generator. */
  draws: number;
  forwardNfe: number;
  backwardNfe: number;
  seconds: number;
  optimizer: Omit<AdamWState, "first" | "second">;
  /** The norm's result, once its iterations are done. */
  final?: DemoRun;
}

/** Restores a demo checkpoint into `model` and `optimizer`, checking its settings. */
async function restoreDemo(
  dir: string,
  expected: { settings: DemoSettings; seed: number; norm: NormName },
  model: SpiralODE,
  optimizer: AdamW,
): Promise<DemoState> {
  const read = await readCheckpoint<DemoState>(dir);
  try {
    const s = read.manifest;
    if (s?.kind !== "spiral-demo") throw new CheckpointError(read.path, "is not a demo checkpoint");
    const now: Record<string, unknown> = { ...expected.settings, seed: expected.seed };
    const then: Record<string, unknown> = { ...s.settings, seed: s.seed };
    const diffs = Object.keys(now).filter((k) => JSON.stringify(now[k]) !== JSON.stringify(then[k]))
      .map((k) =>
        `${k}: ${JSON.stringify(then[k])} in the checkpoint, ${JSON.stringify(now[k])} now`
      );
    if (diffs.length > 0) {
      throw new CheckpointError(
        read.path,
        `was made with other settings; resume it with the same ones: ${diffs.join("; ")}`,
      );
    }
    const group = (prefix: string) => read.tensors.filter((t) => t.name.startsWith(prefix));
    assignSaved(model.variables, group("variables/"), read.path);
    optimizer.setState({
      ...s.optimizer,
      first: group("adam/m/").map((t) => t.tensor),
      second: group("adam/v/").map((t) => t.tensor),
    }, model.variables.map((v) => v.name));
    return s;
  } finally {
    tf.dispose(read.tensors.map((t) => t.tensor));
  }
}
