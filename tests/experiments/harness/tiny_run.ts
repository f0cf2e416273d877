/**
 * A tiny real training run for the checkpoint tests: the spiral neural ODE (width 8, real
 * adjoint solves, so real NFE) on 24 fixed segments, batches of 8, 5 epochs, metrics every 2.
 * As a script (`deno run -A tiny_run.ts DIR [--resume] [--pause-at E]`) it trains with
 * checkpoints in DIR and prints the final state as one JSON line `RESULT {...}`; with
 * `--pause-at E` it prints `PAUSED` at epoch E's first batch and waits for a line on stdin (the
 * kill test sends its signal meanwhile, so the signal lands mid-run, whatever the machine's
 * speed).
 */
import * as tf from "@tensorflow/tfjs";
import { seededRandom } from "../../../models/data/mod.ts";
import { sampleBatch, spiralData, SpiralODE } from "../../../models/spiral/mod.ts";
import { tensorSplit } from "../../../experiments/harness/splits.ts";
import { train } from "../../../experiments/harness/train.ts";
import { compareNorms } from "../../../experiments/harness/compare.ts";
import type { ProgressEvent } from "../../../experiments/harness/progress.ts";
import type { NormName } from "../../../mod.ts";

/** What a tiny run ends with: final weights, NFE, history losses. */
export interface TinyOutcome {
  weights: number[][];
  trainingNfe: { forward: number; backward: number }[];
  historyLoss: number[];
  finalTrainLoss: number;
  epochs: number;
  path: string | null;
}

/** Trains the tiny run with the given checkpoint options. */
export async function tinyRun(options: {
  checkpoint?: { dir: string; resume?: boolean; signals?: boolean };
  learningRate?: number;
  onProgress?: (event: ProgressEvent) => void;
  save?: string;
}): Promise<TinyOutcome> {
  const data = await spiralData(200, 10);
  const b = sampleBatch(data, 24, 9, seededRandom(5), 4);
  const model = new SpiralODE({ width: 8, seed: 3 });
  const ts = b.ts;
  let perSegment: tf.Tensor | undefined;
  try {
    perSegment = tf.transpose(b.target, [1, 0, 2]);
    const split = tensorSplit({ y0: b.y0, target: perSegment });
    const result = await train(
      {
        variables: model.variables,
        async step(batch) {
          const target = tf.transpose(batch.target, [1, 0, 2]) as tf.Tensor3D;
          try {
            return await model.lossAndGrads(batch.y0 as tf.Tensor2D, ts, target, {
              rtol: 1e-3,
              atol: 1e-5,
              adjoint: { norm: "seminorm" },
            });
          } finally {
            target.dispose();
          }
        },
      },
      { train: split, val: split },
      {
        maxEpochs: 5,
        batchSize: 8,
        learningRate: options.learningRate ?? 0.02,
        epochsPerMetric: 2,
        progress: "none",
        config: { experiment: "tiny", width: 8 },
        checkpoint: options.checkpoint,
        onProgress: options.onProgress,
        save: options.save === undefined
          ? undefined
          : { dir: options.save, experiment: "tiny", name: "w8" },
      },
    );
    return {
      weights: model.variables.map((v) => Array.from(v.dataSync())),
      trainingNfe: result.trainingNfe,
      historyLoss: result.history.map((h) => h.train.loss),
      finalTrainLoss: result.train.loss,
      epochs: result.epochs,
      path: result.path,
    };
  } finally {
    model.dispose();
    tf.dispose([data.ys, b.y0, b.target, perSegment!]);
  }
}

if (import.meta.main) {
  await tf.setBackend("cpu");
  const [dir, ...rest] = Deno.args;
  const pauseAt = rest.includes("--pause-at") ? Number(rest[rest.indexOf("--pause-at") + 1]) : -1;
  let paused = false;
  try {
    const outcome = await tinyRun({
      checkpoint: { dir, resume: rest.includes("--resume") },
      onProgress: (e) => {
        if (!paused && e.kind === "batch" && e.phase === "train" && e.epoch === pauseAt) {
          paused = true;
          console.log("PAUSED");
          Deno.stdin.readSync(new Uint8Array(16)); // the parent signals, then writes a line
        }
      },
    });
    console.log(`RESULT ${JSON.stringify(outcome)}`);
  } catch (e) {
    console.log(`INTERRUPTED ${(e as Error).message}`);
    Deno.exit(130);
  }
}

/** The tiny spiral problem as a comparison of both norms (compareNorms), results in `out`. */
export async function tinyCompare(options: {
  out: string;
  checkpoint?: string;
  resume?: string;
  onProgress?: (event: ProgressEvent, norm: NormName) => void;
}) {
  const data = await spiralData(200, 10);
  const b = sampleBatch(data, 24, 9, seededRandom(5), 4);
  const perSegment = tf.transpose(b.target, [1, 0, 2]);
  const ts = b.ts;
  try {
    const split = tensorSplit({ y0: b.y0, target: perSegment });
    return await compareNorms({
      experiment: "tiny",
      results: "tiny",
      preset: "test",
      out: options.out,
      checkpoint: options.checkpoint,
      resume: options.resume,
      data: { train: split, val: split },
      model: (seed) => new SpiralODE({ width: 8, seed }),
      trainable: (model, norm) => ({
        variables: model.variables,
        async step(batch) {
          const target = tf.transpose(batch.target, [1, 0, 2]) as tf.Tensor3D;
          try {
            return await model.lossAndGrads(batch.y0 as tf.Tensor2D, ts, target, {
              rtol: 1e-3,
              atol: 1e-5,
              adjoint: { norm },
            });
          } finally {
            target.dispose();
          }
        },
      }),
      name: (norm) => `w8-${norm}`,
      config: { width: 8 },
      training: {
        maxEpochs: 3,
        batchSize: 8,
        learningRate: 0.02,
        epochsPerMetric: 2,
        progress: "none",
      },
      onProgress: options.onProgress,
      finish: (model) => ({ weights: model.variables.map((v) => Array.from(v.dataSync())) }),
    });
  } finally {
    tf.dispose([data.ys, b.y0, b.target, perSegment]);
  }
}
