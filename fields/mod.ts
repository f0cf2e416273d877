/**
 * Vector fields built from layers, each with a hand-written vector–Jacobian product for the
 * adjoint (see `withVjp` in `adjoint/vjp_field.ts` for a field of your own).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { mlpField } from "@fasterode/fasterode";
 * const f = mlpField([{ kernel: tf.eye(2) }], { finalActivation: "tanh" }); // f(t, y) = tanh(y)
 * const dy = f(0, tf.tensor2d([[0, 1]]));
 * assert.ok(Math.abs((await dy.data())[1] - Math.tanh(1)) < 1e-6);
 * ```
 *
 * @module
 */
export {
  type Activation,
  ACTIVATIONS,
  type DenseLayer,
  mlpField,
  type MlpFieldOptions,
} from "./mlp.ts";
