/**
 * What every model shares: the shape of a training step's result ({@link StepResult}), which
 * the training harness consumes as it is, and saved weights (checkpoint.ts: `saveVariables`,
 * `loadVariables`, `saveCheckpoint`, `readCheckpoint`). The models themselves are in `models/<name>/mod.ts`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { StepResult } from "@fasterode/fasterode/models";
 * const stats = { nfe: 14, nAccepted: 2, nRejected: 0 };
 * const step: StepResult = { loss: 0.5, count: 4, grads: {}, forward: stats, backward: stats };
 * assert.equal(step.correct, undefined); // regression
 * ```
 *
 * @module
 */
export type { StepResult } from "./step.ts";
export {
  assignSaved,
  type Checkpoint,
  CHECKPOINT_FILE,
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  CheckpointError,
  type CheckpointFile,
  checkSaved,
  hasCheckpoint,
  loadVariables,
  type NamedTensor,
  readCheckpoint,
  saveCheckpoint,
  saveVariables,
  type WeightSpec,
} from "./checkpoint.ts";
