/**
 * Typed errors of a failed solve. Each names where the solve stopped: the time `t`, the step
 * size `dt` it was trying, the last error ratio and the number of function evaluations so far.
 *
 * @module
 */

/** How a solve ended. */
export type SolveStatus = "success" | "max_steps" | "dt_underflow" | "non_finite";

/** Where a failed solve stopped. */
export interface FailureInfo {
  /** Time the solver had reached (start of the failing step). */
  t: number;
  /** Step size it was trying. */
  dt: number;
  /** Last error ratio (NaN before the first adaptive step). */
  errorRatio: number;
  /** Vector-field evaluations so far. */
  nfe: number;
}

/** Base class of the solve errors; `status` says which failure it was. */
export class OdeSolveError extends Error implements FailureInfo {
  /** Which failure this is (the `status` a returned solution would carry). */
  readonly status: Exclude<SolveStatus, "success">;
  /** Time the solver had reached. */
  readonly t: number;
  /** Step size it was trying. */
  readonly dt: number;
  /** Last error ratio. */
  readonly errorRatio: number;
  /** Vector-field evaluations so far. */
  readonly nfe: number;

  /** Builds the message from `what` and where the solve stopped. */
  constructor(status: Exclude<SolveStatus, "success">, what: string, info: FailureInfo) {
    super(
      `${what} at t=${info.t} (dt=${info.dt}, last error ratio=${info.errorRatio}, ` +
        `nfe=${info.nfe})`,
    );
    this.name = new.target.name;
    this.status = status;
    this.t = info.t;
    this.dt = info.dt;
    this.errorRatio = info.errorRatio;
    this.nfe = info.nfe;
  }
}

/** More than `maxSteps` steps were attempted. */
export class MaxStepsError extends OdeSolveError {
  /** `maxSteps` is the limit that was reached. */
  constructor(maxSteps: number, info: FailureInfo) {
    super(
      "max_steps",
      `Reached maxSteps=${maxSteps} before the last output time; raise maxSteps, loosen ` +
        `rtol/atol, or check the problem for stiffness`,
      info,
    );
  }
}

/** The step size shrank until the time no longer advances. */
export class StepSizeUnderflowError extends OdeSolveError {
  /** Where the step size underflowed. */
  constructor(info: FailureInfo) {
    super(
      "dt_underflow",
      "Step size underflow: the error stays too large for any representable step " +
        "(a singularity, a discontinuity not passed as jumpT, or tolerances below float32 precision)",
      info,
    );
  }
}

/** A stage produced NaN or Inf. */
export class NonFiniteError extends OdeSolveError {
  /** Where the non-finite value appeared. */
  constructor(info: FailureInfo) {
    super(
      "non_finite",
      "NaN or Inf in a Runge–Kutta stage (the vector field or the state blew up)",
      info,
    );
  }
}
