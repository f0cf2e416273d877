/**
 * The options of a solve ({@link OdeintOptions}), their defaults, and {@link plan}, which checks
 * a solve's input and options and settles every default before any work.
 *
 * @module
 */
import { rejectUnknownKeys } from "./unknown_keys.ts";
import {
  type Controller,
  type ControllerOptions,
  type FusedNorm,
  makeController,
} from "./controller.ts";
import { getMethod, type MethodName } from "./methods.ts";
import { mixedNorm, type Norm, rmsGroupsOf, rmsNorm } from "./norms.ts";
import type { PartRoles } from "./rk_step.ts";
import { layoutOf, type State, type StateLayout } from "./state.ts";
import type { Tableau } from "./tableau.ts";
import * as tf from "@tensorflow/tfjs";
import { type EventOption, type EventPlan, planEvent } from "./events.ts";
import { planTolerance, type Tolerance } from "./tolerances.ts";

/**
 * The default tolerances of every solve, forward and backward (torchdiffeq's are rtol 1e-7 and
 * atol 1e-9, too tight for float32 states): the one place they are written.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_TOLERANCES } from "@fasterode/fasterode";
 * assert.deepEqual(DEFAULT_TOLERANCES, { rtol: 1e-4, atol: 1e-6 });
 * ```
 */
export const DEFAULT_TOLERANCES: Readonly<{ rtol: number; atol: number }> = Object.freeze({
  rtol: 1e-4,
  atol: 1e-6,
});

/** Options of {@link odeint}. Every option is optional. */
export interface OdeintOptions {
  /** Runge–Kutta method (default `"dopri5"`). */
  method?: MethodName;
  /**
   * Relative tolerance (default {@link DEFAULT_TOLERANCES}: 1e-4; float32 states make much below
   * 1e-6 meaningless). Per component: a `tf.Tensor` broadcastable to a one-tensor state, or an
   * array with one number or tensor per tensor of a tuple state (see `tolerances.ts`).
   */
  rtol?: Tolerance;
  /** Absolute tolerance (default {@link DEFAULT_TOLERANCES}: 1e-6); per component as `rtol`. */
  atol?: Tolerance;
  /** Fixed-step methods: the step size. Without it they step from output time to output time. */
  stepSize?: number;
  /** Adaptive methods: the first step size (default: chosen by Hairer's rule, one extra NFE). */
  firstStep?: number;
  /** Smallest step size; a step this small is accepted whatever its error (default 0). */
  dtMin?: number;
  /** Largest step size (default Infinity). */
  dtMax?: number;
  /** Most steps (accepted + rejected) before the solve fails (default 100000). */
  maxSteps?: number;
  /** Times the solver must step exactly to (kinks); the FSAL evaluation is kept. */
  stepT?: number[];
  /** Times to step exactly to and re-evaluate `f` just after (jumps in `f`). */
  jumpT?: number[];
  /**
   * Norm of the scaled error: a function of the state's tensors (default: RMS for one tensor,
   * the max of per-tensor RMS for a tuple). See `norms.ts`.
   */
  norm?: Norm;
  /** Step-size controller: I (default) or PI, with its factors. */
  controller?: ControllerOptions;
  /** Record the time of every evaluation and of every accepted and rejected step. */
  record?: boolean;
  /**
   * `"throw"` (default): a failed solve throws an {@link OdeSolveError}. `"return"`: it returns
   * the outputs reached so far with `status` saying why it stopped.
   */
  onFailure?: "throw" | "return";
  /**
   * Stop (or mark) where `g(t, y)` crosses zero: a function, or `{ fn, direction, terminal }`
   * (see `events.ts`). The solution's `event` says whether and where it fired.
   */
  event?: EventOption;
  /**
   * Keep every accepted step's interpolant: the solution's `dense` then evaluates `y(t)` and
   * `dy/dt(t)` anywhere in the solved span (see `dense_solution.ts`; dispose it).
   */
  dense?: boolean;
  /** Called after every attempted step (cheap when absent); see {@link StepInfo}. */
  onStep?: (info: StepInfo) => void;
}

/** What {@link OdeintOptions.onStep} receives after every attempted step. */
export interface StepInfo {
  /** The step's start time. */
  t: number;
  /** Its signed size (`t + dt` is its end). */
  dt: number;
  /** Whether it was accepted. */
  accepted: boolean;
  /** Its error ratio (accepted iff ≤ 1); NaN for fixed-step methods. */
  errorRatio: number;
}

/** The option names {@link odeint} accepts. */
export const OPTION_KEYS: readonly string[] = [
  "method",
  "rtol",
  "atol",
  "stepSize",
  "firstStep",
  "dtMin",
  "dtMax",
  "maxSteps",
  "stepT",
  "jumpT",
  "norm",
  "controller",
  "record",
  "onFailure",
  "event",
  "dense",
  "onStep",
];

/** Validated settings of one solve, as {@link plan} returns them. */
export interface Plan {
  tableau: Tableau;
  layout: StateLayout;
  ts: number[];
  /** +1 when `ts` increases, −1 when it decreases. Internally time runs as `s = direction·t`. */
  direction: number;
  /** The relative tolerance; its smallest value where it varies by component (see `partTol`). */
  rtol: number;
  /** The absolute tolerance; its smallest value where it varies by component. */
  atol: number;
  /** Per-part tolerances (numbers or the caller's tensors), where given per component. */
  partTol?: { rtol: (number | tf.Tensor)[]; atol: (number | tf.Tensor)[] };
  norm: Norm;
  /** The norm's fused form, when it is a largest RMS over groups of parts. */
  fused?: FusedNorm;
  /** Per-part roles (signs, passive parts): set by the adjoint for its augmented state. */
  roles?: PartRoles;
  /** Keep only the last output and return it unstacked (the adjoint's per-interval solves). */
  lastOnly?: boolean;
  /**
   * Dispose `y0`'s tensors as the solve starts (it holds views of them): their memory goes once
   * the first step has moved on (the adjoint's per-interval solves, which own their start state).
   */
  consumeY0?: boolean;
  stepSize?: number;
  firstStep?: number;
  dtMin: number;
  dtMax: number;
  maxSteps: number;
  /** `stepT` and `jumpT` in `s`, sorted, with a flag for jumps. */
  breaks: { s: number; jump: boolean }[];
  controller: Controller;
  record: boolean;
  onFailure: "throw" | "return";
  /** The event to locate, checked. */
  event?: EventPlan;
  /** Keep the interpolants for a dense solution. */
  dense: boolean;
  /** Called after every attempted step. */
  onStep?: (info: StepInfo) => void;
}

/** Options already warned about (each warning is given once per process). */
const WARNED = new Set<string>();

/** Warns once per process about `key`. */
function warnOnce(key: string, message: string): void {
  if (WARNED.has(key)) return;
  WARNED.add(key);
  console.warn(`fasterode: ${message}`);
}

/** float32's machine epsilon: relative tolerances below it cannot be met by float32 states. */
const FLOAT32_EPS = 2 ** -23;

/**
 * The output times as numbers: an array-like of numbers, or a 1-D `tf.Tensor` (read once,
 * synchronously). Throws a `TypeError` naming the first entry that is not a number.
 */
function timesOf(tsIn: ArrayLike<number> | tf.Tensor): number[] {
  if (tsIn instanceof tf.Tensor) {
    if (tsIn.rank !== 1) {
      throw new TypeError(`ts as a tensor must be 1-D, got shape [${tsIn.shape}]`);
    }
    return Array.from(tsIn.dataSync());
  }
  if (tsIn === null || typeof tsIn !== "object" || typeof tsIn.length !== "number") {
    throw new TypeError(
      `ts must be an array of numbers or a 1-D tf.Tensor, got ${describe(tsIn)}`,
    );
  }
  const ts = Array.from(tsIn);
  ts.forEach((t, i) => {
    if (typeof t !== "number") {
      throw new TypeError(`ts[${i}] is ${describe(t)}; output times must be numbers`);
    }
  });
  return ts;
}

/** A value as an error message shows it. */
function describe(v: unknown): string {
  return typeof v === "string" ? `the string ${JSON.stringify(v)}` : `${typeof v} ${String(v)}`;
}

/**
 * Checks a solve's input and options before any work and settles every default: the tableau,
 * the state's layout, the output times and their direction, tolerances, step limits, the
 * breakpoints (`stepT`/`jumpT` after `ts[0]`, in the solver's time `s = direction·t`, sorted,
 * duplicates dropped), the norm and the controller.
 *
 * `ts` may be a 1-D tensor (read once). One time `[t0]` is a solve with nothing to do (its
 * output is `y0`). A relative tolerance below float32's resolution is legal but warned about
 * once per process (the solve cannot deliver it).
 *
 * @throws {TypeError} On an unknown option, an option or time of the wrong type (a string), a
 *   norm that is not a function, `stepSize` with an adaptive method, or a bad `onFailure`.
 * @throws {RangeError} On no times, non-monotonic or non-finite times, negative or all-zero
 *   tolerances, `rtol > 1`, non-positive limits, a fractional `maxSteps`, `dtMin > dtMax`, or
 *   a time in both `stepT` and `jumpT`.
 */
export function plan(
  y0: State,
  tsIn: ArrayLike<number> | tf.Tensor,
  options: OdeintOptions,
): Plan {
  rejectUnknownKeys("odeint", options, OPTION_KEYS);
  if (options.norm !== undefined && typeof options.norm !== "function") {
    throw new TypeError(
      `norm must be a function of the state's tensors, got ${JSON.stringify(options.norm)}. ` +
        `"seminorm" and "default" are norms of the backward solve: pass them to odeintAdjoint ` +
        `as { adjoint: { norm: "seminorm" } }`,
    );
  }
  const tableau = getMethod(options.method ?? "dopri5");
  const layout = layoutOf(y0);
  const ts = timesOf(tsIn);
  if (ts.length < 1) throw new RangeError("ts is empty; give at least the start time");
  if (!ts.every(Number.isFinite)) throw new RangeError(`ts contains NaN or Inf: [${ts}]`);
  const direction = ts.length < 2 || ts[1] > ts[0] ? 1 : -1;
  for (let i = 1; i < ts.length; i++) {
    if (!(direction * (ts[i] - ts[i - 1]) > 0)) {
      throw new RangeError(
        `ts must be strictly increasing or strictly decreasing; ts[${i - 1}]=${ts[i - 1]}, ` +
          `ts[${i}]=${ts[i]}`,
      );
    }
  }
  const rtolPlan = planTolerance("rtol", options.rtol ?? DEFAULT_TOLERANCES.rtol, layout);
  const atolPlan = planTolerance("atol", options.atol ?? DEFAULT_TOLERANCES.atol, layout);
  const rtol = rtolPlan.min, atol = atolPlan.min;
  const partTol = rtolPlan.parts === undefined && atolPlan.parts === undefined ? undefined : {
    rtol: rtolPlan.parts ?? layout.shapes.map(() => rtol),
    atol: atolPlan.parts ?? layout.shapes.map(() => atol),
  };
  if (tableau.adaptive && rtolPlan.max === 0 && atolPlan.max === 0) {
    throw new RangeError(
      "rtol and atol are both 0: no step can meet that; give a positive tolerance",
    );
  }
  if (rtolPlan.max > 1) {
    throw new RangeError(
      `rtol=${rtolPlan.max} allows errors larger than the solution itself; use rtol ≤ 0.1 ` +
        `(typically 1e-3 … 1e-6)`,
    );
  }
  if (tableau.adaptive && rtol > 0 && rtol < 1e-7) {
    warnOnce(
      "rtol-float32",
      `rtol=${rtol} is below what float32 states can deliver (their resolution is ` +
        `${FLOAT32_EPS.toExponential(2)}): the solve takes more steps without getting more ` +
        `accurate; use rtol ≥ 1e-7 (1e-6 or looser is safe)`,
    );
  }
  for (const name of ["stepSize", "firstStep", "dtMin", "dtMax", "maxSteps"] as const) {
    const v = options[name];
    if (v !== undefined && typeof v !== "number") {
      throw new TypeError(`${name} must be a number, got ${describe(v)}`);
    }
  }
  if (options.maxSteps !== undefined && !Number.isInteger(options.maxSteps)) {
    throw new RangeError(`maxSteps must be a positive integer, got ${options.maxSteps}`);
  }
  const positive = (name: string, v: number | undefined) => {
    if (v !== undefined && !(v > 0)) throw new RangeError(`${name} must be > 0, got ${v}`);
  };
  positive("stepSize", options.stepSize);
  positive("firstStep", options.firstStep);
  positive("dtMax", options.dtMax);
  positive("maxSteps", options.maxSteps);
  if (options.dtMin !== undefined && !(options.dtMin >= 0)) {
    throw new RangeError(`dtMin must be ≥ 0, got ${options.dtMin}`);
  }
  if (
    options.dtMin !== undefined && options.dtMax !== undefined && options.dtMin > options.dtMax
  ) {
    throw new RangeError(
      `dtMin=${options.dtMin} is larger than dtMax=${options.dtMax}; no step size meets both`,
    );
  }
  if (options.dense !== undefined && typeof options.dense !== "boolean") {
    throw new TypeError(`dense must be true or false, got ${describe(options.dense)}`);
  }
  if (options.onStep !== undefined && typeof options.onStep !== "function") {
    throw new TypeError(`onStep must be a function of { t, dt, accepted, errorRatio }`);
  }
  if (options.stepSize !== undefined && tableau.adaptive) {
    throw new TypeError(
      `stepSize is for fixed-step methods; ${tableau.name} chooses its own steps ` +
        `(use firstStep, dtMax, or a fixed method such as "rk4")`,
    );
  }
  const s0 = direction * ts[0];
  const toBreaks = (name: string, times: number[] | undefined, jump: boolean) =>
    (times ?? []).map((t) => {
      if (!Number.isFinite(t)) throw new RangeError(`${name} contains a non-finite time ${t}`);
      return { s: direction * t, jump };
    });
  const steps = toBreaks("stepT", options.stepT, false);
  const jumps = toBreaks("jumpT", options.jumpT, true);
  for (const j of jumps) {
    if (steps.some((st) => st.s === j.s)) {
      throw new RangeError(`time ${direction * j.s} is in both stepT and jumpT; give it once`);
    }
  }
  const breaks = [...steps, ...jumps].filter((b) => b.s > s0).sort((a, b) => a.s - b.s)
    .filter((b, i, all) => i === 0 || b.s !== all[i - 1].s);
  const onFailure = options.onFailure ?? "throw";
  if (onFailure !== "throw" && onFailure !== "return") {
    throw new TypeError(`onFailure must be "throw" or "return", got "${onFailure}"`);
  }
  const norm = options.norm ?? (layout.isTuple ? mixedNorm : rmsNorm);
  return {
    tableau,
    layout,
    ts,
    direction,
    rtol,
    atol,
    partTol,
    norm,
    fused: fusedNorm(norm, layout.shapes.length),
    stepSize: options.stepSize,
    firstStep: options.firstStep,
    dtMin: options.dtMin ?? 0,
    dtMax: options.dtMax ?? Infinity,
    maxSteps: options.maxSteps ?? 100000,
    breaks,
    controller: makeController(tableau.order, options.controller),
    record: options.record ?? false,
    onFailure,
    event: options.event === undefined ? undefined : planEvent(options.event),
    dense: options.dense ?? false,
    onStep: options.onStep,
  };
}

/** The fused form of `norm` over `nParts` parts, if it declared its groups. */
function fusedNorm(norm: Norm, nParts: number): FusedNorm | undefined {
  const groups = rmsGroupsOf(norm)?.(nParts);
  if (groups === undefined) return undefined;
  const measured = new Array<boolean>(nParts).fill(false);
  for (const g of groups) {
    for (const p of g) {
      if (!(Number.isInteger(p) && p >= 0 && p < nParts)) {
        throw new RangeError(`norm groups name part ${p}, but the state has ${nParts} tensors`);
      }
      measured[p] = true;
    }
  }
  return { groups, measured };
}
