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
 * timed in wall seconds and in this process's CPU seconds (the loop, the flags and the table are
 * the batch benchmarks' shared ones, bench/batch_timing.ts).
 * The hand and the tape VJP must give the same NFE and gradients to rounding (printed: the
 * largest difference relative to each gradient's largest entry).
 *
 * ```sh
 * deno run -A bench/acrobot_batch.ts                              # wasm, fast kernels, paper size
 * deno run -A bench/acrobot_batch.ts --batch 16 --widths 32,32,32 # a quick check
 * deno run -A bench/acrobot_batch.ts --kernels both --vjp hand    # stock vs fast kernels
 * deno run -A bench/acrobot_batch.ts --backend cpu
 * deno run -A bench/acrobot_batch.ts --help
 * ```
 *
 * Not a `deno bench` file (no `_bench` in its name: `deno task bench` skips it); run it directly.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "../mod.ts";
import {
  ACROBOT_CONTROLS,
  acrobotTrajectories,
  splitSizes,
  Symoden,
  windowsOf,
} from "../models/acrobot/mod.ts";
import { ACROBOT_PRESETS } from "../experiments/acrobot/mod.ts";
import { parseCommandLine, runMain } from "../experiments/harness/mod.ts";
import {
  type BatchConfig,
  type BatchFlagOptions,
  batchFlags,
  batchReport,
  batchUsage,
  timeBatches,
} from "./batch_timing.ts";

const PAPER = ACROBOT_PRESETS.paper;
/** Windows of 8 points per trial of 32 (models/acrobot/dataset.ts). */
const WINDOWS_PER_TRIAL = 25;
/** Points per window (the paper's). */
export const WINDOW = 8;
/** Training windows of a paper run and its batches (see the module documentation). */
const TRAIN_WINDOWS = splitSizes(PAPER.trials)[0] * WINDOWS_PER_TRIAL * ACROBOT_CONTROLS.length;
const BATCHES_PER_RUN = Math.ceil(TRAIN_WINDOWS / PAPER.batchSize) * PAPER.epochs;

/** The command line: the batch benchmarks' flags, and `--widths`. */
const FLAGS: BatchFlagOptions = {
  command: "deno run -A bench/acrobot_batch.ts",
  batch: PAPER.batchSize,
  items: "windows",
  vjp: "both",
  minRepeats: 1,
  extra: {
    widths: {
      default: `${PAPER.massHidden},${PAPER.potentialHidden},${PAPER.inputHidden}`,
      help: "hidden widths of the three nets",
      arg: "M,V,g",
    },
  },
};

/** `count` windows spread evenly over trajectories of all 9 controls. */
export async function batchOf(count: number): Promise<tf.Tensor3D> {
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
    throw new RangeError(
      `--widths must be three positive integers M,V,g (e.g. 400,300,300), not ${text}`,
    );
  }
  return w as [number, number, number];
}

/** The command line's flags, checked (`--widths` as numbers), or `"help"`. */
function parse(args: string[]) {
  const flags = batchFlags(args, FLAGS);
  return flags === "help" ? flags : { ...flags, widths: parseWidths(flags.extra.widths) };
}

async function main(args: string[]): Promise<number> {
  const flags = parseCommandLine(args, parse, batchUsage(FLAGS));
  if (typeof flags === "number") return flags;
  const { backend, batchSize, repeats } = flags;
  const [massHidden, potentialHidden, inputHidden] = flags.widths;

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
  const options = ({ vjp, norm }: BatchConfig) => ({ ...solve, vjp, adjoint: { norm } });
  const rows = await timeBatches(flags, {
    warmUp: (config) => model.step(warmup, options(config)),
    batch: (config) => model.step(windows, options(config)),
    variables: model.variables,
  });
  console.log(
    `\nhours per paper run: ${BATCHES_PER_RUN} batches per norm (⌈${TRAIN_WINDOWS} / ` +
      `${PAPER.batchSize}⌉ per epoch × ${PAPER.epochs} epochs, ACROBOT_PRESETS.paper), at the ` +
      `seconds per batch measured here${
        batchSize === PAPER.batchSize
          ? ""
          : ` (batch ${batchSize}, not the paper's ${PAPER.batchSize})`
      }`,
  );
  for (const line of batchReport(rows, BATCHES_PER_RUN)) console.log(line);
  tf.dispose([windows, warmup]);
  model.dispose();
  return 0;
}

if (import.meta.main) await runMain(main);
