/**
 * What the Neural CDE experiment prints: the result table ({@link formatCdeTable}) and the lines
 * around it ({@link describeCdeExperiment}, {@link cdeTableNote}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cdeTableNote } from "@fasterode/fasterode/experiments";
 * assert.match(cdeTableNote(1), /summed over the metric passes on the training split/);
 * ```
 *
 * @module
 */
import { reduction, textTable } from "../harness/mod.ts";
import type { CdeExperimentConfig, CdeRun } from "./run.ts";

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
 * import type { NormName } from "@fasterode/fasterode/experiments";
 * import { formatCdeTable } from "@fasterode/fasterode/experiments";
 * const run = (norm: NormName, bnfe: number, acc: number) => ({
 *   norm, testAccuracy: acc, backwardNfe: bnfe, backwardNfePerBatch: bnfe / 10,
 *   passSeconds: bnfe / 100, seconds: bnfe / 50, testBackwardNfe: bnfe / 5, testSeconds: bnfe / 500,
 * });
 * const table = formatCdeTable([run("default", 1000, 0.926), run("seminorm", 580, 0.925)]);
 * assert.match(table, /seminorm +92\.5% +580 +58\.0 +42\.0%/);
 * ```
 *
 * @param runs the runs, one per norm
 * @returns the table, and the comparison when both norms ran
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
  const lines = [
    textTable(runs.map((r) => ({
      "norm": r.norm,
      "test acc": `${(100 * r.testAccuracy).toFixed(1)}%`,
      "backward NFE": r.backwardNfe,
      "per batch": r.backwardNfePerBatch.toFixed(1),
      "reduction": base && r !== base ? reduction(base.backwardNfe, r.backwardNfe) : "",
      "fwd+bwd time": `${r.passSeconds.toFixed(1)} s`,
      "test bwd NFE": r.testBackwardNfe,
      "test fwd+bwd": `${r.testSeconds.toFixed(1)} s`,
      "wall time": `${r.seconds.toFixed(1)} s`,
    }))),
  ];
  const semi = runs.find((r) => r.norm === "seminorm");
  if (base && semi) {
    const dAcc = 100 * (semi.testAccuracy - base.testAccuracy);
    lines.push(
      "",
      `seminorm: ${reduction(base.backwardNfe, semi.backwardNfe)} fewer backward NFE in the ` +
        `metric passes (${reduction(base.testBackwardNfe, semi.testBackwardNfe)} on the test ` +
        `split), ${reduction(base.passSeconds, semi.passSeconds)} less forward + backward time, ` +
        `${reduction(base.seconds, semi.seconds)} less wall time; test accuracy ` +
        `${dAcc >= 0 ? "+" : ""}${dAcc.toFixed(1)} points`,
      "paper (draft table, rtol 1e-3, atol 1e-6, test set): 21.5k → 12.5k backward NFE (−42%), " +
        "275 → 212 s (−23%), accuracy 92.6% vs 92.5%; about −60% later in training",
    );
  }
  return lines.join("\n");
}

/** `n word`, with an `s` unless `n` is 1. */
function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/**
 * The lines printed before the table: the data, the model, the settings and the backend, then
 * how the clips were made and loaded.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CDE_PRESETS, describeCdeExperiment } from "@fasterode/fasterode/experiments";
 * const lines = describeCdeExperiment({
 *   preset: "small", settings: CDE_PRESETS.small, sizes: { train: 14, val: 3, test: 3 },
 *   parameters: 100, backend: "cpu",
 *   data: {
 *     source: "synthetic", dir: "data/synthetic-20-0", clips: 20, generated: false,
 *     generationSeconds: 0, fromCache: true, loadSeconds: 0.2, times: [0, 16, 32],
 *   },
 * });
 * assert.match(lines[0], /^speech commands, preset small: 20 synthetic espeak-ng clips/);
 * assert.equal(lines.at(-1), "data loaded in 0.2 s (cached MFCCs)");
 * ```
 *
 * @param r the experiment's configuration (its result will do)
 * @returns the lines
 */
export function describeCdeExperiment(r: CdeExperimentConfig): string[] {
  const s = r.settings;
  const d = r.data;
  const what = d.source === "synthetic"
    ? `${d.clips} synthetic espeak-ng clips in ${d.dir}`
    : `Speech Commands in ${d.dir} (${d.clips} clips)`;
  const lines = [
    `speech commands, preset ${r.preset}: ${what} → ${r.sizes.train}/${r.sizes.val}/` +
    `${r.sizes.test}; ${d.times.length} knots (every ${
      s.frameStride === 1 ? "" : `${s.frameStride}th `
    }frame of 161); Neural CDE hidden ${s.hiddenChannels}, hidden-hidden ` +
    `${s.hiddenHiddenChannels}, ${plural(s.numHiddenLayers, "layer")} (${r.parameters} ` +
    `parameters); batch ${s.batchSize}; AdamW lr ${s.learningRate}, weight decay ` +
    `${s.weightDecay}; ${plural(s.epochs, "epoch")}, metrics every ${
      s.epochsPerMetric === 1 ? "epoch" : `${s.epochsPerMetric} epochs`
    }; dopri5 rtol ${s.rtol}, atol ${s.atol}; backend ${r.backend}`,
  ];
  if (d.generated) {
    lines.push(`generated the ${d.clips} synthetic clips in ${d.generationSeconds.toFixed(1)} s`);
  }
  lines.push(
    `data loaded in ${d.loadSeconds.toFixed(1)} s (${
      d.fromCache ? "cached MFCCs" : "MFCCs computed and cached"
    })`,
  );
  return lines;
}

/**
 * The note printed under the table: what its columns sum, for metric passes every
 * `epochsPerMetric` epochs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cdeTableNote } from "@fasterode/fasterode/experiments";
 * assert.match(cdeTableNote(10), /every 10 epochs and the last/);
 * ```
 *
 * @param epochsPerMetric the settings' `epochsPerMetric`
 * @returns the note
 */
export function cdeTableNote(epochsPerMetric: number): string {
  const every = epochsPerMetric === 1
    ? "every epoch"
    : `every ${epochsPerMetric} epochs and the last`;
  return `backward NFE and fwd+bwd time: summed over the metric passes on the training split (${every}),` +
    " as the paper's parse_results.py;\nper batch: their mean; test: the final pass over the test " +
    "split (best model); wall time: training, metric and final passes.";
}
