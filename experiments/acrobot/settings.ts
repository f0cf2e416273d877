/**
 * The settings of the acrobot experiment: their type ({@link AcrobotSettings}), the presets
 * ({@link ACROBOT_PRESETS}, with the reasons for their values in {@link ACROBOT_PRESET_NOTES}),
 * the experiment's options ({@link AcrobotExperimentOptions}) and their checks
 * ({@link resolveAcrobotSettings}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ACROBOT_PRESETS, resolveAcrobotSettings } from "@fasterode/fasterode/experiments";
 * const { settings } = resolveAcrobotSettings({ epochs: 2 });
 * assert.deepEqual(settings, { ...ACROBOT_PRESETS.small, epochs: 2 });
 * ```
 *
 * @module
 */
import { NORM_NAMES, type NormName } from "../../mod.ts";
import type { AcrobotExperimentConfig } from "./run.ts";
import { type EnergyShapingOptions, splitSizes } from "../../models/acrobot/mod.ts";
import {
  type ComparisonOptions,
  type PresetRules,
  type ProgressEvent,
  type ProgressMode,
  resolvePreset,
  type TrainingSettings,
} from "../harness/mod.ts";

/** The name of a preset. */
export type AcrobotPresetName = "small" | "cpu" | "paper";

/**
 * A backward norm of the acrobot experiment: the library's two, or `"paper-code-seminorm"`, the
 * paper's code's mis-sliced "seminorm" (`paperCodeSeminorm` of models/acrobot), kept so that the
 * paper's own measurement can be set beside the correct seminorm's.
 */
export type AcrobotNormName = NormName | "paper-code-seminorm";

/** Every norm `--norm` takes, the library's first. */
export const ACROBOT_NORM_NAMES: readonly AcrobotNormName[] = Object.freeze([
  ...NORM_NAMES,
  "paper-code-seminorm",
]);

/**
 * Sizes and settings of an acrobot run; a preset gives all of them (the training
 * loop's settings, `epochs`, `batchSize` (windows per batch), `learningRate`, `weightDecay`
 * and `epochsPerMetric`, as every experiment has them).
 */
export interface AcrobotSettings extends TrainingSettings {
  /** Hidden width of the `M⁻¹` network (3 hidden layers). */
  massHidden: number;
  /** Hidden width of the potential network (2 hidden layers). */
  potentialHidden: number;
  /** Hidden width of the input-matrix network (2 hidden layers). */
  inputHidden: number;
  /** Trials per control (split 70 / 15 / 15 by trial). */
  trials: number;
  /** Relative tolerance of the forward and backward solves. */
  rtol: number;
  /** Absolute tolerance of the forward and backward solves. */
  atol: number;
}

/**
 * The presets: `paper` is the paper's configuration, `small` a CPU-sized run that shows the
 * seminorm's saving; {@link ACROBOT_PRESET_NOTES} says why each value is what it is.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ACROBOT_PRESETS } from "@fasterode/fasterode/experiments";
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
    cpu: Object.freeze({
      massHidden: 64,
      potentialHidden: 64,
      inputHidden: 64,
      trials: 32,
      batchSize: 256,
      epochs: 10,
      learningRate: 5e-3,
      weightDecay: 0.01,
      epochsPerMetric: 5,
      rtol: 1e-4,
      atol: 1e-4,
    }),
  });

/**
 * What the presets are and why (the rationale, written once: `--help` prints it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ACROBOT_PRESET_NOTES } from "@fasterode/fasterode/experiments";
 * assert.match(ACROBOT_PRESET_NOTES, /^Presets\. paper = the paper's acrobot\.py/);
 * ```
 */
export const ACROBOT_PRESET_NOTES: string =
  `Presets. paper = the paper's acrobot.py: M⁻¹ net 400 wide, V and g nets 300 wide (509,108
parameters), 128 trials per control (20,025 / 4,275 / 4,500 windows), batch 256, AdamW lr 1e-3,
weight decay 0.01, 50 epochs, metrics every 10 epochs, dopri5 rtol = atol = 1e-4 on both passes;
meant for a GPU (--backend webgpu). small = every width 32 (4,968 parameters), 12 trials per
control (1,800 / 225 / 675 windows), batch 225 (8 equal training batches), lr 1e-2 (a short run
needs the larger rate), 5 epochs with metrics after each, dopri5 rtol 1e-3, atol 1e-9: both
norms in about 6 minutes on 2 CPU cores (wasm). cpu = a model sized to train both
norms within 30 minutes on 2 CPU cores (wasm; measured 13 minutes on busy cores, test MSE
9.8e-4, and its learned controller swings the acrobot up): every width 64 (18,120 parameters), 32
trials per control (4,950 / 900 / 1,350 windows), the paper's batch 256 (20 batches), lr 5e-3,
10 epochs with metrics every 5, the paper's rtol = atol = 1e-4.

Why the small preset has other tolerances: every backward solve covers one 0.05 s gap between
output times (7 per window), each a fresh dopri5 solve with its own initial-step selection. At
the paper's rtol = atol = 1e-4 the state and its adjoint limit those steps: at the small sizes
both norms take the same steps (2 per gap, 98 evaluations per batch) before and after training,
so the seminorm saves nothing. The parameter adjoints a_θ start at 0 at the last output time, so
on the first gap their tolerance is atol alone; with atol far below rtol the default norm's
initial-step selection picks a first step of about 2e-5 s and needs a few more steps to grow it,
which the seminorm skips: about 20 fewer evaluations per batch (18% of the backward NFE) at the
same test MSE. --rtol 1e-4 --atol 1e-4 runs the paper's tolerances at the small sizes. (At the
paper's sizes an untrained model also takes the same steps with either norm, one per gap;
whether training changes that needs the full run on a GPU.)

The paper's seminorm was not one: its models/symode.py built the norm from the whole data batch
[B, 8 times, 8 channels] instead of the state [B, 8], so it sliced the flat adjoint state at 8×
the right length: its "seminorm" still measured about 28.7k of the 509k parameter-adjoint
channels (the first layers of the M⁻¹ net). The seminorm here is the correct one,
max(rms(z), rms(a_z)), so its numbers are not the paper's.`;

/** Options of `runAcrobotExperiment`: a preset, and any of its settings overridden. */
export interface AcrobotExperimentOptions
  extends Partial<AcrobotSettings>, ComparisonOptions<AcrobotNormName> {
  /** The preset the other settings default to (default `"small"`). */
  preset?: AcrobotPresetName;
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
  /**
   * Data cache folder (default `<root>/.cache/acrobot`, models/data/root.ts); `false` neither
   * reads nor writes it.
   */
  cacheDir?: string | false;
  /** Print the data generation's progress to stderr (default false). */
  dataProgress?: boolean;
  /** Record the time of every evaluation and step in the metric passes (default false). */
  recordTimes?: boolean;
  /** The harness's terminal display (default `"auto"`). */
  progress?: ProgressMode;
  /** Called with every progress event of every run, and the run's norm. */
  onProgress?: (event: ProgressEvent, norm: AcrobotNormName) => void;
  /**
   * Called once the data are loaded and the model built, before any training: the run's
   * configuration (what `describeAcrobotExperiment` prints).
   */
  onConfig?: (config: AcrobotExperimentConfig) => void;
}

/** What {@link resolvePreset} checks the options against. */
const PRESET_RULES: PresetRules = {
  experiment: "acrobot",
  options: [
    "norms",
    "seed",
    "out",
    "checkpoint",
    "resume",
    "control",
    "steps",
    "controls",
    "cacheDir",
    "dataProgress",
    "recordTimes",
    "progress",
    "onProgress",
    "onConfig",
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

/**
 * The preset's settings with the given overrides, checked (as `runAcrobotExperiment` resolves
 * them), and every split non-empty.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveAcrobotSettings } from "@fasterode/fasterode/experiments";
 * const { preset, settings } = resolveAcrobotSettings({ preset: "paper", epochs: 3 });
 * assert.deepEqual([preset, settings.epochs, settings.massHidden], ["paper", 3, 400]);
 * assert.throws(() => resolveAcrobotSettings({ trials: 4 }), /the val split is empty/);
 * ```
 *
 * @param options The experiment's options (only the preset and the settings are read; other
 *   keys are checked to be known).
 * @returns The preset's name and the settings.
 * @throws {TypeError} On an unknown option. {RangeError} On an unknown preset, a bad value, or
 *   too few trials.
 */
export function resolveAcrobotSettings(options: AcrobotExperimentOptions): {
  preset: AcrobotPresetName;
  settings: AcrobotSettings;
} {
  const { preset, settings } = resolvePreset(ACROBOT_PRESETS, options, PRESET_RULES);
  const [nTrain, nVal, nTest] = splitSizes(settings.trials);
  if (nTrain === 0 || nVal === 0 || nTest === 0) {
    const empty = nVal === 0 ? "val" : nTrain === 0 ? "train" : "test";
    throw new RangeError(
      `acrobot: the ${empty} split is empty with ${settings.trials} trials per control ` +
        `(splits are ⌊0.7·n⌋ / ⌊0.15·n⌋ / the rest); use at least 7 trials`,
    );
  }
  return { preset, settings };
}
