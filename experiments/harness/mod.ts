/**
 * The training harness every experiment shares: {@link train} (AdamW, plateau schedule, metric
 * passes measuring forward and backward NFE, best-model restore, a results JSON per run),
 * {@link evaluate}, data splits and batches, progress display, presets, the comparison of the
 * norms ({@link compareNorms}), checkpoints and resume (checkpoint.ts), command-line parsing and
 * result tables.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { reduction, textTable } from "@fasterode/fasterode/experiments";
 * const rows = [{ norm: "default", nfe: 100 }, { norm: "seminorm", nfe: 60 }];
 * assert.match(textTable(rows), /^norm +nfe\n/);
 * assert.equal(reduction(100, 60), "40.0%");
 * ```
 *
 * @module
 */
export { train, type TrainResult } from "./train.ts";
export type { TrainOptions } from "./train_options.ts";
export { type BatchInfo, evaluate, type EvaluateOptions } from "./evaluate.ts";
export type { StepOptions, StepResult, Trainable, TrainStepResult } from "./trainable.ts";
export { AdamW, type AdamWOptions, type AdamWState } from "./adamw.ts";
export { type PlateauOptions, type PlateauSchedule, plateauSchedule } from "./plateau.ts";
export { batchIndices, type Split, tensorSplit, type TrainData } from "./splits.ts";
export {
  type BatchProgress,
  formatMetrics,
  formatProgress,
  type MessageProgress,
  type MetricsProgress,
  type Phase,
  type ProgressDisplay,
  progressDisplay,
  type ProgressDisplayOptions,
  type ProgressEvent,
  type ProgressMode,
  type ProgressReporter,
  progressReporter,
  type ProgressSink,
  type ReporterOptions,
} from "./progress.ts";
export {
  type NotebookDisplay,
  notebookSink,
  type NotebookSinkOptions,
  terminalMode,
  terminalSink,
  type TerminalSinkOptions,
  withBar,
} from "./progress_sinks.ts";
export {
  configName,
  type HistoryEntry,
  keyedName,
  type Metrics,
  readResults,
  type ResultLocation,
  type RunResult,
  saveResult,
  settingsKey,
  type TrainingNfe,
  type TrainSettings,
} from "./results.ts";
export { type PresetRules, resolvePreset } from "./presets.ts";
export {
  type ComparedModel,
  compareNorms,
  type CompareSpec,
  type Comparison,
  type ComparisonOptions,
  type ComparisonSetup,
  type ComparisonStart,
  type NormRun,
  resolveComparison,
  trainingOptions,
  type TrainingSettings,
} from "./compare.ts";
export {
  CHECKPOINT_USAGE,
  choice,
  EXPERIMENT_FLAGS,
  experimentBackend,
  type ExperimentFlags,
  experimentFlags,
  interruptedReport,
  numberFlag,
  parseCommandLine,
  parseFlags,
  pathFlag,
  resumeArgs,
  ROOT_USAGE,
  runMain,
  withRoot,
  writePermissionHint,
} from "./cli.ts";
export {
  type CheckpointOptions,
  loadFinishedRun,
  readRunCheckpoint,
  type RunState,
  type RunTensors,
  saveRunCheckpoint,
  type SignalStop,
  stopOnSignals,
  TrainingInterrupted,
} from "./checkpoint.ts";
// Library types that appear in the harness's signatures.
export type { BackendName, NormName, SolveStats } from "../../mod.ts";
export { markdownTable, reduction, type TableRow, textTable } from "./table.ts";
