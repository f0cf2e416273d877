/**
 * The hand-written vector–Jacobian product of a CDE's ODE field `F(t, z) = g(t, z) · dX/dt(t)`,
 * for the adjoint's backward solve (issue 11), from the VJP of the matrix field `g`.
 *
 * With `G = g(t, z)` (`[batch, hidden, channels]`) and `v = dX/dt(t)` (`[batch, channels]`),
 * `F_bh = Σ_c G_bhc v_bc`, so for a cotangent `a` (`[batch, hidden]`)
 *
 * ```
 * aᵀ∂F/∂G = a ⊗ v      (A_bhc = a_bh · v_bc, one broadcast product)
 * aᵀ∂F/∂z = Aᵀ∂g/∂z,   aᵀ∂F/∂θ = Aᵀ∂g/∂θ   (g's own VJP with the cotangent A)
 * ```
 *
 * The control path is data: its coefficients are not differentiated (as with the tape, which
 * differentiates `z` and `params` only). `g`'s VJP is the Dense MLP's of `mlpField` (with
 * `outputShape: [hidden, channels]`) for the {@link NeuralCDE}, or any `withVjp` field whose
 * value is the matrix and whose `vjp` takes a cotangent of the matrix's shape.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type FieldVjp, isVjpField, type VjpField, withVjp } from "../../mod.ts";
import type { Interpolation } from "./control_path.ts";

/**
 * The CDE's ODE field `g · dX/dt` (`field`, as `cdeVectorField(X, g)` builds it) with a
 * hand-written VJP when the matrix field `g` has one ({@link isVjpField}: `g.vjp(t, z, A)` with
 * `A` shaped like `g(t, z)`); otherwise `field` itself, whose VJP the adjoint takes from the
 * tape. The parameters are `g.params`.
 *
 * @example `g(z) = tanh(z·W)` as `[batch, 2, 2]`: the hand VJP equals the tape's
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { mlpField, vjp } from "@fasterode/fasterode";
 * import {
 *   cdeVectorField,
 *   withCdeVjp,
 *   linearInterpolation,
 * } from "@fasterode/fasterode/models/cde";
 * const x = tf.tensor3d([[[0, 1], [2, -1]], [[1, 0], [0, 3]]]); // 2 paths, 2 channels
 * const X = await linearInterpolation(x);
 * const W = tf.variable(tf.tensor2d([[0.3, -0.2, 0.5, 0.1], [0.4, 0.2, -0.6, 0.7]]));
 * const g = mlpField([{ kernel: W }], { finalActivation: "tanh", outputShape: [2, 2] });
 * const F = withCdeVjp(X, g, cdeVectorField(X, g));
 * const z = tf.tensor2d([[1, 2], [-1, 0.5]]);
 * const a = tf.tensor2d([[1, -1], [0.5, 2]]);
 * const hand = F.vjp(0.5, z, a);
 * const tape = vjp(() => [F(0.5, z)], [z, W], [a]);
 * const pairs = [[hand.value, tape.value[0]], [hand.y, tape.grads[0]], [hand.params[0], tape.grads[1]]];
 * for (const [h, t] of pairs) {
 *   const [u, v] = [h.dataSync(), t.dataSync()];
 *   u.forEach((ui: number, i: number) => assert.ok(Math.abs(ui - v[i]) < 1e-6));
 * }
 * X.dispose();
 * ```
 */
export function withCdeVjp(
  X: Interpolation,
  g: VjpField<tf.Tensor>,
  field: (t: number, z: tf.Tensor) => tf.Tensor,
): VjpField<tf.Tensor>;
/** {@link withCdeVjp} for any matrix field: `field` itself when `g` has no VJP of its own. */
export function withCdeVjp(
  X: Interpolation,
  g: (t: number, z: tf.Tensor) => tf.Tensor,
  field: (t: number, z: tf.Tensor) => tf.Tensor,
): VjpField<tf.Tensor> | ((t: number, z: tf.Tensor) => tf.Tensor);
export function withCdeVjp(
  X: Interpolation,
  g: (t: number, z: tf.Tensor) => tf.Tensor,
  field: (t: number, z: tf.Tensor) => tf.Tensor,
): VjpField<tf.Tensor> | ((t: number, z: tf.Tensor) => tf.Tensor) {
  if (!isVjpField(g)) return field;
  const matrixField = g as VjpField<tf.Tensor>;
  return withVjp(field, matrixField.params, (t, z, a): FieldVjp<tf.Tensor> => {
    const [batch, hidden] = z.shape;
    const channels = X.channels;
    const v = X.derivative(t);
    const A = tf.mul(tf.reshape(a, [batch, hidden, 1]), tf.reshape(v, [batch, 1, channels]));
    const r = matrixField.vjp(t, z, A);
    const G = r.value;
    if (G.rank !== 3 || G.shape[0] !== batch || G.shape[1] !== hidden || G.shape[2] !== channels) {
      throw new RangeError(
        `the CDE vector field g(t, z) must return [batch, hidden, channels] = ` +
          `[${batch}, ${hidden}, ${channels}] for z of shape [${z.shape}]; its vjp gave ` +
          `[${G.shape}]`,
      );
    }
    const value = tf.reshape(
      tf.matMul(G as tf.Tensor3D, tf.reshape(v, [batch, channels, 1]) as tf.Tensor3D),
      [batch, hidden],
    );
    return { value, y: r.y, params: r.params };
  });
}
