/**
 * The interpolated control path of a neural CDE: the common {@link Interpolation} interface,
 * the piecewise-polynomial evaluator every scheme shares, the cubic-spline coefficient format,
 * input validation and torchcde's filling of missing (NaN) observations.
 *
 * Data are batched time series `x` of shape `[batch, length, channels]` observed at knot times
 * `t` (`length` strictly increasing numbers, the same for the whole batch; default
 * `0, 1, …, length − 1`). A NaN in `x` is a missing observation.
 *
 * Coefficients are computed once, into one float32 tensor `[pieces, degree + 1, batch·channels]`
 * of polynomial coefficients in `t − t_k` per piece `[t_k, t_{k+1}]`. `evaluate(t)` and
 * `derivative(t)` find the piece on the host (a binary search over the knots, in float64), slice
 * its coefficients and contract them with the powers of `t − t_k`: a slice and a small matMul.
 * Outside `[t0, t1]` the first and last pieces are extrapolated, as torchcde does.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** A batch of continuous paths `X: [t0, t1] → R^channels`, the control of a CDE. */
export interface Interpolation {
  /** Number of paths. */
  readonly batch: number;
  /** Number of channels of each path. */
  readonly channels: number;
  /** The knot times (torchcde's `grid_points`), strictly increasing. */
  readonly knots: number[];
  /**
   * The knots where `dX/dt` may jump (every knot of a piecewise-linear path, none of a C¹
   * spline): the times an adaptive solver should step exactly to (`jumpT`).
   */
  readonly jumpTimes: number[];
  /** First knot. */
  readonly t0: number;
  /** Last knot. */
  readonly t1: number;
  /** `X(t)`, shape `[batch, channels]` (a new tensor, the caller's to dispose). */
  evaluate(t: number): tf.Tensor2D;
  /** `dX/dt(t)`, shape `[batch, channels]`; at a knot the left piece's value. */
  derivative(t: number): tf.Tensor2D;
  /** Frees the coefficient tensors. */
  dispose(): void;
}

/**
 * Checks that `x` is a float32 tensor `[batch, length, channels]` with `length ≥ 2` and returns
 * its shape.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { checkPath } from "./control_path.ts";
 * const x = tf.zeros([2, 5, 3]);
 * assert.deepEqual(checkPath(x), [2, 5, 3]);
 * assert.throws(() => checkPath(tf.zeros([5, 3])), /\[batch, length, channels\]/);
 * ```
 */
export function checkPath(x: tf.Tensor, what = "x"): [number, number, number] {
  if (!(x instanceof tf.Tensor)) {
    throw new TypeError(`${what} must be a tf.Tensor [batch, length, channels]`);
  }
  if (x.rank !== 3) {
    throw new RangeError(
      `${what} must have shape [batch, length, channels]; got shape [${x.shape}]`,
    );
  }
  if (x.dtype !== "float32") throw new TypeError(`${what} must be float32, got ${x.dtype}`);
  const [batch, length, channels] = x.shape as [number, number, number];
  if (length < 2) {
    throw new RangeError(`${what} needs at least 2 observations per path; length is ${length}`);
  }
  if (batch < 1 || channels < 1) {
    throw new RangeError(`${what} has an empty batch or channel axis: shape [${x.shape}]`);
  }
  return [batch, length, channels];
}

/**
 * Validates knot times: `length` finite, strictly increasing numbers; `undefined` gives
 * `0, 1, …, length − 1`. Returns a fresh array.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkKnots } from "./control_path.ts";
 * assert.deepEqual(checkKnots(undefined, 3), [0, 1, 2]);
 * assert.deepEqual(checkKnots([0, 0.5, 2], 3), [0, 0.5, 2]);
 * assert.throws(() => checkKnots([0, 2, 1], 3), /strictly increasing/);
 * assert.throws(() => checkKnots([0, 1], 3), /3 times/);
 * ```
 */
export function checkKnots(t: ArrayLike<number> | undefined, length: number, what = "t"): number[] {
  if (t === undefined) return Array.from({ length }, (_, i) => i);
  const times = Array.from(t);
  if (times.length !== length) {
    throw new RangeError(
      `${what} must have one time per observation (${length} times); got ${times.length}`,
    );
  }
  for (let i = 0; i < times.length; i++) {
    if (!Number.isFinite(times[i])) throw new RangeError(`${what}[${i}] is ${times[i]}`);
    if (i > 0 && !(times[i] > times[i - 1])) {
      throw new RangeError(
        `${what} must be strictly increasing; ${what}[${i - 1}]=${times[i - 1]}, ` +
          `${what}[${i}]=${times[i]}`,
      );
    }
  }
  return times;
}

/**
 * The piece of `t` among `knots`: `k` with `knots[k] < t ≤ knots[k+1]`, clamped to the first
 * and last pieces (torchcde's `bucketize(t, knots) − 1`). At a knot this is the left piece.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pieceOf } from "./control_path.ts";
 * const knots = [0, 1, 2, 3];
 * assert.equal(pieceOf(knots, 0.5), 0);
 * assert.equal(pieceOf(knots, 1), 0);          // a knot belongs to the piece on its left
 * assert.equal(pieceOf(knots, 1.0000001), 1);
 * assert.equal(pieceOf(knots, -5), 0);         // extrapolation: first piece
 * assert.equal(pieceOf(knots, 7), 2);          // last piece
 * ```
 */
export function pieceOf(knots: readonly number[], t: number): number {
  // Number of knots strictly below t, by binary search.
  let lo = 0;
  let hi = knots.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (knots[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return Math.min(Math.max(lo - 1, 0), knots.length - 2);
}

/** Options of {@link PiecewisePolynomial.fromMonomial}. */
export interface PiecewiseOptions {
  /** Whether `dX/dt` may jump at the knots (then `jumpTimes` lists them). Default `false`. */
  jumps?: boolean;
}

/**
 * A batch of piecewise polynomials `X(t) = Σ_j c_{k,j} (t − t_k)^j` on the pieces
 * `[t_k, t_{k+1}]`, the evaluator behind every interpolation scheme.
 *
 * @example A batch of one path with one channel: `X = 1 + 2(t − t_k)` on both pieces
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { PiecewisePolynomial } from "./control_path.ts";
 * // coefficients [batch, pieces, degree + 1, channels]
 * const c = tf.tensor4d([[[[1], [2]], [[3], [2]]]]);
 * const X = PiecewisePolynomial.fromMonomial(c, [0, 1, 2], { jumps: true });
 * const x = X.evaluate(1.5);
 * assert.deepEqual(Array.from(await x.data()), [4]);
 * assert.deepEqual(X.jumpTimes, [0, 1, 2]);
 * tf.dispose([c, x]);
 * X.dispose();
 * ```
 */
export class PiecewisePolynomial implements Interpolation {
  readonly batch: number;
  readonly channels: number;
  readonly knots: number[];
  readonly jumpTimes: number[];
  readonly t0: number;
  readonly t1: number;
  /** Polynomial degree of every piece. */
  readonly degree: number;
  /** `[pieces, degree + 1, batch·channels]`: the coefficients, one piece per leading row. */
  #table: tf.Tensor3D;

  /**
   * Takes ownership of `table` (`[pieces, degree + 1, batch·channels]`); use
   * {@link PiecewisePolynomial.fromMonomial} to build one from `[batch, pieces, degree + 1,
   * channels]` coefficients.
   */
  protected constructor(
    table: tf.Tensor3D,
    batch: number,
    channels: number,
    knots: number[],
    options: PiecewiseOptions = {},
  ) {
    const [pieces, order] = table.shape;
    if (pieces !== knots.length - 1 || table.shape[2] !== batch * channels) {
      table.dispose();
      throw new RangeError(
        `coefficient table [${table.shape}] does not match ${knots.length} knots, ` +
          `batch ${batch} and ${channels} channels`,
      );
    }
    this.#table = table;
    this.batch = batch;
    this.channels = channels;
    this.knots = knots;
    this.jumpTimes = options.jumps ? [...knots] : [];
    this.t0 = knots[0];
    this.t1 = knots[knots.length - 1];
    this.degree = order - 1;
  }

  /**
   * A piecewise polynomial from monomial coefficients `[batch, pieces, degree + 1, channels]`
   * (coefficient `j` multiplies `(t − t_k)^j` on piece `k`) and the `pieces + 1` knots. The
   * coefficients are copied: the caller keeps and disposes its tensor.
   */
  static fromMonomial(
    coefficients: tf.Tensor,
    knots: ArrayLike<number>,
    options: PiecewiseOptions = {},
  ): PiecewisePolynomial {
    const { table, batch, channels, times } = PiecewisePolynomial.tableOf(coefficients, knots);
    return new PiecewisePolynomial(table, batch, channels, times, options);
  }

  /**
   * The evaluation table `[pieces, degree + 1, batch·channels]` of monomial coefficients
   * `[batch, pieces, degree + 1, channels]` (a new tensor), with the validated knots.
   */
  protected static tableOf(
    coefficients: tf.Tensor,
    knots: ArrayLike<number>,
  ): { table: tf.Tensor3D; batch: number; channels: number; times: number[] } {
    if (!(coefficients instanceof tf.Tensor) || coefficients.rank !== 4) {
      throw new RangeError(
        "coefficients must be a tf.Tensor [batch, pieces, degree + 1, channels]",
      );
    }
    const [batch, pieces, order, channels] = coefficients.shape as number[];
    const times = checkKnots(knots, pieces + 1, "knots");
    const table = tf.tidy(() =>
      tf.reshape(tf.transpose(tf.cast(coefficients, "float32"), [1, 2, 0, 3]), [
        pieces,
        order,
        batch * channels,
      ])
    ) as tf.Tensor3D;
    return { table, batch, channels, times };
  }

  /** Number of pieces. */
  get pieces(): number {
    return this.knots.length - 1;
  }

  /** Whether {@link dispose} has been called. */
  get isDisposed(): boolean {
    return this.#table.isDisposed;
  }

  evaluate(t: number): tf.Tensor2D {
    return this.#contract(t, 0);
  }

  derivative(t: number): tf.Tensor2D {
    return this.#contract(t, 1);
  }

  dispose(): void {
    this.#table.dispose();
  }

  /** Σ_j c_{k,j} d^m/dt^m (t − t_k)^j for m = 0 or 1. */
  #contract(t: number, order: 0 | 1): tf.Tensor2D {
    if (typeof t !== "number" || !Number.isFinite(t)) {
      throw new RangeError(`interpolation time must be a finite number, got ${t}`);
    }
    if (this.#table.isDisposed) throw new Error("this interpolation has been disposed");
    const k = pieceOf(this.knots, t);
    const s = t - this.knots[k];
    const n = this.batch * this.channels;
    const d = this.degree;
    return tf.tidy(() => {
      if (order === 1 && d === 1) {
        // Piecewise linear: the slope row itself.
        return tf.reshape(tf.slice(this.#table, [k, 1, 0], [1, 1, n]), [this.batch, this.channels]);
      }
      if (order === 1 && d === 0) return tf.zeros([this.batch, this.channels]) as tf.Tensor2D;
      const first = order; // rows below `order` have zero derivative
      const w: number[] = [];
      for (let j = first; j <= d; j++) {
        w.push(order === 0 ? s ** j : j * s ** (j - 1));
      }
      const rows = tf.reshape(tf.slice(this.#table, [k, first, 0], [1, w.length, n]), [
        w.length,
        n,
      ]);
      const out = tf.matMul(tf.tensor2d(w, [1, w.length]), rows);
      return tf.reshape(out, [this.batch, this.channels]);
    });
  }
}

/**
 * A cubic spline from torchcde's coefficient format `[batch, length − 1, 4·channels]`, where
 * each piece holds `[a, b, 2c, 3d]` concatenated on the channel axis and
 * `X(t) = a + b·s + c·s² + d·s³` with `s = t − t_k`: the interpolant of `hermiteCubicCoeffs`
 * (hermite.ts) and `naturalCubicCoeffs` (natural_cubic.ts). Its derivative is continuous, so
 * `jumpTimes` is empty.
 *
 * @example `X(t) = t³` on one piece `[0, 2]`: a = b = c = 0, d = 1, stored as 3d = 3
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { CubicSpline } from "./control_path.ts";
 * const coeffs = tf.tensor3d([[[0, 0, 0, 3]]]);
 * const X = new CubicSpline(coeffs, [0, 2]);
 * const [x, dx] = [X.evaluate(1.5), X.derivative(1.5)];
 * assert.ok(Math.abs((await x.data())[0] - 3.375) < 1e-6);
 * assert.ok(Math.abs((await dx.data())[0] - 6.75) < 1e-6);
 * tf.dispose([coeffs, x, dx]);
 * X.dispose();
 * ```
 */
export class CubicSpline extends PiecewisePolynomial {
  /**
   * `coeffs`: `[batch, pieces, 4·channels]` in torchcde's `[a, b, 2c, 3d]` layout; `t`: the
   * `pieces + 1` knot times (default `0, 1, …, pieces`). The coefficients are copied.
   */
  constructor(coeffs: tf.Tensor, t?: ArrayLike<number>) {
    if (
      !(coeffs instanceof tf.Tensor) || coeffs.rank !== 3 || (coeffs.shape[2] as number) % 4 !== 0
    ) {
      throw new RangeError(
        "cubic coefficients must be a tf.Tensor [batch, pieces, 4·channels] ([a, b, 2c, 3d])",
      );
    }
    const [batch, pieces, four] = coeffs.shape as number[];
    const channels = four / 4;
    const times = checkKnots(t, pieces + 1);
    const table = tf.tidy(() => {
      const abcd = tf.reshape(coeffs, [batch, pieces, 4, channels]);
      const { table } = PiecewisePolynomial.tableOf(abcd, times); // [pieces, 4, batch·channels]
      // [a, b, 2c, 3d] → [a, b, c, d]: a [4, n] factor broadcasts over the leading axis only,
      // which tfjs's cpu backend does without per-element index arithmetic.
      const n = batch * channels;
      const scale = new Float32Array(4 * n);
      scale.fill(1, 0, 2 * n);
      scale.fill(1 / 2, 2 * n, 3 * n);
      scale.fill(1 / 3, 3 * n);
      return tf.mul(table, tf.tensor2d(scale, [4, n])) as tf.Tensor3D;
    });
    super(table, batch, channels, times);
  }
}

/** One missing-value problem, described for an error message. */
function describe(b: number, c: number): string {
  return `sample ${b}, channel ${c}`;
}

/**
 * Reads `x` to the host, checking that no value is ±Infinity and that every (sample, channel)
 * series has at least one observation (a non-NaN value).
 */
async function readObserved(x: tf.Tensor, what: string): Promise<Float32Array> {
  const [batch, length, channels] = checkPath(x, what);
  const data = Float32Array.from(await x.data() as Float32Array);
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < channels; c++) {
      let seen = false;
      for (let i = 0; i < length; i++) {
        const v = data[(b * length + i) * channels + c];
        if (v === Infinity || v === -Infinity) {
          throw new RangeError(`${what}[${b}, ${i}, ${c}] is ${v}; use NaN for a missing value`);
        }
        if (!Number.isNaN(v)) seen = true;
      }
      if (!seen) {
        throw new RangeError(
          `${what} has no observation at all for ${describe(b, c)} (every value is NaN): ` +
            `a path cannot be interpolated from nothing; drop the sample or fill that channel`,
        );
      }
    }
  }
  return data;
}

/** Whether every value of `x` is finite (one reduction read back). */
async function allFinite(x: tf.Tensor): Promise<boolean> {
  const probe = tf.tidy(() => tf.sum(tf.mul(x, 0)));
  try {
    return (await probe.data())[0] === 0;
  } finally {
    probe.dispose();
  }
}

/** Fills NaNs in place, linearly in time per (sample, channel); ends take the nearest value. */
function fillLinear(
  data: Float32Array,
  [batch, length, channels]: [number, number, number],
  times: number[],
): void {
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < channels; c++) {
      const at = (i: number) => (b * length + i) * channels + c;
      let prev = -1; // last observed index
      for (let i = 0; i <= length; i++) {
        if (i < length && Number.isNaN(data[at(i)])) continue;
        // i is observed (or the end): fill the gap (prev, i).
        for (let j = prev + 1; j < i; j++) {
          if (prev < 0) data[at(j)] = data[at(i)];
          else if (i === length) data[at(j)] = data[at(prev)];
          else {
            const x0 = data[at(prev)];
            const x1 = data[at(i)];
            const r = (times[j] - times[prev]) / (times[i] - times[prev]);
            data[at(j)] = x0 + r * (x1 - x0);
          }
        }
        prev = i;
      }
    }
  }
}

/**
 * The observed values of `x` with missing (NaN) ones filled as torchcde's
 * `linear_interpolation_coeffs` does, per sample and channel: a NaN between two observations
 * is linearly interpolated in time between them; NaNs before the first observation take its
 * value and NaNs after the last one take the last value. Returns a new tensor (a copy when
 * nothing is missing). A series with no observation at all, or a ±Infinity, is an error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { fillMissing } from "./control_path.ts";
 * const x = tf.tensor3d([[[NaN], [1], [NaN], [NaN], [7], [NaN]]]);
 * const filled = await fillMissing(x, [0, 1, 2, 3, 4, 5]);
 * assert.deepEqual(Array.from(await filled.data()), [1, 1, 3, 5, 7, 7]);
 * tf.dispose([x, filled]);
 * ```
 */
export async function fillMissing(
  x: tf.Tensor,
  t?: ArrayLike<number>,
  what = "x",
): Promise<tf.Tensor3D> {
  const shape = checkPath(x, what);
  checkKnots(t, shape[1]);
  if (await allFinite(x)) return tf.clone(x) as tf.Tensor3D;
  return tf.tensor3d(await readFilledPath(x, t, what), shape);
}

/**
 * Reads `x` (`[batch, length, channels]`) to the host as float32 values, for coefficients
 * computed there, after the same checks as {@link fillMissing} (no ±Infinity, no series
 * without observations); NaNs are kept.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { readPath } from "./control_path.ts";
 * const x = tf.tensor3d([[[NaN], [NaN]], [[1], [2]]]);
 * await assert.rejects(readPath(x), /sample 0, channel 0/);
 * x.dispose();
 * ```
 */
export async function readPath(x: tf.Tensor, what = "x"): Promise<Float32Array> {
  return await readObserved(x, what);
}

/**
 * {@link readPath} with the missing values filled as {@link fillMissing} fills them: the
 * host-side values of the linear interpolation's knots.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { readFilledPath } from "./control_path.ts";
 * const x = tf.tensor3d([[[0], [NaN], [4]]]);
 * assert.deepEqual(Array.from(await readFilledPath(x, [0, 3, 4])), [0, 3, 4]);
 * x.dispose();
 * ```
 */
export async function readFilledPath(
  x: tf.Tensor,
  t?: ArrayLike<number>,
  what = "x",
): Promise<Float32Array> {
  const shape = checkPath(x, what);
  const times = checkKnots(t, shape[1]);
  const data = await readObserved(x, what);
  fillLinear(data, shape, times);
  return data;
}
