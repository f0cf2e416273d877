/**
 * The acrobot experiment: its settings and presets (`settings.ts`), the run of both norms
 * ({@link runAcrobotExperiment}, `run.ts`), the report (`report.ts`) and the command line
 * ({@link acrobotMain}, `main.ts`; `deno task acrobot`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ACROBOT_PRESETS, parseAcrobotArgs } from "@fasterode/fasterode/experiments";
 * assert.deepEqual(parseAcrobotArgs(["--width", "8"]), {
 *   massHidden: 8,
 *   potentialHidden: 8,
 *   inputHidden: 8,
 * });
 * assert.equal(ACROBOT_PRESETS.small.trials, 12);
 * ```
 *
 * @module
 */
export {
  ACROBOT_NORM_NAMES,
  ACROBOT_PRESET_NOTES,
  ACROBOT_PRESETS,
  type AcrobotExperimentOptions,
  type AcrobotNormName,
  type AcrobotPresetName,
  type AcrobotSettings,
  resolveAcrobotSettings,
} from "./settings.ts";
export {
  type AcrobotControlOutcome,
  type AcrobotExperimentConfig,
  type AcrobotExperimentResult,
  type AcrobotRun,
  runAcrobotExperiment,
} from "./run.ts";
export {
  acrobotTableNote,
  describeAcrobotExperiment,
  describeSwingUp,
  formatAcrobotTable,
} from "./report.ts";
export { ACROBOT_USAGE, type AcrobotCliOptions, acrobotMain, parseAcrobotArgs } from "./main.ts";
// Model types that appear in this experiment's signatures.
export type { ControlTrajectory, EnergyShapingOptions } from "../../models/acrobot/mod.ts";
