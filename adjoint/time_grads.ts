/**
 * Gradients with respect to the output times `ts`.
 *
 * For `y(t) = Φ(t; t0, y0)` observed at `t_0 < t_1 < … < t_N` (or decreasing) and a loss
 * `L(y(t_0), …, y(t_N))` with cotangents `g_i = ∂L/∂y(t_i)`:
 *
 * ```
 * dL/dt_i = g_iᵀ f(t_i, y(t_i))                          (i ≥ 1: moving one observation)
 * dL/dt_0 = −a(t_0⁺)ᵀ f(t_0, y0),  a(t_0⁺) = dL/dy0 − g_0 (moving the start: ∂Φ/∂t0 = −∂Φ/∂y0 · f)
 * ```
 *
 * Both are closed forms in quantities the adjoint already has (the forward outputs and the state
 * adjoint), so no time adjoint `a_t = −∫ aᵀ∂f/∂t` is integrated: the identity
 * `d(aᵀf)/dt = aᵀ∂f/∂t` along the adjoint makes torchdiffeq's integrated form equal to this
 * one. The backward solve's error norm is therefore the same with or without time gradients.
 *
 * Under tfjs's tape ({@link odeintSyncTs}) the same formulas enter as a zero-valued linearisation:
 * with `δ_i = ts_i − stop(ts_i)` (value 0, derivative 1), the solve starts from
 * `y0 − f(t0, y0)·δ_0` and returns `ys_i + f(t_i, ys_i)·δ_i`: values unchanged, derivatives in
 * `ts` exactly the ones above, derivatives in `y0` and the field's variables untouched.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { odeintSync, type OdeSolution } from "../solvers/odeint.ts";
import type { OdeintOptions } from "../solvers/options.ts";
import {
  checkLike,
  fromParts,
  layoutOf,
  partsOf,
  type State,
  type StateLayout,
  type VectorField,
} from "../solvers/state.ts";

/**
 * `dL/dts` from the forward outputs and the adjoint: `yRow(i)`/`gRow(i)` make `y(t_i)` and
 * `∂L/∂y(t_i)` (one tensor per part of the state, fresh: disposed here), `adjStart` is `a(t_0⁺)`,
 * the state adjoint at the start before `g_0` is added. Evaluates `f` once per output time, one
 * time at a time (so no more than one time's rows are alive); returns a float32 tensor shaped
 * `[ts.length]` (the caller's), and counts the evaluations in `nfe`.
 */
export function timeGradients(
  f: VectorField,
  times: readonly number[],
  yRow: (i: number) => tf.Tensor[],
  gRow: (i: number) => tf.Tensor[],
  adjStart: tf.Tensor[],
  layout: StateLayout,
): { grads: tf.Tensor1D; nfe: number } {
  let nfe = 0;
  const dots: tf.Tensor[] = [];
  try {
    times.forEach((t, i) =>
      dots.push(tf.tidy(() => {
        const y = yRow(i);
        const out = f(t, fromParts(y, layout));
        nfe++;
        checkLike(out, layout, "f(t, y)");
        const fy = partsOf(out);
        const weights = i === 0 ? adjStart.map((a) => tf.neg(a)) : gRow(i);
        return tf.addN(fy.map((fk, k) => tf.sum(tf.mul(fk, weights[k]))));
      }))
    );
    return { grads: tf.stack(dots) as tf.Tensor1D, nfe };
  } finally {
    tf.dispose(dots);
  }
}

/** A tensor of zeros shaped like `x` whose gradient with respect to `x` is the identity. */
const zeroWithUnitGrad = tf.customGrad((x, save) => {
  void save;
  return { value: tf.zerosLike(x as tf.Tensor), gradFunc: (dy: tf.Tensor) => dy };
}) as (x: tf.Tensor) => tf.Tensor;

/**
 * {@link odeintSync} with the output times as a tensor on tfjs's tape: under `tf.grad` /
 * `tf.variableGrads` / `tf.valueAndGrads`, gradients reach `ts` (e.g. a `tf.Variable` of times)
 * as well as `y0` and the variables `f` reads. `ts` is a float32 rank-1 tensor, read once to
 * plan the solve; the result is `odeintSync`'s (same values), plus one evaluation of `f` per
 * output time and one at the start (not counted in `stats.nfe`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { odeintSyncTs } from "@fasterode/fasterode";
 * // y' = −y, y(t0) = 1: y(t1) = e^{−(t1 − t0)}, so dy(t1)/dt1 = −y(t1) and dy(t1)/dt0 = y(t1).
 * const ts = tf.variable(tf.tensor1d([0.2, 1]));
 * const { grads } = tf.variableGrads(() => {
 *   const sol = odeintSyncTs((_t, y) => tf.neg(y), tf.tensor([1]), ts, { rtol: 1e-6 });
 *   return tf.sum(tf.slice(sol.ys, [1], [1])) as tf.Scalar;
 * }, [ts]);
 * const [d0, d1] = await grads[ts.name].data();
 * const y1 = Math.exp(-0.8);
 * assert.ok(Math.abs(d1 + y1) < 1e-5 && Math.abs(d0 - y1) < 1e-5);
 * ```
 */
export function odeintSyncTs<S extends State>(
  f: VectorField<S>,
  y0: S,
  ts: tf.Tensor,
  options: OdeintOptions = {},
): OdeSolution<S> {
  if (!(ts instanceof tf.Tensor) || ts.rank !== 1 || ts.dtype !== "float32") {
    const what = ts instanceof tf.Tensor
      ? `a ${ts.dtype} tensor of shape [${ts.shape}]`
      : typeof ts;
    throw new TypeError(`ts must be a float32 rank-1 tensor of output times, got ${what}`);
  }
  const layout = layoutOf(y0);
  const times = Array.from(ts.dataSync());
  const field = f as unknown as VectorField;
  let sol: OdeSolution<State> | undefined;
  // (in a tidy: every intermediate is freed, the tape keeps what backprop needs)
  const ys = tf.tidy(() => {
    const delta = tf.unstack(zeroWithUnitGrad(ts));
    // The start moved along −f(t0, y0)·δ_0: the t0 derivative −∂Φ/∂y0 · f(t0, y0).
    const f0 = field(times[0], y0);
    checkLike(f0, layout, "f(t, y)");
    const start = fromParts(
      partsOf(y0).map((y, k) => tf.sub(y, tf.mul(partsOf(f0)[k], delta[0]))),
      layout,
    );
    sol = odeintSync(field, start, times, options);
    const rows = partsOf(sol.ys).map((y) => tf.unstack(y));
    // Each output moved along f(t_i, ys_i)·δ_i (at i = 0 this undoes the start's shift); a
    // failed solve returned with onFailure "return" has fewer rows.
    const slopes = sol.ts.map((t, i) =>
      partsOf(field(t, fromParts(rows.map((r) => r[i]), layout)))
    );
    return rows.map((r, k) =>
      tf.stack(r.map((row, i) => tf.add(row, tf.mul(slopes[i][k], delta[i]))))
    );
  });
  return { ...sol!, ys: fromParts(ys, layout) } as OdeSolution<S>;
}
