/**
 * One training batch (forward solve + adjoint backward) of the paper-size Neural CDE, issue 11:
 * seconds per batch per norm, with the field's hand-written VJP (`NeuralCDE.field`, through
 * `withCdeVjp`) and/or the tape's, on the stock and/or fast wasm kernels, and the hours a paper
 * run would take at that speed.
 *
 * Sizes and tolerances are the `paper` preset's (`CDE_PRESETS.paper`,
 * experiments/cde/settings.ts: hidden 90, vector-field MLP width 40 with 4 layers, batch 1024,
 * dopri5 rtol 1e-3, atol 1e-6 on both passes), with the paper's Speech Commands input: 161 knots
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
 * in wall seconds and in this process's CPU seconds (the loop, the flags and the table are the
 * batch benchmarks' shared ones, bench/batch_timing.ts). The stock kernels and the tape are slow at this size
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
 * deno run -A bench/cde_batch.ts --help
 * ```
 *
 * Not a `deno bench` file (no `_bench` in its name: `deno task bench` skips it); run it directly.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { useBackend, vjp } from "../mod.ts";
import {
  cdeVectorField,
  LinearInterpolation,
  NeuralCDE,
  SPEECH_COMMANDS_CLASSES,
  withCdeVjp,
} from "../models/cde/mod.ts";
import { seededRandom } from "../models/data/mod.ts";
import { CDE_PRESETS } from "../experiments/cde/mod.ts";
import { numberFlag, parseCommandLine, runMain } from "../experiments/harness/mod.ts";
import {
  type BatchConfig,
  type BatchFlagOptions,
  batchFlags,
  batchReport,
  batchUsage,
  timeBatches,
  timed,
} from "./batch_timing.ts";

const PAPER = CDE_PRESETS.paper;
/** MFCC frames of a one-second clip (the paper's 161) and MFCC channels (20, plus time). */
const FRAMES = 161;
const MFCCS = 20;
/** Training clips of a paper run and its batches (see the module documentation). */
const TRAIN_CLIPS = 24482;
const BATCHES_PER_RUN = Math.ceil(TRAIN_CLIPS / PAPER.batchSize) * PAPER.epochs;

/** The command line: the batch benchmarks' flags, `--knots` and `--evals`. */
const FLAGS: BatchFlagOptions = {
  command: "deno task bench:cde",
  batch: PAPER.batchSize,
  items: "clips",
  vjp: "hand",
  minRepeats: 0,
  extra: {
    knots: { default: String(FRAMES), help: "knots (MFCC frames) per clip, at least 2" },
    evals: { default: "5", help: "timed runs of one field evaluation (0: none)" },
  },
};

/** The command line's flags, checked (`--knots`, `--evals` as numbers), or `"help"`. */
function parse(args: string[]) {
  const flags = batchFlags(args, FLAGS);
  if (flags === "help") return flags;
  return {
    ...flags,
    knots: numberFlag("knots", flags.extra.knots, true, 2),
    evals: numberFlag("evals", flags.extra.evals, true, 0),
  };
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
      const { cpuSeconds } = await timed(async () => {
        const ts = tf.tidy(make);
        await ts[ts.length - 1].data(); // done when the last result can be read
        tf.dispose(ts);
      });
      if (i > 0) out[name] = Math.min(out[name], cpuSeconds);
    }
  }
  tf.dispose([z, a]);
  return out;
}

async function main(args: string[]): Promise<number> {
  const flags = parseCommandLine(args, parse, batchUsage(FLAGS));
  if (typeof flags === "number") return flags;
  const { backend, batchSize, knots, repeats, evals, kernelSets } = flags;

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
  const options = ({ vjp, norm }: BatchConfig) => ({ ...solve, vjp, adjoint: { norm } });
  /** One step on `clips`, with the control path built per batch, as the experiment does. */
  const step = async (clips: typeof data, config: BatchConfig) => {
    const X = new LinearInterpolation(clips.x, times);
    try {
      return await model.lossAndGrads(X, clips.labels, options(config));
    } finally {
      X.dispose();
    }
  };
  const rows = await timeBatches(flags, {
    warmUp: (config) => step(warm, config),
    batch: (config) => step(data, config),
    variables: model.variables,
  });
  if (rows.length === 0) { // --repeats 0: the field evaluations only
    tf.dispose([data.x, warm.x]);
    model.dispose();
    return 0;
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
  for (const line of batchReport(rows, BATCHES_PER_RUN)) console.log(line);
  tf.dispose([data.x, warm.x]);
  model.dispose();
  return 0;
}

if (import.meta.main) await runMain(main);
