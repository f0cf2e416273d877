/**
 * The continuous-normalising-flow experiment: its settings and presets (`settings.ts`), the run
 * of both norms ({@link runCnfExperiment}, `run.ts`), the table (`report.ts`) and the command
 * line ({@link cnfMain}, `main.ts`; `deno task cnf`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CNF_PRESETS, parseCnfArgs } from "@fasterode/fasterode/experiments";
 * assert.deepEqual(parseCnfArgs(["--density", "moons"]), { density: "moons" });
 * assert.equal(CNF_PRESETS.small.batchSize, 200);
 * ```
 *
 * @module
 */
export {
  CNF_PRESET_MODELS,
  CNF_PRESET_NOTES,
  CNF_PRESETS,
  type CnfDataName,
  type CnfExperimentOptions,
  type CnfModelSettings,
  type CnfPresetName,
  type CnfSettings,
  resolveCnfSettings,
} from "./settings.ts";
export {
  type CnfExperimentConfig,
  type CnfExperimentResult,
  type CnfPictures,
  type CnfRun,
  runCnfExperiment,
} from "./run.ts";
export { cnfTableNote, describeCnfExperiment, formatCnfTable, PAPER_ANCHORS } from "./report.ts";
export { CNF_USAGE, type CnfCliOptions, cnfMain, parseCnfArgs } from "./main.ts";
