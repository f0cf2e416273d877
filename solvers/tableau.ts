/**
 * Butcher tableaus: an explicit Runge–Kutta method as data.
 *
 * A method with `s` stages is `c` (nodes, length s), `a` (strictly lower-triangular
 * coefficients; row `i` has `i` entries), `b` (solution weights, length s) and, for adaptive
 * methods, `bError` (weights of the embedded error estimate `b − b̂`, length s; they sum to 0).
 * {@link makeTableau} checks the usual consistency conditions on construction and derives
 * whether the method is FSAL (first same as last).
 *
 * @module
 */

/** What a caller writes to define an explicit Runge–Kutta method. */
export interface TableauSpec {
  /** Method name, as passed in `odeint(..., { method })`. */
  name: string;
  /** Order of the solution (`b`) weights; the controller's exponent is `1/order`. */
  order: number;
  /** Stage nodes `c_i`; `c[0]` must be 0. */
  c: number[];
  /** Stage coefficients: `a[i]` has `i` entries `a_{i,0} … a_{i,i−1}` (row 0 is empty). */
  a: number[][];
  /** Solution weights `b_i`. */
  b: number[];
  /** Error weights `b_i − b̂_i` (sum 0); omit for fixed-step methods. */
  bError?: number[];
  /**
   * Dense-output weights at the step midpoint (`y(t0 + dt/2) ≈ y0 + dt·Σ bMid_i k_i`), which
   * turn the cubic Hermite interpolant into a quartic one (dopri5's Shampine coefficients).
   * Omit to interpolate with a cubic Hermite polynomial from the step's end points.
   */
  bMid?: number[];
}

/** A validated tableau. */
export interface Tableau extends Readonly<TableauSpec> {
  /** Number of stages `s`. */
  readonly stages: number;
  /** True when the method has an embedded error estimate (adaptive step size). */
  readonly adaptive: boolean;
  /**
   * First same as last: the last stage is evaluated at `(t1, y1)` (its `c` is 1, its row of
   * `a` equals `b` and `b`'s last entry is 0), so `f(t1, y1)` comes for free and is the next
   * step's first stage.
   */
  readonly fsal: boolean;
}

/** Absolute tolerance of the consistency checks: coefficients are exact rationals in float64. */
const CHECK_TOL = 1e-12;

/**
 * Validates a tableau and derives its properties.
 *
 * Checks: `c[0] = 0`; each row of `a` has the right length and sums to its `c`; `b` sums to 1;
 * `bError` (when given) sums to 0; `bMid` (when given) sums to 1/2. Throws a `RangeError` that
 * names the method and the failing condition.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeTableau } from "./tableau.ts";
 * const heun = makeTableau({ name: "heun", order: 2, c: [0, 1], a: [[], [1]], b: [0.5, 0.5] });
 * assert.ok(heun.stages === 2 && !heun.adaptive && !heun.fsal);
 * ```
 */
export function makeTableau(spec: TableauSpec): Tableau {
  const { name, c, a, b, bError, bMid } = spec;
  const s = c.length;
  const fail = (what: string): never => {
    throw new RangeError(`Butcher tableau "${name}": ${what}`);
  };
  if (s < 1) fail("needs at least one stage");
  if (!Number.isInteger(spec.order) || spec.order < 1) fail(`order must be a positive integer`);
  if (c[0] !== 0) fail(`c[0] must be 0, got ${c[0]}`);
  if (a.length !== s) fail(`a has ${a.length} rows, expected ${s} (one per stage)`);
  const sum = (xs: number[]) => xs.reduce((acc, x) => acc + x, 0);
  for (let i = 0; i < s; i++) {
    if (a[i].length !== i) fail(`a[${i}] has ${a[i].length} entries, expected ${i}`);
    if (Math.abs(sum(a[i]) - c[i]) > CHECK_TOL) {
      fail(`row a[${i}] sums to ${sum(a[i])}, but c[${i}] = ${c[i]}`);
    }
  }
  if (b.length !== s) fail(`b has ${b.length} entries, expected ${s}`);
  if (Math.abs(sum(b) - 1) > CHECK_TOL) fail(`b sums to ${sum(b)}, expected 1`);
  if (bError !== undefined) {
    if (bError.length !== s) fail(`bError has ${bError.length} entries, expected ${s}`);
    if (Math.abs(sum(bError)) > CHECK_TOL) fail(`bError sums to ${sum(bError)}, expected 0`);
  }
  if (bMid !== undefined) {
    if (bMid.length !== s) fail(`bMid has ${bMid.length} entries, expected ${s}`);
    if (Math.abs(sum(bMid) - 0.5) > CHECK_TOL) fail(`bMid sums to ${sum(bMid)}, expected 1/2`);
  }
  const last = s - 1;
  const fsal = s > 1 && c[last] === 1 && b[last] === 0 &&
    a[last].every((x, j) => Math.abs(x - b[j]) <= CHECK_TOL);
  return Object.freeze({ ...spec, stages: s, adaptive: bError !== undefined, fsal });
}
