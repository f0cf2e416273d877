/**
 * The softplus MLPs of the `Symoden` networks with their derivatives written out: a
 * forward pass that keeps each hidden layer's slope `σ(z)` (`softplus′ = σ`), the input
 * gradient `cotᵀ·∂out/∂x` by one hand-written reverse pass, and the output tangent
 * `∂out/∂x · v` by one forward-mode pass.
 *
 * They exist because tfjs 4.22 cannot differentiate the gradients of `sigmoid`, `tanh`, `exp`
 * (ops that reuse their saved output) a second time, which autodiff inside the vector field
 * would need (see symoden.ts). Written with ordinary ops, these derivatives are themselves
 * first-order differentiable, as the adjoint's vector–Jacobian products require.
 *
 * @example The hand-written input gradient agrees with tfjs's
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { inputGradient, mlpForward, softplusMlp } from "./softplus_mlp.ts";
 * import { seededRandom } from "../data/mod.ts";
 * const net = softplusMlp(seededRandom(1), [4, 6, 6, 1], "softplus_mlp_doc");
 * const x = tf.tensor2d([[0.1, -0.4, 0.7, 0.2]]);
 * const pass = mlpForward(net, x);
 * const mine = inputGradient(net, pass, tf.onesLike(pass.out));
 * const ref = tf.grad((v: tf.Tensor) => tf.sum(mlpForward(net, v as tf.Tensor2D).out))(x);
 * const [a, b] = [await mine.data(), await ref.data()];
 * a.forEach((ai, i) => assert.ok(Math.abs(ai - b[i]) < 1e-6));
 * tf.dispose([x, pass.out, pass.slopes, mine, ref, net.flatMap((l) => [l.W, l.b])]);
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { uniform } from "../data/mod.ts";

/** One dense layer `y = x·W + b` (`W` is `[in, out]`, the transpose of torch's layout). */
export interface DenseLayer {
  /** Weights `[in, out]`. */
  W: tf.Variable<tf.Rank.R2>;
  /** Bias `[out]`. */
  b: tf.Variable<tf.Rank.R1>;
}

/** A forward pass of a softplus MLP: its output and `σ(z)` of each hidden layer. */
export interface MlpPass {
  /** The output `[B, out]` (the last layer is linear). */
  out: tf.Tensor2D;
  /** `softplus′(z) = σ(z)` of each hidden layer's pre-activation `z`, `[B, width]`. */
  slopes: tf.Tensor2D[];
}

/** A dense layer initialised like `torch.nn.Linear`: W, b ~ U(±1/√fanIn). */
function denseLayer(rng: () => number, fanIn: number, fanOut: number, name: string): DenseLayer {
  const bound = 1 / Math.sqrt(fanIn);
  const draw = (n: number) => Float32Array.from({ length: n }, () => uniform(rng, -bound, bound));
  // torch stores W as [out, in] and fills it in that order; keep the order, store transposed.
  const wOutIn = draw(fanIn * fanOut);
  const w = new Float32Array(fanIn * fanOut);
  for (let o = 0; o < fanOut; o++) {
    for (let i = 0; i < fanIn; i++) w[i * fanOut + o] = wOutIn[o * fanIn + i];
  }
  const b = draw(fanOut);
  // tidy disposes the initial-value tensors; the variables keep their own reference.
  return tf.tidy(() => ({
    W: tf.variable(tf.tensor2d(w, [fanIn, fanOut]), true, `${name}/W`) as tf.Variable<tf.Rank.R2>,
    b: tf.variable(tf.tensor1d(b), true, `${name}/b`) as tf.Variable<tf.Rank.R1>,
  }));
}

/**
 * The layers of an MLP with layer sizes `sizes` (input first), initialised like
 * `torch.nn.Linear` from `rng` in layer order; variables named `<name>/<k>/W` and `/b`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { softplusMlp } from "./softplus_mlp.ts";
 * const net = softplusMlp(Math.random, [4, 8, 3], "softplus_mlp_sizes_doc");
 * assert.deepEqual(net.map((l) => l.W.shape), [[4, 8], [8, 3]]);
 * tf.dispose(net.flatMap((l) => [l.W, l.b]));
 * ```
 */
export function softplusMlp(rng: () => number, sizes: number[], name: string): DenseLayer[] {
  return sizes.slice(1).map((n, i) => denseLayer(rng, sizes[i], n, `${name}/${i + 1}`));
}

/**
 * The forward pass of `layers` on `x` `[B, in]`: softplus hidden layers, a linear last one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { mlpForward, softplusMlp } from "./softplus_mlp.ts";
 * const net = softplusMlp(Math.random, [4, 8, 3], "softplus_mlp_forward_doc");
 * const pass = mlpForward(net, tf.zeros([2, 4]));
 * assert.deepEqual([pass.out.shape, pass.slopes.length], [[2, 3], 1]);
 * ```
 */
export function mlpForward(layers: DenseLayer[], x: tf.Tensor2D): MlpPass {
  let h = x;
  const slopes: tf.Tensor2D[] = [];
  for (let i = 0; i < layers.length - 1; i++) {
    const z = tf.add(tf.matMul(h, layers[i].W), layers[i].b) as tf.Tensor2D;
    slopes.push(tf.sigmoid(z));
    h = tf.softplus(z);
  }
  const last = layers[layers.length - 1];
  return { out: tf.add(tf.matMul(h, last.W), last.b) as tf.Tensor2D, slopes };
}

/**
 * The input gradient `cotᵀ·∂out/∂x` of a pass (reverse mode by hand), `[B, in]`, for the
 * output cotangent `cot` `[B, out]`. See the module example.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { inputGradient, mlpForward, softplusMlp } from "./softplus_mlp.ts";
 * const net = softplusMlp(Math.random, [4, 8, 3], "softplus_mlp_grad_doc");
 * const pass = mlpForward(net, tf.zeros([2, 4]));
 * assert.deepEqual(inputGradient(net, pass, tf.ones([2, 3])).shape, [2, 4]);
 * ```
 */
export function inputGradient(layers: DenseLayer[], pass: MlpPass, cot: tf.Tensor2D): tf.Tensor2D {
  let g = tf.matMul(cot, layers[layers.length - 1].W, false, true);
  for (let i = layers.length - 2; i >= 0; i--) {
    g = tf.matMul(tf.mul(g, pass.slopes[i]), layers[i].W, false, true);
  }
  return g as tf.Tensor2D;
}

/**
 * The output tangent `∂out/∂x · v` of a pass (forward mode by hand), `[B, out]`, along the
 * input direction `v` `[B, in]`.
 *
 * @example Against a central difference
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { mlpForward, outputTangent, softplusMlp } from "./softplus_mlp.ts";
 * const net = softplusMlp(Math.random, [2, 5, 1], "softplus_mlp_tangent_doc");
 * const x = tf.tensor2d([[0.3, -0.2]]);
 * const v = tf.tensor2d([[1, 0.5]]);
 * const tangent = (await outputTangent(net, mlpForward(net, x), v).data())[0];
 * const at = async (s: number) =>
 *   (await mlpForward(net, tf.add(x, tf.mul(v, s)) as tf.Tensor2D).out.data())[0];
 * const fd = (await at(1e-2) - await at(-1e-2)) / 2e-2;
 * assert.ok(Math.abs(tangent - fd) < 1e-3);
 * ```
 */
export function outputTangent(layers: DenseLayer[], pass: MlpPass, v: tf.Tensor2D): tf.Tensor2D {
  let t: tf.Tensor = v;
  for (let i = 0; i < layers.length - 1; i++) {
    t = tf.mul(tf.matMul(t as tf.Tensor2D, layers[i].W), pass.slopes[i]);
  }
  return tf.matMul(t as tf.Tensor2D, layers[layers.length - 1].W) as tf.Tensor2D;
}
