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
import * as tf from "@tensorflow/tfjs";
import type { Norm } from "./norms.ts";

/** Options of the step-size controller (torchdiffeq's defaults). */
export interface ControllerOptions {
  /** `"i"` (default): integral controller; `"pi"`: proportional–integral controller. */
  kind?: "i" | "pi";
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
}

/** Proposes step sizes from error ratios. */
export interface Controller {
  /** Next step size after a step of size `dt` with error ratio `ratio` (accepted iff ≤ 1). */
  next(dt: number, ratio: number): number;
}

const CONTROLLER_KEYS = ["kind", "safety", "ifactor", "dfactor", "pcoeff", "icoeff"];

/**
 * Makes an I or PI controller for a method of the given order (the exponent is `1/order`).
 *
 * I: `dt·min(ifactor, max(safety·r^(−1/order), dfactor))`, `dfactor = 1` when the step was
 * accepted, `ifactor` when `r = 0`. PI: the factor `safety·r^(−(icoeff+pcoeff)/order)·
 * r_prev^(pcoeff/order)` with `r_prev` the last accepted ratio, clipped the same way.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeController } from "./controller.ts";
 * const c = makeController(5);
 * assert.ok(c.next(0.1, 0) === 1);        // r = 0: grow by ifactor
 * assert.ok(Math.abs(c.next(0.1, 1e6) - 0.02) < 1e-15); // hard rejection: shrink by dfactor
 * ```
 */
export function makeController(order: number, options: ControllerOptions = {}): Controller {
  for (const key of Object.keys(options)) {
    if (!CONTROLLER_KEYS.includes(key)) {
      throw new TypeError(
        `Unknown controller option "${key}"; valid: ${CONTROLLER_KEYS.join(", ")}`,
      );
    }
  }
  const {
    kind = "i",
    safety = 0.9,
    ifactor = 10,
    dfactor = 0.2,
    pcoeff = 0.4,
    icoeff = 0.3,
  } = options;
  if (kind !== "i" && kind !== "pi") {
    throw new TypeError(`Unknown controller kind "${kind}"; use "i" or "pi"`);
  }
  if (!(safety > 0 && safety <= 1)) throw new RangeError(`safety must be in (0, 1], got ${safety}`);
  if (!(ifactor >= 1)) throw new RangeError(`ifactor must be ≥ 1, got ${ifactor}`);
  if (!(dfactor > 0 && dfactor <= 1)) {
    throw new RangeError(`dfactor must be in (0, 1], got ${dfactor}`);
  }
  let prevRatio = 1;
  return {
    next(dt: number, ratio: number): number {
      if (ratio === 0) return dt * ifactor;
      const accepted = ratio <= 1;
      const lower = accepted ? 1 : dfactor;
      let factor: number;
      if (kind === "i") {
        factor = safety * ratio ** (-1 / order);
      } else {
        factor = safety * ratio ** (-(icoeff + pcoeff) / order) * prevRatio ** (pcoeff / order);
        if (accepted) prevRatio = Math.max(ratio, 1e-10);
      }
      return dt * Math.min(ifactor, Math.max(factor, lower));
    },
  };
}

/**
 * The error ratio `norm(err / (atol + rtol·max(|y0|, |y1|)))` as a scalar tensor, from the
 * absolute values of the step's end points. `toParts` splits a flat row into the state's tensors
 * for the norm.
 */
export function errorRatio(
  err: tf.Tensor,
  absY0: tf.Tensor,
  absY1: tf.Tensor,
  rtol: number,
  atol: number,
  norm: Norm,
  toParts: (flat: tf.Tensor) => tf.Tensor[],
): tf.Scalar {
  return tf.tidy(() => {
    const scale = tf.add(tf.mul(tf.maximum(absY0, absY1), rtol), atol);
    return norm(toParts(tf.div(err, scale)));
  });
}

/**
 * Initial step size (Hairer, Nørsett & Wanner, II.4), measured with the solve's norm; costs one
 * evaluation of `f`. `order` is the method's order. Returns a positive size in the direction of
 * integration (`direction` is ±1).
 *
 * A generator: it yields each tensor it needs read back and receives its values, so that the
 * caller decides how to read (`await x.data()`, or `x.dataSync()` under a gradient tape).
 */
export function* initialStep(
  f: (t: number, y: tf.Tensor) => tf.Tensor,
  t0: number,
  y0: tf.Tensor,
  f0: tf.Tensor,
  direction: number,
  order: number,
  rtol: number,
  atol: number,
  norm: Norm,
  toParts: (flat: tf.Tensor) => tf.Tensor[],
): Generator<tf.Tensor, number, ArrayLike<number>> {
  const scale = tf.tidy(() => tf.add(tf.mul(tf.abs(y0), rtol), atol));
  try {
    const d01 = tf.tidy(() =>
      tf.stack([norm(toParts(tf.div(y0, scale))), norm(toParts(tf.div(f0, scale)))])
    );
    const d = yield d01;
    const d0 = d[0], d1 = d[1];
    d01.dispose();
    const h0 = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : 0.01 * d0 / d1;
    const d2t = tf.tidy(() => {
      const y1 = tf.add(y0, tf.mul(f0, direction * h0));
      const f1 = f(t0 + direction * h0, y1);
      return norm(toParts(tf.div(tf.sub(f1, f0), scale)));
    });
    const d2 = (yield d2t)[0] / h0;
    d2t.dispose();
    const h1 = d1 <= 1e-15 && d2 <= 1e-15
      ? Math.max(1e-6, h0 * 1e-3)
      : (0.01 / Math.max(d1, d2)) ** (1 / order);
    return Math.min(100 * h0, h1);
  } finally {
    scale.dispose();
  }
}
