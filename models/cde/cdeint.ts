/**
 * `cdeint`: solve a controlled differential equation `dz = f(t, z) dX(t)` (torchcde's
 * `cdeint`), as the ODE `dz/dt = f(t, z) · dX/dt` with the library's `odeint` or, by default,
 * `odeintAdjoint`.
 *
 * `z` is `[batch, hidden]`, the control `X` an {@link Interpolation} with `[batch, channels]`
 * values, and `f(t, z)` a `[batch, hidden, channels]` matrix per sample; the product is one
 * batched matMul per evaluation.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  type AdjointOptions,
  type AdjointSolution,
  odeint,
  odeintAdjoint,
  type OdeintOptions,
  type OdeSolution,
} from "../../mod.ts";
import type { Interpolation } from "./control_path.ts";
import { withCdeVjp } from "./cde_field.ts";

/** The CDE's vector field: `f(t, z)` → `[batch, hidden, channels]` for `z`: `[batch, hidden]`. */
export type CdeVectorField = (t: number, z: tf.Tensor) => tf.Tensor;

/** Options of {@link cdeint}: the forward solver's options, the adjoint's and its parameters. */
export interface CdeintOptions extends OdeintOptions {
  /**
   * The backward-solve options (norm `"default"`/`"seminorm"`, tolerances, …; each defaults to
   * the forward one), as `odeintAdjoint`'s `adjoint`: the solve is then `odeintAdjoint`, whose
   * `backward(dL/dzs)` gives `dL/dz0` and `dL/dparams` (default `{}`: the adjoint, as torchcde).
   * `false`: a plain `odeint` (no gradients through the solve, or use `odeintSync` with
   * {@link cdeVectorField} to backpropagate through the solver's operations).
   */
  adjoint?: false | AdjointOptions;
  /** The tensors `f` reads (its weights), needed with the adjoint: the gradients' targets. */
  params?: tf.Tensor[];
}

/**
 * The ODE vector field of the CDE `dz = f(t, z) dX`: `(t, z) ↦ f(t, z) · dX/dt(t)`, with shape
 * checks (`f` must give `[batch, hidden, channels]`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { cdeVectorField, linearInterpolation } from "@fasterode/fasterode/models/cde";
 * const x = tf.tensor3d([[[0, 0], [1, 2]]]);         // dX/dt = (1, 2)
 * const X = await linearInterpolation(x);
 * const A = tf.tensor3d([[[1, 0], [0, 1], [1, 1]]]); // f(z) = A: [1, 3, 2]
 * const g = cdeVectorField(X, () => A);
 * const z = tf.zeros([1, 3]);
 * const dz = g(0.5, z);
 * assert.deepEqual(Array.from(await dz.data()), [1, 2, 3]);
 * tf.dispose([x, A, z, dz]);
 * X.dispose();
 * ```
 */
export function cdeVectorField(
  X: Interpolation,
  f: CdeVectorField,
): (t: number, z: tf.Tensor) => tf.Tensor {
  return (t: number, z: tf.Tensor): tf.Tensor =>
    tf.tidy(() => {
      const m = f(t, z);
      const [batch, hidden] = z.shape;
      if (
        !(m instanceof tf.Tensor) || m.rank !== 3 || m.shape[0] !== batch ||
        m.shape[1] !== hidden || m.shape[2] !== X.channels
      ) {
        throw new RangeError(
          `the CDE vector field f(t, z) must return [batch, hidden, channels] = ` +
            `[${batch}, ${hidden}, ${X.channels}] for z of shape [${z.shape}]; got ` +
            (m instanceof tf.Tensor ? `[${m.shape}]` : String(m)),
        );
      }
      const dX = tf.reshape(X.derivative(t), [batch, X.channels, 1]);
      return tf.reshape(tf.matMul(m as tf.Tensor3D, dX as tf.Tensor3D), [batch, hidden]);
    });
}

/** Checks `z0` against `X` and the option set. */
function checkInputs(X: Interpolation, z0: tf.Tensor, options: CdeintOptions): void {
  if (
    X === null || typeof X !== "object" || typeof X.derivative !== "function" ||
    !Array.isArray(X.knots)
  ) {
    throw new TypeError("X must be an Interpolation (e.g. from linearInterpolation)");
  }
  if (!(z0 instanceof tf.Tensor) || z0.rank !== 2) {
    throw new RangeError(
      `z0 must be a tf.Tensor [batch, hidden]; got ${
        z0 instanceof tf.Tensor ? `shape [${z0.shape}]` : String(z0)
      }`,
    );
  }
  if (z0.shape[0] !== X.batch) {
    throw new RangeError(`z0 has batch ${z0.shape[0]} but X has batch ${X.batch}`);
  }
  const adjoint = options.adjoint ?? {};
  if (adjoint !== false && (adjoint === null || typeof adjoint !== "object")) {
    throw new TypeError(
      `options.adjoint must be false (a forward-only solve) or the backward-solve options ` +
        `(e.g. { norm: "seminorm" }); got ${String(adjoint)}`,
    );
  }
  if (adjoint !== false && !Array.isArray(options.params)) {
    throw new TypeError(
      "cdeint with the adjoint (the default) needs options.params: the tensors f reads (its " +
        "weights), whose gradients backward() returns; pass params: [] if there are none, or " +
        "adjoint: false for a forward-only solve",
    );
  }
  if (adjoint === false && options.params !== undefined) {
    throw new TypeError(
      "params only applies with the adjoint (adjoint: false solves forward only): drop params " +
        "or adjoint: false",
    );
  }
}

/**
 * Solves the controlled differential equation `dz = f(t, z) dX(t)`, `z(ts[0]) = z0`, and returns
 * `z` at every time of `ts` (stacked: `ys` is `[ts.length, batch, hidden]`).
 *
 * `X` is the control (an {@link Interpolation} of the data), `f(t, z)` returns the
 * `[batch, hidden, channels]` matrix that multiplies `dX/dt` (`[batch, channels]`). With
 * the adjoint (the default) the solve is `odeintAdjoint(…, params, { …, adjoint })` and the
 * result has `backward(dL/dys)`; `adjoint` holds the backward options as in `odeintAdjoint`
 * (e.g. `{ norm: "seminorm" }`), `adjoint: false` makes it a plain `odeint`. Other options go
 * to the solver. When `X` has derivative jumps (linear
 * and rectilinear interpolation: every knot) and neither `jumpT` is given, the jumps inside
 * `ts`'s range are passed as `jumpT` to both the forward and backward solves, so the solver
 * steps exactly onto each kink instead of rejecting steps across it (torchdiffeq's `jump_t`,
 * the paper's `grid_points`); both ends of the range are included (torchcde's
 * `jump_t = X.grid_points`), so neither solve steps past `ts`'s ends and evaluates `X` outside its
 * domain. Pass `jumpT: []` to opt out. Times of `ts` outside `[X.t0, X.t1]` are an error (a
 * `RangeError` naming them and the domain): the path is not defined there.
 *
 * @example `f(z) = A` constant: `z(T) = z0 + A·(X(T) − X(t0))`, whatever the path in between
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { cdeint, linearInterpolation } from "@fasterode/fasterode/models/cde";
 * const x = tf.tensor3d([[[0, 0], [1, -1], [3, 2], [2, 2]]]);   // 1 path, 2 channels
 * const X = await linearInterpolation(x);
 * const A = tf.tensor3d([[[1, 2]]]);                             // hidden 1: z' = x1' + 2 x2'
 * const z0 = tf.tensor2d([[5]]);
 * const sol = await cdeint(X, () => A, z0, [X.t0, X.t1], { adjoint: false });
 * const zT = (await sol.ys.data())[1];
 * assert.ok(Math.abs(zT - (5 + 2 + 2 * 2)) < 1e-4);
 * assert.ok(sol.stats.nAccepted >= 3);                           // one step per piece at least
 * tf.dispose([x, A, z0, sol.ys]);
 * X.dispose();
 * ```
 */
export function cdeint(
  X: Interpolation,
  f: CdeVectorField,
  z0: tf.Tensor,
  ts: ArrayLike<number>,
  options: CdeintOptions & { adjoint: false },
): Promise<OdeSolution<tf.Tensor>>;
/** {@link cdeint} with the adjoint (the default): the solution has `backward(dL/dys)`. */
export function cdeint(
  X: Interpolation,
  f: CdeVectorField,
  z0: tf.Tensor,
  ts: ArrayLike<number>,
  options?: CdeintOptions & { adjoint?: AdjointOptions },
): Promise<AdjointSolution<tf.Tensor>>;
export async function cdeint(
  X: Interpolation,
  f: CdeVectorField,
  z0: tf.Tensor,
  ts: ArrayLike<number>,
  options: CdeintOptions = {},
): Promise<OdeSolution<tf.Tensor> | AdjointSolution<tf.Tensor>> {
  checkInputs(X, z0, options);
  const { adjoint = {}, params, ...solver } = options;
  const times = Array.from(ts);
  const outside = times.filter((t) => !(t >= X.t0 && t <= X.t1));
  if (outside.length > 0) {
    throw new RangeError(
      `cdeint: ts holds time(s) [${outside}] outside the control path's domain ` +
        `[${X.t0}, ${X.t1}] (its first and last knots); X is only defined there: ask for times ` +
        `inside it, or interpolate data covering them`,
    );
  }
  if (solver.jumpT === undefined && X.jumpTimes.length > 0) {
    // Every jump in the solve's range, both ends included (torchcde's jump_t = X.grid_points):
    // the end knot clips the last step onto T (no step past the path's end) forward, and onto
    // t0 backward.
    const lo = Math.min(...times);
    const hi = Math.max(...times);
    const steps = new Set(solver.stepT ?? []);
    solver.jumpT = X.jumpTimes.filter((s) => s >= lo && s <= hi && !steps.has(s));
  }
  const g = withCdeVjp(X, f, cdeVectorField(X, f)); // f's own VJP when it has one
  if (adjoint === false) return await odeint(g, z0, ts, solver);
  return await odeintAdjoint(g, z0, ts, params!, { ...solver, adjoint });
}
