/**
 * The training harness every experiment shares: {@link train} (AdamW, plateau schedule, metric
 * passes measuring forward and backward NFE, best-model restore, a results JSON per run),
 * {@link evaluate}, data splits and batches, progress display, presets, command-line parsing and
 * result tables.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { reduction, textTable } from "./mod.ts";
 * const rows = [{ norm: "default", nfe: 100 }, { norm: "seminorm", nfe: 60 }];
 * assert.match(textTable(rows), /^norm +nfe\n/);
 * assert.equal(reduction(100, 60), "40.0%");
 * ```
 *
 * @module
 */
export {
  evaluate,
  type EvaluateOptions,
  type StepOptions,
  type StepResult,
  train,
  type Trainable,
  type TrainOptions,
  type TrainResult,
} from "./train.ts";
export { AdamW, type AdamWOptions } from "./adamw.ts";
export { type PlateauOptions, type PlateauSchedule, plateauSchedule } from "./plateau.ts";
export { batchIndices, type Split, tensorSplit, type TrainData } from "./splits.ts";
export {
  type BatchProgress,
  formatMetrics,
  formatProgress,
  type MessageProgress,
  type MetricsProgress,
  type Phase,
  type ProgressEvent,
  type ProgressMode,
  progressReporter,
} from "./progress.ts";
export {
  configName,
  type HistoryEntry,
  type Metrics,
  readResults,
  type ResultLocation,
  type RunResult,
  saveResult,
  type TrainSettings,
} from "./results.ts";
export { type PresetRules, resolvePreset } from "./presets.ts";
export { markdownTable, reduction, type TableRow, textTable } from "./table.ts";
