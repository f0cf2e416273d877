/**
 * One training batch (forward solve + adjoint backward) of the paper-size acrobot model, issue 11:
 * seconds per batch per norm, with the Symoden field's hand-written VJP and with the tape's, and
 * the hours a paper run would take at that speed.
 *
 * Sizes and tolerances are the `paper` preset's (`ACROBOT_PRESETS.paper`,
 * experiments/acrobot/settings.ts: `M⁻¹` net 400 wide, `V` and `g` nets 300, batch 256 windows of
 * 8 points, dopri5 rtol = atol = 1e-4 on both passes). A paper run is
 * `⌈20,025 / 256⌉ = 79` batches per epoch (20,025 training windows: `splitSizes(128)` trials per
 * control × 25 windows × 9 controls, models/acrobot/dataset.ts; the last batch short, as
 * experiments/harness/splits.ts `batchIndices` cuts them) × 50 epochs (the preset's `epochs`) per
 * norm, training only (the metrics every 10 epochs are extra). The batch is 256 windows spread
 * over trajectories of all 9 controls simulated here (2 trials per control for 256 windows), and
 * the weights are the untrained initialisation (seed 0), so the NFE are those of the first batch
 * of a run; they change as the model trains.
 *
 * Each configuration runs one small warm-up batch (8 windows), then `--repeats` timed batches,
 * timed in wall seconds and in this process's CPU seconds (user + system, `process.cpuUsage`):
 * the wasm backend runs on one thread, so on a quiet machine the two agree, and on a busy one the
 * CPU time is the better measure of the work.
 * The hand and the tape VJP must give the same NFE and gradients to rounding (printed: the
 * largest difference relative to each gradient's largest entry).
 *
 * ```sh
 * deno run -A bench/acrobot_batch.ts                              # wasm, fast kernels, paper size
 * deno run -A bench/acrobot_batch.ts --batch 16 --widths 32,32,32 # a quick check
 * deno run -A bench/acrobot_batch.ts --kernels both --vjp hand    # stock vs fast kernels
 * deno run -A bench/acrobot_batch.ts --backend cpu
 * ```
 *
 * Not a `deno bench` file (no `_bench` in its name: `deno task bench` skips it); run it directly.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import process from "node:process";
import { parseArgs } from "node:util";
import { type BackendName, NORM_NAMES, type NormName, useBackend } from "../mod.ts";
import {
  ACROBOT_CONTROLS,
  acrobotTrajectories,
  splitSizes,
  Symoden,
  windowsOf,
} from "../models/acrobot/mod.ts";
import { ACROBOT_PRESETS } from "../experiments/acrobot/mod.ts";

const PAPER = ACROBOT_PRESETS.paper;
/** Windows of 8 points per trial of 32 (models/acrobot/dataset.ts). */
const WINDOWS_PER_TRIAL = 25;
const WINDOW = 8;
/** Training windows of a paper run and its batches (see the module documentation). */
const TRAIN_WINDOWS = splitSizes(PAPER.trials)[0] * WINDOWS_PER_TRIAL * ACROBOT_CONTROLS.length;
const BATCHES_PER_RUN = Math.ceil(TRAIN_WINDOWS / PAPER.batchSize) * PAPER.epochs;

type VjpKind = "hand" | "tape";
type Kernels = "fast" | "stock";

interface Row {
  kernels: Kernels;
  vjp: VjpKind;
  norm: NormName;
  seconds: number[];
  /** CPU seconds of this process per batch (user + system): robust to other load. */
  cpuSeconds: number[];
  forwardNfe: number;
  backwardNfe: number;
  loss: number;
  /** Gradients of the last timed batch (kept for the hand-vs-tape comparison). */
  grads: Float32Array[];
}

/** `count` windows spread evenly over trajectories of all 9 controls. */
async function batchOf(count: number): Promise<tf.Tensor3D> {
  const trials = Math.max(1, Math.ceil(count / (WINDOWS_PER_TRIAL * ACROBOT_CONTROLS.length)));
  const traj = await acrobotTrajectories({ trials, steps: 32, cacheDir: false });
  const all = windowsOf(traj, 0, trials, WINDOW);
  const n = all.shape[0];
  const idx = tf.tensor1d(
    Array.from({ length: count }, (_, i) => Math.floor((i * n) / count)),
    "int32",
  );
  const batch = tf.gather(all, idx) as tf.Tensor3D;
  tf.dispose([all, idx]);
  return batch;
}

function parseWidths(text: string): [number, number, number] {
  const w = text.split(",").map(Number);
  if (w.length !== 3 || !w.every((v) => Number.isInteger(v) && v >= 1)) {
    throw new Error(
      `--widths must be three positive integers M,V,g (e.g. 400,300,300), not ${text}`,
    );
  }
  return w as [number, number, number];
}

function choice<T extends string>(flag: string, value: string, options: readonly T[]): T[] {
  if (value === "both") return [...options];
  if (!(options as readonly string[]).includes(value)) {
    throw new Error(
      `--${flag} must be ${options.join(", ")} or both, not ${JSON.stringify(value)}`,
    );
  }
  return [value as T];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      backend: { type: "string", default: "wasm" },
      batch: { type: "string", default: String(PAPER.batchSize) },
      widths: {
        type: "string",
        default: `${PAPER.massHidden},${PAPER.potentialHidden},${PAPER.inputHidden}`,
      },
      kernels: { type: "string", default: "fast" },
      vjp: { type: "string", default: "both" },
      repeats: { type: "string", default: "1" },
    },
  });
  const backend = values.backend as BackendName;
  const batchSize = Number(values.batch);
  const repeats = Number(values.repeats);
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) {
    throw new Error(`--batch must be a positive integer, not ${values.batch}`);
  }
  if (!(Number.isInteger(repeats) && repeats >= 1)) {
    throw new Error(`--repeats must be a positive integer, not ${values.repeats}`);
  }
  const [massHidden, potentialHidden, inputHidden] = parseWidths(values.widths!);
  const kernelSets = backend === "wasm"
    ? choice("kernels", values.kernels!, ["stock", "fast"] as const)
    : ["fast" as const];
  const vjps = choice("vjp", values.vjp!, ["hand", "tape"] as const);

  await useBackend(backend);
  const windows = await batchOf(batchSize);
  const warmup = tf.slice(windows, [0, 0, 0], [Math.min(8, batchSize), -1, -1]);
  const model = new Symoden({ massHidden, potentialHidden, inputHidden, seed: 0 });
  const solve = { rtol: PAPER.rtol, atol: PAPER.atol };
  console.log(
    `acrobot training batch, ${backend}: widths ${massHidden}/${potentialHidden}/${inputHidden} ` +
      `(${model.parameterCount} parameters), batch ${batchSize} windows of ${WINDOW} points, ` +
      `dopri5 rtol ${solve.rtol}, atol ${solve.atol}; ${repeats} timed batch(es) per row after ` +
      `a warm-up of ${warmup.shape[0]} windows`,
  );
  const rows: Row[] = [];
  for (const kernels of kernelSets) {
    if (backend === "wasm") await useBackend("wasm", { kernels });
    for (const vjp of vjps) {
      for (const norm of NORM_NAMES) {
        const options = { ...solve, vjp, adjoint: { norm } };
        const w = await model.step(warmup, options);
        tf.dispose(w.grads);
        const row: Row = {
          kernels,
          vjp,
          norm,
          seconds: [],
          cpuSeconds: [],
          forwardNfe: 0,
          backwardNfe: 0,
          loss: 0,
          grads: [],
        };
        for (let r = 0; r < repeats; r++) {
          const [t0, cpu0] = [performance.now(), process.cpuUsage()];
          const step = await model.step(windows, options);
          const grads = await Promise.all(model.variables.map((v) => step.grads[v.name].data()));
          const cpu = process.cpuUsage(cpu0);
          row.seconds.push((performance.now() - t0) / 1000);
          row.cpuSeconds.push((cpu.user + cpu.system) / 1e6);
          Object.assign(row, {
            forwardNfe: step.forward.nfe,
            backwardNfe: step.backward.nfe,
            loss: step.loss,
            grads: grads as Float32Array[],
          });
          tf.dispose(step.grads);
        }
        rows.push(row);
        console.log(
          `  ${kernels} kernels, ${vjp} VJP, ${norm}: ${median(row.seconds).toFixed(2)} s ` +
            `(CPU ${median(row.cpuSeconds).toFixed(2)} s) ` +
            `(NFE ${row.forwardNfe} + ${row.backwardNfe}, loss ${row.loss.toPrecision(6)})`,
        );
      }
    }
  }
  console.log(
    `\nhours per paper run: ${BATCHES_PER_RUN} batches per norm (⌈${TRAIN_WINDOWS} / ` +
      `${PAPER.batchSize}⌉ per epoch × ${PAPER.epochs} epochs, ACROBOT_PRESETS.paper), at the ` +
      `seconds per batch measured here${
        batchSize === PAPER.batchSize
          ? ""
          : ` (batch ${batchSize}, not the paper's ${PAPER.batchSize})`
      }`,
  );
  console.log(
    "| kernels | VJP | norm | s per batch | CPU s per batch | forward NFE | backward NFE | " +
      "h per paper run (wall) |",
  );
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const r of rows) {
    const s = median(r.seconds);
    console.log(
      `| ${r.kernels} | ${r.vjp} | ${r.norm} | ${s.toFixed(2)} | ` +
        `${median(r.cpuSeconds).toFixed(2)} | ${r.forwardNfe} | ${r.backwardNfe} | ` +
        `${((s * BATCHES_PER_RUN) / 3600).toFixed(1)} |`,
    );
  }
  // Hand vs tape: the same NFE, and gradients equal to rounding.
  for (const kernels of kernelSets) {
    for (const norm of NORM_NAMES) {
      const hand = rows.find((r) => r.kernels === kernels && r.vjp === "hand" && r.norm === norm);
      const tape = rows.find((r) => r.kernels === kernels && r.vjp === "tape" && r.norm === norm);
      if (hand === undefined || tape === undefined) continue;
      let worst = 0;
      hand.grads.forEach((g, k) => {
        const t = tape.grads[k];
        const scale = t.reduce((m, v) => Math.max(m, Math.abs(v)), 0) || 1;
        g.forEach((v, i) => worst = Math.max(worst, Math.abs(v - t[i]) / scale));
      });
      const same = hand.forwardNfe === tape.forwardNfe && hand.backwardNfe === tape.backwardNfe;
      console.log(
        `${kernels}, ${norm}: hand/tape speed-up ${
          (median(tape.seconds) / median(hand.seconds)).toFixed(2)
        }× wall, ${(median(tape.cpuSeconds) / median(hand.cpuSeconds)).toFixed(2)}× CPU, NFE ${
          same ? "equal" : "DIFFER"
        }, gradients differ by ≤ ${worst.toExponential(1)} ` +
          `of each gradient's largest entry`,
      );
    }
  }
  tf.dispose([windows, warmup]);
  model.dispose();
}

if (import.meta.main) await main();
