/**
 * What the CNF experiment prints: the Table 2 analogue ({@link formatCnfTable}) and the lines
 * around it ({@link describeCnfExperiment}, {@link cnfTableNote}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cnfTableNote } from "@fasterode/fasterode/experiments";
 * assert.match(cnfTableNote(2), /summed over the metric passes on the training split/);
 * ```
 *
 * @module
 */
import { reduction, textTable } from "../harness/mod.ts";
import type { CnfExperimentConfig, CnfRun } from "./run.ts";

/** The paper's anchors for the seminorm's saving in backward NFE, over all its experiments. */
export const PAPER_ANCHORS = "paper: median 40%, up to 62% fewer backward NFE";

/**
 * The table: per norm the test NLL (nats) and bits/dim (images), forward and backward NFE of the
 * metric passes on the training split, backward NFE per batch, the reduction relative to the
 * default norm, the backward NFE of the training steps and the wall time; then a line
 * comparing the norms beside the paper's anchors when both ran.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { NormName } from "@fasterode/fasterode/experiments";
 * import { formatCnfTable } from "@fasterode/fasterode/experiments";
 * const run = (norm: NormName, bnfe: number, nll: number) => ({
 *   norm, testNll: nll, forwardNfe: 500, backwardNfe: bnfe, backwardNfePerBatch: bnfe / 10,
 *   trainingBackwardNfe: 2 * bnfe, seconds: bnfe / 100,
 * });
 * const table = formatCnfTable([run("default", 1000, 3.21), run("seminorm", 600, 3.22)]);
 * assert.match(table, /seminorm +3\.220 .* 40\.0%/);
 * assert.match(table, /paper: median 40%, up to 62%/);
 * ```
 *
 * @param runs the runs, one per norm
 * @returns the table, and the comparison when both norms ran
 */
export function formatCnfTable(
  runs: Pick<
    CnfRun,
    | "norm"
    | "testNll"
    | "testBitsPerDim"
    | "forwardNfe"
    | "backwardNfe"
    | "backwardNfePerBatch"
    | "trainingBackwardNfe"
    | "seconds"
  >[],
): string {
  const base = runs.find((r) => r.norm === "default");
  const images = runs.some((r) => r.testBitsPerDim !== undefined);
  const lines = [
    textTable(runs.map((r) => ({
      "norm": r.norm,
      "test NLL (nats)": r.testNll.toFixed(3),
      ...(images ? { "bits/dim": r.testBitsPerDim!.toFixed(3) } : {}),
      "forward NFE": r.forwardNfe,
      "backward NFE": r.backwardNfe,
      "per batch": r.backwardNfePerBatch.toFixed(1),
      "reduction": base && r !== base ? reduction(base.backwardNfe, r.backwardNfe) : "",
      "training bwd NFE": r.trainingBackwardNfe,
      "wall time": `${r.seconds.toFixed(1)} s`,
    }))),
  ];
  const semi = runs.find((r) => r.norm === "seminorm");
  if (base && semi) {
    lines.push(
      "",
      `seminorm: ${reduction(base.backwardNfe, semi.backwardNfe)} fewer backward NFE in the ` +
        `metric passes, ${reduction(base.trainingBackwardNfe, semi.trainingBackwardNfe)} in ` +
        `training, ${reduction(base.seconds, semi.seconds)} less wall time; test NLL ` +
        `${semi.testNll >= base.testNll ? "+" : ""}${(semi.testNll - base.testNll).toFixed(3)} ` +
        `nats (${PAPER_ANCHORS}; its FFJORD MNIST row: 0.96 bits/dim both, backward NFE ` +
        `cut by about 40%)`,
    );
  }
  return lines.join("\n");
}

/**
 * The line printed before the table: the data, the model, the settings and the backend.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   CNF_PRESET_MODELS,
 *   CNF_PRESETS,
 *   describeCnfExperiment,
 * } from "@fasterode/fasterode/experiments";
 * const line = describeCnfExperiment({
 *   preset: "small", settings: CNF_PRESETS.small, model: CNF_PRESET_MODELS.small,
 *   sizes: { train: 1000, val: 200, test: 1000 }, dim: 2, parameters: 4872, backend: "wasm",
 * });
 * assert.match(line, /^cnf, preset small: 8gaussians \(2-D\), 1000\/200\/1000 points/);
 * ```
 *
 * @param r the experiment's configuration (its result will do)
 * @returns the line
 */
export function describeCnfExperiment(r: CnfExperimentConfig): string {
  const s = r.settings, m = r.model;
  const regs = [
    m.kineticWeight > 0 ? `kinetic ${m.kineticWeight}` : "",
    m.jacobianWeight > 0 ? `Jacobian ${m.jacobianWeight}` : "",
  ].filter((x) => x !== "");
  return `cnf, preset ${r.preset}: ${m.density} (${r.dim}-D), ${r.sizes.train}/${r.sizes.val}/` +
    `${r.sizes.test} ${m.density === "mnist" ? "images" : "points"}; FFJORD CNF, ${m.layer} ` +
    `MLP ${r.dim}-${Array(s.depth).fill(s.width).join("-")}-${r.dim} (${m.activation}, ` +
    `${r.parameters} parameters), ${m.trace} trace${
      m.trace === "hutchinson" ? ` (${m.noise})` : ""
    }, T = ${s.time}${regs.length ? `, RNODE ${regs.join(", ")}` : ""}; batch ${s.batchSize}, ` +
    `Adam(W) lr ${s.learningRate}, ${s.epochs} epochs, metrics every ${s.epochsPerMetric}; ` +
    `dopri5 rtol ${s.rtol}, atol ${s.atol}; backend ${r.backend}`;
}

/**
 * The note printed under the table: what its columns sum, for metric passes every
 * `epochsPerMetric` epochs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cnfTableNote } from "@fasterode/fasterode/experiments";
 * assert.match(cnfTableNote(1), /every epoch/);
 * ```
 *
 * @param epochsPerMetric the settings' `epochsPerMetric`
 * @returns the note
 */
export function cnfTableNote(epochsPerMetric: number): string {
  const every = epochsPerMetric === 1
    ? "every epoch"
    : `every ${epochsPerMetric} epochs and the last`;
  return `forward/backward NFE: summed over the metric passes on the training split (${every}); ` +
    "per batch: backward NFE per batch of those passes;\ntraining bwd NFE: summed over the " +
    "training steps; test NLL: forward solves of the best model on the test split.";
}
