/**
 * The main demo: train the spiral neural ODE twice, once with each backward norm, and print
 * forward NFE, backward NFE, the seminorm's saving, final loss and wall time.
 *
 * ```sh
 * deno task demo                       # cpu, 200 iterations per norm
 * deno task demo --iters 200 --backend wasm
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import { type BackendName, useBackend } from "../../mod.ts";
import { seededRandom } from "../../models/data/mod.ts";
import { sampleBatch, spiralData, SpiralODE } from "../../models/spiral/mod.ts";

/** Result of training with one backward norm. */
export interface DemoRun {
  norm: "default" | "seminorm";
  forwardNfe: number;
  backwardNfe: number;
  /** Loss after training on a fixed evaluation set of 200 segments. */
  finalLoss: number;
  seconds: number;
}

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Adam iterations per norm (default 200). */
  iters?: number;
  /** Segments per batch (default 20). */
  batch?: number;
  /** Samples spanned by a segment (default 41: t ∈ [0, 1]). */
  length?: number;
  /** Keep every `stride`-th sample as an output time (default 20: outputs at 0, 0.5, 1). */
  stride?: number;
  /** Hidden width of the model (default 128). */
  width?: number;
  /** Seed of weights and batches (default 0). */
  seed?: number;
  /** Relative tolerance of both solves (default 1e-3). */
  rtol?: number;
  /** Absolute tolerance of both solves (default 1e-8). */
  atol?: number;
  /** Called after every iteration (for a progress line). */
  onIteration?: (norm: string, iter: number, loss: number) => void;
}

/**
 * Trains a fresh model with each norm on the same batches and returns both runs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runDemo } from "./demo.ts";
 * const [full, semi] = await runDemo({ iters: 2, batch: 4, width: 16 });
 * assert.ok(semi.backwardNfe <= full.backwardNfe);
 * ```
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoRun[]> {
  const { iters = 200, batch = 20, length = 41, stride = 20, width = 128, seed = 0 } = options;
  const { rtol = 1e-3, atol = 1e-8 } = options;
  const data = await spiralData();
  const runs: DemoRun[] = [];
  try {
    for (const norm of ["default", "seminorm"] as const) {
      const model = new SpiralODE({ width, seed });
      const optimizer = tf.train.adam(0.01);
      const random = seededRandom(seed + 1);
      let forwardNfe = 0, backwardNfe = 0;
      const start = performance.now();
      for (let it = 1; it <= iters; it++) {
        const b = sampleBatch(data, batch, length, random, stride);
        const r = await model.lossAndGrads(b.y0, b.ts, b.target, { norm, rtol, atol });
        // tfjs types Adam's argument as a map of Variables; a map of gradients is what it uses.
        optimizer.applyGradients(r.grads as Parameters<typeof optimizer.applyGradients>[0]);
        forwardNfe += r.forward.nfe;
        backwardNfe += r.backward.nfe;
        tf.dispose([b.y0, b.target, r.grads]);
        options.onIteration?.(norm, it, r.value);
      }
      const seconds = (performance.now() - start) / 1000;
      const evalSet = sampleBatch(data, 200, length, seededRandom(12345), stride);
      const finalLoss = await model.loss(evalSet.y0, evalSet.ts, evalSet.target, rtol, atol);
      tf.dispose([evalSet.y0, evalSet.target]);
      runs.push({ norm, forwardNfe, backwardNfe, finalLoss, seconds });
      optimizer.dispose();
      model.dispose();
    }
  } finally {
    data.ys.dispose();
  }
  return runs;
}

/** Formats the two runs as a table. */
export function formatTable(runs: DemoRun[]): string {
  const [full, semi] = runs;
  const pct = (a: number, b: number) => `${(100 * (1 - b / a)).toFixed(1)}%`;
  const rows = [
    ["norm", "forward NFE", "backward NFE", "eval loss", "wall time"],
    ...runs.map((r) => [
      r.norm,
      String(r.forwardNfe),
      String(r.backwardNfe),
      r.finalLoss.toFixed(4),
      `${r.seconds.toFixed(1)} s`,
    ]),
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const lines = rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c])).join("  "));
  lines.splice(1, 0, widths.map((w) => "-".repeat(w)).join("  "));
  lines.push(
    "",
    `seminorm: ${pct(full.backwardNfe, semi.backwardNfe)} fewer backward NFE, ` +
      `${pct(full.seconds, semi.seconds)} less wall time ` +
      `(paper: median 40%, up to 62% fewer backward NFE)`,
  );
  return lines.join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      iters: { type: "string", default: "200" },
      batch: { type: "string", default: "20" },
      width: { type: "string", default: "128" },
      seed: { type: "string", default: "0" },
      backend: { type: "string", default: "cpu" },
    },
    strict: true,
  });
  const backend = await useBackend(values.backend as BackendName);
  const iters = Number(values.iters);
  const model = new SpiralODE({ width: Number(values.width) });
  console.log(
    `Spiral neural ODE (${model.parameterCount} parameters), ${values.batch} segments per batch, ` +
      `outputs at t = 0, 0.5, 1; ${iters} Adam iterations per norm; dopri5, rtol 1e-3, ` +
      `atol 1e-8; backend ${backend}`,
  );
  model.dispose();
  const runs = await runDemo({
    iters,
    batch: Number(values.batch),
    width: Number(values.width),
    seed: Number(values.seed),
    onIteration: (norm, it, loss) => {
      const line =
        `${norm.padEnd(8)} ${"#".repeat(Math.round((30 * it) / iters)).padEnd(30, ".")}` +
        ` ${it}/${iters} loss ${loss.toFixed(4)}`;
      if (Deno.stderr.isTerminal()) Deno.stderr.writeSync(new TextEncoder().encode(`\r${line}`));
      else if (it % 50 === 0 || it === iters) console.error(line);
      if (it === iters && Deno.stderr.isTerminal()) console.error();
    },
  });
  console.log(`\n${formatTable(runs)}`);
}
