/**
 * The options of a solve ({@link OdeintOptions}), their defaults, and {@link plan}, which checks
 * a solve's input and options and settles every default before any work.
 *
 * @module
 */
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

/**
 * The default tolerances of every solve, forward and backward (torchdiffeq's are rtol 1e-7 and
 * atol 1e-9, too tight for float32 states): the one place they are written.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_TOLERANCES } from "./options.ts";
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
   * 1e-6 meaningless).
   */
  rtol?: number;
  /** Absolute tolerance (default {@link DEFAULT_TOLERANCES}: 1e-6). */
  atol?: number;
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
];

/** Validated settings of one solve, as {@link plan} returns them. */
export interface Plan {
  tableau: Tableau;
  layout: StateLayout;
  ts: number[];
  /** +1 when `ts` increases, −1 when it decreases. Internally time runs as `s = direction·t`. */
  direction: number;
  rtol: number;
  atol: number;
  norm: Norm;
  /** The norm's fused form, when it is a largest RMS over groups of parts. */
  fused?: FusedNorm;
  /** Per-part roles (signs, passive parts): set by the adjoint for its augmented state. */
  roles?: PartRoles;
  /** Keep only the last output and return it unstacked (the adjoint's per-interval solves). */
  lastOnly?: boolean;
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
}

/**
 * Checks a solve's input and options before any work and settles every default: the tableau,
 * the state's layout, the output times and their direction, tolerances, step limits, the
 * breakpoints (`stepT`/`jumpT` after `ts[0]`, in the solver's time `s = direction·t`, sorted,
 * duplicates dropped), the norm and the controller.
 *
 * @throws {TypeError} On an unknown option, a norm that is not a function, `stepSize` with an
 *   adaptive method, or a bad `onFailure`.
 * @throws {RangeError} On fewer than 2 times, non-monotonic or non-finite times, negative or
 *   all-zero tolerances, non-positive limits, or a time in both `stepT` and `jumpT`.
 */
export function plan(y0: State, tsIn: ArrayLike<number>, options: OdeintOptions): Plan {
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.includes(key)) {
      throw new TypeError(
        `Unknown odeint option "${key}"; valid options: ${OPTION_KEYS.join(", ")}`,
      );
    }
  }
  if (options.norm !== undefined && typeof options.norm !== "function") {
    throw new TypeError(
      `norm must be a function of the state's tensors, got ${JSON.stringify(options.norm)}. ` +
        `"seminorm" and "default" are norms of the backward solve: pass them to odeintAdjoint ` +
        `as { adjoint: { norm: "seminorm" } }`,
    );
  }
  const tableau = getMethod(options.method ?? "dopri5");
  const layout = layoutOf(y0);
  const ts = Array.from(tsIn);
  if (ts.length < 2) {
    throw new RangeError(`ts needs at least 2 times (start and end), got ${ts.length}`);
  }
  if (!ts.every(Number.isFinite)) throw new RangeError(`ts contains NaN or Inf: [${ts}]`);
  const direction = ts[1] > ts[0] ? 1 : -1;
  for (let i = 1; i < ts.length; i++) {
    if (!(direction * (ts[i] - ts[i - 1]) > 0)) {
      throw new RangeError(
        `ts must be strictly increasing or strictly decreasing; ts[${i - 1}]=${ts[i - 1]}, ` +
          `ts[${i}]=${ts[i]}`,
      );
    }
  }
  const { rtol = DEFAULT_TOLERANCES.rtol, atol = DEFAULT_TOLERANCES.atol } = options;
  for (const [name, v] of [["rtol", rtol], ["atol", atol]] as const) {
    if (!(Number.isFinite(v) && v >= 0)) throw new RangeError(`${name} must be ≥ 0, got ${v}`);
  }
  if (tableau.adaptive && rtol === 0 && atol === 0) {
    throw new RangeError(
      "rtol and atol are both 0: no step can meet that; give a positive tolerance",
    );
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
