/**
 * The interpolated control path of a neural CDE: the common {@link Interpolation} interface,
 * the piecewise-polynomial evaluator every scheme shares, the cubic-spline coefficient format
 * and input validation (torchcde's filling of missing observations is in `missing.ts`).
 *
 * Data are batched time series `x` of shape `[batch, length, channels]` observed at knot times
 * `t` (`length` strictly increasing numbers, the same for the whole batch; default
 * `0, 1, …, length − 1`). A NaN in `x` is a missing observation.
 *
 * Coefficients are computed once, as polynomial coefficients in `t − t_k` per piece
 * `[t_k, t_{k+1}]`, checked to be finite (one host read: NaN or Inf in the data is an error
 * naming the control path `X`, the sample, the channel and the piece) and kept as one small
 * float32 tensor per piece for `X` (`[degree + 1, batch·channels]`) and one for `dX/dt`
 * (`[degree, batch·channels]`). `evaluate(t)` and `derivative(t)` find the piece on the host
 * (a binary search over the knots, in float64) and contract its tensor with the powers of
 * `t − t_k`: one small matMul (for a linear path's derivative, a reshape of the piece's slope
 * row), with no slice of the whole path per call. Outside `[t0, t1]` the first and last pieces
 * are extrapolated, as torchcde does.
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
 * import { checkPath } from "@fasterode/fasterode/models/cde";
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
 * import { checkKnots } from "@fasterode/fasterode/models/cde";
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
 * import { pieceOf } from "@fasterode/fasterode/models/cde";
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
 * import { PiecewisePolynomial } from "@fasterode/fasterode/models/cde";
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
  /** Per piece `k`: `[degree + 1, batch·channels]`, the coefficients of `(t − t_k)^j`. */
  #values: tf.Tensor2D[];
  /** Per piece `k`: `[degree, batch·channels]`, the coefficients `j·c_{k,j}` of `dX/dt`. */
  #slopes: tf.Tensor2D[];
  #disposed = false;

  /**
   * Takes ownership of `table` (`[pieces, degree + 1, batch·channels]`; disposed here) and
   * splits it into one tensor per piece after checking that it is finite (one host read); use
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
    const n = batch * channels;
    let data: Float32Array;
    try {
      if (pieces !== knots.length - 1 || table.shape[2] !== n) {
        throw new RangeError(
          `coefficient table [${table.shape}] does not match ${knots.length} knots, ` +
            `batch ${batch} and ${channels} channels`,
        );
      }
      data = table.dataSync() as Float32Array;
    } finally {
      table.dispose();
    }
    checkFinite(data, order, batch, channels, knots);
    this.batch = batch;
    this.channels = channels;
    this.knots = knots;
    this.jumpTimes = options.jumps ? [...knots] : [];
    this.t0 = knots[0];
    this.t1 = knots[knots.length - 1];
    this.degree = order - 1;
    const size = order * n;
    this.#values = [];
    this.#slopes = [];
    try {
      for (let k = 0; k < pieces; k++) {
        const piece = data.subarray(k * size, (k + 1) * size);
        this.#values.push(tf.tensor2d(piece, [order, n]));
        if (order < 2) continue;
        const slope = piece.slice(n); // rows 1 … degree, times j
        for (let j = 2; j < order; j++) {
          for (let i = (j - 1) * n; i < j * n; i++) slope[i] *= j;
        }
        this.#slopes.push(tf.tensor2d(slope, [order - 1, n]));
      }
    } catch (error) {
      tf.dispose([...this.#values, ...this.#slopes]);
      throw error;
    }
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
    return this.#disposed;
  }

  evaluate(t: number): tf.Tensor2D {
    return this.#contract(t, 0);
  }

  derivative(t: number): tf.Tensor2D {
    return this.#contract(t, 1);
  }

  /** Frees the per-piece tensors (a second call does nothing). */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    tf.dispose([...this.#values, ...this.#slopes]);
    this.#values = [];
    this.#slopes = [];
  }

  /** Σ_j c_{k,j} d^m/dt^m (t − t_k)^j for m = 0 or 1. */
  #contract(t: number, order: 0 | 1): tf.Tensor2D {
    if (typeof t !== "number" || !Number.isFinite(t)) {
      throw new RangeError(`interpolation time must be a finite number, got ${t}`);
    }
    if (this.#disposed) throw new Error("this interpolation has been disposed");
    const k = pieceOf(this.knots, t);
    const s = t - this.knots[k];
    const shape: [number, number] = [this.batch, this.channels];
    // Derivative of a piecewise-constant path, and of a linear one: zero, or the slope row.
    if (order === 1 && this.degree === 0) return tf.zeros(shape);
    if (order === 1 && this.degree === 1) return tf.reshape(this.#slopes[k], shape);
    const rows = order === 0 ? this.#values[k] : this.#slopes[k];
    const w = Array.from({ length: rows.shape[0] }, (_, j) => s ** j);
    return tf.tidy(() => tf.reshape(tf.matMul(tf.tensor2d(w, [1, w.length]), rows), shape));
  }
}

/**
 * Throws, naming the control path `X`, the sample, the channel and the piece, when a
 * coefficient table `[pieces, order, batch·channels]` holds a NaN or an Infinity.
 */
function checkFinite(
  data: Float32Array,
  order: number,
  batch: number,
  channels: number,
  knots: number[],
): void {
  for (let i = 0; i < data.length; i++) {
    if (Number.isFinite(data[i])) continue;
    const n = batch * channels;
    const k = Math.floor(i / (order * n));
    const column = i % n;
    const [b, c] = [Math.floor(column / channels), column % channels];
    throw new RangeError(
      `the control path X is not finite: its coefficients hold ${data[i]} for sample ${b}, ` +
        `channel ${c} on piece ${k} (t in [${knots[k]}, ${knots[k + 1]}]); the data contain ` +
        `NaN or Inf there. Fill missing values first (linearInterpolationCoeffs, fillMissing) ` +
        `and replace infinite ones`,
    );
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
 * import { CubicSpline } from "@fasterode/fasterode/models/cde";
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
