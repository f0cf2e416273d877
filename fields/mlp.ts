/**
 * `mlpField`: a multilayer-perceptron vector field (Dense layers with an activation, optional time
 * input) that computes its own vector–Jacobian product, so that the adjoint's backward solve
 * needs no gradient tape.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type FieldVjp, type VjpField, withVjp } from "../adjoint/vjp_field.ts";

/** Activations {@link mlpField} differentiates by hand. */
export type Activation = "tanh" | "relu" | "sigmoid" | "softplus" | "linear";

/**
 * The activation names {@link mlpField} accepts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ACTIVATIONS } from "@fasterode/fasterode";
 * assert.ok(ACTIVATIONS.includes("tanh") && ACTIVATIONS.includes("relu"));
 * ```
 */
export const ACTIVATIONS: readonly Activation[] = Object.freeze([
  "tanh",
  "relu",
  "sigmoid",
  "softplus",
  "linear",
]);

/** One Dense layer: `x ↦ x·kernel + bias`. */
export interface DenseLayer {
  /** `[inputs, outputs]` (Keras layout; a torch `weight` is its transpose). */
  kernel: tf.Tensor;
  /** `[outputs]`; omit for a layer without bias. */
  bias?: tf.Tensor;
}

/** Options of {@link mlpField}. */
export interface MlpFieldOptions {
  /** Activation after every layer but the last (default `"tanh"`). */
  activation?: Activation;
  /** Activation after the last layer (default `"linear"`). */
  finalActivation?: Activation;
  /**
   * Time input: `[outputs of the first layer]`; `t·timeKernel` is added to the first layer's
   * pre-activation (a Dense layer on `[y, t]` with the kernel's row for `t` kept apart).
   */
  timeKernel?: tf.Tensor;
  /**
   * Shape of the value per sample (default `[outputs]`, which must then equal the state's
   * width, as a vector field's). Another shape, of size the last layer's outputs, makes the MLP
   * a map `[batch, inputs] → [batch, ...outputShape]` for building other fields (the Neural
   * CDE's matrix `g(z)`); `vjp`'s cotangent `a` then has the value's shape, not the state's.
   */
  outputShape?: number[];
}

/** Applies an activation. */
function activate(kind: Activation, x: tf.Tensor): tf.Tensor {
  switch (kind) {
    case "tanh":
      return tf.tanh(x);
    case "relu":
      return tf.relu(x);
    case "sigmoid":
      return tf.sigmoid(x);
    case "softplus":
      return tf.softplus(x);
    case "linear":
      return x;
  }
}

/** `δ ⊙ act'(z)`, from the pre-activation `z` and the output `h = act(z)`. */
function backActivation(kind: Activation, delta: tf.Tensor, z: tf.Tensor, h: tf.Tensor) {
  switch (kind) {
    case "tanh": // 1 − h²
      return tf.sub(delta, tf.mul(tf.mul(delta, h), h));
    case "relu":
      return tf.mul(delta, tf.step(z));
    case "sigmoid": // h(1 − h)
      return tf.mul(tf.mul(delta, h), tf.sub(1, h));
    case "softplus":
      return tf.mul(delta, tf.sigmoid(z));
    case "linear":
      return delta;
  }
}

/**
 * A multilayer perceptron as a vector field `f(t, y)`, for a state `y` of shape
 * `[batch, inputs]` (or `[inputs]`), with a hand-written VJP: {@link odeintAdjoint} computes
 * `aᵀ∂f/∂y` and `aᵀ∂f/∂θ` with it (per layer one product for the weights' gradient, one for the
 * input's, and a batch sum for the bias) instead of running `f` under tfjs's tape.
 *
 * `params` lists each layer's `kernel` and `bias` (when given) in order, then `timeKernel`.
 * The first layer's inputs and the last layer's outputs must both equal the state's width
 * (unless `outputShape` reshapes the value, for a building block of another field). The
 * tensors are read, not copied (pass `tf.Variable`s to train them).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { mlpField, odeintAdjoint } from "@fasterode/fasterode";
 * const layers = [
 *   { kernel: tf.variable(tf.randomNormal([2, 16], 0, 0.5, "float32", 1)), bias: tf.variable(tf.zeros([16])) },
 *   { kernel: tf.variable(tf.randomNormal([16, 2], 0, 0.5, "float32", 2)) },
 * ];
 * const f = mlpField(layers, { activation: "tanh" });
 * assert.equal(f.params.length, 3);
 * const y0 = tf.tensor2d([[1, 0], [0, 1]]);
 * const sol = await odeintAdjoint(f, y0, [0, 1], f.params, { adjoint: { norm: "seminorm" } });
 * const g = await sol.backward(tf.ones([2, 2, 2]));  // L = Σ y(t) over both times
 * assert.deepEqual(g.params.map((p) => p.shape), [[2, 16], [16], [16, 2]]);
 * ```
 */
export function mlpField(layers: DenseLayer[], options: MlpFieldOptions = {}): VjpField<tf.Tensor> {
  const { activation = "tanh", finalActivation = "linear", timeKernel, outputShape } = options;
  for (const [name, kind] of [["activation", activation], ["finalActivation", finalActivation]]) {
    if (!(ACTIVATIONS as readonly string[]).includes(kind)) {
      throw new TypeError(
        `mlpField: unknown ${name} "${kind}"; use one of ${ACTIVATIONS.join(", ")}`,
      );
    }
  }
  if (!Array.isArray(layers) || layers.length === 0) {
    throw new TypeError("mlpField: layers must be a non-empty array of { kernel, bias? }");
  }
  layers.forEach(({ kernel, bias }, i) => {
    if (!(kernel instanceof tf.Tensor) || kernel.rank !== 2) {
      throw new TypeError(
        `mlpField: layers[${i}].kernel must be a rank-2 tensor [inputs, outputs]`,
      );
    }
    if (i > 0 && kernel.shape[0] !== layers[i - 1].kernel.shape[1]) {
      throw new RangeError(
        `mlpField: layers[${i}].kernel has ${kernel.shape[0]} inputs, but layers[${i - 1}] has ` +
          `${layers[i - 1].kernel.shape[1]} outputs`,
      );
    }
    if (
      bias !== undefined &&
      !(bias instanceof tf.Tensor && bias.rank === 1 && bias.shape[0] === kernel.shape[1])
    ) {
      throw new RangeError(`mlpField: layers[${i}].bias must have shape [${kernel.shape[1]}]`);
    }
  });
  const width = layers[0].kernel.shape[1];
  if (
    timeKernel !== undefined &&
    !(timeKernel instanceof tf.Tensor && timeKernel.rank === 1 && timeKernel.shape[0] === width)
  ) {
    throw new RangeError(
      `mlpField: timeKernel must have shape [${width}] (the first layer's outputs)`,
    );
  }
  const inputs = layers[0].kernel.shape[0];
  const outputs = layers[layers.length - 1].kernel.shape[1] as number; // rank 2, checked above
  if (
    outputShape !== undefined &&
    !(Array.isArray(outputShape) && outputShape.every((d) => Number.isInteger(d) && d >= 1) &&
      outputShape.reduce((a, b) => a * b, 1) === outputs)
  ) {
    throw new RangeError(
      `mlpField: outputShape must be positive integers whose product is the last layer's ` +
        `${outputs} outputs; got ${JSON.stringify(outputShape)}`,
    );
  }
  if (outputShape === undefined && inputs !== outputs) {
    throw new RangeError(
      `mlpField: a vector field maps the state to its own width, but the first layer takes ` +
        `${inputs} inputs and the last gives ${outputs}`,
    );
  }
  const params = [
    ...layers.flatMap(({ kernel, bias }) => bias === undefined ? [kernel] : [kernel, bias]),
    ...(timeKernel === undefined ? [] : [timeKernel]),
  ];
  const kindOf = (i: number) => i === layers.length - 1 ? finalActivation : activation;
  const asBatch = (y: tf.Tensor): tf.Tensor2D => {
    if (y.rank === 2 && y.shape[1] === inputs) return y as tf.Tensor2D;
    if (y.rank === 1 && y.shape[0] === inputs) return tf.reshape(y, [1, inputs]);
    throw new TypeError(
      `mlpField: the state must have shape [batch, ${inputs}] or [${inputs}], got [${y.shape}]`,
    );
  };

  /** The forward pass, keeping each layer's input, pre-activation and output. */
  const forward = (t: number, y: tf.Tensor) => {
    const xs: tf.Tensor2D[] = [], zs: tf.Tensor[] = [], hs: tf.Tensor[] = [];
    let h: tf.Tensor = asBatch(y);
    layers.forEach(({ kernel, bias }, i) => {
      xs.push(h as tf.Tensor2D);
      let z: tf.Tensor = tf.matMul(h as tf.Tensor2D, kernel as tf.Tensor2D);
      if (bias !== undefined) z = tf.add(z, bias);
      if (i === 0 && timeKernel !== undefined) z = tf.add(z, tf.mul(timeKernel, t));
      zs.push(z);
      h = activate(kindOf(i), z);
      hs.push(h);
    });
    const shape = outputShape ?? [outputs];
    const out = y.rank === 1
      ? tf.reshape(h, shape)
      : outputShape === undefined
      ? h
      : tf.reshape(h, [h.shape[0], ...shape]);
    return { xs, zs, hs, out };
  };

  const f = (t: number, y: tf.Tensor): tf.Tensor => forward(t, y).out;

  const vjp = (t: number, y: tf.Tensor, a: tf.Tensor): FieldVjp<tf.Tensor> => {
    if (outputShape !== undefined) {
      const shape = y.rank === 1 ? outputShape : [y.shape[0], ...outputShape];
      if (!tf.util.arraysEqual(a.shape, shape)) {
        throw new RangeError(`mlpField: the cotangent a must have the value's shape [${shape}]`);
      }
    }
    const { xs, zs, hs, out } = forward(t, y);
    const grads: tf.Tensor[][] = layers.map(() => []);
    let timeGrad: tf.Tensor | undefined;
    let delta: tf.Tensor = outputShape === undefined ? asBatch(a) : tf.reshape(a, [-1, outputs]);
    for (let i = layers.length - 1; i >= 0; i--) {
      const { kernel, bias } = layers[i];
      delta = backActivation(kindOf(i), delta, zs[i], hs[i]);
      grads[i].push(tf.matMul(xs[i], delta as tf.Tensor2D, true, false));
      if (bias !== undefined || (i === 0 && timeKernel !== undefined)) {
        const biasGrad = tf.sum(delta, 0);
        if (bias !== undefined) grads[i].push(biasGrad);
        if (i === 0 && timeKernel !== undefined) timeGrad = tf.mul(biasGrad, t);
      }
      delta = tf.matMul(delta as tf.Tensor2D, kernel as tf.Tensor2D, false, true);
    }
    return {
      value: out,
      y: y.rank === 1 ? tf.reshape(delta, [inputs]) : delta,
      params: [...grads.flat(), ...(timeGrad === undefined ? [] : [timeGrad])],
    };
  };

  return withVjp(f, params, vjp);
}
