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
import { seededRandom } from "../../models/data/mod.ts";
import { sampleBatch, spiralData, SpiralODE } from "../../models/spiral/mod.ts";
import { resolveComparison } from "../harness/mod.ts";
import { type DemoOptions, resolveDemoSettings } from "./settings.ts";

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
 * import { runDemo } from "./run.ts";
 * const [full, semi] = await runDemo({ iters: 2, batch: 4, width: 16 });
 * assert.ok(semi.backwardNfe <= full.backwardNfe);
 * ```
 *
 * @param options overrides of the demo's settings, the seed and a progress hook
 * @returns one run per norm
 * @throws {TypeError | RangeError} On bad options, before any work.
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoRun[]> {
  const { iters, batch, length, stride, width, rtol, atol } = resolveDemoSettings(options);
  const { seed } = resolveComparison("demo", { seed: options.seed });
  const data = await spiralData();
  const runs: DemoRun[] = [];
  try {
    for (const norm of NORM_NAMES) {
      const model = new SpiralODE({ width, seed });
      const optimizer = tf.train.adam(0.01);
      const random = seededRandom(seed + 1);
      let forwardNfe = 0, backwardNfe = 0;
      try {
        const start = performance.now();
        for (let it = 1; it <= iters; it++) {
          const b = sampleBatch(data, batch, length, random, stride);
          const r = await model.lossAndGrads(b.y0, b.ts, b.target, {
            rtol,
            atol,
            adjoint: { norm },
          });
          // tfjs types Adam's argument as a map of Variables; a map of gradients is what it uses.
          optimizer.applyGradients(r.grads as Parameters<typeof optimizer.applyGradients>[0]);
          forwardNfe += r.forward.nfe;
          backwardNfe += r.backward.nfe;
          tf.dispose([b.y0, b.target, r.grads]);
          options.onIteration?.(norm, it, r.loss);
        }
        const seconds = (performance.now() - start) / 1000;
        const evalSet = sampleBatch(data, 200, length, seededRandom(12345), stride);
        const finalLoss = await model.loss(evalSet.y0, evalSet.ts, evalSet.target, { rtol, atol });
        tf.dispose([evalSet.y0, evalSet.target]);
        runs.push({ norm, forwardNfe, backwardNfe, finalLoss, seconds });
      } finally {
        optimizer.dispose();
        model.dispose();
      }
    }
  } finally {
    data.ys.dispose();
  }
  return runs;
}
