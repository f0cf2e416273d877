/**
 * A dense solution: every accepted step's interpolant, kept after the solve, so that `y(t)` and
 * `dy/dt(t)` can be evaluated anywhere in the solved span (diffrax's `DenseInterpolation`,
 * torchdiffeq's `odeint_dense`, SciPy's `dense_output`). Ask for it with `dense: true`.
 *
 * Each step is stored as the coefficients `C_m` of its interpolant `y(x) = Σ_m x^m C_m`,
 * `x = (t − t_k)/dt_k` (the method's own interpolant: see `dense_output.ts`), one row per tensor
 * of the state: `degree + 1` rows of the state's size per step. It owns those tensors until
 * {@link DenseSolution.dispose}.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { polynomialAt } from "./dense_output.ts";
import { fromParts, type State, type StateLayout } from "./state.ts";

/** One step: its span in solver time `s = direction·t` and its coefficient rows per part. */
interface DenseStep {
  s0: number;
  s1: number;
  /** Step size in `s` (for `x = (s − s0)/h`). */
  h: number;
  /** `C[p][m]`, rows `[1, n_p]`. */
  C: tf.Tensor[][];
}

/**
 * `y(t)` and `dy/dt(t)` anywhere in a solved span, from the solve's own interpolants.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { odeint } from "@fasterode/fasterode";
 * // y' = −y, y(0) = 1: y(t) = e^{−t}, dy/dt = −e^{−t}, at any t in [0, 2].
 * const sol = await odeint((_t, y) => tf.neg(y), tf.tensor([1]), [0, 2], {
 *   rtol: 1e-6,
 *   dense: true,
 * });
 * const dense = sol.dense!;
 * const y = dense.evaluate(0.7), dy = dense.derivative(0.7);
 * assert.ok(Math.abs((await y.data())[0] - Math.exp(-0.7)) < 1e-5);
 * assert.ok(Math.abs((await dy.data())[0] + Math.exp(-0.7)) < 1e-4);
 * tf.dispose([y, dy, sol.ys]);
 * dense.dispose();
 * ```
 */
export class DenseSolution<S extends State = State> {
  /** Start of the solved span. */
  readonly t0: number;
  #steps: DenseStep[] = [];
  #disposed = false;
  readonly #layout: StateLayout;
  readonly #direction: number;

  /**
   * An empty dense solution starting at `t0` (the solver fills it with {@link push}).
   * `direction` is +1 for a forward solve, −1 for a backward one.
   */
  constructor(layout: StateLayout, t0: number, direction: number) {
    this.#layout = layout;
    this.t0 = t0;
    this.#direction = direction;
  }

  /** End of the solved span (`t0` before any step). */
  get t1(): number {
    const last = this.#steps[this.#steps.length - 1];
    return last === undefined ? this.t0 : this.#direction * last.s1;
  }

  /** Number of stored steps. */
  get steps(): number {
    return this.#steps.length;
  }

  /**
   * Adds the step `[s0, s1]` (solver time; `h` its size) with coefficient rows `C[p][m]`, which
   * this solution then owns. For the solver; `s1 < s0 + h` stores a step cut short (an event).
   */
  push(s0: number, s1: number, h: number, C: tf.Tensor[][]): void {
    this.#steps.push({ s0, s1, h, C });
  }

  /** `y(t)`; for an array of times, the values stacked on a new leading axis. */
  evaluate(t: number | readonly number[]): S {
    return this.#at(t, false);
  }

  /** `dy/dt(t)` of the interpolant; for an array of times, stacked on a new leading axis. */
  derivative(t: number | readonly number[]): S {
    return this.#at(t, true);
  }

  /** Frees every stored step (evaluating afterwards throws). */
  dispose(): void {
    for (const step of this.#steps) step.C.forEach((rows) => tf.dispose(rows));
    this.#steps = [];
    this.#disposed = true;
  }

  #at(t: number | readonly number[], derivative: boolean): S {
    if (this.#disposed) throw new Error("this DenseSolution has been disposed");
    const times = typeof t === "number" ? [t] : Array.from(t);
    times.forEach((ti) => {
      if (typeof ti !== "number" || !Number.isFinite(ti)) {
        throw new TypeError(`dense: t must be a finite number, got ${ti}`);
      }
    });
    const lo = Math.min(this.t0, this.t1), hi = Math.max(this.t0, this.t1);
    const outside = times.find((ti) => ti < lo || ti > hi);
    if (outside !== undefined) {
      throw new RangeError(
        `dense: t=${outside} is outside the solved span [${this.t0}, ${this.t1}]`,
      );
    }
    if (this.#steps.length === 0 && derivative) {
      throw new RangeError("dense: the solve took no step; dy/dt is not available");
    }
    return tf.tidy(() => {
      const perTime = times.map((ti) => this.#one(this.#direction * ti, derivative));
      const parts = perTime[0].map((_, p) => {
        const shape = this.#layout.shapes[p];
        if (typeof t === "number") return tf.reshape(perTime[0][p], shape);
        return tf.reshape(tf.concat(perTime.map((rows) => rows[p]), 0), [times.length, ...shape]);
      });
      return fromParts(parts, this.#layout) as S;
    });
  }

  /** Rows of `y` (or `dy/dt`) at solver time `s`. */
  #one(s: number, derivative: boolean): tf.Tensor[] {
    const steps = this.#steps;
    if (steps.length === 0) throw new RangeError("dense: the solve took no step");
    // The first step whose end is at or after s (binary search; steps are in order).
    let a = 0, b = steps.length - 1;
    while (a < b) {
      const m = (a + b) >> 1;
      if (steps[m].s1 < s) a = m + 1;
      else b = m;
    }
    const step = steps[a];
    const x = (s - step.s0) / step.h;
    return polynomialAt(step.C, x, derivative ? this.#direction * step.h : undefined);
  }
}
