/**
 * What the acrobot experiment prints: the result table ({@link formatAcrobotTable}) and the
 * lines around it ({@link describeAcrobotExperiment}, {@link acrobotTableNote},
 * {@link describeSwingUp}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { acrobotTableNote } from "@fasterode/fasterode/experiments";
 * assert.match(acrobotTableNote(1), /summed over the metric passes on the training split/);
 * ```
 *
 * @module
 */
import type { AcrobotNormName } from "./settings.ts";
import { reduction, textTable } from "../harness/mod.ts";
import type { AcrobotControlOutcome, AcrobotExperimentConfig, AcrobotRun } from "./run.ts";

/**
 * The result table: per norm the test MSE, backward NFE (total over the metric passes on the
 * training split, and per batch), the reduction relative to the default norm, the backward NFE
 * of the training steps, and the wall time; then a line comparing the norms when both ran.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { NormName } from "@fasterode/fasterode/experiments";
 * import { formatAcrobotTable } from "@fasterode/fasterode/experiments";
 * const run = (norm: NormName, bnfe: number, loss: number) => ({
 *   norm, testLoss: loss, backwardNfe: bnfe, backwardNfePerBatch: bnfe / 10,
 *   trainingBackwardNfe: 2 * bnfe, seconds: bnfe / 100,
 * });
 * const table = formatAcrobotTable([run("default", 1000, 0.0123), run("seminorm", 600, 0.0125)]);
 * assert.match(table, /seminorm .* 40\.0%/);
 * ```
 *
 * @param runs the runs, one per norm
 * @returns the table, and the comparison when both norms ran
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
  const lines = [
    textTable(runs.map((r) => ({
      "norm": r.norm,
      "test MSE": r.testLoss.toPrecision(4),
      "backward NFE": r.backwardNfe,
      "per batch": r.backwardNfePerBatch.toFixed(1),
      "reduction": base && r !== base ? reduction(base.backwardNfe, r.backwardNfe) : "",
      "training bwd NFE": r.trainingBackwardNfe,
      "wall time": `${r.seconds.toFixed(1)} s`,
    }))),
  ];
  const semi = runs.find((r) => r.norm === "seminorm");
  if (base && semi) {
    const dMse = 100 * (semi.testLoss / base.testLoss - 1);
    lines.push(
      "",
      `seminorm: ${reduction(base.backwardNfe, semi.backwardNfe)} fewer backward NFE in the ` +
        `metric passes, ${reduction(base.trainingBackwardNfe, semi.trainingBackwardNfe)} in ` +
        `training, ${reduction(base.seconds, semi.seconds)} less wall time; test MSE ` +
        `${dMse >= 0 ? "+" : ""}${dMse.toFixed(1)}% (paper: median 40%, up to 62% fewer ` +
        `backward NFE over its experiments)`,
    );
  }
  return lines.join("\n");
}

/**
 * The configuration line, printed before training: the model, the data, the settings and the
 * backend.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ACROBOT_PRESETS, describeAcrobotExperiment } from "@fasterode/fasterode/experiments";
 * const line = describeAcrobotExperiment({
 *   preset: "small", settings: ACROBOT_PRESETS.small, parameters: 4968, backend: "wasm",
 *   sizes: { train: 1800, val: 225, test: 675 },
 * });
 * assert.match(line, /^acrobot, preset small: Symoden widths 32\/32\/32 \(4968 parameters\)/);
 * ```
 *
 * @param r the experiment's configuration (or its result)
 * @returns the line
 */
export function describeAcrobotExperiment(r: AcrobotExperimentConfig): string {
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
 * The note printed under the table: what its columns sum, for metric passes every
 * `epochsPerMetric` epochs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { acrobotTableNote } from "@fasterode/fasterode/experiments";
 * assert.match(acrobotTableNote(10), /every 10 epochs and the last/);
 * ```
 *
 * @param epochsPerMetric the settings' `epochsPerMetric`
 * @returns the note
 */
export function acrobotTableNote(epochsPerMetric: number): string {
  const every = epochsPerMetric === 1
    ? "every epoch"
    : `every ${epochsPerMetric} epochs and the last`;
  return `backward NFE: summed over the metric passes on the training split (${every}), as the ` +
    "paper's parse_results.py;\nper batch: its mean per batch; training bwd NFE: summed over " +
    "the training steps.";
}

/**
 * The lines about a norm's swing-up: the verdict (reached upright or not, with the final state),
 * then where it ended (energy from balanced upright, angles); or why it failed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeSwingUp } from "@fasterode/fasterode/experiments";
 * assert.equal(
 *   describeSwingUp("seminorm", { error: "diverged" }),
 *   "seminorm: swing-up failed: diverged",
 * );
 * ```
 *
 * @param norm the run's norm
 * @param control the run's swing-up
 * @returns the line
 */
export function describeSwingUp(norm: AcrobotNormName, control: AcrobotControlOutcome): string {
  if ("error" in control) return `${norm}: swing-up failed: ${control.error}`;
  const { trajectory, energyGap, path } = control;
  const [th1, th2] = trajectory.angles[trajectory.angles.length - 1];
  const wrap = (a: number) => Math.atan2(Math.sin(a), Math.cos(a));
  return `${norm}: swing-up ${control.verdict.line}\n` +
    `${norm}: after ${trajectory.times.at(-1)!.toFixed(1)} s: energy ` +
    `${energyGap >= 0 ? "+" : ""}${energyGap.toFixed(2)} J from balanced upright, ` +
    `θ1 − π = ${wrap(th1 - Math.PI).toFixed(2)} rad, θ2 = ${wrap(th2).toFixed(2)} rad` +
    (path ? `; trajectory ${path}` : "");
}
