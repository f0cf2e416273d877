/**
 * The Neural CDE experiment on Speech Commands: its settings and presets (`settings.ts`), the
 * run of both norms ({@link runCdeExperiment}, `run.ts`), the report (`report.ts`) and the
 * command line ({@link cdeMain}, `main.ts`; `deno task cde`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CDE_PRESETS, parseCdeArgs } from "@fasterode/fasterode/experiments";
 * assert.deepEqual(parseCdeArgs(["--epochs", "2"]), { epochs: 2 });
 * assert.equal(CDE_PRESETS.small.frameStride, 16);
 * ```
 *
 * @module
 */
export {
  CDE_PRESET_NAMES,
  CDE_PRESET_NOTES,
  CDE_PRESETS,
  CDE_TOLERANCES,
  type CdeDataSource,
  type CdeExperimentOptions,
  type CdePresetName,
  type CdeSettings,
  CPU_SYNTHETIC_CLIPS,
  resolveCdeData,
  resolveCdeSettings,
  SMALL_SYNTHETIC_CLIPS,
} from "./settings.ts";
export {
  type CdeDataInfo,
  type CdeExperimentConfig,
  type CdeExperimentResult,
  type CdeRun,
  runCdeExperiment,
} from "./run.ts";
export { cdeTableNote, describeCdeExperiment, formatCdeTable } from "./report.ts";
export { CDE_USAGE, type CdeCliOptions, cdeMain, parseCdeArgs } from "./main.ts";
