/**
 * The settings of the CNF experiment (`deno task cnf`): their type ({@link CnfSettings}), the
 * presets ({@link CNF_PRESETS} for the numbers, {@link CNF_PRESET_MODELS} for the data and the
 * field, with their reasons in {@link CNF_PRESET_NOTES}), the experiment's options
 * ({@link CnfExperimentOptions}) and their checks ({@link resolveCnfSettings}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CNF_PRESETS, resolveCnfSettings } from "@fasterode/fasterode/experiments";
 * const { settings, model } = resolveCnfSettings({ epochs: 2 });
 * assert.deepEqual(settings, { ...CNF_PRESETS.small, epochs: 2 });
 * assert.equal(model.density, "8gaussians");
 * ```
 *
 * @module
 */
import type { NormName } from "../../mod.ts";
import type { CnfExperimentConfig } from "./run.ts";
import {
  type CnfActivation,
  type CnfLayerKind,
  type ProbeNoise,
  TOY_DENSITIES,
  type ToyDensity,
  type TraceEstimator,
} from "../../models/cnf/mod.ts";
import {
  type ComparisonOptions,
  type PresetRules,
  type ProgressEvent,
  type ProgressMode,
  resolvePreset,
  type TrainingSettings,
} from "../harness/mod.ts";

/** The name of a preset. */
export type CnfPresetName = "small" | "paper";

/** The data a run trains on: a 2-D density, or MNIST (from `--data DIR`). */
export type CnfDataName = ToyDensity | "mnist";

/**
 * The numeric settings of a CNF run (the training loop's, as every experiment has them, and
 * the flow's sizes and tolerances); a preset gives all of them.
 */
export interface CnfSettings extends TrainingSettings {
  /** Hidden width of the velocity MLP. */
  width: number;
  /** Hidden layers of the velocity MLP. */
  depth: number;
  /** Training examples (2-D: drawn; MNIST: the first of the training file). */
  trainSize: number;
  /** Validation examples (2-D: drawn; MNIST: the next of the training file). */
  valSize: number;
  /** Test examples (2-D: drawn; MNIST: the first of the test file). */
  testSize: number;
  /** Integration time `T` of the flow. */
  time: number;
  /** Relative tolerance of the forward and backward solves. */
  rtol: number;
  /** Absolute tolerance of the forward and backward solves. */
  atol: number;
}

/** The non-numeric part of a run: the data and the velocity field's kind. */
export interface CnfModelSettings {
  /** The data. */
  density: CnfDataName;
  /** Exact trace or Hutchinson's estimator. */
  trace: TraceEstimator;
  /** Hutchinson's probe distribution. */
  noise: ProbeNoise;
  /** Concatsquash or time-concatenated layers. */
  layer: CnfLayerKind;
  /** Hidden nonlinearity. */
  activation: CnfActivation;
  /** RNODE kinetic-energy weight (0: off). */
  kineticWeight: number;
  /** RNODE Jacobian-norm weight (0: off). */
  jacobianWeight: number;
}

/**
 * The presets' numbers; {@link CNF_PRESET_NOTES} says why each is what it is.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CNF_PRESETS } from "@fasterode/fasterode/experiments";
 * assert.equal(CNF_PRESETS.paper.rtol, 1e-5);
 * assert.equal(CNF_PRESETS.small.width, 64);
 * ```
 */
export const CNF_PRESETS: Readonly<Record<CnfPresetName, Readonly<CnfSettings>>> = Object
  .freeze({
    small: Object.freeze({
      width: 64,
      depth: 2,
      trainSize: 1000,
      valSize: 200,
      testSize: 1000,
      time: 0.5,
      batchSize: 200,
      epochs: 8,
      learningRate: 5e-3,
      weightDecay: 0,
      epochsPerMetric: 2,
      rtol: 1e-5,
      atol: 1e-8,
    }),
    paper: Object.freeze({
      width: 1024,
      depth: 3,
      trainSize: 50000,
      valSize: 10000,
      testSize: 10000,
      time: 1,
      batchSize: 200,
      epochs: 100,
      learningRate: 1e-3,
      weightDecay: 0,
      epochsPerMetric: 10,
      rtol: 1e-5,
      atol: 1e-5,
    }),
  });

/**
 * The presets' data and field.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CNF_PRESET_MODELS } from "@fasterode/fasterode/experiments";
 * assert.equal(CNF_PRESET_MODELS.paper.trace, "hutchinson");
 * ```
 */
export const CNF_PRESET_MODELS: Readonly<Record<CnfPresetName, Readonly<CnfModelSettings>>> = Object
  .freeze({
    small: Object.freeze({
      density: "8gaussians",
      trace: "exact",
      noise: "rademacher",
      layer: "concatsquash",
      activation: "tanh",
      kineticWeight: 0,
      jacobianWeight: 0,
    }),
    paper: Object.freeze({
      density: "mnist",
      trace: "hutchinson",
      noise: "rademacher",
      layer: "concat",
      activation: "softplus",
      kineticWeight: 0,
      jacobianWeight: 0,
    }),
  });

/**
 * What the presets are and why (written once: `--help` prints it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CNF_PRESET_NOTES } from "@fasterode/fasterode/experiments";
 * assert.match(CNF_PRESET_NOTES, /^Presets\. small = /);
 * ```
 */
export const CNF_PRESET_NOTES: string =
  `Presets. small = the 8 Gaussians (FFJORD's toy density), 1,000 training, 200 validation and
1,000 test points; velocity a concatsquash MLP 2-64-64-2 (tanh, 4,872 parameters), exact trace,
T = 0.5 (FFJORD's toy settings, narrower and shallower); batch 200, Adam lr 5e-3, 8 epochs with
metric passes every 2, dopri5 rtol 1e-5 (FFJORD's), atol 1e-8: both norms in a few minutes on
2 CPU cores (wasm).

Why atol is below FFJORD's 1e-5: each backward solve starts at t = T with the parameter
adjoints a_θ = 0, so their tolerance is atol alone while they grow; at atol = rtol = 1e-5 (or
1e-4) the state z and its adjoint limit the steps at these sizes and both norms take the same
ones (measured: 14 backward evaluations per batch each, untrained), so the seminorm saves
nothing. With atol = 1e-8 the default norm must resolve a_θ to atol and the seminorm need not
(untrained: 32 against 20 backward evaluations per batch). --atol 1e-5 runs FFJORD's tolerances.

paper = FFJORD's MNIST settings as the seminorm paper ran them (Table 2): Rademacher
Hutchinson, logit transform α = 1e-6 after uniform dequantisation, T = 1, batch 200, Adam lr
1e-3, 100 epochs, dopri5 rtol = atol = 1e-5; needs --data DIR with the MNIST IDX files and a
GPU. One difference: FFJORD's multiscale convolutional architecture (2 scales of concat-conv
blocks, 64 channels) is not built here; the velocity is a time-concatenated MLP 784-1024-1024-
1024-784 (softplus) on the flattened image, so bits/dim are not comparable to the paper's 0.96
(the NFE comparison between the norms is what the preset is for).`;

/** Options of `runCnfExperiment`: a preset, and any of its settings overridden. */
export interface CnfExperimentOptions
  extends Partial<CnfSettings>, Partial<CnfModelSettings>, ComparisonOptions {
  /** The preset the other settings default to (default `"small"`). */
  preset?: CnfPresetName;
  /** The folder with MNIST's IDX files (needed for `density: "mnist"`). */
  data?: string;
  /** Record the time of every evaluation and step in the metric passes (default false). */
  recordTimes?: boolean;
  /** The harness's terminal display (default `"auto"`). */
  progress?: ProgressMode;
  /** Called with every progress event of every run, and the run's norm. */
  onProgress?: (event: ProgressEvent, norm: NormName) => void;
  /**
   * Called once the data are loaded and the model built, before any training: the run's
   * configuration (what `describeCnfExperiment` prints).
   */
  onConfig?: (config: CnfExperimentConfig) => void;
  /**
   * For 2-D data: the side of the grid the trained density is evaluated on (default 60; the
   * density's mass on it is checked and reported).
   */
  gridSize?: number;
}

const MODEL_KEYS = Object.keys(CNF_PRESET_MODELS.small);

/** What {@link resolvePreset} checks the options against. */
const PRESET_RULES: PresetRules = {
  experiment: "cnf",
  options: [
    "norms",
    "seed",
    "out",
    "checkpoint",
    "resume",
    "data",
    "recordTimes",
    "progress",
    "onProgress",
    "onConfig",
    "gridSize",
    ...MODEL_KEYS,
  ],
  integers: new Set([
    "width",
    "depth",
    "trainSize",
    "valSize",
    "testSize",
    "batchSize",
    "epochs",
    "epochsPerMetric",
  ]),
};

/**
 * The preset's settings with the given overrides, checked (as `runCnfExperiment` resolves them):
 * numbers by the harness's rules, the data, trace, noise, layer and activation against their
 * choices, the regulariser weights ≥ 0, and `data` present for MNIST.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveCnfSettings } from "@fasterode/fasterode/experiments";
 * const { model } = resolveCnfSettings({ density: "rings", kineticWeight: 0.01 });
 * assert.deepEqual([model.density, model.kineticWeight], ["rings", 0.01]);
 * assert.throws(() => resolveCnfSettings({ preset: "paper" }), /needs --data DIR/);
 * assert.throws(() => resolveCnfSettings({ density: "spiral" as never }), /unknown data "spiral"/);
 * ```
 *
 * @param options the experiment's options
 * @returns the preset's name, its numbers and its data and field
 * @throws {TypeError} On an unknown option. {RangeError} On a bad value.
 */
export function resolveCnfSettings(options: CnfExperimentOptions): {
  preset: CnfPresetName;
  settings: CnfSettings;
  model: CnfModelSettings;
} {
  const numeric = Object.fromEntries(
    Object.entries(options).filter(([k]) => !MODEL_KEYS.includes(k)),
  ) as Partial<CnfSettings> & { preset?: string };
  const { preset, settings } = resolvePreset(CNF_PRESETS, numeric, PRESET_RULES);
  const model: CnfModelSettings = { ...CNF_PRESET_MODELS[preset] };
  const pick = <K extends keyof CnfModelSettings>(key: K, choices: readonly string[]) => {
    const v = options[key];
    if (v === undefined) return;
    if (!choices.includes(v as string)) {
      const what = key === "density" ? "data" : key;
      throw new RangeError(`cnf: unknown ${what} "${v}" (${choices.join(", ")})`);
    }
    model[key] = v as CnfModelSettings[K];
  };
  pick("density", [...TOY_DENSITIES, "mnist"]);
  pick("trace", ["exact", "hutchinson"]);
  pick("noise", ["rademacher", "gaussian"]);
  pick("layer", ["concatsquash", "concat"]);
  pick("activation", ["tanh", "softplus"]);
  for (const key of ["kineticWeight", "jacobianWeight"] as const) {
    const v = options[key];
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
      throw new RangeError(`cnf: ${key} must be a finite number >= 0, got ${v}`);
    }
    model[key] = v;
  }
  if (model.density === "mnist" && (options.data === undefined || options.data === "")) {
    throw new RangeError(
      "cnf: MNIST needs --data DIR, a folder with the IDX files (train-images-idx3-ubyte, …)",
    );
  }
  if (
    options.gridSize !== undefined && (!Number.isInteger(options.gridSize) || options.gridSize < 2)
  ) {
    throw new RangeError(`cnf: gridSize must be an integer >= 2, got ${options.gridSize}`);
  }
  return { preset, settings, model };
}
