/**
 * Step-size control: the error ratio of a step, the next step size (I or PI controller), and
 * the initial step (Hairer, Nørsett & Wanner, Solving ODEs I, §II.4).
 *
 * The controller owns the norm: a step is accepted when
 * `r = norm(err / (atol + rtol·max(|y0|, |y1|))) ≤ 1`. All step-size arithmetic is in JS
 * numbers (float64); only the ratio itself is computed on tensors.
 *
 * @module
 */
import { rejectUnknownKeys } from "./unknown_keys.ts";
import * as tf from "@tensorflow/tfjs";
import type { Norm } from "./norms.ts";
import { view } from "./state.ts";
import { scaledSquareSum } from "./fused_ops.ts";

/** Options of the step-size controller (torchdiffeq's defaults). */
export interface ControllerOptions {
  /**
   * `"i"` (default): integral controller; `"pi"`: proportional–integral; `"pid"`: with the
   * derivative term `dcoeff` as well (diffrax's `PIDController`).
   */
  kind?: "i" | "pi" | "pid";
  /** Safety factor on the optimal step (0.9). */
  safety?: number;
  /** Largest growth factor of the step (10). */
  ifactor?: number;
  /** Smallest shrink factor after a rejection (0.2). Accepted steps never shrink. */
  dfactor?: number;
  /** PI only: proportional coefficient (0.4, Hairer's β₂·k). */
  pcoeff?: number;
  /** PI only: integral coefficient (0.3; `pcoeff + icoeff` is Hairer's β₁·k). */
  icoeff?: number;
  /** PID only: derivative coefficient (default 0, which makes PID the PI controller). */
  dcoeff?: number;
}

/** Proposes step sizes from error ratios. */
export interface Controller {
  /** Next step size after a step of size `dt` with error ratio `ratio` (accepted iff ≤ 1). */
  next(dt: number, ratio: number): number;
}

const CONTROLLER_KEYS = ["kind", "safety", "ifactor", "dfactor", "pcoeff", "icoeff", "dcoeff"];

/**
 * Makes an I or PI controller for a method of the given order (the exponent is `1/order`).
 *
 * I: `dt·min(ifactor, max(safety·r^(−1/order), dfactor))`, `dfactor = 1` when the step was
 * accepted, `ifactor` when `r = 0`. PI: the factor `safety·r^(−(icoeff+pcoeff)/order)·
 * r_prev^(pcoeff/order)` with `r_prev` the last accepted ratio, clipped the same way. PID
 * (diffrax's form): `safety·r^(−(p+i+d)/order)·r_prev^((p+2d)/order)·r_prev2^(−d/order)` with
 * `r_prev2` the accepted ratio before `r_prev` (both start at 1).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeController } from "@fasterode/fasterode";
 * const c = makeController(5);
 * assert.ok(c.next(0.1, 0) === 1);        // r = 0: grow by ifactor
 * assert.ok(Math.abs(c.next(0.1, 1e6) - 0.02) < 1e-15); // hard rejection: shrink by dfactor
 * ```
 */
export function makeController(order: number, options: ControllerOptions = {}): Controller {
  rejectUnknownKeys("controller", options, CONTROLLER_KEYS);
  const {
    kind = "i",
    safety = 0.9,
    ifactor = 10,
    dfactor = 0.2,
    pcoeff = 0.4,
    icoeff = 0.3,
    dcoeff = 0,
  } = options;
  if (kind !== "i" && kind !== "pi" && kind !== "pid") {
    throw new TypeError(`Unknown controller kind "${kind}"; use "i", "pi" or "pid"`);
  }
  for (const [name, v] of [["pcoeff", pcoeff], ["icoeff", icoeff], ["dcoeff", dcoeff]] as const) {
    if (!Number.isFinite(v)) throw new RangeError(`${name} must be a finite number, got ${v}`);
  }
  if (options.dcoeff !== undefined && kind !== "pid") {
    throw new TypeError(`dcoeff is the derivative term of kind "pid"; got kind "${kind}"`);
  }
  if (!(safety > 0 && safety <= 1)) throw new RangeError(`safety must be in (0, 1], got ${safety}`);
  if (!(ifactor >= 1)) throw new RangeError(`ifactor must be ≥ 1, got ${ifactor}`);
  if (!(dfactor > 0 && dfactor <= 1)) {
    throw new RangeError(`dfactor must be in (0, 1], got ${dfactor}`);
  }
  let prevRatio = 1;
  let prevRatio2 = 1;
  return {
    next(dt: number, ratio: number): number {
      if (ratio === 0) return dt * ifactor;
      const accepted = ratio <= 1;
      const lower = accepted ? 1 : dfactor;
      let factor: number;
      if (kind === "i") {
        factor = safety * ratio ** (-1 / order);
      } else if (kind === "pi") {
        factor = safety * ratio ** (-(icoeff + pcoeff) / order) * prevRatio ** (pcoeff / order);
        if (accepted) prevRatio = Math.max(ratio, 1e-10);
      } else {
        factor = safety * ratio ** (-(pcoeff + icoeff + dcoeff) / order) *
          prevRatio ** ((pcoeff + 2 * dcoeff) / order) * prevRatio2 ** (-dcoeff / order);
        if (accepted) prevRatio2 = prevRatio, prevRatio = Math.max(ratio, 1e-10);
      }
      return dt * Math.min(ifactor, Math.max(factor, lower));
    },
  };
}

/**
 * A norm the solver computes in its fused form: the largest RMS over `groups` of parts (see
 * `withRmsGroups` in `norms.ts`), `measured[p]` telling which parts any group reads.
 */
export interface FusedNorm {
  groups: number[][];
  measured: boolean[];
}

/** An error ratio on its way: the tensor to read, and how its values give the ratio. */
export interface PendingRatio {
  tensor: tf.Tensor;
  finish(values: ArrayLike<number>): number;
}

/** The part shapes and tolerances an error ratio needs. */
export interface RatioSpec {
  shapes: readonly number[][];
  rtol: number;
  atol: number;
  /**
   * Per-part tolerances, where they differ between parts or elements: numbers, or rows
   * `[1, n_p]` (the fused path takes numbers only).
   */
  partTol?: { rtol: (number | tf.Tensor)[]; atol: (number | tf.Tensor)[] };
  norm: Norm;
  fused?: FusedNorm;
}

/** A step's end points as the error ratio reads them: rows, and their absolute values. */
export interface StepEnds {
  y0: readonly tf.Tensor[];
  y1: readonly tf.Tensor[];
  /** `|y0|`, where computed (the fused kernels take `|y|` themselves). */
  absY0: readonly (tf.Tensor | undefined)[];
  /** `|y1|`, where computed. */
  absY1: readonly (tf.Tensor | undefined)[];
}

/**
 * The error ratio `norm(err / (atol + rtol·max(|y0|, |y1|)))` of a step, from rows of the error
 * estimate and of the step's end points (one entry per part).
 *
 * Fused (`spec.fused`, a largest-RMS-over-groups norm, on a backend with the fused kernels): per
 * measured part one {@link scaledSquareSum}, one `Concat` of those for several parts, and the
 * groups' RMS and their maximum on the host, rounded as the norm's own kernels would round them
 * (see `groupRms`). Otherwise the norm is called on the scaled error's parts, in the state's
 * shapes.
 */
export function errorRatio(
  err: readonly (tf.Tensor | undefined)[],
  ends: StepEnds,
  spec: RatioSpec,
): PendingRatio {
  const { fused, shapes } = spec;
  const { rtol, atol } = tolOf(spec);
  const { absY0, absY1 } = ends;
  if (fused === undefined) {
    const tensor = tf.tidy(() =>
      spec.norm(err.map((e, p) => {
        const scale = tf.add(tf.mul(tf.maximum(absY0[p]!, absY1[p]!), rtol(p)), atol(p));
        return view(tf.div(e!, scale), shapes[p] as number[]);
      }))
    );
    return { tensor, finish: (v) => v[0] };
  }
  const parts = measuredParts(fused, shapes);
  const tensor = tf.tidy(() =>
    joined(parts.map((p) =>
      scaledSquareSum(err[p]!, ends.y0[p], ends.y1[p], {
        rtol: rtol(p) as number,
        atol: atol(p) as number,
        divisor: divisorOf(fused, shapes, p),
      })
    ))
  );
  return { tensor, finish: (v) => groupRms(fused, shapes, parts, v, 0) };
}

/** Each part's tolerances (a number, or a row tensor where they differ by element). */
function tolOf(spec: RatioSpec): {
  rtol: (p: number) => number | tf.Tensor;
  atol: (p: number) => number | tf.Tensor;
} {
  const { partTol } = spec;
  return {
    rtol: (p) => partTol?.rtol[p] ?? spec.rtol,
    atol: (p) => partTol?.atol[p] ?? spec.atol,
  };
}

/** The parts a fused norm measures (non-empty ones), in order. */
function measuredParts(fused: FusedNorm, shapes: readonly number[][]): number[] {
  return shapes.map((_, p) => p).filter((p) => fused.measured[p] && sizeOf(shapes[p]) > 0);
}

/** Several `[1, 1]` sums as one `[1, m]` tensor. */
function joined(xs: tf.Tensor[]): tf.Tensor {
  return xs.length === 0 ? tf.zeros([1, 1]) : xs.length === 1 ? xs[0] : tf.concat(xs, 1);
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((x, y) => x * y, 1);
}

/**
 * A part alone in its group is measured as `sqrt(mean(q²))` (its squares divided by its size
 * before summing, as tfjs's `Mean` does); a part of a larger group as a plain sum of squares.
 */
function divisorOf(fused: FusedNorm, shapes: readonly number[][], p: number): number {
  const alone = fused.groups.some((g) => g.length === 1 && g[0] === p);
  return alone ? sizeOf(shapes[p]) : 0;
}

/**
 * The largest RMS over the groups of `fused`, from the sums of squares `v[offset + k]` of the
 * parts `parts[k]` (parts not listed count as 0), rounded as `rmsNorm`/`mixedNorm` round on the
 * cpu backend: a part alone is `sqrt(mean)` of float32 values; a larger group adds its parts'
 * sums in float32 (`AddN`), divides by its size and takes the root (`RealDiv`, `Sqrt`).
 */
function groupRms(
  fused: FusedNorm,
  shapes: readonly number[][],
  parts: number[],
  v: ArrayLike<number>,
  offset: number,
): number {
  const f = Math.fround;
  const byPart = new Map(parts.map((p, k) => [p, v[offset + k]]));
  let worst = 0;
  for (const g of fused.groups) {
    const n = g.reduce((acc, p) => acc + sizeOf(shapes[p]), 0);
    if (n === 0) continue;
    let r: number;
    if (g.length === 1) r = f(Math.sqrt(byPart.get(g[0]) ?? 0));
    else {
      let ss = 0;
      for (const p of g) ss = f(ss + (byPart.get(p) ?? 0));
      r = f(Math.sqrt(f(ss / f(n))));
    }
    if (Number.isNaN(r)) return NaN;
    worst = Math.max(worst, r);
  }
  return worst;
}

/**
 * Initial step size (Hairer, Nørsett & Wanner, II.4), measured with the solve's norm; costs one
 * evaluation of `f`. `order` is the method's order. Returns a positive size in the direction of
 * integration (`direction` is ±1). The state and `f0` are rows, one per part (`signs[p] = −1`
 * where the solve integrates `−f0`); `f` maps rows to rows.
 *
 * A generator: it yields each tensor it needs read back and receives its values, so that the
 * caller decides how to read (`await x.data()`, or `x.dataSync()` under a gradient tape).
 */
export function* initialStep(
  f: (t: number, y: tf.Tensor[]) => tf.Tensor[],
  t0: number,
  y0: tf.Tensor[],
  f0: tf.Tensor[],
  direction: number,
  order: number,
  spec: RatioSpec,
  signs?: readonly number[],
): Generator<tf.Tensor, number, ArrayLike<number>> {
  if (spec.fused !== undefined) {
    return yield* fusedInitialStep(f, t0, y0, f0, direction, order, spec, spec.fused, signs);
  }
  const { norm, shapes } = spec;
  const { rtol, atol } = tolOf(spec);
  const scale = tf.tidy(() => y0.map((y, p) => tf.add(tf.mul(tf.abs(y), rtol(p)), atol(p))));
  const measure = (xs: tf.Tensor[]) =>
    norm(xs.map((x, p) => view(tf.div(x, scale[p]), shapes[p] as number[])));
  try {
    const d01 = tf.tidy(() => tf.stack([measure(y0), measure(f0)]));
    const d = yield d01;
    const d0 = d[0], d1 = d[1];
    d01.dispose();
    const h0 = hairerProbe(d0, d1);
    const d2t = tf.tidy(() => {
      const y1 = y0.map((y, p) => tf.add(y, tf.mul(f0[p], direction * h0 * (signs?.[p] ?? 1))));
      const f1 = f(t0 + direction * h0, y1);
      return measure(f1.map((k, p) => tf.sub(k, f0[p])));
    });
    const d2 = (yield d2t)[0] / h0;
    d2t.dispose();
    return hairerStep(h0, d1, d2, order);
  } finally {
    tf.dispose(scale);
  }
}

/**
 * {@link initialStep} for a fused norm: each norm is one {@link scaledSquareSum} per measured
 * part, the groups combined on the host (with the roundings of the norm's own kernels).
 */
function* fusedInitialStep(
  f: (t: number, y: tf.Tensor[]) => tf.Tensor[],
  t0: number,
  y0: tf.Tensor[],
  f0: tf.Tensor[],
  direction: number,
  order: number,
  spec: RatioSpec,
  fused: FusedNorm,
  signs?: readonly number[],
): Generator<tf.Tensor, number, ArrayLike<number>> {
  const { shapes } = spec;
  const { rtol, atol } = tolOf(spec);
  const parts = measuredParts(fused, shapes);
  const sums = (xs: tf.Tensor[]) =>
    parts.map((p) =>
      scaledSquareSum(xs[p], y0[p], y0[p], {
        rtol: rtol(p) as number,
        atol: atol(p) as number,
        divisor: divisorOf(fused, shapes, p),
      })
    );
  function* read(t: tf.Tensor, count: number): Generator<tf.Tensor, number[], ArrayLike<number>> {
    try {
      const v = yield t;
      return Array.from(
        { length: count },
        (_, k) => groupRms(fused, shapes, parts, v, k * parts.length),
      );
    } finally {
      t.dispose();
    }
  }
  const [d0, d1] = yield* read(tf.tidy(() => joined([...sums(y0), ...sums(f0)])), 2);
  const h0 = hairerProbe(d0, d1);
  const d2t = tf.tidy(() => {
    // (y0 + h0·f0 and f1 − f0 with the stock kernels' roundings, as the plain path has them)
    const y1 = y0.map((y, p) => tf.add(y, tf.mul(f0[p], direction * h0 * (signs?.[p] ?? 1))));
    const f1 = f(t0 + direction * h0, y1);
    return joined(sums(f1.map((k, p) => tf.sub(k, f0[p]))));
  });
  const [d2n] = yield* read(d2t, 1);
  return hairerStep(h0, d1, d2n / h0, order);
}

/** Hairer's probe step from `d0 = ‖y0‖` and `d1 = ‖f0‖` (scaled norms). */
function hairerProbe(d0: number, d1: number): number {
  return d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : 0.01 * d0 / d1;
}

/** Hairer's first step from the probe `h0`, `d1 = ‖f0‖` and `d2 = ‖f(h0) − f0‖ / h0`. */
function hairerStep(h0: number, d1: number, d2: number, order: number): number {
  const h1 = d1 <= 1e-15 && d2 <= 1e-15
    ? Math.max(1e-6, h0 * 1e-3)
    : (0.01 / Math.max(d1, d2)) ** (1 / order);
  return Math.min(100 * h0, h1);
}
