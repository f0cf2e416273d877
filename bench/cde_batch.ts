/**
 * One training batch (forward solve + adjoint backward) of the paper-size Neural CDE, issue 11:
 * seconds per batch per norm, with the field's hand-written VJP (`NeuralCDE.field`, through
 * `withCdeVjp`) and/or the tape's, on the stock and/or fast wasm kernels, and the hours a paper
 * run would take at that speed.
 *
 * Sizes and tolerances are the `paper` preset's (`CDE_PRESETS.paper`,
 * experiments/cde/settings.ts: hidden 90, vector-field MLP width 40 with 4 layers, batch 1024,
 * dopri5 rtol 1e-3, atol 1e-6 on both passes), with the seed's Speech Commands input: 161 knots
 * (the MFCC frames, `frameStride` 1, at times 0 … 160) of 21 channels (the frame index as the
 * time channel, `timeChannelScale` 1, and 20 MFCCs), linear interpolation with every knot as
 * `jumpT`, as experiments/cde/run.ts builds it. The data are random, fixed seed: the MFCC
 * channels independent standard normal values per frame (the real ones are normalised per
 * channel, and smoother from frame to frame, so real batches may need fewer steps), labels
 * uniform over the 10 classes; the weights are the untrained initialisation (seed 0), so the
 * NFE are those of a first batch.
 *
 * A paper run is `⌈24,482 / 1024⌉ = 24` batches per epoch (24,482 training clips: 70% of the
 * 34,975 Speech Commands clips, models/cde/split.ts; the last batch short, as
 * experiments/harness/splits.ts `batchIndices` cuts them) × 200 epochs (the preset's `epochs`)
 * per norm: training only (the validation and test passes every 10 epochs are extra).
 *
 * Each configuration runs one warm-up batch of 8 clips, then `--repeats` timed batches, timed
 * in wall seconds and in this process's CPU seconds (user + system, `process.cpuUsage`: the wasm
 * backend runs on one thread, so on a quiet machine the two agree, and on a busy one the CPU time
 * is the better measure of the work). The stock kernels and the tape are slow at this size
 * (issue 11: ~256 s per batch), so the default runs the fast kernels with the hand VJP only;
 * `--kernels both --vjp both` runs all four. When both VJPs run, their NFE and gradients are
 * compared (printed); on this problem the backward solve's step choices are sensitive to
 * float32 rounding (a ReLU field: its adjoint is non-smooth), so they may differ by as much as
 * the stock and the fast kernels' results do.
 *
 * Before the batches, one evaluation of the field at the batch's size is timed (CPU seconds, the
 * least of `--evals` runs) for every kernel set: `f(z)·dX/dt` (what the forward solve
 * evaluates), its hand-written VJP and the tape's (what one backward evaluation costs), so the
 * stock/fast and hand/tape ratios are seen without running every batch.
 *
 * ```sh
 * deno task bench:cde                                         # wasm, fast kernels, hand VJP
 * deno run -A bench/cde_batch.ts --batch 32 --knots 41        # a quick check
 * deno run -A bench/cde_batch.ts --kernels both --vjp both    # stock vs fast, hand vs tape
 * deno run -A bench/cde_batch.ts --kernels both --repeats 0   # one field evaluation only
 * deno run -A bench/cde_batch.ts --backend cpu --batch 32
 * ```
 *
 * Not a `deno bench` file (no `_bench` in its name: `deno task bench` skips it); run it directly.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import process from "node:process";
import { parseArgs } from "node:util";
import { type BackendName, NORM_NAMES, type NormName, useBackend, vjp } from "../mod.ts";
import {
  cdeVectorField,
  LinearInterpolation,
  NeuralCDE,
  SPEECH_COMMANDS_CLASSES,
  withCdeVjp,
} from "../models/cde/mod.ts";
import { seededRandom } from "../models/data/mod.ts";
import { CDE_PRESETS } from "../experiments/cde/mod.ts";

const PAPER = CDE_PRESETS.paper;
/** MFCC frames of a one-second clip (the seed's 161) and MFCC channels (20, plus time). */
const FRAMES = 161;
const MFCCS = 20;
/** Training clips of a paper run and its batches (see the module documentation). */
const TRAIN_CLIPS = 24482;
const BATCHES_PER_RUN = Math.ceil(TRAIN_CLIPS / PAPER.batchSize) * PAPER.epochs;

type VjpKind = "hand" | "tape";
type Kernels = "fast" | "stock";

interface Row {
  kernels: Kernels;
  vjp: VjpKind;
  norm: NormName;
  seconds: number[];
  cpuSeconds: number[];
  forwardNfe: number;
  backwardNfe: number;
  loss: number;
  /** Gradients of the last timed batch (kept for the hand-vs-tape comparison). */
  grads: Float32Array[];
}

/** Random clips `[batch, knots, 21]` (time channel 0 … knots − 1, then N(0, 1)) and labels. */
function randomBatch(batch: number, knots: number, seed: number) {
  const rng = seededRandom(seed);
  const channels = MFCCS + 1;
  const x = new Float32Array(batch * knots * channels);
  for (let b = 0; b < batch; b++) {
    for (let k = 0; k < knots; k++) {
      const at = (b * knots + k) * channels;
      x[at] = k;
      for (let c = 1; c < channels; c++) {
        // Box–Muller: a standard normal value from two uniform ones.
        x[at + c] = Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
      }
    }
  }
  const classes = SPEECH_COMMANDS_CLASSES.length;
  const labels = Array.from({ length: batch }, () => Math.floor(rng() * classes));
  return { x: tf.tensor3d(x, [batch, knots, channels]), labels };
}

function positive(flag: string, text: string | undefined): number {
  const v = Number(text);
  if (!(Number.isInteger(v) && v >= 1)) {
    throw new Error(`--${flag} must be a positive integer, not ${text}`);
  }
  return v;
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

/** CPU seconds (user + system) of this process spent in `run`. */
async function cpuSecondsOf(run: () => Promise<void>): Promise<number> {
  const start = process.cpuUsage();
  await run();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

/**
 * CPU seconds of one evaluation of the CDE field on `X` at `z` (`[batch, hidden]`): the value,
 * its hand-written VJP and the tape's, each the least of `runs` (after one untimed run).
 */
async function perEvaluation(
  model: NeuralCDE,
  X: LinearInterpolation,
  runs: number,
): Promise<{ f: number; hand: number; tape: number }> {
  const z = tf.randomNormal([X.batch, model.hiddenChannels], 0, 1, "float32", 5);
  const a = tf.randomNormal([X.batch, model.hiddenChannels], 0, 1, "float32", 6);
  const t = (X.knots[0] + X.knots[1]) / 2;
  const hand = withCdeVjp(X, model.field, cdeVectorField(X, model.field));
  const plain = cdeVectorField(X, (tt, zz) => model.vectorField(tt, zz));
  const parts = {
    f: () => [hand(t, z)],
    hand: () => {
      const r = hand.vjp(t, z, a);
      return [r.value, r.y, ...r.params];
    },
    tape: () => {
      const r = vjp(() => [plain(t, z)], [z, ...model.fieldVariables], [a]);
      return [...r.value, ...r.grads];
    },
  };
  const out = { f: Infinity, hand: Infinity, tape: Infinity };
  for (const [name, make] of Object.entries(parts) as [keyof typeof out, () => tf.Tensor[]][]) {
    for (let i = 0; i <= runs; i++) {
      const seconds = await cpuSecondsOf(async () => {
        const ts = tf.tidy(make);
        await ts[ts.length - 1].data(); // done when the last result can be read
        tf.dispose(ts);
      });
      if (i > 0) out[name] = Math.min(out[name], seconds);
    }
  }
  tf.dispose([z, a]);
  return out;
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
      knots: { type: "string", default: String(FRAMES) },
      kernels: { type: "string", default: "fast" },
      vjp: { type: "string", default: "hand" },
      repeats: { type: "string", default: "1" },
      evals: { type: "string", default: "5" },
    },
  });
  const backend = values.backend as BackendName;
  const batchSize = positive("batch", values.batch);
  const knots = positive("knots", values.knots);
  const [repeats, evals] = [Number(values.repeats), Number(values.evals)];
  for (const [flag, v] of [["repeats", repeats], ["evals", evals]] as const) {
    if (!(Number.isInteger(v) && v >= 0)) {
      throw new Error(`--${flag} must be an integer >= 0, not ${values[flag]}`);
    }
  }
  if (knots < 2) throw new Error(`--knots must be at least 2, not ${knots}`);
  const kernelSets = backend === "wasm"
    ? choice("kernels", values.kernels!, ["stock", "fast"] as const)
    : ["fast" as const];
  const vjps = choice("vjp", values.vjp!, ["hand", "tape"] as const);

  await useBackend(backend);
  const data = randomBatch(batchSize, knots, 0);
  const warm = randomBatch(Math.min(8, batchSize), knots, 1);
  const times = Array.from({ length: knots }, (_, k) => k);
  const model = new NeuralCDE({
    inputChannels: MFCCS + 1,
    hiddenChannels: PAPER.hiddenChannels,
    hiddenHiddenChannels: PAPER.hiddenHiddenChannels,
    numHiddenLayers: PAPER.numHiddenLayers,
    classes: SPEECH_COMMANDS_CLASSES.length,
    seed: 0,
  });
  const solve = { rtol: PAPER.rtol, atol: PAPER.atol, method: "dopri5" as const };
  console.log(
    `Neural CDE training batch, ${backend}: hidden ${PAPER.hiddenChannels}, field MLP ` +
      `${PAPER.numHiddenLayers} × ${PAPER.hiddenHiddenChannels} (${model.parameterCount} ` +
      `parameters), batch ${batchSize} random clips of ${knots} knots × ${MFCCS + 1} channels, ` +
      `linear path, dopri5 rtol ${solve.rtol}, atol ${solve.atol}; ${repeats} timed batch(es) ` +
      `per row after a warm-up of ${warm.labels.length} clips`,
  );
  if (evals > 0) {
    console.log(
      `one field evaluation at batch ${batchSize}, CPU ms (least of ${evals}): ` +
        `f·dX/dt (forward) | hand VJP | tape VJP | tape / hand`,
    );
    const X = new LinearInterpolation(data.x, times);
    for (const kernels of kernelSets) {
      if (backend === "wasm") await useBackend("wasm", { kernels });
      const e = await perEvaluation(model, X, evals);
      const ms = (s: number) => (1000 * s).toFixed(1);
      console.log(
        `| ${kernels} | ${ms(e.f)} | ${ms(e.hand)} | ${ms(e.tape)} | ` +
          `${(e.tape / e.hand).toFixed(2)}× |`,
      );
    }
    X.dispose();
  }
  const rows: Row[] = [];
  for (const kernels of repeats > 0 ? kernelSets : []) {
    if (backend === "wasm") await useBackend("wasm", { kernels });
    for (const vjp of vjps) {
      for (const norm of NORM_NAMES) {
        const options = { ...solve, vjp, adjoint: { norm } };
        {
          const X = new LinearInterpolation(warm.x, times);
          const w = await model.lossAndGrads(X, warm.labels, options);
          tf.dispose(w.grads);
          X.dispose();
        }
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
          // The control path is built per batch, as the experiment does: part of the time.
          const [t0, cpu0] = [performance.now(), process.cpuUsage()];
          const X = new LinearInterpolation(data.x, times);
          const step = await model.lossAndGrads(X, data.labels, options);
          const grads = await Promise.all(model.variables.map((v) => step.grads[v.name].data()));
          row.seconds.push((performance.now() - t0) / 1000);
          const cpu = process.cpuUsage(cpu0);
          row.cpuSeconds.push((cpu.user + cpu.system) / 1e6);
          X.dispose();
          Object.assign(row, {
            forwardNfe: step.forward.nfe,
            backwardNfe: step.backward?.nfe ?? 0,
            loss: step.loss,
            grads: grads as Float32Array[],
          });
          tf.dispose(step.grads);
        }
        rows.push(row);
        console.log(
          `  ${kernels} kernels, ${vjp} VJP, ${norm}: ${median(row.seconds).toFixed(2)} s ` +
            `(CPU ${
              median(row.cpuSeconds).toFixed(2)
            } s; NFE ${row.forwardNfe} + ${row.backwardNfe}, loss ${row.loss.toPrecision(6)})`,
        );
      }
    }
  }
  if (rows.length === 0) { // --repeats 0: the field evaluations only
    tf.dispose([data.x, warm.x]);
    model.dispose();
    return;
  }
  const paperSize = batchSize === PAPER.batchSize && knots === FRAMES;
  console.log(
    `\nhours per paper run: ${BATCHES_PER_RUN} batches per norm (⌈${TRAIN_CLIPS} / ` +
      `${PAPER.batchSize}⌉ per epoch × ${PAPER.epochs} epochs, CDE_PRESETS.paper), at the ` +
      `seconds per batch measured here${
        paperSize ? "" : ` (batch ${batchSize} of ${knots} knots, not the paper's ` +
          `${PAPER.batchSize} of ${FRAMES}: not a paper-run estimate)`
      }`,
  );
  console.log(
    "| kernels | VJP | norm | s per batch | CPU s | forward NFE | backward NFE | h per paper run |",
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
  tf.dispose([data.x, warm.x]);
  model.dispose();
}

if (import.meta.main) await main();
