/**
 * The acrobot experiment of "Hey, that's not an ODE" (Kidger, Chen & Lyons, 2021), as a
 * function ({@link runAcrobotExperiment}) and a command line: train a Symplectic ODE-Net with
 * control on windows of the fully-actuated acrobot, once with each backward norm and the same
 * seed, and compare the test MSE and the backward (adjoint) NFE.
 *
 * ```sh
 * deno run -A experiments/acrobot/experiment.ts                     # small preset, both norms, wasm
 * deno run -A experiments/acrobot/experiment.ts --preset paper      # the seed's configuration (GPU)
 * deno run -A experiments/acrobot/experiment.ts --norm seminorm --epochs 2 --control
 * deno run -A experiments/acrobot/experiment.ts --help
 * ```
 *
 * Each run is saved by the training harness as
 * `<out>/acrobot/<preset>-<norm>-<rtol>-<atol>/<n>.json` (`.` written as `-`), and with
 * `--control` the energy-shaping swing-up of the trained model as `<n>.control.json` next to it. The command prints a table of test MSE, backward NFE (summed
 * over the metric passes on the training split, as the seed's `parse_results.py` does, and per
 * batch), the seminorm's reduction and the wall time.
 *
 * Presets ({@link ACROBOT_PRESETS}):
 *
 * - `paper`: the seed's `acrobot.py`: `M⁻¹` net 400 wide, `V` and `g` nets 300 wide (509,108
 *   parameters), 128 trials per control (20,025 / 4,275 / 4,500 windows), batch 256, AdamW with
 *   learning rate 1e-3 and weight decay 0.01, 50 epochs, metrics every 10 epochs, dopri5 with
 *   rtol = atol = 1e-4 on both passes. Meant for a GPU (`--backend webgpu`).
 * - `small`: every width 32 (4,968 parameters), 12 trials per control (1,800 / 225 / 675
 *   windows), batch 225 (8 equal training batches), learning rate 1e-2 (a short run needs the
 *   larger rate), 5 epochs with metrics after each, dopri5 with rtol 1e-3 and atol 1e-9. Both
 *   norms together take about 6 minutes on 2 CPU cores with the wasm backend.
 *
 * **Why the small preset has other tolerances.** Every backward solve here covers one 0.05 s
 * gap between output times (7 per window), each a fresh dopri5 solve with its own initial-step
 * selection. At the paper's rtol = atol = 1e-4 the state and its adjoint limit those steps: at
 * the small sizes both norms take the same steps (2 per gap, 98 evaluations per batch) before
 * and after training, so the seminorm saves nothing. The parameter adjoints `a_θ` start at 0 at
 * the last output time, so on the first gap their tolerance is `atol` alone; with `atol` far
 * below `rtol` the default norm's initial-step selection picks a first step of about 2e-5 s and
 * needs a few more steps to grow it, which the seminorm skips: about 20 fewer evaluations per
 * batch (18% of the backward NFE) at the same test MSE. `--rtol 1e-4 --atol 1e-4` runs the
 * paper's tolerances at the small sizes. (At the paper's sizes an untrained model also takes
 * the same steps with either norm, one per gap; whether training changes that needs the full
 * run on a GPU.)
 *
 * **About the seed's seminorm.** The seed's `models/symode.py` built its norm from the whole data
 * batch (`[B, 8 times, 8 channels]`) instead of the state (`[B, 8]`), so it sliced the flat
 * adjoint state at 8× the right length: its "seminorm" still measured about 28.7k of the 509k
 * parameter-adjoint channels (the first layers of the `M⁻¹` net). The seminorm here is the
 * correct one, `max(rms(z), rms(a_z))`, so its numbers are not the seed's.
 *
 * @example A tiny run of both norms (results in a temporary folder)
 * ```ts
 * import assert from "node:assert/strict";
 * import { runAcrobotExperiment } from "./experiment.ts";
 *
 * const out = await Deno.makeTempDir();
 * // 7 trials of 9 points under one control, 1 epoch, tiny widths, loose tolerances.
 * const { runs } = await runAcrobotExperiment({
 *   epochs: 1, massHidden: 4, potentialHidden: 4, inputHidden: 4, trials: 7, steps: 9,
 *   controls: [[0, 1]], batchSize: 8, rtol: 1e-2, atol: 1e-2, cacheDir: false, out,
 *   progress: "none",
 * });
 * assert.deepEqual(runs.map((r) => r.norm), ["default", "seminorm"]);
 * assert.ok(runs.every((r) => r.backwardNfe > 0 && r.path !== null));
 * await Deno.remove(out, { recursive: true });
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  EXPERIMENT_FLAGS,
  experimentBackend,
  experimentFlags,
  numberFlag,
  parseCommandLine,
  parseFlags,
  runMain,
} from "../harness/cli.ts";
import type { BackendName } from "../../mod.ts";
import { type PresetRules, resolvePreset } from "../harness/presets.ts";
import {
  configName,
  type ProgressEvent,
  type ProgressMode,
  tensorSplit,
  train,
  type TrainResult,
} from "../harness/train.ts";
import {
  ACROBOT,
  ACROBOT_CONTROLS,
  type ControlTrajectory,
  type EnergyShapingOptions,
  loadAcrobotDataset,
  runEnergyShaping,
  saveTrajectory,
  splitSizes,
  Symoden,
} from "../../models/acrobot/mod.ts";

// Types from elsewhere that appear in this module's signatures.
export type { BackendName } from "../../mod.ts";
export type { ProgressEvent, ProgressMode, TrainResult } from "../harness/train.ts";
export type {
  BatchProgress,
  MessageProgress,
  MetricsProgress,
  Phase,
} from "../harness/progress.ts";
export type { HistoryEntry, Metrics, RunResult, TrainSettings } from "../harness/results.ts";
export type { ControlTrajectory, EnergyShapingOptions } from "../../models/acrobot/mod.ts";

/** A backward norm compared by the experiment. */
export type AcrobotNorm = "default" | "seminorm";

/** The name of a preset. */
export type AcrobotPresetName = "small" | "paper";

/** Sizes and settings of an acrobot run; a preset gives all of them. */
export interface AcrobotSettings {
  /** Hidden width of the `M⁻¹` network (3 hidden layers). */
  massHidden: number;
  /** Hidden width of the potential network (2 hidden layers). */
  potentialHidden: number;
  /** Hidden width of the input-matrix network (2 hidden layers). */
  inputHidden: number;
  /** Trials per control (split 70 / 15 / 15 by trial). */
  trials: number;
  /** Windows per batch. */
  batchSize: number;
  /** Training epochs. */
  epochs: number;
  /** AdamW learning rate. */
  learningRate: number;
  /** AdamW decoupled weight decay. */
  weightDecay: number;
  /** Metric passes every this many epochs (and after the last). */
  epochsPerMetric: number;
  /** Relative tolerance of the forward and backward solves. */
  rtol: number;
  /** Absolute tolerance of the forward and backward solves. */
  atol: number;
}

/**
 * The presets: `paper` is the seed's configuration, `small` a CPU-sized run that shows the
 * seminorm's saving (see the module documentation for its tolerances).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ACROBOT_PRESETS } from "./experiment.ts";
 * assert.equal(ACROBOT_PRESETS.paper.massHidden, 400);
 * assert.equal(ACROBOT_PRESETS.paper.rtol, 1e-4);
 * ```
 */
export const ACROBOT_PRESETS: Readonly<Record<AcrobotPresetName, Readonly<AcrobotSettings>>> =
  Object.freeze({
    paper: Object.freeze({
      massHidden: 400,
      potentialHidden: 300,
      inputHidden: 300,
      trials: 128,
      batchSize: 256,
      epochs: 50,
      learningRate: 1e-3,
      weightDecay: 0.01,
      epochsPerMetric: 10,
      rtol: 1e-4,
      atol: 1e-4,
    }),
    small: Object.freeze({
      massHidden: 32,
      potentialHidden: 32,
      inputHidden: 32,
      trials: 12,
      batchSize: 225,
      epochs: 5,
      learningRate: 1e-2,
      weightDecay: 0.01,
      epochsPerMetric: 1,
      rtol: 1e-3,
      atol: 1e-9,
    }),
  });

/** Options of {@link runAcrobotExperiment}: a preset, and any of its settings overridden. */
export interface AcrobotExperimentOptions extends Partial<AcrobotSettings> {
  /** The preset the other settings default to (default `"small"`). */
  preset?: AcrobotPresetName;
  /** The norms to train with, in order, each from the same seed (default both). */
  norms?: AcrobotNorm[];
  /** Seed of the initial weights and of the batch order (default 0). */
  seed?: number;
  /** Results directory (default `"results"`); `false` saves nothing. */
  out?: string | false;
  /**
   * Also run the energy-shaping swing-up with each trained model (on the true physics) and
   * save its trajectory next to the result: `true`, or options for it (default false; controls
   * clipped to the environment's ±15 unless `maxControl` says otherwise).
   */
  control?: boolean | EnergyShapingOptions;
  /** Recorded points per trial (default 32; fewer make tiny data sets for tests). */
  steps?: number;
  /** The constant controls (default the experiment's nine). */
  controls?: readonly (readonly [number, number])[];
  /** Data cache folder (default `.cache/acrobot`); `false` neither reads nor writes it. */
  cacheDir?: string | false;
  /** Print the data generation's progress to stderr (default false). */
  dataProgress?: boolean;
  /** Record the time of every evaluation and step in the metric passes (default false). */
  recordTimes?: boolean;
  /** The harness's terminal display (default `"auto"`). */
  progress?: ProgressMode;
  /** Called with every progress event of every run, and the run's norm. */
  onProgress?: (event: ProgressEvent, norm: AcrobotNorm) => void;
}

/** The outcome of one norm's run. */
export interface AcrobotRun {
  /** The backward norm. */
  norm: AcrobotNorm;
  /** The configuration name of the result folder. */
  name: string;
  /** The saved result file, or `null` when nothing is saved. */
  path: string | null;
  /** The harness's record of the run (history, final metrics, settings). */
  result: TrainResult;
  /** Test MSE of the best model. */
  testLoss: number;
  /**
   * Backward NFE summed over the metric passes on the training split (the seed's "BNFE"; its
   * metric passes sample every `epochsPerMetric`-th epoch).
   */
  backwardNfe: number;
  /** {@link backwardNfe} per batch of those passes. */
  backwardNfePerBatch: number;
  /** Backward NFE summed over the training steps of every epoch. */
  trainingBackwardNfe: number;
  /** Forward NFE summed over the same metric passes as {@link backwardNfe}. */
  forwardNfe: number;
  /** Wall time of the run (training, metric passes and final passes), in seconds. */
  seconds: number;
  /** The swing-up with the trained model, when asked for (or why it failed). */
  control?: AcrobotControlOutcome;
}

/** The energy-shaping swing-up of a trained model. */
export type AcrobotControlOutcome =
  | {
    /** Where the trajectory JSON was written, or `null` when nothing is saved. */
    path: string | null;
    /** The closed-loop trajectory. */
    trajectory: ControlTrajectory;
    /** Final true energy minus that of balancing upright at rest (J); near 0 when balanced. */
    energyGap: number;
  }
  | {
    /** The message of the error that ended the closed loop (a diverging loop). */
    error: string;
  };

/** What {@link runAcrobotExperiment} returns. */
export interface AcrobotExperimentResult {
  /** The preset the settings started from. */
  preset: AcrobotPresetName;
  /** The settings used, overrides applied. */
  settings: AcrobotSettings;
  /** Windows in the train, val and test splits. */
  sizes: { train: number; val: number; test: number };
  /** Trainable scalars of the model. */
  parameters: number;
  /** The tfjs backend the runs used. */
  backend: string;
  /** One run per norm, in the order asked for. */
  runs: AcrobotRun[];
}

const NORMS: readonly AcrobotNorm[] = ["default", "seminorm"];

/** What {@link resolvePreset} checks the options against. */
const PRESET_RULES: PresetRules = {
  experiment: "acrobot",
  options: [
    "norms",
    "seed",
    "out",
    "control",
    "steps",
    "controls",
    "cacheDir",
    "dataProgress",
    "recordTimes",
    "progress",
    "onProgress",
  ],
  integers: new Set([
    "massHidden",
    "potentialHidden",
    "inputHidden",
    "trials",
    "batchSize",
    "epochs",
    "epochsPerMetric",
  ]),
};

/** A {@link Symoden} as the harness's `Trainable`, with a fixed backward norm. */
function trainable(model: Symoden, norm: AcrobotNorm, settings: AcrobotSettings) {
  const { massHidden: m, potentialHidden: v, inputHidden: g } = settings;
  return {
    variables: model.variables,
    description: `Symoden: M⁻¹ net 4-${m}-${m}-${m}-3, V net 4-${v}-${v}-1, ` +
      `g net 4-${g}-${g}-4 (softplus); ${model.parameterCount} parameters`,
    async step(batch: { windows: tf.Tensor }, options: { record: boolean }) {
      const r = await model.step(batch.windows, {
        norm,
        rtol: settings.rtol,
        atol: settings.atol,
        record: options.record,
      });
      return {
        loss: r.loss,
        count: r.count,
        grads: r.grads,
        forward: r.forward,
        backward: r.backward,
      };
    },
  };
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

/**
 * Trains a Symplectic ODE-Net on the acrobot windows once per norm (same seed, same batches),
 * saves each run's result JSON (and, with `control`, its swing-up trajectory) and returns the
 * runs. The tfjs backend is whatever is active; the command line selects it. Nothing is left
 * allocated: the data, models and optimiser state are disposed, also when a run throws.
 *
 * See the module documentation for the presets and an example.
 */
export async function runAcrobotExperiment(
  options: AcrobotExperimentOptions = {},
): Promise<AcrobotExperimentResult> {
  const { preset, settings } = resolvePreset(ACROBOT_PRESETS, options, PRESET_RULES);
  const norms = options.norms ?? [...NORMS];
  if (!Array.isArray(norms) || norms.length === 0) {
    throw new TypeError(`acrobot: norms must be a non-empty list of "default" / "seminorm"`);
  }
  for (const n of norms) {
    if (!NORMS.includes(n)) {
      throw new RangeError(`acrobot: unknown norm "${n}" (default or seminorm)`);
    }
  }
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0) {
    throw new RangeError(`acrobot: seed must be an integer >= 0, got ${seed}`);
  }
  const out = options.out ?? "results";
  if (out !== false && (typeof out !== "string" || out === "")) {
    throw new TypeError("acrobot: out must be a directory or false");
  }
  const control = options.control ?? false;
  const controls = options.controls ?? ACROBOT_CONTROLS;

  const [nTrain, nVal, nTest] = splitSizes(settings.trials);
  if (nTrain === 0 || nVal === 0 || nTest === 0) {
    const empty = nVal === 0 ? "val" : nTrain === 0 ? "train" : "test";
    throw new RangeError(
      `acrobot: the ${empty} split is empty with ${settings.trials} trials per control ` +
        `(splits are ⌊0.7·n⌋ / ⌊0.15·n⌋ / the rest); use at least 7 trials`,
    );
  }

  const data = await loadAcrobotDataset({
    trials: settings.trials,
    steps: options.steps,
    controls,
    cacheDir: options.cacheDir,
    progress: options.dataProgress ?? false,
  });
  try {
    const sizes = {
      train: data.train.shape[0],
      val: data.val.shape[0],
      test: data.test.shape[0],
    };
    const splits = {
      train: tensorSplit({ windows: data.train }),
      val: tensorSplit({ windows: data.val }),
      test: tensorSplit({ windows: data.test }),
    };
    const runs: AcrobotRun[] = [];
    let parameters = 0;
    for (const norm of norms) {
      const name = configName([preset, norm, settings.rtol, settings.atol]);
      const model = new Symoden({
        massHidden: settings.massHidden,
        potentialHidden: settings.potentialHidden,
        inputHidden: settings.inputHidden,
        seed,
      });
      try {
        parameters = model.parameterCount;
        let trainingBackwardNfe = 0;
        const start = performance.now();
        const result = await train(trainable(model, norm, settings), splits, {
          maxEpochs: settings.epochs,
          batchSize: settings.batchSize,
          learningRate: settings.learningRate,
          weightDecay: settings.weightDecay,
          epochsPerMetric: settings.epochsPerMetric,
          seed,
          recordTimes: options.recordTimes ?? false,
          config: {
            experiment: "acrobot",
            preset,
            norm,
            seed,
            ...settings,
            steps: data.trajectories.settings.steps,
            window: data.times.length,
            controls: data.trajectories.settings.controls,
            sizes,
            dataKey: data.trajectories.key,
          },
          save: out === false ? undefined : { dir: out, experiment: "acrobot", name },
          progress: options.progress ?? "auto",
          onProgress: (event) => {
            if (event.kind === "batch" && event.phase === "train") {
              trainingBackwardNfe += event.backwardNfe;
            }
            options.onProgress?.(event, norm);
          },
        });
        const seconds = (performance.now() - start) / 1000;
        const history = result.history;
        const backwardNfe = sum(history.map((h) => h.train.backwardNfe));
        const batches = sum(history.map((h) => h.train.batches));
        const run: AcrobotRun = {
          norm,
          name,
          path: result.path,
          result,
          testLoss: result.test!.loss,
          backwardNfe,
          backwardNfePerBatch: batches > 0 ? backwardNfe / batches : 0,
          trainingBackwardNfe,
          forwardNfe: sum(history.map((h) => h.train.forwardNfe)),
          seconds,
        };
        if (control !== false) run.control = await swingUp(model, control, result.path);
        runs.push(run);
      } finally {
        model.dispose();
      }
    }
    return { preset, settings, sizes, parameters, backend: tf.getBackend(), runs };
  } finally {
    data.dispose();
  }
}

/** The swing-up with a trained model, saved as `<n>.control.json` next to `<n>.json`. */
async function swingUp(
  model: Symoden,
  control: true | EnergyShapingOptions,
  resultPath: string | null,
): Promise<AcrobotControlOutcome> {
  const options = { maxControl: 15, ...(control === true ? {} : control) };
  let trajectory: ControlTrajectory;
  try {
    trajectory = await runEnergyShaping(model, options);
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
  const path = resultPath === null ? null : resultPath.replace(/\.json$/, ".control.json");
  if (path !== null) await saveTrajectory(path, trajectory);
  const { m1, m2, l1, lc1, lc2, g } = ACROBOT;
  const upright = (m1 * lc1 + m2 * l1 + m2 * lc2) * g; // potential energy balanced upright
  const energyGap = trajectory.energy[trajectory.energy.length - 1] - upright;
  return { path, trajectory, energyGap };
}

/**
 * The result table: per norm the test MSE, backward NFE (total over the metric passes on the
 * training split, and per batch), the reduction relative to the default norm, the backward NFE
 * of the training steps, and the wall time; then a line comparing the norms when both ran.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatAcrobotTable } from "./experiment.ts";
 * const run = (norm: "default" | "seminorm", bnfe: number, loss: number) => ({
 *   norm, testLoss: loss, backwardNfe: bnfe, backwardNfePerBatch: bnfe / 10,
 *   trainingBackwardNfe: 2 * bnfe, seconds: bnfe / 100,
 * });
 * const table = formatAcrobotTable([run("default", 1000, 0.0123), run("seminorm", 600, 0.0125)]);
 * assert.match(table, /seminorm .* 40\.0%/);
 * ```
 */
export function formatAcrobotTable(
  runs: Pick<
    AcrobotRun,
    | "norm"
    | "testLoss"
    | "backwardNfe"
    | "backwardNfePerBatch"
    | "trainingBackwardNfe"
    | "seconds"
  >[],
): string {
  const base = runs.find((r) => r.norm === "default");
  const pct = (a: number, b: number) => `${(100 * (1 - b / a)).toFixed(1)}%`;
  const rows = [
    [
      "norm",
      "test MSE",
      "backward NFE",
      "per batch",
      "reduction",
      "training bwd NFE",
      "wall time",
    ],
    ...runs.map((r) => [
      r.norm,
      r.testLoss.toPrecision(4),
      String(r.backwardNfe),
      r.backwardNfePerBatch.toFixed(1),
      base && r !== base ? pct(base.backwardNfe, r.backwardNfe) : "",
      String(r.trainingBackwardNfe),
      `${r.seconds.toFixed(1)} s`,
    ]),
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const lines = rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c])).join("  ").trimEnd());
  lines.splice(1, 0, widths.map((w) => "-".repeat(w)).join("  "));
  const semi = runs.find((r) => r.norm === "seminorm");
  if (base && semi) {
    const dMse = 100 * (semi.testLoss / base.testLoss - 1);
    lines.push(
      "",
      `seminorm: ${pct(base.backwardNfe, semi.backwardNfe)} fewer backward NFE in the metric ` +
        `passes, ${pct(base.trainingBackwardNfe, semi.trainingBackwardNfe)} in training, ` +
        `${pct(base.seconds, semi.seconds)} less wall time; test MSE ` +
        `${dMse >= 0 ? "+" : ""}${dMse.toFixed(1)}% (paper: median 40%, up to 62% fewer ` +
        `backward NFE over its experiments)`,
    );
  }
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------
// Command line

/** The usage text of the command line. */
export const ACROBOT_USAGE: string = `Usage: deno run -A experiments/acrobot/experiment.ts [options]

Trains a Symplectic ODE-Net with control on the fully-actuated acrobot, once per backward norm
(same seed), and prints test MSE, backward NFE and wall time. Results: <out>/acrobot/<preset>-
<norm>-<rtol>-<atol>/<n>.json (and <n>.control.json with --control).

  --norm NAME         default, seminorm or both (default both)
  --preset NAME       small (default) or paper
  --rtol X            relative tolerance of both solves (small 1e-3, paper 1e-4)
  --atol X            absolute tolerance of both solves (small 1e-9, paper 1e-4)
  --epochs N          training epochs (small 5, paper 50)
  --trials N          trials per control, split 70/15/15 (small 12, paper 128)
  --batch-size N      windows per batch (small 225, paper 256)
  --width N           hidden width of all three networks (small 32, paper 400/300/300)
  --lr X              AdamW learning rate (small 1e-2, paper 1e-3)
  --metric-every N    metric passes every N epochs and after the last (small 1, paper 10)
  --seed N            seed of the weights and the batch order (default 0)
  --backend NAME      cpu, wasm or webgpu (small: wasm; paper: webgpu when a hardware GPU
                      is present, else wasm)
  --out DIR           results directory (default results)
  --control           also swing the acrobot up with each trained model (energy shaping,
                      20 s, controls clipped to ±15) and save the trajectory
  --help              this text

Presets. paper = the seed's acrobot.py: widths 400/300/300 (509,108 parameters), 128 trials
per control, batch 256, AdamW lr 1e-3, weight decay 0.01, 50 epochs, metrics every 10 epochs,
dopri5 rtol = atol = 1e-4 on both passes; meant for a GPU. small = widths 32, 12 trials, batch
225, lr 1e-2, 5 epochs, metrics every epoch, rtol 1e-3, atol 1e-9: both norms in about 6
minutes on 2 CPU cores (wasm).

Why the small preset has other tolerances: each backward solve covers one 0.05 s gap between
output times. At the paper's rtol = atol = 1e-4 the state limits those steps and both norms
take the same ones at the small sizes (no saving). The parameter adjoints start at 0, so on the
first gap their tolerance is atol alone; with atol far below rtol the default norm starts that
gap with a ~1e-5 s step and needs a few more steps, which the seminorm skips (about 18% fewer
backward evaluations, same test MSE).

The seed's seminorm was not one: its models/symode.py built the norm from the whole data batch
[B, 8, 8] instead of the state [B, 8], so its "seminorm" still measured about 28.7k of the 509k
parameter-adjoint channels. This one is the correct max(rms(z), rms(a_z)).`;

/** The command line's options, parsed. */
export interface AcrobotCliOptions extends AcrobotExperimentOptions {
  /** The tfjs backend; `undefined` picks the preset's default. */
  backend?: BackendName;
}

const FLAGS = {
  ...EXPERIMENT_FLAGS,
  trials: { type: "string" },
  width: { type: "string" },
  control: { type: "boolean" },
} as const;

/**
 * Parses the command line's flags (see {@link ACROBOT_USAGE}) into options, or `"help"` for
 * `--help`. Throws a `TypeError` naming an unknown flag or a stray argument, and a `RangeError`
 * naming a bad value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseAcrobotArgs } from "./experiment.ts";
 * const options = parseAcrobotArgs(["--norm", "seminorm", "--epochs", "3", "--control"]);
 * assert.deepEqual(options, { norms: ["seminorm"], epochs: 3, control: true });
 * assert.throws(() => parseAcrobotArgs(["--epoch", "3"]), /unknown flag --epoch/);
 * assert.equal(parseAcrobotArgs(["--help"]), "help");
 * ```
 */
export function parseAcrobotArgs(args: string[]): AcrobotCliOptions | "help" {
  const values = parseFlags(args, FLAGS);
  if (values.help) return "help";
  const o: AcrobotCliOptions = experimentFlags(values);
  const str = (k: keyof typeof FLAGS) => values[k] as string | undefined;
  if (str("trials") !== undefined) o.trials = numberFlag("trials", str("trials")!, true, 7);
  if (str("width") !== undefined) {
    const w = numberFlag("width", str("width")!, true, 1);
    o.massHidden = o.potentialHidden = o.inputHidden = w;
  }
  if (values.control) o.control = true;
  return o;
}

function describeSettings(r: AcrobotExperimentResult): string {
  const s = r.settings;
  return `acrobot, preset ${r.preset}: Symoden widths ${s.massHidden}/${s.potentialHidden}/` +
    `${s.inputHidden} (${r.parameters} parameters); ${s.trials} trials per control → ` +
    `${r.sizes.train}/${r.sizes.val}/${r.sizes.test} windows; batch ${s.batchSize}; AdamW lr ` +
    `${s.learningRate}, weight decay ${s.weightDecay}; ${s.epochs} epoch${
      s.epochs === 1 ? "" : "s"
    }, metrics every ${
      s.epochsPerMetric === 1 ? "epoch" : `${s.epochsPerMetric} epochs`
    }; dopri5 rtol ${s.rtol}, atol ${s.atol}; backend ${r.backend}`;
}

/**
 * The command line: parses `args`, selects the backend, runs the experiment and prints the
 * table. Returns the exit code (0; 2 for a usage error, printed with a hint); errors of the run
 * itself are thrown.
 */
export async function acrobotMain(args: string[]): Promise<number> {
  const options = parseCommandLine(args, parseAcrobotArgs, ACROBOT_USAGE);
  if (typeof options === "number") return options;
  const { backend, ...experiment } = options;
  await experimentBackend(backend, experiment.preset);
  const wall = performance.now();
  const result = await runAcrobotExperiment({
    ...experiment,
    dataProgress: Deno.stderr.isTerminal(),
  });
  console.log(describeSettings(result));
  console.log();
  console.log(formatAcrobotTable(result.runs));
  const every = result.settings.epochsPerMetric === 1
    ? "every epoch"
    : `every ${result.settings.epochsPerMetric} epochs and the last`;
  console.log(
    `\nbackward NFE: summed over the metric passes on the training split (${every}), as the ` +
      "seed's parse_results.py;\nper batch: its mean per batch; training bwd NFE: summed over " +
      "the training steps.",
  );
  for (const run of result.runs) {
    if (run.path) console.log(`${run.norm}: ${run.path}`);
    if (run.control && "error" in run.control) {
      console.log(`${run.norm}: swing-up failed: ${run.control.error}`);
    } else if (run.control) {
      const { trajectory, energyGap, path } = run.control;
      const [th1, th2] = trajectory.angles[trajectory.angles.length - 1];
      const wrap = (a: number) => Math.atan2(Math.sin(a), Math.cos(a));
      console.log(
        `${run.norm}: swing-up after ${trajectory.times.at(-1)!.toFixed(1)} s: energy ` +
          `${energyGap >= 0 ? "+" : ""}${energyGap.toFixed(2)} J from balanced upright, ` +
          `θ1 − π = ${wrap(th1 - Math.PI).toFixed(2)} rad, θ2 = ${wrap(th2).toFixed(2)} rad` +
          (path ? `; trajectory ${path}` : ""),
      );
    }
  }
  console.log(`total wall time ${((performance.now() - wall) / 1000).toFixed(1)} s`);
  return 0;
}

if (import.meta.main) await runMain(acrobotMain);
