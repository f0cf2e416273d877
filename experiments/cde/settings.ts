/**
 * The settings of the Neural CDE experiment: their type ({@link CdeSettings}), the presets
 * ({@link CDE_PRESETS}, with the reasons for their values in {@link CDE_PRESET_NOTES}), the
 * paper's tolerance pairs ({@link CDE_TOLERANCES}), the experiment's options
 * ({@link CdeExperimentOptions}) and their checks ({@link resolveCdeSettings},
 * {@link resolveCdeData}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CDE_PRESETS, resolveCdeSettings } from "@fasterode/fasterode/experiments";
 * const { settings } = resolveCdeSettings({ epochs: 5 });
 * assert.deepEqual(settings, { ...CDE_PRESETS.small, epochs: 5 });
 * ```
 *
 * @module
 */
import type { NormName } from "../../mod.ts";
import type { CdeExperimentConfig } from "./run.ts";
import { SPEECH_COMMANDS_CLASSES } from "../../models/cde/mod.ts";
import {
  type ComparisonOptions,
  type PresetRules,
  type ProgressEvent,
  type ProgressMode,
  resolvePreset,
  type TrainingSettings,
} from "../harness/mod.ts";

/** The name of a preset. */
export type CdePresetName = "small" | "cpu" | "paper";

/** The presets' names, smallest first (`--preset` takes these). */
export const CDE_PRESET_NAMES: readonly CdePresetName[] = Object.freeze(["small", "cpu", "paper"]);

/**
 * Sizes and settings of a Neural CDE run; a preset gives all of them (the training
 * loop's settings, `epochs`, `batchSize` (clips per batch), `learningRate`, `weightDecay`
 * and `epochsPerMetric`, as every experiment has them).
 */
export interface CdeSettings extends TrainingSettings {
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
   * Factor on the time channel (channel 0, the frame index `0 … 160`): 1 keeps the paper's
   * values; `1/160` makes it run from 0 to 1. The knot times stay the frame indices.
   */
  timeChannelScale: number;
  /** Relative tolerance of the forward and backward solves. */
  rtol: number;
  /** Absolute tolerance of the forward and backward solves. */
  atol: number;
}

/**
 * The paper's three `(rtol, atol)` pairs (`speech_commands.py`'s `full`), loosest first; the
 * `paper` preset runs the first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CDE_TOLERANCES } from "@fasterode/fasterode/experiments";
 * assert.deepEqual(CDE_TOLERANCES[1], [1e-4, 1e-7]);
 * ```
 */
export const CDE_TOLERANCES: readonly (readonly [number, number])[] = Object.freeze([
  Object.freeze([1e-3, 1e-6] as const),
  Object.freeze([1e-4, 1e-7] as const),
  Object.freeze([1e-5, 1e-8] as const),
]);

/** Synthetic clips the `small` preset uses when no data is named. */
export const SMALL_SYNTHETIC_CLIPS = 2000;

/** Synthetic clips the `cpu` preset uses when no data is named. */
export const CPU_SYNTHETIC_CLIPS = 10000;

/**
 * The presets: `paper` is the paper's configuration, `cpu` the largest run that learns the
 * synthetic set well on 2 CPU cores, `small` a few minutes' run that shows the seminorm's
 * saving; {@link CDE_PRESET_NOTES} says why each value is what it is.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CDE_PRESETS } from "@fasterode/fasterode/experiments";
 * assert.equal(CDE_PRESETS.paper.hiddenChannels, 90);
 * assert.equal(CDE_PRESETS.paper.batchSize, 1024);
 * assert.equal(CDE_PRESETS.small.rtol, CDE_PRESETS.paper.rtol);
 * assert.equal(CDE_PRESETS.cpu.frameStride, 8);
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
  cpu: Object.freeze({
    hiddenChannels: 32,
    hiddenHiddenChannels: 32,
    numHiddenLayers: 2,
    frameStride: 8,
    timeChannelScale: 1 / 160,
    batchSize: 128,
    epochs: 6,
    learningRate: 1e-2,
    weightDecay: 0.01,
    epochsPerMetric: 3,
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

/**
 * What the presets are and why (the rationale, written once: `--help` prints it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CDE_PRESET_NOTES } from "@fasterode/fasterode/experiments";
 * assert.match(CDE_PRESET_NOTES, /^Presets\. paper = the paper's speech_commands\.py/);
 * ```
 */
export const CDE_PRESET_NOTES: string =
  `Presets. paper = the paper's speech_commands.py: all 161 MFCC frames, hidden 90,
hidden-hidden 40, 4 layers (88,940 parameters), batch 1024, AdamW lr 1.6e-3, weight decay 0.01,
200 epochs, metrics every 10 epochs, dopri5 with linear interpolation and its knots as jumpT,
rtol 1e-3 and atol 1e-6 (the first of the paper's three pairs); meant for a GPU (--backend
webgpu) and the real data (--data). small = ${SMALL_SYNTHETIC_CLIPS} synthetic clips (1400 / 300 / 300),
every 16th MFCC frame (11 knots at 0, 16, …, 160), the time channel scaled to [0, 1], hidden 16,
hidden-hidden 16, 2 layers (6,778 parameters), batch 128, lr 1e-2, 3 epochs with metrics after
each, the paper's rtol 1e-3 and atol 1e-6. Both norms together take 7–8 minutes on 2 CPU cores
with the wasm backend; generating the clips takes 1.5–3.5 minutes once (reused after), their
MFCCs about 6 s once (cached). It reaches about 55% test accuracy (chance: 10%) with either
norm, and the seminorm takes about 65% fewer backward NFE (bench/RESULTS.md).
cpu = ${CPU_SYNTHETIC_CLIPS} synthetic clips (7000 / 1500 / 1500), every 8th frame (21 knots),
hidden 32, hidden-hidden 32, 2 layers, batch 128, lr 1e-2, 6 epochs with metrics every 3rd, rtol
1e-3 and atol 1e-6: the size that learns the synthetic set (about 85% test accuracy) in the time
given in bench/RESULTS.md. small's model with more clips stops near 80% validation accuracy
(capacity: train 85%); doubling the state, the field's width and the knots lifts it.

Why the small preset scales the time channel: the control's channel 0 is the frame index,
0 … 160 in the seed, so z integrates tanh(·)·dt over 160 time units: at initialisation |z(T)|
reaches ~100 and the cross-entropy is ~145 instead of ln 10 ≈ 2.3. The paper's 4,800 training
steps undo that; the small preset's 33 do not (its accuracy stays at chance). A factor 1/160 on
that one input channel (the knot times and the solver are unchanged) starts the loss at 2.8.
--time-scale 1 restores the paper's channel.

Sweeping the tolerances: an --rtol / --atol pair picks the tolerances; one of them alone picks
its partner from the paper's pairs (--rtol 1e-4 means atol 1e-7). The paper's sweep, 5 runs per
pair (each run adds the next <n>.json; the runs share the split, --data-seed 0, and differ in
initial weights and batch order, as the paper's did):
  for tol in "1e-3 1e-6" "1e-4 1e-7" "1e-5 1e-8"; do set -- $tol; for s in 1 2 3 4 5; do
    deno task cde --preset paper --data DIR --rtol $1 --atol $2 --seed $s
  done; done`;

/** Options of `runCdeExperiment`: a preset, and any of its settings overridden. */
export interface CdeExperimentOptions extends Partial<CdeSettings>, ComparisonOptions {
  /** The preset the other settings default to (default `"small"`). */
  preset?: CdePresetName;
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
  /** Record the time of every evaluation and step in the metric passes (default false). */
  recordTimes?: boolean;
  /** The harness's terminal display (default `"auto"`). */
  progress?: ProgressMode;
  /** Called with every progress event of every run, and the run's norm. */
  onProgress?: (event: ProgressEvent, norm: NormName) => void;
  /**
   * Called once the data are loaded and the model built, before any training: the run's
   * configuration (what `describeCdeExperiment` prints).
   */
  onConfig?: (config: CdeExperimentConfig) => void;
  /** Data generation and preprocessing messages (default: none). */
  log?: (message: string) => void;
}

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
    "checkpoint",
    "resume",
    "recordTimes",
    "progress",
    "onProgress",
    "onConfig",
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

/** The tolerances: both given, one given (its partner from the paper's pairs), or the preset's. */
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
 * The preset's settings with the given overrides, checked (as `runCdeExperiment` resolves
 * them): one of `rtol` / `atol` alone takes its partner from {@link CDE_TOLERANCES}, else the
 * preset's value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveCdeSettings } from "@fasterode/fasterode/experiments";
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

/** The data {@link resolveCdeData} picks: a directory, or a synthetic set to reuse or make. */
export type CdeDataSource =
  | {
    /** A Speech Commands directory. */
    kind: "dir";
    /** The directory. */
    dir: string;
    /** Download the archive into it first if the words are missing. */
    download: boolean;
  }
  | {
    /** Synthetic espeak-ng clips. */
    kind: "synthetic";
    /** How many. */
    count: number;
  };

/**
 * Which data the options name, checked: a directory, or a synthetic set (the `small` preset's
 * {@link SMALL_SYNTHETIC_CLIPS} or the `cpu` preset's {@link CPU_SYNTHETIC_CLIPS} when neither
 * is given; the `paper` preset needs one).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveCdeData } from "@fasterode/fasterode/experiments";
 * assert.deepEqual(resolveCdeData({}, "small"), { kind: "synthetic", count: 2000 });
 * assert.deepEqual(resolveCdeData({}, "cpu"), { kind: "synthetic", count: 10000 });
 * assert.deepEqual(resolveCdeData({ data: "sc" }, "paper"), {
 *   kind: "dir",
 *   dir: "sc",
 *   download: false,
 * });
 * assert.throws(() => resolveCdeData({}, "paper"), /the paper preset needs the real data/);
 * ```
 *
 * @param options the experiment's options (`data`, `download`, `synthetic` are read)
 * @param preset the preset
 * @returns where the clips come from
 * @throws {TypeError} On a bad combination. {RangeError} On too few synthetic clips.
 */
export function resolveCdeData(
  options: CdeExperimentOptions,
  preset: CdePresetName,
): CdeDataSource {
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
  return {
    kind: "synthetic",
    count: preset === "cpu" ? CPU_SYNTHETIC_CLIPS : SMALL_SYNTHETIC_CLIPS,
  };
}
