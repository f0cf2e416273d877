/**
 * What a solve returns: the outputs, how it ended, its statistics, and (when asked for) what
 * it found about an event and its dense solution.
 *
 * @module
 */
import type { DenseSolution } from "./dense_solution.ts";
import type { OdeSolveError, SolveStatus } from "./errors.ts";
import type { EventResult } from "./events.ts";
import type { State } from "./state.ts";

/** Statistics of a solve. */
export interface SolveStats {
  /** Vector-field evaluations (every call of `f`). */
  nfe: number;
  /** Accepted steps. */
  nAccepted: number;
  /** Rejected steps. */
  nRejected: number;
  /** With `record`: time of every evaluation, in call order. */
  evalTs?: number[];
  /** With `record`: end time of every accepted step. */
  acceptTs?: number[];
  /** With `record`: end time of every rejected (attempted) step. */
  rejectTs?: number[];
}

/** Result of {@link odeint}. */
export interface OdeSolution<S extends State> {
  /** The output times reached (all of `ts` unless a failure was returned). */
  ts: number[];
  /** The solution at `ts`, each tensor stacked on a new leading time axis. */
  ys: S;
  /** How the solve ended (`"success"` unless `onFailure: "return"` caught a failure). */
  status: SolveStatus;
  /** The failure, when `status` is not `"success"`. */
  error?: OdeSolveError;
  /** Evaluation and step counts. */
  stats: SolveStats;
  /**
   * With `event`: whether and where it fired. A terminal event ends `ts` at the event time (the
   * last row of `ys` is the state there).
   */
  event?: EventResult<S>;
  /** With `dense: true`: the interpolant over the solved span (the caller disposes it). */
  dense?: DenseSolution<S>;
}
