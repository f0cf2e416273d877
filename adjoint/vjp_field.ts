/**
 * Vector fields that supply their own vector–Jacobian product (VJP), for the adjoint.
 *
 * The adjoint's backward solve needs, at every evaluation, `f(t, y)` and the products
 * `aᵀ∂f/∂y` and `aᵀ∂f/∂θ`. By default {@link odeintAdjoint} gets them from tfjs's gradient tape
 * (`f` run under the tape, then the tape's backward pass), which works for any field. A field
 * that knows its derivative can compute them directly, usually with far fewer and cheaper
 * kernels: wrap it with {@link withVjp} (or use a building block such as `mlpField`), and
 * `odeintAdjoint` uses the field's VJP instead of the tape. The field is still a plain function
 * `(t, y) => dy/dt`, so `odeint`, `odeintSync` (whose gradients go through the tape) and any other
 * caller use it unchanged.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { State, VectorField } from "../solvers/state.ts";

/** What a field's VJP returns for a cotangent `a` at `(t, y)` (a `tf.tidy` may return it). */
export type FieldVjp<S extends State = State> = {
  /** `f(t, y)`. */
  value: S;
  /** `aᵀ ∂f/∂y`, shaped like `y`. */
  y: S;
  /** `aᵀ ∂f/∂θ` for each tensor of the field's `params`, in order, shaped like it. */
  params: tf.Tensor[];
};

/**
 * A vector field that also computes its value and VJP in one pass. Callable like any
 * {@link VectorField}; `params` are the tensors it reads (the ones `vjp` differentiates).
 */
export interface VjpField<S extends State = State> {
  /** `dy/dt = f(t, y)`. */
  (t: number, y: S): S;
  /** The parameters θ of the field, in the order `vjp` returns their gradients. */
  readonly params: tf.Tensor[];
  /**
   * `f(t, y)` and the vector–Jacobian products with the cotangent `a` (shaped like `y`). The
   * returned tensors are the caller's (it runs inside the caller's `tf.tidy`).
   */
  vjp(t: number, y: S, a: S): FieldVjp<S>;
}

/**
 * Attaches a hand-written VJP to a vector field. `vjp(t, y, a)` must return `f(t, y)`,
 * `aᵀ∂f/∂y` and `aᵀ∂f/∂θ` for every tensor of `params` (zeros for one `f` does not read).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { odeintAdjoint, withVjp } from "@fasterode/fasterode";
 * // f(t, y) = θ·y: aᵀ∂f/∂y = θ·a, aᵀ∂f/∂θ = Σ a·y.
 * const theta = tf.variable(tf.scalar(-0.5));
 * const field = withVjp((_t, y: tf.Tensor) => tf.mul(theta, y), [theta], (_t, y, a) => ({
 *   value: tf.mul(theta, y),
 *   y: tf.mul(theta, a),
 *   params: [tf.sum(tf.mul(a, y))],
 * }));
 * const sol = await odeintAdjoint(field, tf.tensor([2]), [0, 1], field.params, { rtol: 1e-6 });
 * const g = await sol.backward(tf.tensor([[0], [1]]));  // L = y(1) = 2·e^θ
 * assert.ok(Math.abs((await g.params[0].data())[0] - 2 * Math.exp(-0.5)) < 1e-4);
 * assert.ok(Math.abs((await g.y0.data())[0] - Math.exp(-0.5)) < 1e-4);
 * ```
 */
export function withVjp<S extends State>(
  f: VectorField<S>,
  params: readonly tf.Tensor[],
  vjp: (t: number, y: S, a: S) => FieldVjp<S>,
): VjpField<S> {
  if (typeof f !== "function") throw new TypeError("withVjp: f must be a function (t, y) => dy/dt");
  if (typeof vjp !== "function") throw new TypeError("withVjp: vjp must be a function (t, y, a)");
  if (!Array.isArray(params) || params.some((p) => !(p instanceof tf.Tensor))) {
    throw new TypeError("withVjp: params must be an array of the tensors f reads");
  }
  const field = ((t: number, y: S) => f(t, y)) as VjpField<S>;
  return Object.assign(field, { params: [...params], vjp });
}

/**
 * Whether `f` carries its own VJP (made by {@link withVjp} or a field builder).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { isVjpField, withVjp } from "@fasterode/fasterode";
 * const f = (_t: number, y: tf.Tensor) => tf.neg(y);
 * assert.equal(isVjpField(f), false);
 * const g = withVjp(f, [], (_t, y, a) => ({ value: tf.neg(y), y: tf.neg(a), params: [] }));
 * assert.equal(isVjpField(g), true);
 * ```
 */
export function isVjpField<S extends State>(f: VectorField<S> | VjpField<S>): f is VjpField<S> {
  const g = f as Partial<VjpField<S>>;
  return typeof g.vjp === "function" && Array.isArray(g.params);
}
