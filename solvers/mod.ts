/**
 * Forward solving: `odeint`, the Runge–Kutta tableaus, step-size control (I, PI, PID), norms,
 * per-component tolerances, each method's dense output, events (`event`), dense solutions
 * (`dense: true`) and step callbacks (`onStep`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { odeint } from "@fasterode/fasterode";
 * const sol = await odeint((_t, y) => tf.neg(y), tf.tensor([1]), [0, 1]);
 * assert.ok(Math.abs((await sol.ys.data())[1] - Math.exp(-1)) < 1e-4);
 * sol.ys.dispose();
 * ```
 *
 * @module
 */
export { odeint, odeintSync, type OdeSolution, type SolveStats } from "./odeint.ts";
export { DEFAULT_TOLERANCES, type OdeintOptions } from "./options.ts";
export { rejectUnknownKeys } from "./unknown_keys.ts";
export { getMethod, type MethodName, METHODS } from "./methods.ts";
export { makeTableau, type Tableau, type TableauSpec } from "./tableau.ts";
export { type Controller, type ControllerOptions, makeController } from "./controller.ts";
export {
  maxNorm,
  mixedNorm,
  type Norm,
  type RmsGroups,
  rmsGroupsOf,
  rmsNorm,
  withRmsGroups,
} from "./norms.ts";
export { denseDerivativeWeights, denseWeights } from "./dense_output.ts";
export {
  type FailureInfo,
  MaxStepsError,
  NonFiniteError,
  OdeSolveError,
  type SolveStatus,
  StepSizeUnderflowError,
} from "./errors.ts";
export { type State, type StateLayout, type VectorField } from "./state.ts";
export {
  type EventDirection,
  type EventFn,
  type EventOption,
  type EventResult,
  type EventSpec,
} from "./events.ts";
export { DenseSolution } from "./dense_solution.ts";
export { type StepInfo } from "./options.ts";
export { type PartRoles, type RkStep, rkStep, type RkStepOptions, type StepFn } from "./rk_step.ts";
export { type Reads } from "./reads.ts";
export { type Tolerance } from "./tolerances.ts";
export {
  classifyWasmFailure,
  WASM_MEMORY_MAX,
  type WasmFailureContext,
  WasmMemoryError,
} from "./wasm_memory.ts";
