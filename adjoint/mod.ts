/**
 * Backward solving: the adjoint method, its norms (including the seminorm) and the
 * vector–Jacobian products it needs.
 *
 * @module
 */
export {
  type AdjointGradients,
  type AdjointOptions,
  type AdjointSolution,
  type BackwardOptions,
  odeintAdjoint,
  type OdeintAdjointOptions,
} from "./odeint_adjoint.ts";
export {
  type AdjointNorm,
  adjointNorm,
  type AdjointNormSpec,
  type AdjointState,
  NORM_NAMES,
  type NormName,
} from "./norms.ts";
export { odeintSyncTs } from "./time_grads.ts";
export { vjp, type VjpResult } from "./vjp.ts";
export { type FieldVjp, isVjpField, type VjpField, withVjp } from "./vjp_field.ts";
export {
  type AdjointModel,
  type AdjointValueAndGrads,
  adjointValueAndGrads,
  type Gradients,
} from "./value_and_grads.ts";
