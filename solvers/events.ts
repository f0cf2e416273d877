/**
 * Events: where a scalar function `g(t, y)` of the solution crosses zero.
 *
 * After every accepted step the solver evaluates `g` at the step's end; when its sign changed
 * in the watched direction, the crossing is located on the step's dense output with a
 * bracketing root finder (Illinois, a safeguarded regula falsi) in float64 time, to a few ulps
 * of `t`. A terminal event ends the solve there (the solution is returned up to the event
 * time); a non-terminal one is recorded and the solve goes on.
 *
 * @module
 */
import { rejectUnknownKeys } from "./unknown_keys.ts";
import * as tf from "@tensorflow/tfjs";
import { polynomialAt } from "./dense_output.ts";
import type { Reads } from "./reads.ts";
import type { State } from "./state.ts";

/** An event function: the solve watches for its zero crossings. */
export type EventFn<S extends State = State> = (t: number, y: S) => tf.Tensor | number;

/** Which sign changes of `g` count, along the direction the solve runs. */
export type EventDirection = "rising" | "falling" | "both";

/** An event with its direction and whether it ends the solve. */
export interface EventSpec<S extends State = State> {
  /** `g(t, y)`: a number or a one-element tensor (the solver disposes a tensor it returns). */
  fn: EventFn<S>;
  /**
   * `"rising"`: `g` goes from negative to ≥ 0 as the solve advances; `"falling"`: from
   * positive to ≤ 0; `"both"` (default): either.
   */
  direction?: EventDirection;
  /** Stop the solve at the first crossing (default true); else record every crossing. */
  terminal?: boolean;
}

/** The `event` option: a function (both directions, terminal), or an {@link EventSpec}. */
// deno-lint-ignore no-explicit-any
export type EventOption<S extends State = any> = EventFn<S> | EventSpec<S>;

/** What a solve with an event reports about it. */
export interface EventResult<S extends State = State> {
  /** `"fired"` when a crossing was found, `"not_fired"` when the solve ran to its end without. */
  status: "fired" | "not_fired";
  /** Time of the first crossing (when fired). */
  t?: number;
  /** The state at `t` (when fired): tensors the caller disposes, like `ys`. */
  y?: S;
  /** Times of every crossing found, in solve order (terminal: at most one). */
  times: number[];
}

/** A checked event. */
export interface EventPlan {
  fn: EventFn;
  /** +1 rising, −1 falling, 0 both. */
  direction: number;
  terminal: boolean;
}

const DIRECTIONS: Record<EventDirection, number> = { rising: 1, falling: -1, both: 0 };
const EVENT_KEYS = ["fn", "direction", "terminal"];

/**
 * Checks the `event` option; throws a `TypeError` naming what is wrong.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { planEvent } from "./events.ts";
 * const p = planEvent({ fn: (t) => t - 1, direction: "rising" });
 * assert.ok(p.direction === 1 && p.terminal);
 * assert.throws(() => planEvent({ fn: (t) => t, direction: "up" as never }), /direction/);
 * ```
 */
export function planEvent(option: EventOption): EventPlan {
  const spec: EventSpec = typeof option === "function" ? { fn: option } : option;
  if (spec === null || typeof spec !== "object") {
    throw new TypeError(
      `event must be a function (t, y) => number | tf.Scalar or { fn, direction, terminal }`,
    );
  }
  rejectUnknownKeys("event", spec, EVENT_KEYS);
  if (typeof spec.fn !== "function") {
    throw new TypeError("event.fn must be a function (t, y) => number | tf.Scalar");
  }
  const direction = DIRECTIONS[spec.direction ?? "both"];
  if (direction === undefined || !Object.hasOwn(DIRECTIONS, spec.direction ?? "both")) {
    throw new TypeError(
      `event.direction must be "rising", "falling" or "both", got ${
        JSON.stringify(spec.direction)
      }`,
    );
  }
  if (spec.terminal !== undefined && typeof spec.terminal !== "boolean") {
    throw new TypeError(`event.terminal must be true or false, got ${spec.terminal}`);
  }
  return { fn: spec.fn, direction, terminal: spec.terminal ?? true };
}

/**
 * `g(t, y)` as a number (reading a tensor result through the solve's reads); throws a
 * `TypeError` for a result that is not one number, a `RangeError` for NaN or Inf.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { eventValue, planEvent } from "./events.ts";
 * import { runAsync } from "./reads.ts";
 * const y = tf.tensor([3, 4]);
 * const event = planEvent((_t, v: tf.Tensor) => tf.sum(v));
 * assert.equal(await runAsync(eventValue(event, 0, y)), 7);
 * y.dispose();
 * ```
 */
export function* eventValue(event: EventPlan, t: number, y: State): Reads<number> {
  let value: number | undefined;
  const out = tf.tidy(() => {
    const g = event.fn(t, y);
    if (typeof g === "number") {
      value = g;
      return undefined;
    }
    if (!(g instanceof tf.Tensor) || g.size !== 1) {
      throw new TypeError(
        `the event function must return a number or a one-element tensor, got ${
          g instanceof tf.Tensor ? `a tensor of shape [${g.shape}]` : typeof g
        }`,
      );
    }
    return tf.reshape(g, [1]); // (a copy: the caller's tensor is not disposed here)
  });
  if (out !== undefined) {
    try {
      value = (yield out)[0];
    } finally {
      out.dispose();
    }
  }
  if (!Number.isFinite(value)) {
    throw new RangeError(`the event function returned ${value} at t=${t}; it must be finite`);
  }
  return value!;
}

/**
 * Whether `g` crossed zero from `g0` to `g1` in the watched direction (+1, −1, 0 for both): a
 * start exactly at zero does not count (so a solve started on the event surface does not stop
 * at once), an end exactly at zero does.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { crossed } from "./events.ts";
 * assert.ok(crossed(1, -1, -1 / 1) && crossed(-1, 0, 1) && !crossed(0, -1, -1));
 * assert.ok(!crossed(-1, 1, -1) && crossed(-1, 1, 0));
 * ```
 */
export function crossed(g0: number, g1: number, direction: number): boolean {
  const rising = g0 < 0 && g1 >= 0;
  const falling = g0 > 0 && g1 <= 0;
  return direction > 0 ? rising : direction < 0 ? falling : rising || falling;
}

/**
 * The zero of `g` in `[s0, s1]` (solver time, increasing), given `g(s0) = g0` and
 * `g(s1) = g1` of opposite signs (or `g1 = 0`): the Illinois method, a regula falsi that halves
 * the stale end's value so that it converges superlinearly, stopped when the bracket is within
 * 4 ulps of `s` (or after 200 evaluations). Returns the end of the bracket on `g1`'s side, so
 * that the event has happened at the returned time.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { locateZero } from "./events.ts";
 * // The zero of s² − 2 in [1, 2], with g read synchronously here.
 * const gen = locateZero(function* (s) { return s * s - 2; }, 1, 2, -1, 2);
 * let r = gen.next();
 * while (!r.done) r = gen.next([]);
 * assert.ok(Math.abs(r.value - Math.SQRT2) < 1e-14);
 * ```
 */
export function* locateZero(
  g: (s: number) => Reads<number>,
  s0: number,
  s1: number,
  g0: number,
  g1: number,
): Reads<number> {
  if (g1 === 0) return s1;
  let lo = s0, hi = s1, gLo = g0, gHi = g1;
  let side = 0; // which end was kept last (−1 lo, +1 hi), for Illinois' halving
  for (let i = 0; i < 200; i++) {
    const ulps = 4 * Number.EPSILON * Math.max(Math.abs(lo), Math.abs(hi), Number.MIN_VALUE);
    if (hi - lo <= ulps) break;
    let s = (lo * gHi - hi * gLo) / (gHi - gLo);
    // Keep the estimate strictly inside; fall back to bisection when it is not.
    if (!(s > lo && s < hi)) s = lo + (hi - lo) / 2;
    const gs = yield* g(s);
    if (gs === 0) return s;
    if ((gs < 0) === (gLo < 0)) {
      lo = s, gLo = gs;
      if (side === -1) gHi /= 2;
      side = -1;
    } else {
      hi = s, gHi = gs;
      if (side === 1) gLo /= 2;
      side = 1;
    }
  }
  return hi;
}

/**
 * The zero of `g` inside one step `[s0, s1]` (solver time), from the step's interpolant
 * coefficients `C` (see `polynomialAt` in `dense_output.ts`) and `g`'s values `[g0, g1]` at the
 * ends of the bracket searched: {@link locateZero} with `g(s', y(s'))`, `y` from the interpolant
 * as rows. The bracket is the whole step unless `bracket` gives a part of it (a step that ends
 * past the last output time is searched only up to that time).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { locateOnStep } from "./events.ts";
 * import type { Reads } from "@fasterode/fasterode";
 * import { runAsync } from "./reads.ts";
 * // y(x) = 1 − 2x over the step [0, 1]: y = 0 at s = 0.5.
 * const C = [[tf.tensor2d([[1]]), tf.tensor2d([[-2]])]];
 * const g = function* (_s: number, rows: tf.Tensor[]): Reads<number> { return (yield rows[0])[0]; };
 * const s = await runAsync(locateOnStep(g, C, [0, 1], [1, -1]));
 * assert.ok(Math.abs(s - 0.5) < 1e-7);
 * // Searched in [0, 0.8] only, on the same step's interpolant: y(0.8) = −0.6.
 * const part = await runAsync(locateOnStep(g, C, [0, 1], [1, -0.6], [0, 0.8]));
 * assert.ok(Math.abs(part - 0.5) < 1e-7);
 * ```
 */
export function* locateOnStep(
  g: (s: number, rows: tf.Tensor[]) => Reads<number>,
  C: tf.Tensor[][],
  [s0, s1]: [number, number],
  [g0, g1]: [number, number],
  bracket: [number, number] = [s0, s1],
): Reads<number> {
  const h = s1 - s0;
  return yield* locateZero(
    function* (sx) {
      const rows = tf.tidy(() => polynomialAt(C, (sx - s0) / h));
      try {
        return yield* g(sx, rows);
      } finally {
        tf.dispose(rows);
      }
    },
    bracket[0],
    bracket[1],
    g0,
    g1,
  );
}
