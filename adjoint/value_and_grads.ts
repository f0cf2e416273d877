/**
 * Gradients of a whole model with an adjoint solve in the middle:
 * `loss = after(solve(before()))`, where `before` (an encoder producing `y0`) and `after` (a
 * readout and a loss) are ordinary tfjs code.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { SolveStats } from "../solvers/odeint.ts";
import { partsOf, type State } from "../solvers/state.ts";
import type { AdjointSolution } from "./odeint_adjoint.ts";
import { vjp } from "./vjp.ts";

/** The three stages of a model around an adjoint solve. */
export interface AdjointModel<S extends State> {
  /** Computes the initial state from the variables (an encoder); may be `() => y0`. */
  before: () => S;
  /** Solves from `y0` with `odeintAdjoint` (the solve's `params` are matched to `variables`). */
  solve: (y0: S) => Promise<AdjointSolution<S>>;
  /** Readout and loss from the outputs at every time; returns a scalar. */
  after: (ys: S) => tf.Scalar;
  /**
   * Other numbers read off the outputs, not differentiated (JAX's `has_aux`), e.g. the number of
   * correct predictions; returned by name as {@link AdjointValueAndGrads.aux}.
   */
  aux?: (ys: S) => Record<string, tf.Scalar>;
}

/**
 * Gradients by variable name, as every tfjs optimizer's `applyGradients` takes them.
 *
 * The values are plain tensors (gradients, not variables: never `assign` to them). The type also
 * reads as a map of `tf.Variable`s (tfjs's `NamedVariableMap`) only because tfjs 4 declares `applyGradients` of Adam, Adamax,
 * Adagrad, Adadelta and Momentum with that type, though they read nothing but the tensors (SGD,
 * RMSProp and the base `tf.Optimizer` declare `tf.NamedTensorMap`); so no caller needs a cast.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import assert from "node:assert/strict";
 * import { adjointValueAndGrads, type Gradients, odeintAdjoint } from "@fasterode/fasterode";
 * const rate = tf.variable(tf.scalar(-1), true, "gradients_doc_rate");
 * const { grads }: { grads: Gradients } = await adjointValueAndGrads({
 *   before: () => tf.tensor([1]),
 *   solve: (y0) => odeintAdjoint((_t, y) => tf.mul(rate, y), y0, [0, 1], [rate]),
 *   after: (ys) => tf.sum(tf.slice(ys, [1], [1])), // L = e^{rate}: dL/drate > 0
 * }, [rate]);
 * tf.train.adam(0.1).applyGradients(grads); // type-checks without a cast
 * assert.ok(rate.dataSync()[0] < -1);
 * ```
 */
export type Gradients = tf.NamedTensorMap & { [name: string]: tf.Variable };

/** Loss, gradients and solve statistics of one {@link adjointValueAndGrads} call. */
export interface AdjointValueAndGrads {
  /** The loss. */
  value: number;
  /** `dL/dv` for every variable, by `v.name`: ready for any optimizer's `applyGradients`. */
  grads: Gradients;
  /** Forward-solve statistics. */
  forward: SolveStats;
  /** Backward-solve statistics. */
  backward: SolveStats;
  /** The values of {@link AdjointModel.aux}, by name (empty without it). */
  aux: Record<string, number>;
}

/**
 * The loss of `model` and its gradient with respect to `variables`: the encoder and the readout
 * are differentiated by tfjs, the solve by the adjoint method. The encoder is run a second time
 * (under a tape) once `dL/dy0` is known, so no tape is held across the solve.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import assert from "node:assert/strict";
 * import { adjointValueAndGrads, odeintAdjoint } from "@fasterode/fasterode";
 * const enc = tf.variable(tf.scalar(2), true, "enc");   // y0 = enc
 * const rate = tf.variable(tf.scalar(-1), true, "rate"); // y' = rate·y
 * const { value, grads } = await adjointValueAndGrads({
 *   before: () => tf.reshape(enc, [1]),
 *   solve: (y0) => odeintAdjoint((_t, y) => tf.mul(rate, y), y0, [0, 1], [rate], { rtol: 1e-6 }),
 *   after: (ys) => tf.sum(tf.slice(ys, [1], [1])),     // L = y(1) = enc·e^{rate}
 * }, [enc, rate]);
 * assert.ok(Math.abs(value - 2 * Math.exp(-1)) < 1e-5);
 * assert.ok(Math.abs((await grads.enc.data())[0] - Math.exp(-1)) < 1e-4);
 * assert.ok(Math.abs((await grads.rate.data())[0] - 2 * Math.exp(-1)) < 1e-4);
 * tf.train.adam(0.1).applyGradients(grads); // any optimizer, no cast
 * ```
 *
 * @example A number read off the outputs besides the loss (`aux`)
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import assert from "node:assert/strict";
 * import { adjointValueAndGrads, odeintAdjoint } from "@fasterode/fasterode";
 * const rate = tf.variable(tf.scalar(-1), true, "aux_rate");
 * const { value, aux } = await adjointValueAndGrads({
 *   before: () => tf.tensor([1, -2, 3]),
 *   solve: (y0) => odeintAdjoint((_t, y) => tf.mul(rate, y), y0, [0, 1], [rate]),
 *   after: (ys) => tf.sum(tf.square(tf.slice(ys, [1], [1]))),
 *   aux: (ys) => ({ positive: tf.sum(tf.cast(tf.greater(tf.slice(ys, [1], [1]), 0), "float32")) }),
 * }, [rate]);
 * assert.equal(aux.positive, 2);
 * assert.ok(Math.abs(value - 14 * Math.exp(-2)) < 1e-3);
 * ```
 */
export async function adjointValueAndGrads<S extends State>(
  model: AdjointModel<S>,
  variables: tf.Variable[],
): Promise<AdjointValueAndGrads> {
  const names = new Set(variables.map((v) => v.name));
  if (names.size !== variables.length) throw new TypeError("variables must have distinct names");
  // Cloned, so that a y0 which `before` merely returns (data, not a new tensor) stays the caller's.
  const y0 = tf.tidy(() => {
    const v = model.before();
    return (Array.isArray(v) ? v.map((x) => tf.clone(x)) : tf.clone(v)) as S;
  });
  let sol: AdjointSolution<S> | undefined;
  const toDispose: tf.TensorContainer[] = [y0];
  try {
    sol = await model.solve(y0);
    toDispose.push(sol.ys);
    const ys = partsOf(sol.ys);
    // Readout: dL/dys and dL/dv for the variables it uses.
    const head = tf.tidy(() =>
      vjp(() => [model.after(sol!.ys)], [...ys, ...variables], [tf.scalar(1)])
    );
    toDispose.push(head.value, head.grads);
    const value = (await head.value[0].data())[0];
    const auxTensors = model.aux ? tf.tidy(() => model.aux!(sol!.ys)) : {};
    toDispose.push(auxTensors);
    const aux: Record<string, number> = {};
    for (const [name, t] of Object.entries(auxTensors)) aux[name] = (await t.data())[0];
    const dLdys = (Array.isArray(sol.ys) ? head.grads.slice(0, ys.length) : head.grads[0]) as S;
    const back = await sol.backward(dLdys);
    toDispose.push(back.y0, back.params);
    // Encoder: dL/dv through y0.
    const enc = tf.tidy(() => vjp(() => partsOf(model.before()), variables, partsOf(back.y0)));
    toDispose.push(enc.value, enc.grads);
    const grads: tf.NamedTensorMap = {};
    variables.forEach((v, i) => {
      grads[v.name] = tf.tidy(() => {
        const k = sol!.params.indexOf(v);
        const fromSolve = k >= 0 ? back.params[k] : tf.zerosLike(v);
        return tf.addN([head.grads[ys.length + i], enc.grads[i], fromSolve]);
      });
    });
    return { value, grads: grads as Gradients, forward: sol.stats, backward: back.stats, aux };
  } finally {
    tf.dispose(toDispose);
  }
}
