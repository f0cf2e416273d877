/**
 * The spiral neural ODE of the demo: a two-dimensional spiral to fit, and a small MLP vector
 * field trained through `odeintAdjoint` with either backward norm.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { spiralData } from "@fasterode/fasterode/models/spiral";
 * const data = await spiralData(100, 5);
 * assert.deepEqual(data.ys.shape, [100, 2]);
 * data.ys.dispose();
 * ```
 *
 * @module
 */
export {
  sampleBatch,
  type SpiralBatch,
  type SpiralData,
  spiralData,
  SpiralODE,
  type SpiralODEOptions,
  type SpiralSolveOptions,
  type SpiralStepOptions,
} from "./spiral.ts";
export type { StepResult } from "../step.ts";
