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
import type { StepFn } from "./rk_step.ts";

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
   * A method that is not FSAL may give one more weight, for `f1 = f(t1, y1)`.
   * Omit (and omit `bTheta`) to interpolate with a cubic Hermite polynomial from the step's ends.
   */
  bMid?: number[];
  /**
   * A continuous extension: `y(t0 + θ·dt) ≈ y0 + dt·Σ b_i(θ) k_i` with the polynomials
   * `b_i(θ) = Σ_m bTheta[i][m]·θ^(m+1)` (no constant term), `b_i(1) = b_i`. A method that is not
   * FSAL may give one more row, for `f1 = f(t1, y1)`. Takes precedence over `bMid`.
   */
  bTheta?: number[][];
  /**
   * Order of the dense output (its local error is `O(dt^(denseOrder+1))`); default: 3 for the
   * cubic Hermite and 4 for a midpoint quartic, capped at `order`. Checked by the tableau tests.
   */
  denseOrder?: number;
  /**
   * Stages evaluated only for the dense output, after the method's own (DOP853's 14–16): nodes
   * `c[j]` and coefficients `a[j]` over `k_0 … k_{s−1}` and the earlier dense stages (row `j`
   * has `s + j` entries). The method's own `step` evaluates them and appends them to each
   * part's stages; `bTheta` then has a row for each stage and each dense stage. Needs `step`
   * and `bTheta`.
   */
  denseStages?: { c: number[]; a: number[][] };
  /**
   * a_ii, the diagonal of an implicit (DIRK) method; such a method must bring its own `step`.
   * The row-sum check `Σ_j a_ij = c_i` includes it.
   */
  diagonal?: number[];
  /**
   * A stepper that replaces the explicit {@link rkStep} (implicit methods); see `StepFn` in
   * `rk_step.ts`.
   */
  step?: StepFn;
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
  /** Order of the dense output (see {@link TableauSpec.denseOrder}). */
  readonly denseOrder: number;
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
 * import { makeTableau } from "@fasterode/fasterode";
 * const heun = makeTableau({ name: "heun", order: 2, c: [0, 1], a: [[], [1]], b: [0.5, 0.5] });
 * assert.ok(heun.stages === 2 && !heun.adaptive && !heun.fsal);
 * ```
 */
export function makeTableau(spec: TableauSpec): Tableau {
  const { name, c, a, b, bError, bMid, bTheta, diagonal } = spec;
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
    const rowSum = sum(a[i]) + (diagonal?.[i] ?? 0);
    if (Math.abs(rowSum - c[i]) > CHECK_TOL) {
      fail(`row a[${i}] sums to ${rowSum}, but c[${i}] = ${c[i]}`);
    }
  }
  if (b.length !== s) fail(`b has ${b.length} entries, expected ${s}`);
  if (Math.abs(sum(b) - 1) > CHECK_TOL) fail(`b sums to ${sum(b)}, expected 1`);
  if (bError !== undefined) {
    if (bError.length !== s) fail(`bError has ${bError.length} entries, expected ${s}`);
    if (Math.abs(sum(bError)) > CHECK_TOL) fail(`bError sums to ${sum(bError)}, expected 0`);
  }
  if (diagonal !== undefined) {
    if (diagonal.length !== s) fail(`diagonal has ${diagonal.length} entries, expected ${s}`);
    if (spec.step === undefined && diagonal.some((x) => x !== 0)) {
      fail("an implicit method (non-zero diagonal) needs its own step function");
    }
  }
  const extra = spec.denseStages;
  const e = extra?.c.length ?? 0;
  if (extra !== undefined) {
    if (spec.step === undefined || bTheta === undefined) {
      fail("dense stages need the method's own step function and bTheta");
    }
    if (extra.a.length !== e) fail(`denseStages.a has ${extra.a.length} rows, expected ${e}`);
    extra.a.forEach((row, j) => {
      if (row.length !== s + j) {
        fail(`denseStages.a[${j}] has ${row.length} entries, expected ${s + j}`);
      }
      if (Math.abs(sum(row) - extra.c[j]) > CHECK_TOL) {
        fail(`row denseStages.a[${j}] sums to ${sum(row)}, but its c = ${extra.c[j]}`);
      }
    });
  }
  const last = s - 1;
  const fsal = s > 1 && c[last] === 1 && b[last] === 0 && (diagonal?.[last] ?? 0) === 0 &&
    a[last].every((x, j) => Math.abs(x - b[j]) <= CHECK_TOL);
  // Dense-output weights: one per stage (and dense stage), plus one for f1 where the method is
  // not FSAL.
  const lengths = fsal ? `${s + e}` : `${s + e} or ${s + e + 1}`;
  const okLength = (n: number) => n === s + e || (!fsal && n === s + e + 1);
  if (bMid !== undefined) {
    if (!okLength(bMid.length)) fail(`bMid has ${bMid.length} entries, expected ${lengths}`);
    if (Math.abs(sum(bMid) - 0.5) > CHECK_TOL) fail(`bMid sums to ${sum(bMid)}, expected 1/2`);
  }
  if (bTheta !== undefined) {
    if (!okLength(bTheta.length)) fail(`bTheta has ${bTheta.length} rows, expected ${lengths}`);
    bTheta.forEach((row, i) => {
      const at1 = sum(row);
      if (Math.abs(at1 - (b[i] ?? 0)) > CHECK_TOL) {
        fail(`bTheta[${i}] is ${at1} at θ = 1, but b[${i}] = ${b[i] ?? 0}`);
      }
    });
  }
  const denseOrder = spec.denseOrder ??
    Math.min(spec.order, bTheta !== undefined ? 4 : bMid !== undefined ? 4 : 3);
  return Object.freeze({
    ...spec,
    stages: s,
    adaptive: bError !== undefined,
    fsal,
    denseOrder,
  });
}

/**
 * The rows of a continuous extension (`bTheta`) from polynomials `b_i(θ)` given by their
 * coefficients of `θ^0, θ^1, …` (`θ^0` must be 0), each nudged in its top coefficient so that
 * `b_i(1) = b_i` exactly (published interpolants are decimals that match the rational `b` only
 * to ~1e-13, which would leave a jump of that size at every step's end). A row beyond `b` (the
 * weight of `f1`) is made to vanish at `θ = 1`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { continuousWeights } from "./tableau.ts";
 * // Euler's b_1(θ) = θ: one row [1] (the coefficient of θ^1).
 * assert.deepEqual(continuousWeights([1], [[0, 1 + 1e-14]]), [[1]]);
 * ```
 */
export function continuousWeights(b: readonly number[], polys: number[][]): number[][] {
  return polys.map((p, i) => {
    if (p[0] !== 0) throw new RangeError(`b_${i}(θ) has a constant term ${p[0]}; it must be 0`);
    const row = p.slice(1);
    const at1 = row.reduce((acc, q) => acc + q, 0);
    row[row.length - 1] += (b[i] ?? 0) - at1;
    return row;
  });
}

/**
 * The coefficients (of `θ^0, θ^1, …`) of `scale·Π factors`, each factor given by its
 * coefficients: for writing published interpolants in their factored form.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { polynomial } from "./tableau.ts";
 * // 2·θ·(θ − 1) = −2θ + 2θ²
 * assert.deepEqual(polynomial(2, [0, 1], [-1, 1]), [0, -2, 2]);
 * ```
 */
export function polynomial(scale: number, ...factors: number[][]): number[] {
  return factors.reduce(
    (acc, q) => {
      const out = new Array<number>(acc.length + q.length - 1).fill(0);
      acc.forEach((x, i) => q.forEach((y, j) => (out[i + j] += x * y)));
      return out;
    },
    [scale],
  );
}
