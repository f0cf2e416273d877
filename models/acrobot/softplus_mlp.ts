/**
 * The softplus MLPs of the `Symoden` networks with their derivatives written out: a forward
 * pass that keeps each layer's input and each hidden layer's slope `σ(z)` (`softplus′ = σ`), the
 * input gradient `cotᵀ·∂out/∂x` by one hand-written reverse pass, the output tangent
 * `∂out/∂x · v` by one forward-mode pass, and the reverse (vector–Jacobian product) of all three
 * with respect to the input, the weights and the biases ({@link derivativeVjp}, {@link mlpVjp}).
 *
 * They exist because tfjs 4.22 cannot differentiate the gradients of `sigmoid`, `tanh`, `exp`
 * (ops that reuse their saved output) a second time, which autodiff inside the vector field
 * would need (see symoden.ts). Written with ordinary ops, these derivatives are themselves
 * first-order differentiable (so the tape can still take the adjoint's VJPs), and their own
 * reverse is written out too, so that the adjoint needs no tape at all (symoden_field.ts).
 *
 * **Notation** (all per batch row; `K` layers, the last one linear):
 *
 * ```
 * forward   h₀ = x,  z_k = h_k·W_k + b_k,  s_k = σ(z_k),  h_{k+1} = softplus(z_k)   (k < K−1)
 *           out = z_{K−1} = h_{K−1}·W_{K−1} + b_{K−1}
 * gradient  δ_{K−1} = cot,  G_k = δ_k·W_kᵀ,  δ_{k−1} = G_k ⊙ s_{k−1};   result G₀
 * tangent   t₀ = v,  r_k = t_k·W_k,  t_{k+1} = r_k ⊙ s_k;                result r_{K−1}
 * ```
 *
 * **Reverse.** With a cotangent `Ḡ₀` of the gradient, `T̄` of the tangent and `ō` of `out`:
 *
 * ```
 * gradient  τ₀ = Ḡ₀,  δ̄_k = τ_k·W_k,  τ_{k+1} = δ̄_k ⊙ s_k,  s̄_k += δ̄_k ⊙ G_{k+1},
 *           W̄_k += τ_kᵀ·δ_k,  c̄ot = δ̄_{K−1}        (the reverse of a reverse pass runs forward)
 * tangent   r̄_{K−1} = T̄,  t̄_k = r̄_k·W_kᵀ,  r̄_{k−1} = t̄_k ⊙ s_{k−1},  s̄_{k−1} += t̄_k ⊙ r_{k−1},
 *           W̄_k += t_kᵀ·r̄_k,  v̄ = t̄₀
 * forward   z̄_{K−1} = ō,  h̄_k = z̄_k·W_kᵀ,  z̄_{k−1} = h̄_k ⊙ s_{k−1} + s̄_{k−1} ⊙ s_{k−1}(1 − s_{k−1}),
 *           W̄_k += h_kᵀ·z̄_k,  b̄_k = Σ_batch z̄_k,  x̄ = h̄₀
 * ```
 *
 * (`σ′ = σ(1 − σ)`.) The three contributions to `W̄_k` are summed by one product of the
 * factors stacked along the batch, `[h_k; τ_k; t_k]ᵀ·[z̄_k; δ_k; r̄_k]`.
 *
 * @example The hand-written input gradient agrees with tfjs's
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { inputGradient, mlpForward, softplusMlp } from "./softplus_mlp.ts";
 * import { seededRandom } from "@fasterode/fasterode/models/data";
 * const net = softplusMlp(seededRandom(1), [4, 6, 6, 1], "softplus_mlp_doc");
 * const x = tf.tensor2d([[0.1, -0.4, 0.7, 0.2]]);
 * const pass = mlpForward(net, x);
 * const mine = inputGradient(net, pass, tf.onesLike(pass.out));
 * const ref = tf.grad((v: tf.Tensor) => tf.sum(mlpForward(net, v as tf.Tensor2D).out))(x);
 * const [a, b] = [await mine.data(), await ref.data()];
 * a.forEach((ai, i) => assert.ok(Math.abs(ai - b[i]) < 1e-6));
 * tf.dispose([x, pass.out, pass.slopes, pass.inputs, mine, ref, net.flatMap((l) => [l.W, l.b])]);
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

/** A forward pass of a softplus MLP: its output, each layer's input and `σ(z)` per hidden layer. */
export interface MlpPass {
  /** The output `[B, out]` (the last layer is linear). */
  out: tf.Tensor2D;
  /** `softplus′(z) = σ(z)` of each hidden layer's pre-activation `z`, `[B, width]`. */
  slopes: tf.Tensor2D[];
  /** The input `h_k` of each layer (`h₀ = x`), `[B, in_k]`. */
  inputs: tf.Tensor2D[];
}

/** An input-gradient pass ({@link gradientPass}): the gradient and what its reverse needs. */
export interface GradientPass {
  /** `cotᵀ·∂out/∂x`, `[B, in]`. */
  grad: tf.Tensor2D;
  /** `δ_k`, the gradient with respect to each layer's pre-activation (`δ_{K−1} = cot`). */
  deltas: tf.Tensor2D[];
  /** `G_k = δ_k·W_kᵀ`, the gradient with respect to each layer's input (`G₀` = `grad`). */
  inputGrads: tf.Tensor2D[];
}

/** An output-tangent pass ({@link tangentPass}): the tangent and what its reverse needs. */
export interface TangentPass {
  /** `∂out/∂x · v`, `[B, out]`. */
  tangent: tf.Tensor2D;
  /** `t_k`, the tangent of each layer's input (`t₀ = v`). */
  inputs: tf.Tensor2D[];
  /** `r_k = t_k·W_k`, the tangent of each layer's pre-activation (`r_{K−1}` = `tangent`). */
  pre: tf.Tensor2D[];
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
  const inputs: tf.Tensor2D[] = [];
  for (let i = 0; i < layers.length - 1; i++) {
    inputs.push(h);
    const z = tf.add(tf.matMul(h, layers[i].W), layers[i].b) as tf.Tensor2D;
    slopes.push(tf.sigmoid(z));
    h = tf.softplus(z);
  }
  inputs.push(h);
  const last = layers[layers.length - 1];
  return { out: tf.add(tf.matMul(h, last.W), last.b) as tf.Tensor2D, slopes, inputs };
}

/**
 * The input gradient `cotᵀ·∂out/∂x` of a pass by one hand-written reverse pass, keeping the
 * `δ_k` and `G_k` that its own reverse ({@link derivativeVjp}) needs; `cot` is `[B, out]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { gradientPass, mlpForward, softplusMlp } from "./softplus_mlp.ts";
 * const net = softplusMlp(Math.random, [4, 8, 3], "softplus_mlp_gpass_doc");
 * const g = gradientPass(net, mlpForward(net, tf.zeros([2, 4])), tf.ones([2, 3]));
 * assert.deepEqual([g.grad.shape, g.deltas.length, g.inputGrads.length], [[2, 4], 2, 2]);
 * ```
 */
export function gradientPass(layers: DenseLayer[], pass: MlpPass, cot: tf.Tensor2D): GradientPass {
  const K = layers.length;
  const deltas: tf.Tensor2D[] = new Array(K);
  const inputGrads: tf.Tensor2D[] = new Array(K);
  deltas[K - 1] = cot;
  for (let k = K - 1; k >= 0; k--) {
    inputGrads[k] = tf.matMul(deltas[k], layers[k].W, false, true);
    if (k > 0) deltas[k - 1] = tf.mul(inputGrads[k], pass.slopes[k - 1]) as tf.Tensor2D;
  }
  return { grad: inputGrads[0], deltas, inputGrads };
}

/**
 * The input gradient `cotᵀ·∂out/∂x` of a pass (reverse mode by hand), `[B, in]`, for the
 * output cotangent `cot` `[B, out]` ({@link gradientPass}'s `grad`). See the module example.
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
  return gradientPass(layers, pass, cot).grad;
}

/**
 * The output tangent `∂out/∂x · v` of a pass by one forward-mode pass, keeping the `t_k` and
 * `r_k` that its reverse ({@link derivativeVjp}) needs; `v` is `[B, in]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { mlpForward, softplusMlp, tangentPass } from "./softplus_mlp.ts";
 * const net = softplusMlp(Math.random, [4, 8, 3], "softplus_mlp_tpass_doc");
 * const t = tangentPass(net, mlpForward(net, tf.zeros([2, 4])), tf.ones([2, 4]));
 * assert.deepEqual([t.tangent.shape, t.inputs.length, t.pre.length], [[2, 3], 2, 2]);
 * ```
 */
export function tangentPass(layers: DenseLayer[], pass: MlpPass, v: tf.Tensor2D): TangentPass {
  const inputs: tf.Tensor2D[] = [];
  const pre: tf.Tensor2D[] = [];
  let t = v;
  layers.forEach((layer, k) => {
    inputs.push(t);
    const r = tf.matMul(t, layer.W) as tf.Tensor2D;
    pre.push(r);
    if (k < layers.length - 1) t = tf.mul(r, pass.slopes[k]) as tf.Tensor2D;
  });
  return { tangent: pre[pre.length - 1], inputs, pre };
}

/**
 * The output tangent `∂out/∂x · v` of a pass (forward mode by hand), `[B, out]`, along the
 * input direction `v` `[B, in]` ({@link tangentPass}'s `tangent`).
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
  return tangentPass(layers, pass, v).tangent;
}

/**
 * What the reverse of a gradient and/or tangent pass gives ({@link derivativeVjp}), to be
 * finished by {@link mlpVjp}.
 */
export interface DerivativeVjp {
  /** `c̄ot`: the cotangent of the gradient pass's `cot`, `[B, out]` (with a gradient). */
  cot?: tf.Tensor2D;
  /** `v̄`: the cotangent of the tangent pass's direction `v`, `[B, in]` (with a tangent). */
  v?: tf.Tensor2D;
  /** `s̄_k`, the cotangent of each hidden layer's slope (undefined where none). */
  slopes: (tf.Tensor2D | undefined)[];
  /** Per layer, the pairs `(L, R)` whose products `Lᵀ·R` sum to its part of `W̄_k`. */
  factors: [tf.Tensor2D, tf.Tensor2D][][];
}

/** Adds `x` to an optional accumulator. */
function accumulate(acc: tf.Tensor2D | undefined, x: tf.Tensor2D): tf.Tensor2D {
  return acc === undefined ? x : tf.add(acc, x) as tf.Tensor2D;
}

/**
 * The reverse of a {@link gradientPass} (cotangent `Ḡ₀` of its `grad`, `[B, in]`) and/or a
 * {@link tangentPass} (cotangent `T̄` of its `tangent`, `[B, out]`) of the same forward pass, by
 * the formulas of the module documentation: the cotangents of their inputs `cot` and `v`, of the
 * slopes `σ(z_k)` and the weight factors. Hand the result to {@link mlpVjp}, with the cotangent of
 * the forward output, to get the input's and the parameters' gradients.
 *
 * @example The reverse of `x ↦ ∂(Σ out)/∂x` against tfjs's tape of {@link inputGradient}
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { derivativeVjp, gradientPass, mlpForward, mlpVjp, softplusMlp } from "./softplus_mlp.ts";
 * import { seededRandom } from "@fasterode/fasterode/models/data";
 * const net = softplusMlp(seededRandom(3), [2, 5, 1], "softplus_mlp_dvjp_doc");
 * const x = tf.tensor2d([[0.3, -0.2], [1, 0.4]]);
 * const gBar = tf.tensor2d([[1, -2], [0.5, 0.25]]);
 * const pass = mlpForward(net, x);
 * const grad = gradientPass(net, pass, tf.onesLike(pass.out));
 * const mine = mlpVjp(net, pass, undefined, derivativeVjp(net, pass, { gradient: { pass: grad, cotangent: gBar } }));
 * const ref = tf.grad((v: tf.Tensor) => {
 *   const p = mlpForward(net, v as tf.Tensor2D);
 *   return tf.sum(tf.mul(gradientPass(net, p, tf.onesLike(p.out)).grad, gBar));
 * })(x);
 * const [a, b] = [await mine.x.data(), await ref.data()];
 * a.forEach((ai, i) => assert.ok(Math.abs(ai - b[i]) < 1e-6));
 * ```
 */
export function derivativeVjp(
  layers: DenseLayer[],
  pass: MlpPass,
  parts: {
    gradient?: { pass: GradientPass; cotangent: tf.Tensor2D };
    tangent?: { pass: TangentPass; cotangent: tf.Tensor2D };
  },
): DerivativeVjp {
  const K = layers.length;
  const slopes: (tf.Tensor2D | undefined)[] = new Array(K - 1).fill(undefined);
  const factors: [tf.Tensor2D, tf.Tensor2D][][] = layers.map(() => []);
  const result: DerivativeVjp = { slopes, factors };
  if (parts.gradient !== undefined) {
    // Runs forward: τ₀ = Ḡ₀, δ̄_k = τ_k·W_k, τ_{k+1} = δ̄_k ⊙ s_k.
    const { deltas, inputGrads } = parts.gradient.pass;
    let tau = parts.gradient.cotangent;
    for (let k = 0; k < K; k++) {
      factors[k].push([tau, deltas[k]]);
      const deltaBar = tf.matMul(tau, layers[k].W) as tf.Tensor2D;
      if (k === K - 1) {
        result.cot = deltaBar;
      } else {
        slopes[k] = accumulate(slopes[k], tf.mul(deltaBar, inputGrads[k + 1]) as tf.Tensor2D);
        tau = tf.mul(deltaBar, pass.slopes[k]) as tf.Tensor2D;
      }
    }
  }
  if (parts.tangent !== undefined) {
    // Runs backward: r̄_{K−1} = T̄, t̄_k = r̄_k·W_kᵀ, r̄_{k−1} = t̄_k ⊙ s_{k−1}.
    const { inputs, pre } = parts.tangent.pass;
    let rBar = parts.tangent.cotangent;
    for (let k = K - 1; k >= 0; k--) {
      factors[k].push([inputs[k], rBar]);
      const tBar = tf.matMul(rBar, layers[k].W, false, true) as tf.Tensor2D;
      if (k === 0) {
        result.v = tBar;
      } else {
        slopes[k - 1] = accumulate(slopes[k - 1], tf.mul(tBar, pre[k - 1]) as tf.Tensor2D);
        rBar = tf.mul(tBar, pass.slopes[k - 1]) as tf.Tensor2D;
      }
    }
  }
  return result;
}

/** The gradients {@link mlpVjp} returns. */
export interface MlpGradients {
  /** `x̄`, `[B, in]`. */
  x: tf.Tensor2D;
  /** `W̄_k` per layer, shaped like `W_k`. */
  W: tf.Tensor2D[];
  /** `b̄_k` per layer, shaped like `b_k`. */
  b: tf.Tensor1D[];
}

/**
 * The vector–Jacobian product of a forward pass and of the derivative passes reversed by
 * {@link derivativeVjp}: with `outBar` the cotangent of `pass.out` (`undefined` when the output
 * itself is not used, only its derivatives), the gradients with respect to the input and every
 * weight and bias. Each layer's weight gradient is one product of the stacked factors.
 *
 * @example Against tfjs's gradient of `Σ out ⊙ ō`
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { mlpForward, mlpVjp, softplusMlp } from "./softplus_mlp.ts";
 * import { seededRandom } from "@fasterode/fasterode/models/data";
 * const net = softplusMlp(seededRandom(4), [3, 6, 2], "softplus_mlp_vjp_doc");
 * const x = tf.tensor2d([[0.3, -0.2, 0.1]]);
 * const outBar = tf.tensor2d([[1, -0.5]]);
 * const mine = mlpVjp(net, mlpForward(net, x), outBar);
 * const ref = tf.grads((v: tf.Tensor, w: tf.Tensor) =>
 *   tf.sum(tf.mul(mlpForward([{ W: w as tf.Variable<tf.Rank.R2>, b: net[0].b }, net[1]],
 *     v as tf.Tensor2D).out, outBar)))([x, net[0].W]);
 * for (const [m, r] of [[mine.x, ref[0]], [mine.W[0], ref[1]]]) {
 *   const [a, b] = [await m.data(), await r.data()];
 *   a.forEach((ai, i) => assert.ok(Math.abs(ai - b[i]) < 1e-6));
 * }
 * ```
 */
export function mlpVjp(
  layers: DenseLayer[],
  pass: MlpPass,
  outBar: tf.Tensor2D | undefined,
  derived?: DerivativeVjp,
): MlpGradients {
  const K = layers.length;
  const W: tf.Tensor2D[] = new Array(K);
  const b: tf.Tensor1D[] = new Array(K);
  let zBar = outBar;
  let hBar: tf.Tensor2D | undefined;
  for (let k = K - 1; k >= 0; k--) {
    if (k < K - 1) {
      // z̄_k = s_k ⊙ (h̄_{k+1} + s̄_k ⊙ (1 − s_k)), softplus′ = σ and σ′ = σ(1 − σ).
      const s = pass.slopes[k];
      const sBar = derived?.slopes[k];
      const inner = sBar === undefined ? hBar : accumulate(hBar, tf.mul(sBar, tf.sub(1, s)));
      zBar = inner === undefined ? undefined : tf.mul(s, inner) as tf.Tensor2D;
    }
    const pairs = [
      ...(zBar === undefined ? [] : [[pass.inputs[k], zBar] as [tf.Tensor2D, tf.Tensor2D]]),
      ...(derived?.factors[k] ?? []),
    ];
    W[k] = pairs.length === 0
      ? tf.zerosLike(layers[k].W)
      : pairs.length === 1
      ? tf.matMul(pairs[0][0], pairs[0][1], true, false)
      : tf.matMul(tf.concat(pairs.map((p) => p[0]), 0), tf.concat(pairs.map((p) => p[1]), 0), true);
    b[k] = zBar === undefined ? tf.zerosLike(layers[k].b) : tf.sum(zBar, 0);
    hBar = zBar === undefined ? undefined : tf.matMul(zBar, layers[k].W, false, true);
  }
  return { x: hBar ?? tf.zerosLike(pass.inputs[0]), W, b };
}
