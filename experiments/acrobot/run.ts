/**
 * The acrobot experiment of "Hey, that's not an ODE" (Kidger, Chen & Lyons, 2021) as a
 * function, {@link runAcrobotExperiment}: train a Symplectic ODE-Net with control on windows of
 * the fully-actuated acrobot, once with each backward norm and the same seed
 * ({@link compareNorms}), and compare the test MSE and the backward (adjoint) NFE. The settings
 * and presets are in `./settings.ts`, the table in `./report.ts`, the command line
 * (`deno task acrobot`) in `./main.ts`.
 *
 * Each run is saved by the training harness as
 * `<out>/acrobot/<preset>-<norm>-<rtol>-<atol>/<n>.json` (`.` written as `-`), and with
 * `control` the energy-shaping swing-up of the trained model as `<n>.control.json` next to it.
 *
 * @example A tiny run of both norms (results in a temporary folder)
 * ```ts
 * import assert from "node:assert/strict";
 * import { runAcrobotExperiment } from "@fasterode/fasterode/experiments";
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
import type * as tf from "@tensorflow/tfjs";
import {
  compareNorms,
  configName,
  type NormRun,
  progressDisplay,
  resolveComparison,
  type StepOptions,
  type StepResult,
  tensorSplit,
  terminalSink,
  type Trainable,
  trainingOptions,
} from "../harness/mod.ts";
import {
  ACROBOT,
  ACROBOT_CONTROLS,
  type ControlTrajectory,
  type EnergyShapingOptions,
  loadAcrobotDataset,
  paperCodeSeminorm,
  runEnergyShaping,
  saveTrajectory,
  Symoden,
  uprightVerdict,
} from "../../models/acrobot/mod.ts";
import {
  ACROBOT_NORM_NAMES,
  type AcrobotExperimentOptions,
  type AcrobotNormName,
  type AcrobotPresetName,
  type AcrobotSettings,
  resolveAcrobotSettings,
} from "./settings.ts";

/** The outcome of one norm's run: the comparison's measures, the test MSE and the swing-up. */
export interface AcrobotRun extends NormRun<AcrobotNormName> {
  /** Test MSE of the best model. */
  testLoss: number;
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
    /**
     * Whether it reached upright: within 0.3 rad (both angles) over the last 2 s, with the line
     * the command line prints (`uprightVerdict`).
     */
    verdict: ReturnType<typeof uprightVerdict>;
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

/** The run's configuration, known before training: the result without the runs. */
export type AcrobotExperimentConfig = Omit<AcrobotExperimentResult, "runs">;

/** A batch of windows: `[B, times, 8]` (angles, velocities, controls). */
type AcrobotBatch = { windows: tf.Tensor };

/** A {@link Symoden} as the harness's `Trainable`, with a fixed backward norm. */
function trainable(
  model: Symoden,
  norm: AcrobotNormName,
  settings: AcrobotSettings,
  window: number,
): Trainable<AcrobotBatch> {
  const adjointNorm = norm === "paper-code-seminorm"
    ? paperCodeSeminorm({ timePoints: window })
    : norm;
  const { massHidden: m, potentialHidden: v, inputHidden: g } = settings;
  return {
    variables: model.variables,
    description: `Symoden: M⁻¹ net 4-${m}-${m}-${m}-3, V net 4-${v}-${v}-1, ` +
      `g net 4-${g}-${g}-4 (softplus); ${model.parameterCount} parameters`,
    async step(batch: AcrobotBatch, options: StepOptions): Promise<StepResult> {
      return await model.step(batch.windows, {
        adjoint: { norm: adjointNorm },
        rtol: settings.rtol,
        atol: settings.atol,
        record: options.record,
      });
    },
  };
}

/** The swing-up with a trained model, saved as `<n>.control.json` next to `<n>.json`. */
async function swingUp(
  model: Symoden,
  control: true | EnergyShapingOptions,
  resultPath: string | null,
): Promise<AcrobotControlOutcome> {
  // 30 s: the learned model's bar (issue 15: upright within 0.3 rad over the last 2 s of 30 s)
  const options = { maxControl: 15, duration: 30, ...(control === true ? {} : control) };
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
  const verdict = uprightVerdict(trajectory, { window: 2, tol: 0.3 });
  return { path, trajectory, energyGap, verdict };
}

/**
 * Trains a Symplectic ODE-Net on the acrobot windows once per norm (same seed, same batches),
 * saves each run's result JSON (and, with `control`, its swing-up trajectory) and returns the
 * runs. The tfjs backend is whatever is active; the command line selects it. Nothing is left
 * allocated: the data, models and optimiser state are disposed, also when a run throws.
 *
 * See the module documentation for an example, `ACROBOT_PRESET_NOTES` (./settings.ts) for the
 * presets.
 *
 * @param options Preset, overrides, the swing-up, the data and where to save.
 * @returns The settings, split sizes and one run per norm.
 * @throws {TypeError | RangeError} On bad options, before any work.
 */
export async function runAcrobotExperiment(
  options: AcrobotExperimentOptions = {},
): Promise<AcrobotExperimentResult> {
  const { preset, settings } = resolveAcrobotSettings(options);
  const { seed } = resolveComparison("acrobot", options, ACROBOT_NORM_NAMES);
  const control = options.control ?? false;
  // The data set's progress, when asked for, as a live line on the terminal.
  const line = options.dataProgress
    ? progressDisplay(terminalSink("auto"), { interval: 0.25 })
    : null;
  const data = await loadAcrobotDataset({
    trials: settings.trials,
    steps: options.steps,
    controls: options.controls ?? ACROBOT_CONTROLS,
    cacheDir: options.cacheDir,
    onProgress: line === null ? undefined : (p) =>
      line.update(
        `acrobot data: round ${p.round} (${p.batch} trials), t = ${p.t.toFixed(2)}/${p.tEnd} s, ` +
          `${p.accepted}/${p.total} trials accepted`,
        p.accepted / p.total,
      ),
  }).finally(() => line?.done());
  try {
    const sizes = {
      train: data.train.shape[0],
      val: data.val.shape[0],
      test: data.test.shape[0],
    };
    const { runs, parameters, backend } = await compareNorms({
      experiment: "acrobot",
      results: "acrobot",
      preset,
      norms: options.norms,
      normNames: ACROBOT_NORM_NAMES,
      seed,
      out: options.out,
      checkpoint: options.checkpoint,
      resume: options.resume,
      data: {
        train: tensorSplit({ windows: data.train }),
        val: tensorSplit({ windows: data.val }),
        test: tensorSplit({ windows: data.test }),
      },
      model: (seed) =>
        new Symoden({
          massHidden: settings.massHidden,
          potentialHidden: settings.potentialHidden,
          inputHidden: settings.inputHidden,
          seed,
        }),
      trainable: (model, norm) => trainable(model, norm, settings, data.times.length),
      name: (norm) => configName([preset, norm, settings.rtol, settings.atol]),
      config: {
        ...settings,
        steps: data.trajectories.settings.steps,
        window: data.times.length,
        controls: data.trajectories.settings.controls,
        sizes,
        dataKey: data.trajectories.key,
      },
      training: trainingOptions(settings, options),
      onProgress: options.onProgress,
      onStart: ({ parameters, backend }) =>
        options.onConfig?.({ preset, settings, sizes, parameters, backend }),
      finish: async (model, run): Promise<Omit<AcrobotRun, keyof NormRun>> => {
        const testLoss = run.result.test!.loss;
        if (control === false) return { testLoss };
        return { testLoss, control: await swingUp(model, control, run.path) };
      },
    });
    return { preset, settings, sizes, parameters, backend, runs };
  } finally {
    data.dispose();
  }
}
