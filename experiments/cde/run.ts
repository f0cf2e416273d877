/**
 * The Neural CDE experiment of "Hey, that's not an ODE" (Kidger, Chen & Lyons, 2021), as a
 * function ({@link runCdeExperiment}) and a command line: train the seed's Neural CDE on Speech
 * Commands (or a synthetic set in the same layout spoken by espeak-ng), once with each backward
 * norm and the same seed, and compare the test accuracy and the backward (adjoint) NFE.
 *
 * ```sh
 * deno run -A experiments/cde/experiment.ts                          # small preset, 2000 synthetic clips
 * deno run -A experiments/cde/experiment.ts --synthetic 3000 --norm seminorm
 * deno run -A experiments/cde/experiment.ts --preset paper --data data/speech_commands --download
 * deno run -A experiments/cde/experiment.ts --help
 * ```
 *
 * Each run is saved by the training harness as
 * `<out>/speech_commands/<preset>-<data>-<norm>-<rtol>-<atol>/<n>.json` (`.` written as `-`;
 * `<data>` is `speechcommands` for `--data`, `synthetic<N>` for `--synthetic N`). The command
 * prints a table of test accuracy, backward NFE (summed over the metric passes on the training
 * split, as the seed's `parse_results.py` does, and per batch), the seminorm's reduction, the
 * time of those forward + backward passes and the run's wall time, then the same measures on
 * the test split (the draft paper's table: "backward passes … performed on the test set purely
 * to evaluate their speed").
 *
 * Presets ({@link CDE_PRESETS}):
 *
 * - `paper`: the seed's `speech_commands.py`: all 161 MFCC frames, hidden 90, hidden-hidden 40,
 *   4 layers (88,940 parameters), batch 1024, AdamW with learning rate 1.6e-3 and weight decay
 *   0.01, 200 epochs, metrics every 10 epochs, dopri5 with linear interpolation and its knots as
 *   `jumpT`, rtol 1e-3 and atol 1e-6 (the first of the seed's three pairs,
 *   {@link CDE_TOLERANCES}). Meant for a GPU (`--backend webgpu`) and the real data (`--data`).
 * - `small`: 2000 synthetic clips (1400 / 300 / 300), every 16th MFCC frame (11 knots at
 *   0, 16, …, 160), the time channel scaled to [0, 1], hidden 16, hidden-hidden 16, 2 layers
 *   (6,778 parameters), batch 128, learning rate 1e-2, 3 epochs with metrics after each, the
 *   paper's rtol 1e-3 and atol 1e-6. Both norms together take 7–8 minutes on 2 CPU cores with
 *   the wasm backend; generating the clips takes 1.5–3.5 minutes once (reused after), their
 *   MFCCs about 6 s once (cached). It reaches about 55% test accuracy (chance: 10%) with either
 *   norm, and the seminorm takes about 65% fewer backward NFE (bench/RESULTS.md).
 *
 * **Why the small preset scales the time channel.** The control's channel 0 is the frame index,
 * `0 … 160` in the seed, so `z` integrates `tanh(·)·dt` over 160 time units: at initialisation
 * `|z(T)|` reaches ~100 and the cross-entropy is ~145 instead of ln 10 ≈ 2.3. The seed's 4,800
 * training steps undo that; the small preset's 33 do not (its accuracy stays at chance). A
 * factor 1/160 on that one input channel (the knot times and the solver are unchanged) starts
 * the loss at 2.8. `--time-scale 1` restores the seed's channel.
 *
 * **Sweeping the tolerances.** A `--rtol` / `--atol` pair picks the tolerances; one of them
 * alone picks its partner from the seed's pairs (`--rtol 1e-4` means atol 1e-7). The seed's
 * sweep, 5 runs per pair (each run adds the next `<n>.json`; the runs share the split,
 * `--data-seed` 0, and differ in initial weights and batch order, as the seed's did):
 *
 * ```sh
 * for tol in "1e-3 1e-6" "1e-4 1e-7" "1e-5 1e-8"; do
 *   set -- $tol
 *   for run in 1 2 3 4 5; do
 *     deno run -A experiments/cde/experiment.ts --preset paper --data data/speech_commands \
 *       --rtol $1 --atol $2 --seed $run
 *   done
 * done
 * ```
 *
 * @example A tiny run of both norms (`ignore`d: it needs a data directory; see the tests)
 * ```ts ignore
 * import { runCdeExperiment } from "./experiment.ts";
 *
 * const { runs } = await runCdeExperiment({ synthetic: 200, epochs: 1, out: false });
 * console.log(runs.map((r) => [r.norm, r.testAccuracy, r.backwardNfe]));
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import {
  EXPERIMENT_FLAGS,
  experimentBackend,
  experimentFlags,
  numberFlag,
  parseCommandLine,
  parseFlags,
  pathFlag,
  runMain,
} from "../harness/cli.ts";
import type { BackendName } from "../../mod.ts";
import { type PresetRules, resolvePreset } from "../harness/presets.ts";
import {
  configName,
  type Metrics,
  type ProgressEvent,
  type ProgressMode,
  type StepOptions,
  type StepResult,
  tensorSplit,
  train,
  type Trainable,
  type TrainResult,
} from "../harness/train.ts";
import {
  generateSyntheticSpeech,
  LinearInterpolation,
  loadSpeechCommands,
  NeuralCDE,
  SPEECH_COMMANDS_CLASSES,
} from "../../models/cde/mod.ts";

// Library types that appear in this module's signatures.
export type { BackendName } from "../../mod.ts";
export type {
  HistoryEntry,
  Metrics,
  ProgressEvent,
  ProgressMode,
  RunResult,
  TrainResult,
} from "../harness/train.ts";
export type {
  BatchProgress,
  MessageProgress,
  MetricsProgress,
  Phase,
} from "../harness/progress.ts";
export type { TrainSettings } from "../harness/results.ts";

/** A backward norm compared by the experiment. */
export type CdeNorm = "default" | "seminorm";

/** The name of a preset. */
export type CdePresetName = "small" | "paper";

/** Sizes and settings of a Neural CDE run; a preset gives all of them. */
export interface CdeSettings {
  /** Size of the hidden state `z`. */
  hiddenChannels: number;
  /** Width of the vector field's hidden layers. */
  hiddenHiddenChannels: number;
  /** Hidden layers of the vector field (one `hidden → hh`, the rest `hh → hh`). */
  numHiddenLayers: number;
  /**
   * Keep every this many MFCC frames (times `0, s, 2s, …` of the 161 frame indices; 1 keeps
   * all). The knots of the linear control path are the kept frames.
   */
  frameStride: number;
  /**
   * Factor on the time channel (channel 0, the frame index `0 … 160`): 1 keeps the seed's
   * values; `1/160` makes it run from 0 to 1. The knot times stay the frame indices.
   */
  timeChannelScale: number;
  /** Clips per batch. */
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
 * The seed's three `(rtol, atol)` pairs (`speech_commands.py`'s `full`), loosest first; the
 * `paper` preset runs the first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CDE_TOLERANCES } from "./experiment.ts";
 * assert.deepEqual(CDE_TOLERANCES[1], [1e-4, 1e-7]);
 * ```
 */
export const CDE_TOLERANCES: readonly (readonly [number, number])[] = Object.freeze([
  Object.freeze([1e-3, 1e-6] as const),
  Object.freeze([1e-4, 1e-7] as const),
  Object.freeze([1e-5, 1e-8] as const),
]);

/**
 * The presets: `paper` is the seed's configuration, `small` a CPU-sized run that shows the
 * seminorm's saving (see the module documentation).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CDE_PRESETS } from "./experiment.ts";
 * assert.equal(CDE_PRESETS.paper.hiddenChannels, 90);
 * assert.equal(CDE_PRESETS.paper.batchSize, 1024);
 * assert.equal(CDE_PRESETS.small.rtol, CDE_PRESETS.paper.rtol);
 * ```
 */
export const CDE_PRESETS: Readonly<Record<CdePresetName, Readonly<CdeSettings>>> = Object.freeze({
  paper: Object.freeze({
    hiddenChannels: 90,
    hiddenHiddenChannels: 40,
    numHiddenLayers: 4,
    frameStride: 1,
    timeChannelScale: 1,
    batchSize: 1024,
    epochs: 200,
    learningRate: 1.6e-3,
    weightDecay: 0.01,
    epochsPerMetric: 10,
    rtol: 1e-3,
    atol: 1e-6,
  }),
  small: Object.freeze({
    hiddenChannels: 16,
    hiddenHiddenChannels: 16,
    numHiddenLayers: 2,
    frameStride: 16,
    timeChannelScale: 1 / 160,
    batchSize: 128,
    epochs: 3,
    learningRate: 1e-2,
    weightDecay: 0.01,
    epochsPerMetric: 1,
    rtol: 1e-3,
    atol: 1e-6,
  }),
});

/** Synthetic clips the `small` preset uses when no data is named. */
export const SMALL_SYNTHETIC_CLIPS = 2000;

/** Options of {@link runCdeExperiment}: a preset, and any of its settings overridden. */
export interface CdeExperimentOptions extends Partial<CdeSettings> {
  /** The preset the other settings default to (default `"small"`). */
  preset?: CdePresetName;
  /** The norms to train with, in order, each from the same seed (default both). */
  norms?: CdeNorm[];
  /** Seed of the initial weights and the batch order (default 0). */
  seed?: number;
  /**
   * Seed of the train/val/test split and, with `synthetic`, of the clips (default 0). The seed
   * kept one split (`random_state` 0) for all its runs; so do runs that vary only `seed`.
   */
  dataSeed?: number;
  /**
   * A Speech Commands v0.02 directory (one folder per word). Give this or `synthetic`; the
   * `small` preset defaults to {@link SMALL_SYNTHETIC_CLIPS} synthetic clips.
   */
  data?: string;
  /** With `data`: download and unpack the official archive first if the words are missing. */
  download?: boolean;
  /**
   * Speak this many clips with espeak-ng into `<dataDir>/synthetic-<N>-<dataSeed>` (reused when a
   * finished set is there) and use them.
   */
  synthetic?: number;
  /** Where synthetic sets are written (default `"data"`). */
  dataDir?: string;
  /**
   * Where the preprocessed splits (MFCCs) are cached; default `<data folder>/.fasterode_cache`,
   * `null` turns caching off.
   */
  cacheDir?: string | null;
  /** Results directory (default `"results"`); `false` saves nothing. */
  out?: string | false;
  /** Record the time of every evaluation and step in the metric passes (default false). */
  recordTimes?: boolean;
  /** The harness's terminal display (default `"auto"`). */
  progress?: ProgressMode;
  /** Called with every progress event of every run, and the run's norm. */
  onProgress?: (event: ProgressEvent, norm: CdeNorm) => void;
  /** Data generation and preprocessing messages (default: none). */
  log?: (message: string) => void;
}

/** The outcome of one norm's run. */
export interface CdeRun {
  /** The backward norm. */
  norm: CdeNorm;
  /** The configuration name of the result folder. */
  name: string;
  /** The saved result file, or `null` when nothing is saved. */
  path: string | null;
  /** The harness's record of the run (history, final metrics, settings). */
  result: TrainResult;
  /** Test accuracy of the best model (fraction in [0, 1]). */
  testAccuracy: number;
  /** Test cross-entropy of the best model. */
  testLoss: number;
  /**
   * Backward NFE summed over the metric passes on the training split (the seed's "BNFE"; its
   * metric passes sample every `epochsPerMetric`-th epoch).
   */
  backwardNfe: number;
  /** {@link backwardNfe} per batch of those passes. */
  backwardNfePerBatch: number;
  /** Forward NFE summed over the same metric passes. */
  forwardNfe: number;
  /** Wall time of those metric passes (forward + backward solves of every batch), in seconds. */
  passSeconds: number;
  /** Backward NFE of the final pass over the test split (the draft paper's measure). */
  testBackwardNfe: number;
  /** Wall time of the final pass over the test split (forward + backward), in seconds. */
  testSeconds: number;
  /** Backward NFE summed over the training steps of every epoch. */
  trainingBackwardNfe: number;
  /** Wall time of the run (training, metric passes and final passes), in seconds. */
  seconds: number;
}

/** Where the clips came from. */
export interface CdeDataInfo {
  /** `"speechcommands"` for a data directory, `"synthetic"` for espeak-ng clips. */
  source: "speechcommands" | "synthetic";
  /** The folder of word folders. */
  dir: string;
  /** Clips kept (16000 samples long) over all splits. */
  clips: number;
  /** Whether the synthetic clips were generated by this call (false: reused or real data). */
  generated: boolean;
  /** Seconds spent generating synthetic clips in this call (0 when reused). */
  generationSeconds: number;
  /** Whether the MFCC splits came from the cache. */
  fromCache: boolean;
  /** Seconds spent loading (and, without a cache, computing MFCCs). */
  loadSeconds: number;
  /** The control path's knot times: the kept frame indices. */
  times: number[];
}

/** What {@link runCdeExperiment} returns. */
export interface CdeExperimentResult {
  /** The preset the settings started from. */
  preset: CdePresetName;
  /** The settings used, overrides applied. */
  settings: CdeSettings;
  /** The data. */
  data: CdeDataInfo;
  /** Clips in the train, val and test splits. */
  sizes: { train: number; val: number; test: number };
  /** Trainable scalars of the model. */
  parameters: number;
  /** The tfjs backend the runs used. */
  backend: string;
  /** One run per norm, in the order asked for. */
  runs: CdeRun[];
}

const NORMS: readonly CdeNorm[] = ["default", "seminorm"];

/** What {@link resolvePreset} checks the options against. */
const PRESET_RULES: PresetRules = {
  experiment: "cde",
  options: [
    "norms",
    "seed",
    "dataSeed",
    "data",
    "download",
    "synthetic",
    "dataDir",
    "cacheDir",
    "out",
    "recordTimes",
    "progress",
    "onProgress",
    "log",
  ],
  integers: new Set([
    "hiddenChannels",
    "hiddenHiddenChannels",
    "numHiddenLayers",
    "frameStride",
    "batchSize",
    "epochs",
    "epochsPerMetric",
  ]),
};

/** The tolerances: both given, one given (its partner from the seed's pairs), or the preset's. */
function tolerances(
  preset: Readonly<CdeSettings>,
  rtol: number | undefined,
  atol: number | undefined,
): { rtol: number; atol: number } {
  if (rtol !== undefined && atol !== undefined) return { rtol, atol };
  if (rtol !== undefined) {
    return { rtol, atol: CDE_TOLERANCES.find(([r]) => r === rtol)?.[1] ?? preset.atol };
  }
  if (atol !== undefined) {
    return { rtol: CDE_TOLERANCES.find(([, a]) => a === atol)?.[0] ?? preset.rtol, atol };
  }
  return { rtol: preset.rtol, atol: preset.atol };
}

/**
 * The preset's settings with the given overrides, checked (as {@link runCdeExperiment} resolves
 * them): one of `rtol` / `atol` alone takes its partner from {@link CDE_TOLERANCES}, else the
 * preset's value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveCdeSettings } from "./experiment.ts";
 * const { preset, settings } = resolveCdeSettings({ preset: "paper", rtol: 1e-4 });
 * assert.equal(preset, "paper");
 * assert.deepEqual([settings.rtol, settings.atol, settings.hiddenChannels], [1e-4, 1e-7, 90]);
 * assert.throws(() => resolveCdeSettings({ epochs: 0 }), /epochs must be an integer >= 1/);
 * ```
 *
 * @param options The experiment's options (only the preset and the settings are read; other
 *   keys are checked to be known).
 * @returns The preset's name and the settings.
 * @throws {TypeError} On an unknown option. {RangeError} On an unknown preset or a bad value.
 */
export function resolveCdeSettings(options: CdeExperimentOptions): {
  preset: CdePresetName;
  settings: CdeSettings;
} {
  const { preset, settings } = resolvePreset(CDE_PRESETS, options, PRESET_RULES);
  Object.assign(settings, tolerances(CDE_PRESETS[preset], options.rtol, options.atol));
  return { preset, settings };
}

/** Which data to use, checked: a directory, or a synthetic set to reuse or make. */
function resolveData(
  options: CdeExperimentOptions,
  preset: CdePresetName,
): { kind: "dir"; dir: string; download: boolean } | { kind: "synthetic"; count: number } {
  const { data, synthetic, download = false } = options;
  if (data !== undefined && synthetic !== undefined) {
    throw new TypeError(
      "cde: give either data (a Speech Commands directory) or synthetic, not both",
    );
  }
  if (typeof download !== "boolean") throw new TypeError("cde: download must be a boolean");
  if (download && data === undefined) {
    throw new TypeError("cde: download needs data, the directory to download Speech Commands into");
  }
  if (data !== undefined) {
    if (typeof data !== "string" || data === "") {
      throw new TypeError("cde: data must be a directory path");
    }
    return { kind: "dir", dir: data, download };
  }
  if (synthetic !== undefined) {
    const n = SPEECH_COMMANDS_CLASSES.length;
    if (!Number.isInteger(synthetic) || synthetic < 2 * n) {
      throw new RangeError(
        `cde: synthetic must be an integer >= ${2 * n} (two clips per word at least), got ` +
          `${synthetic}`,
      );
    }
    return { kind: "synthetic", count: synthetic };
  }
  if (preset === "paper") {
    throw new TypeError(
      "cde: the paper preset needs the real data: give data (a Speech Commands v0.02 directory, " +
        "with download to fetch it), or synthetic to run it on espeak-ng clips",
    );
  }
  return { kind: "synthetic", count: SMALL_SYNTHETIC_CLIPS };
}

/** Written into a synthetic set's folder once all its clips are there. */
const SYNTHETIC_MARKER = "synthetic.json";

/** Options of {@link ensureSyntheticSpeech}. */
export interface EnsureSyntheticOptions {
  /** Number of clips. */
  count: number;
  /** Seed of the clips (default 0). */
  seed?: number;
  /** Parent folder of the set (default `"data"`): the set is `<dataDir>/synthetic-<N>-<seed>`. */
  dataDir?: string;
  /** Progress messages (default: none). */
  log?: (message: string) => void;
}

/**
 * The folder of a synthetic Speech Commands set of `count` clips spoken by espeak-ng
 * (`generateSyntheticSpeech`), `<dataDir>/synthetic-<count>-<seed>`: reused when a finished set
 * is there (its `synthetic.json` names the same count and seed), else generated (10–25 clips
 * a second on 2 cores) and marked finished. An interrupted generation is redone.
 *
 * @example
 * ```ts ignore
 * import { ensureSyntheticSpeech } from "./experiment.ts";
 * const { dir, generated, seconds } = await ensureSyntheticSpeech({ count: 2000 });
 * console.log(dir, generated, seconds); // data/synthetic-2000-0 true 210.3 (false 0 later)
 * ```
 *
 * @param options How many clips, their seed, and where.
 * @returns The folder, whether it was generated now, and the seconds that took.
 * @throws {Error} If espeak-ng is missing or fails.
 */
export async function ensureSyntheticSpeech(
  options: EnsureSyntheticOptions,
): Promise<{ dir: string; generated: boolean; seconds: number }> {
  const { count, seed = 0, dataDir = "data", log = () => {} } = options;
  const dir = join(dataDir, `synthetic-${count}-${seed}`);
  const marker = join(dir, SYNTHETIC_MARKER);
  try {
    const info = JSON.parse(await Deno.readTextFile(marker));
    if (info.count === count && info.seed === seed) return { dir, generated: false, seconds: 0 };
  } catch { /* missing or unreadable: (re)generate */ }
  log(`speaking ${count} clips with espeak-ng into ${dir} (once; reused by later runs)`);
  const step = Math.max(1, Math.round(count / 10));
  const started = performance.now();
  const result = await generateSyntheticSpeech({
    out: dir,
    count,
    seed,
    onProgress: (done, total) => {
      if (done % step === 0 || done === total) {
        const secs = (performance.now() - started) / 1000;
        log(`  ${done}/${total} clips (${(done / secs).toFixed(1)} clips/s)`);
      }
    },
  });
  await Deno.writeTextFile(
    marker,
    JSON.stringify({ count, seed, perClass: result.perClass, seconds: result.seconds }, null, 1),
  );
  return { dir, generated: true, seconds: result.seconds };
}

/** A batch of clips: the control path's values at the knots, and the labels. */
type CdeBatch = { X: tf.Tensor3D; y: tf.Tensor1D };

/** A {@link NeuralCDE} as the harness's `Trainable`, with a fixed backward norm. */
function trainable(
  model: NeuralCDE,
  norm: CdeNorm,
  settings: CdeSettings,
  times: number[],
): Trainable<CdeBatch> {
  const { hiddenChannels: h, hiddenHiddenChannels: hh, numHiddenLayers: layers } = settings;
  const c = model.inputChannels;
  const widths = [h, ...Array(layers).fill(hh), `${h}·${c}`].join("-");
  return {
    variables: model.variables,
    description: `NeuralCDE: initial ${c}-${h}, vector field ${widths} (ReLU, tanh), readout ` +
      `${h}-${model.classes}; linear interpolation, ${times.length} knots as jumpT; ` +
      `${model.parameterCount} parameters`,
    async step(batch: CdeBatch, options: StepOptions): Promise<StepResult> {
      // The data are complete, so the linear coefficients are the values themselves.
      const X = new LinearInterpolation(batch.X, times);
      try {
        const r = await model.lossAndGrads(X, batch.y, {
          norm,
          rtol: settings.rtol,
          atol: settings.atol,
          method: "dopri5",
          record: options.record,
        });
        return {
          loss: r.loss,
          correct: r.correct,
          count: r.count,
          grads: r.grads,
          forward: r.forward,
          backward: r.backward,
        };
      } finally {
        X.dispose();
      }
    },
  };
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

/** The kept frame indices `0, s, 2s, …` below `frames`. */
function keptFrames(frames: number, stride: number): number[] {
  return Array.from({ length: Math.floor((frames - 1) / stride) + 1 }, (_, i) => i * stride);
}

/**
 * Trains the seed's Neural CDE on Speech Commands (or synthetic clips) once per norm (same
 * seed: same split, initial weights and batches), saves each run's result JSON and returns the
 * runs. The data are loaded (and, for `synthetic`, generated) once; the MFCCs are computed on
 * the active tfjs backend and cached. The tfjs backend is whatever is active; the command line
 * selects it. Nothing is left allocated: data and models are disposed, also when a run throws.
 *
 * See the module documentation for the presets.
 *
 * @param options Preset, overrides, data and where to save.
 * @returns The settings, data, split sizes and one run per norm.
 * @throws {TypeError | RangeError} On bad options, before any work.
 * @throws {Error} When the data cannot be found, downloaded or generated, or a solve fails.
 */
export async function runCdeExperiment(
  options: CdeExperimentOptions = {},
): Promise<CdeExperimentResult> {
  const { preset, settings } = resolveCdeSettings(options);
  const norms = options.norms ?? [...NORMS];
  if (!Array.isArray(norms) || norms.length === 0) {
    throw new TypeError(`cde: norms must be a non-empty list of "default" / "seminorm"`);
  }
  for (const n of norms) {
    if (!NORMS.includes(n)) throw new RangeError(`cde: unknown norm "${n}" (default or seminorm)`);
  }
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0) {
    throw new RangeError(`cde: seed must be an integer >= 0, got ${seed}`);
  }
  const dataSeed = options.dataSeed ?? 0;
  if (!Number.isInteger(dataSeed) || dataSeed < 0) {
    throw new RangeError(`cde: dataSeed must be an integer >= 0, got ${dataSeed}`);
  }
  const out = options.out ?? "results";
  if (out !== false && (typeof out !== "string" || out === "")) {
    throw new TypeError("cde: out must be a directory or false");
  }
  const source = resolveData(options, preset);
  const log = options.log ?? (() => {});

  let dir: string, generated = false, generationSeconds = 0;
  if (source.kind === "synthetic") {
    ({ dir, generated, seconds: generationSeconds } = await ensureSyntheticSpeech({
      count: source.count,
      seed: dataSeed,
      dataDir: options.dataDir,
      log,
    }));
  } else {
    dir = source.dir;
  }
  const loadStart = performance.now();
  const loaded = await loadSpeechCommands({
    dir,
    seed: dataSeed,
    download: source.kind === "dir" && source.download,
    log,
    ...(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir }),
  });
  const loadSeconds = (performance.now() - loadStart) / 1000;
  const frames = loaded.times.length;
  const kept = keptFrames(frames, settings.frameStride);
  const times = kept.map((i) => loaded.times[i]);
  let splits: Record<"train" | "val" | "test", CdeBatch>;
  try {
    if (kept.length < 2) {
      throw new RangeError(
        `cde: frameStride ${settings.frameStride} keeps ${kept.length} of the ${frames} frames; ` +
          `the control path needs at least 2`,
      );
    }
    splits = tf.tidy(() => {
      const idx = tf.tensor1d(kept, "int32");
      const scale = settings.timeChannelScale;
      const pick = (s: "train" | "val" | "test"): CdeBatch => {
        let X: tf.Tensor3D = kept.length === frames
          ? tf.clone(loaded[s].X)
          : tf.gather(loaded[s].X, idx, 1);
        if (scale !== 1) {
          const [time, mfccs] = tf.split(X, [1, X.shape[2] - 1], 2);
          X = tf.concat([tf.mul(time, scale), mfccs], 2) as tf.Tensor3D;
        }
        return { X, y: tf.clone(loaded[s].y) };
      };
      return { train: pick("train"), val: pick("val"), test: pick("test") };
    });
  } finally {
    tf.dispose([loaded.train, loaded.val, loaded.test]);
  }
  try {
    const sizes = {
      train: splits.train.y.shape[0],
      val: splits.val.y.shape[0],
      test: splits.test.y.shape[0],
    };
    for (const [s, n] of Object.entries(sizes)) {
      if (n === 0) {
        throw new RangeError(
          `cde: the ${s} split of ${dir} is empty (${sizes.train}/${sizes.val}/${sizes.test} ` +
            `clips); the data need more clips`,
        );
      }
    }
    const data: CdeDataInfo = {
      source: source.kind === "dir" ? "speechcommands" : "synthetic",
      dir,
      clips: sizes.train + sizes.val + sizes.test,
      generated,
      generationSeconds,
      fromCache: loaded.fromCache,
      loadSeconds,
      times,
    };
    const dataTag = source.kind === "dir" ? "speechcommands" : `synthetic${source.count}`;
    const trainData = {
      train: tensorSplit(splits.train),
      val: tensorSplit(splits.val),
      test: tensorSplit(splits.test),
    };
    const channels = splits.train.X.shape[2];
    const runs: CdeRun[] = [];
    let parameters = 0;
    for (const norm of norms) {
      const name = configName([preset, dataTag, norm, settings.rtol, settings.atol]);
      const model = new NeuralCDE({
        inputChannels: channels,
        hiddenChannels: settings.hiddenChannels,
        hiddenHiddenChannels: settings.hiddenHiddenChannels,
        numHiddenLayers: settings.numHiddenLayers,
        classes: loaded.classes.length,
        seed,
      });
      try {
        parameters = model.parameterCount;
        let trainingBackwardNfe = 0;
        const start = performance.now();
        const result = await train(trainable(model, norm, settings, times), trainData, {
          maxEpochs: settings.epochs,
          batchSize: settings.batchSize,
          learningRate: settings.learningRate,
          weightDecay: settings.weightDecay,
          epochsPerMetric: settings.epochsPerMetric,
          seed,
          recordTimes: options.recordTimes ?? false,
          config: {
            experiment: "speech_commands",
            preset,
            norm,
            seed,
            dataSeed,
            ...settings,
            method: "dopri5",
            interpolation: "linear",
            times,
            data: { source: data.source, dir, clips: data.clips, key: loaded.key },
            sizes,
          },
          save: out === false ? undefined : { dir: out, experiment: "speech_commands", name },
          progress: options.progress ?? "auto",
          onProgress: (event) => {
            if (event.kind === "batch" && event.phase === "train") {
              trainingBackwardNfe += event.backwardNfe;
            }
            options.onProgress?.(event, norm);
          },
        });
        const seconds = (performance.now() - start) / 1000;
        const passes: Metrics[] = result.history.map((h) => h.train);
        const backwardNfe = sum(passes.map((m) => m.backwardNfe));
        const batches = sum(passes.map((m) => m.batches));
        const test = result.test!;
        runs.push({
          norm,
          name,
          path: result.path,
          result,
          testAccuracy: test.accuracy!,
          testLoss: test.loss,
          backwardNfe,
          backwardNfePerBatch: batches > 0 ? backwardNfe / batches : 0,
          forwardNfe: sum(passes.map((m) => m.forwardNfe)),
          passSeconds: sum(passes.map((m) => m.timespan)),
          testBackwardNfe: test.backwardNfe,
          testSeconds: test.timespan,
          trainingBackwardNfe,
          seconds,
        });
      } finally {
        model.dispose();
      }
    }
    return { preset, settings, data, sizes, parameters, backend: tf.getBackend(), runs };
  } finally {
    tf.dispose(splits);
  }
}

/**
 * The result table: per norm the test accuracy, backward NFE (total over the metric passes on
 * the training split, and per batch), the reduction relative to the default norm, the time of
 * those forward + backward passes, and the run's wall time; then the final pass over the test
 * split (backward NFE and forward + backward time, the draft paper's measure) and a line
 * comparing the norms when both ran.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatCdeTable } from "./experiment.ts";
 * const run = (norm: "default" | "seminorm", bnfe: number, acc: number) => ({
 *   norm, testAccuracy: acc, backwardNfe: bnfe, backwardNfePerBatch: bnfe / 10,
 *   passSeconds: bnfe / 100, seconds: bnfe / 50, testBackwardNfe: bnfe / 5, testSeconds: bnfe / 500,
 * });
 * const table = formatCdeTable([run("default", 1000, 0.926), run("seminorm", 580, 0.925)]);
 * assert.match(table, /seminorm +92\.5% +580 +58\.0 +42\.0%/);
 * ```
 */
export function formatCdeTable(
  runs: Pick<
    CdeRun,
    | "norm"
    | "testAccuracy"
    | "backwardNfe"
    | "backwardNfePerBatch"
    | "passSeconds"
    | "seconds"
    | "testBackwardNfe"
    | "testSeconds"
  >[],
): string {
  const base = runs.find((r) => r.norm === "default");
  const pct = (a: number, b: number) => `${(100 * (1 - b / a)).toFixed(1)}%`;
  const rows = [
    [
      "norm",
      "test acc",
      "backward NFE",
      "per batch",
      "reduction",
      "fwd+bwd time",
      "test bwd NFE",
      "test fwd+bwd",
      "wall time",
    ],
    ...runs.map((r) => [
      r.norm,
      `${(100 * r.testAccuracy).toFixed(1)}%`,
      String(r.backwardNfe),
      r.backwardNfePerBatch.toFixed(1),
      base && r !== base ? pct(base.backwardNfe, r.backwardNfe) : "",
      `${r.passSeconds.toFixed(1)} s`,
      String(r.testBackwardNfe),
      `${r.testSeconds.toFixed(1)} s`,
      `${r.seconds.toFixed(1)} s`,
    ]),
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const lines = rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c])).join("  ").trimEnd());
  lines.splice(1, 0, widths.map((w) => "-".repeat(w)).join("  "));
  const semi = runs.find((r) => r.norm === "seminorm");
  if (base && semi) {
    const dAcc = 100 * (semi.testAccuracy - base.testAccuracy);
    lines.push(
      "",
      `seminorm: ${pct(base.backwardNfe, semi.backwardNfe)} fewer backward NFE in the metric ` +
        `passes (${pct(base.testBackwardNfe, semi.testBackwardNfe)} on the test split), ` +
        `${pct(base.passSeconds, semi.passSeconds)} less forward + backward time, ` +
        `${pct(base.seconds, semi.seconds)} less wall time; test accuracy ` +
        `${dAcc >= 0 ? "+" : ""}${dAcc.toFixed(1)} points`,
      "paper (draft table, rtol 1e-3, atol 1e-6, test set): 21.5k → 12.5k backward NFE (−42%), " +
        "275 → 212 s (−23%), accuracy 92.6% vs 92.5%; about −60% later in training",
    );
  }
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------
// Command line

/** The usage text of the command line. */
export const CDE_USAGE: string = `Usage: deno run -A experiments/cde/experiment.ts [options]

Trains the seed's Neural CDE on Speech Commands (or synthetic espeak-ng clips), once per
backward norm (same seed), and prints test accuracy, backward NFE and time. Results:
<out>/speech_commands/<preset>-<data>-<norm>-<rtol>-<atol>/<n>.json.

Data (one of; the small preset defaults to --synthetic ${SMALL_SYNTHETIC_CLIPS}):
  --data DIR          a Speech Commands v0.02 directory (yes/, no/, … of 16 kHz WAV files)
  --download          with --data: download and unpack the official 2.3 GB archive into DIR
                      first if the word folders are missing (needs internet)
  --synthetic N       speak N clips with espeak-ng into DATA_DIR/synthetic-N-DATA_SEED (made
                      once, reused later; 10–25 clips/s on 2 cores)
  --data-dir DIR      where synthetic sets go (default data)

Run:
  --norm NAME         default, seminorm or both (default both)
  --preset NAME       small (default) or paper
  --rtol X            relative tolerance of both solves (default 1e-3)
  --atol X            absolute tolerance of both solves (default 1e-6); one of --rtol/--atol
                      alone takes its partner from the seed's pairs (1e-3, 1e-6), (1e-4, 1e-7),
                      (1e-5, 1e-8)
  --epochs N          training epochs (small 3, paper 200)
  --batch-size N      clips per batch (small 128, paper 1024)
  --hidden N          hidden state size (small 16, paper 90)
  --hidden-hidden N   vector field width (small 16, paper 40)
  --layers N          vector field hidden layers (small 2, paper 4)
  --frame-stride N    keep every Nth of the 161 MFCC frames (small 16, paper 1)
  --time-scale X      factor on the time channel 0 … 160 (small 1/160, paper 1)
  --lr X              AdamW learning rate (small 1e-2, paper 1.6e-3)
  --metric-every N    metric passes every N epochs and after the last (small 1, paper 10)
  --seed N            seed of the initial weights and the batch order (default 0)
  --data-seed N       seed of the train/val/test split and the synthetic clips (default 0)
  --backend NAME      cpu, wasm or webgpu (small: wasm; paper: webgpu when a hardware GPU is
                      present, else wasm)
  --out DIR           results directory (default results)
  --record-times      record every evaluation and step time in the metric passes
  --help              this text

Presets. paper = the seed's speech_commands.py: 161 frames, hidden 90, hidden-hidden 40, 4
layers (88,940 parameters), batch 1024, AdamW lr 1.6e-3, weight decay 0.01, 200 epochs, metrics
every 10 epochs, dopri5, linear interpolation with its knots as jumpT, rtol 1e-3, atol 1e-6;
meant for a GPU and the real data. small = ${SMALL_SYNTHETIC_CLIPS} synthetic clips, every 16th frame
(11 knots), time channel scaled by 1/160 (to [0, 1]), hidden 16, hidden-hidden 16, 2 layers,
batch 128, lr 1e-2, 3 epochs, metrics every epoch, rtol 1e-3, atol 1e-6: both norms in 7–8
minutes on 2 CPU cores (wasm), after generating the clips once (1.5–3.5 minutes).

Sweep the seed's tolerances (5 runs each) with
  for tol in "1e-3 1e-6" "1e-4 1e-7" "1e-5 1e-8"; do set -- $tol; for s in 1 2 3 4 5; do
    deno run -A experiments/cde/experiment.ts --preset paper --data DIR --rtol $1 --atol $2 --seed $s
  done; done`;

/** The command line's options, parsed. */
export interface CdeCliOptions extends Omit<CdeExperimentOptions, "onProgress" | "log"> {
  /** The tfjs backend; `undefined` picks the preset's default. */
  backend?: BackendName;
}

const FLAGS = {
  ...EXPERIMENT_FLAGS,
  hidden: { type: "string" },
  "hidden-hidden": { type: "string" },
  layers: { type: "string" },
  "frame-stride": { type: "string" },
  "time-scale": { type: "string" },
  "data-seed": { type: "string" },
  data: { type: "string" },
  download: { type: "boolean" },
  synthetic: { type: "string" },
  "data-dir": { type: "string" },
  "record-times": { type: "boolean" },
} as const;

/**
 * Parses the command line's flags (see {@link CDE_USAGE}) into options, or `"help"` for
 * `--help`. Throws a `TypeError` naming an unknown flag, a stray argument or a bad combination
 * (`--data` with `--synthetic`, `--download` without `--data`), and a `RangeError` naming a bad
 * value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCdeArgs } from "./experiment.ts";
 * const options = parseCdeArgs(["--norm", "seminorm", "--synthetic", "500", "--epochs", "2"]);
 * assert.deepEqual(options, { norms: ["seminorm"], synthetic: 500, epochs: 2 });
 * assert.throws(() => parseCdeArgs(["--epoch", "3"]), /unknown flag --epoch/);
 * assert.equal(parseCdeArgs(["--help"]), "help");
 * ```
 */
export function parseCdeArgs(args: string[]): CdeCliOptions | "help" {
  const values = parseFlags(args, FLAGS);
  if (values.help) return "help";
  const o: CdeCliOptions = experimentFlags(values);
  const str = (k: keyof typeof FLAGS) => values[k] as string | undefined;
  const int = (flag: keyof typeof FLAGS, min: number) => numberFlag(flag, str(flag)!, true, min);
  const real = (flag: keyof typeof FLAGS) => numberFlag(flag, str(flag)!, false, 0);
  if (str("hidden") !== undefined) o.hiddenChannels = int("hidden", 1);
  if (str("hidden-hidden") !== undefined) o.hiddenHiddenChannels = int("hidden-hidden", 1);
  if (str("layers") !== undefined) o.numHiddenLayers = int("layers", 1);
  if (str("frame-stride") !== undefined) o.frameStride = int("frame-stride", 1);
  if (str("time-scale") !== undefined) o.timeChannelScale = real("time-scale");
  if (str("data-seed") !== undefined) o.dataSeed = int("data-seed", 0);
  if (str("data") !== undefined) o.data = pathFlag("data", str("data")!);
  if (values.download) o.download = true;
  if (str("synthetic") !== undefined) {
    o.synthetic = int("synthetic", 2 * SPEECH_COMMANDS_CLASSES.length);
  }
  if (str("data-dir") !== undefined) o.dataDir = pathFlag("data-dir", str("data-dir")!);
  if (values["record-times"]) o.recordTimes = true;
  if (o.data !== undefined && o.synthetic !== undefined) {
    throw new TypeError("--data and --synthetic exclude each other; give one");
  }
  if (o.download && o.data === undefined) {
    throw new TypeError("--download needs --data DIR, the folder to download Speech Commands into");
  }
  return o;
}

function describe(r: CdeExperimentResult): string {
  const s = r.settings;
  const d = r.data;
  const what = d.source === "synthetic"
    ? `${d.clips} synthetic espeak-ng clips in ${d.dir}`
    : `Speech Commands in ${d.dir} (${d.clips} clips)`;
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? "" : "s"}`;
  return `speech commands, preset ${r.preset}: ${what} → ${r.sizes.train}/${r.sizes.val}/` +
    `${r.sizes.test}; ${d.times.length} knots (every ${
      s.frameStride === 1 ? "" : `${s.frameStride}th `
    }frame of 161); Neural CDE hidden ${s.hiddenChannels}, hidden-hidden ` +
    `${s.hiddenHiddenChannels}, ${plural(s.numHiddenLayers, "layer")} (${r.parameters} ` +
    `parameters); batch ${s.batchSize}; AdamW lr ${s.learningRate}, weight decay ` +
    `${s.weightDecay}; ${plural(s.epochs, "epoch")}, metrics every ${
      s.epochsPerMetric === 1 ? "epoch" : `${s.epochsPerMetric} epochs`
    }; dopri5 rtol ${s.rtol}, atol ${s.atol}; backend ${r.backend}`;
}

/**
 * The command line: parses `args`, selects the backend, runs the experiment and prints the
 * table. Returns the exit code (0; 2 for a usage error, printed with a hint); errors of the run
 * itself (missing data, no network for `--download`, no espeak-ng) are thrown.
 */
export async function cdeMain(args: string[]): Promise<number> {
  const options = parseCommandLine(args, parseCdeArgs, CDE_USAGE, (o) => {
    resolveCdeSettings(o);
    resolveData(o, o.preset ?? "small");
  });
  if (typeof options === "number") return options;
  const { backend, ...experiment } = options;
  await experimentBackend(backend, experiment.preset);
  const wall = performance.now();
  const result = await runCdeExperiment({
    ...experiment,
    log: (message) => console.error(message),
  });
  console.log(describe(result));
  const d = result.data;
  if (d.generated) {
    console.log(`generated the ${d.clips} synthetic clips in ${d.generationSeconds.toFixed(1)} s`);
  }
  console.log(
    `data loaded in ${d.loadSeconds.toFixed(1)} s (${
      d.fromCache ? "cached MFCCs" : "MFCCs computed and cached"
    })`,
  );
  console.log();
  console.log(formatCdeTable(result.runs));
  const every = result.settings.epochsPerMetric === 1
    ? "every epoch"
    : `every ${result.settings.epochsPerMetric}th epoch and the last`;
  console.log(
    `\nbackward NFE and fwd+bwd time: summed over the metric passes on the training split (${every}),` +
      " as the seed's parse_results.py;\nper batch: their mean; test: the final pass over the test " +
      "split (best model); wall time: training, metric and final passes.",
  );
  for (const run of result.runs) if (run.path) console.log(`${run.norm}: ${run.path}`);
  console.log(`total wall time ${((performance.now() - wall) / 1000).toFixed(1)} s`);
  return 0;
}

if (import.meta.main) await runMain(cdeMain);
