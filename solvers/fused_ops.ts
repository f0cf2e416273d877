/**
 * Two fused operations of the solver, as tfjs kernels for the `cpu` and `wasm` backends:
 *
 * - {@link linearCombination}: `Σ_j w_j x_j` over tensors of one size, the stage sums, solution,
 *   error estimate and dense output of a Runge–Kutta step, in one pass over its inputs — no
 *   stacking of the stages (`Concat`) and no matrix product with a transposed operand (which
 *   tfjs-wasm runs as a scalar loop, or as a transpose and a product).
 * - {@link scaledSquareSum}: `Σ_i (e_i / (atol + rtol·max(|a_i|, |b_i|)))²`, the sum of squares
 *   of a step's scaled error, in one pass instead of `Abs`, `Maximum`, `Mul`, `Add`, `RealDiv`,
 *   `Square` and `Mean`, rounding as those do on the cpu backend (so NFE do not move).
 *
 * Both read the backends' memory directly (the `cpu` backend's arrays, the wasm heap) and sum in
 * float64. On any other backend (`webgpu`) they are composed of stock kernels instead, with the
 * same results to float32 rounding. `linearCombination` has a registered gradient (each input's
 * is `w_j·dy`), so `odeintSync` under a tape still differentiates the steps;
 * `scaledSquareSum` feeds only the step-size decision, which is not differentiated.
 *
 * Kernel launches, not arithmetic, dominate the solver's own cost at the sizes of neural ODEs
 * (3–8 µs of tfjs bookkeeping each, against a few µs of work): one kernel per stage sum and one
 * per error ratio is what lets a dopri5 step cost ~8 launches besides `f`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

const LIN_COMB = "FasterodeLinearCombination";
const SQ_SUM = "FasterodeScaledSquareSum";

/** The backend methods the kernels use (typed here, not imported: cpu's and wasm's). */
interface CpuBackend {
  data: { get(dataId: object): { values: ArrayLike<number> } };
  makeTensorInfo(shape: number[], dtype: "float32", values: Float32Array): tf.TensorInfo;
}
interface WasmBackend {
  makeOutput(shape: number[], dtype: "float32"): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
}
type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

/**
 * `Σ_j w_j x_j` into `out`, skipping zero weights: float32 weights (as a weight tensor would
 * hold them), float64 sums, one rounding at the end — the arithmetic of the cpu backend's matrix
 * product that this replaces, so that step decisions (and NFE) do not move.
 */
function combineInto(out: Float32Array, xs: ArrayLike<number>[], w: readonly number[]): void {
  const n = out.length;
  if (scratch.length < n) scratch = new Float64Array(Math.max(n, 2 * scratch.length));
  const acc = scratch; // (reused: a fresh buffer per call costs more than the sums, in GC)
  acc.fill(0, 0, n);
  for (let j = 0; j < xs.length; j++) {
    const wj = Math.fround(w[j]);
    if (wj === 0) continue;
    const x = xs[j];
    for (let i = 0; i < n; i++) acc[i] += wj * x[i];
  }
  for (let i = 0; i < n; i++) out[i] = acc[i];
}

/** The float64 accumulator of {@link combineInto}, grown as needed. */
let scratch = new Float64Array(1 << 12);

/** How {@link squareSum} scales the error: `atol + rtol·max(|a|, |b|)`, and an optional divisor. */
interface SquareSumAttrs {
  rtol: number;
  atol: number;
  /** Divide each square by this before summing (a mean, as tfjs's `Mean` computes it); 0: no. */
  divisor: number;
}

/**
 * `Σ_i (e_i / (atol + rtol·max(|a_i|, |b_i|)))² [/ divisor]` (`Σ e_i²` without `a`, `b`), with
 * the float32 roundings of the stock kernels this replaces on the cpu backend (`Abs`, `Maximum`,
 * `Mul`, `Add`, `RealDiv`, `Square`, then `Mean` or `Sum`: float32 operands and results, sums in
 * float64), so that error ratios, and with them every step decision, are unchanged there.
 */
function squareSum(
  e: ArrayLike<number>,
  a: ArrayLike<number> | undefined,
  b: ArrayLike<number> | undefined,
  { rtol, atol, divisor }: SquareSumAttrs,
): number {
  const f = Math.fround;
  const r32 = f(rtol), a32 = f(atol), d32 = f(divisor);
  let s = 0;
  const n = e.length;
  for (let i = 0; i < n; i++) {
    const q = a === undefined || b === undefined
      ? e[i]
      : f(e[i] / f(f(Math.max(Math.abs(a[i]), Math.abs(b[i])) * r32) + a32));
    const q2 = f(q * q);
    s += divisor > 0 ? f(q2 / d32) : q2;
  }
  return f(s);
}

const inputList = (inputs: tf.NamedTensorInfoMap) => Object.values(inputs) as tf.TensorInfo[];

for (const backendName of ["cpu", "wasm"] as const) {
  const read = backendName === "cpu"
    ? (b: unknown, x: tf.TensorInfo) => (b as CpuBackend).data.get(x.dataId).values
    : (b: unknown, x: tf.TensorInfo) => (b as WasmBackend).typedArrayFromHeap(x);
  const output = (b: unknown, shape: number[], fill: (out: Float32Array) => void) => {
    if (backendName === "cpu") {
      const values = new Float32Array(shape.reduce((p, q) => p * q, 1));
      fill(values);
      return (b as CpuBackend).makeTensorInfo(shape, "float32", values);
    }
    const info = (b as WasmBackend).makeOutput(shape, "float32");
    fill((b as WasmBackend).typedArrayFromHeap(info)); // views taken after makeOutput
    return info;
  };
  tf.registerKernel({
    kernelName: LIN_COMB,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }: KernelArgs) => {
      const xs = inputList(inputs);
      const w = attrs!.weights as number[];
      return output(
        backend,
        xs[0].shape,
        (out) => combineInto(out, xs.map((x) => read(backend, x)), w),
      );
    },
  });
  tf.registerKernel({
    kernelName: SQ_SUM,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }: KernelArgs) => {
      const [e, a, b] = inputList(inputs);
      return output(backend, [1, 1], (out) => {
        out[0] = squareSum(
          read(backend, e),
          a && read(backend, a),
          b && read(backend, b),
          attrs as unknown as SquareSumAttrs,
        );
      });
    },
  });
}

tf.registerGradient({
  kernelName: LIN_COMB,
  gradFunc: (dy: tf.Tensor | tf.Tensor[], _saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
    const w = attrs.weights as number[];
    const grads: Record<string, () => tf.Tensor> = {};
    w.forEach((wj, j) => grads[j] = () => tf.mul(dy as tf.Tensor, wj));
    return grads;
  },
});

/** Whether the current backend has the fused kernels (`cpu`, `wasm`). */
export function hasFusedKernels(): boolean {
  const name = tf.getBackend();
  return tf.getKernel(LIN_COMB, name) !== undefined;
}

/**
 * `Σ_j weights[j]·xs[j]` for tensors of one size (the result has `xs[0]`'s shape): one kernel
 * on `cpu` and `wasm`; elsewhere `Concat` and one matrix product.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { linearCombination } from "./fused_ops.ts";
 * const y = linearCombination([tf.tensor([1, 2]), tf.tensor([10, 20])], [1, 0.5]);
 * assert.deepEqual(Array.from(await y.data()), [6, 12]);
 * ```
 */
export function linearCombination(xs: tf.Tensor[], weights: readonly number[]): tf.Tensor {
  if (xs.length !== weights.length || xs.length === 0) {
    throw new RangeError(`linearCombination: ${xs.length} tensors but ${weights.length} weights`);
  }
  if (hasFusedKernels()) {
    // (a copy: a gradient tape keeps the inputs it was given, and callers grow their lists)
    return tf.engine().runKernel(LIN_COMB, [...xs] as unknown as tf.NamedTensorMap, {
      weights: [...weights],
    }) as tf.Tensor;
  }
  return tf.tidy(() => {
    const n = xs[0].size;
    const K = tf.concat(xs.map((x) => tf.reshape(x, [1, n])), 0);
    const w = tf.tensor2d([...weights], [1, weights.length]);
    return tf.reshape(tf.matMul(K, w, true, true), xs[0].shape);
  });
}

/**
 * The sum of squares of a scaled error, `Σ_i (e_i / (atol + rtol·max(|a_i|, |b_i|)))²` (each
 * square divided by `divisor` first when it is > 0, as a mean is computed), as a `[1, 1]`
 * tensor; `Σ e_i²` when `a`, `b` are omitted. One kernel on `cpu` and `wasm`, stock kernels
 * elsewhere.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { scaledSquareSum } from "./fused_ops.ts";
 * // scale = 1 + 1·max(|a|, |b|): (2 / 4)² + (1 / 2)² = 0.5
 * const e = tf.tensor([2, 1]), a = tf.tensor([-3, 0]), b = tf.tensor([1, 1]);
 * const s = scaledSquareSum(e, a, b, { rtol: 1, atol: 1 });
 * assert.ok(Math.abs((await s.data())[0] - 0.5) < 1e-7);
 * ```
 */
export function scaledSquareSum(
  e: tf.Tensor,
  a?: tf.Tensor,
  b?: tf.Tensor,
  scale: { rtol?: number; atol?: number; divisor?: number } = {},
): tf.Tensor {
  const attrs: SquareSumAttrs = {
    rtol: scale.rtol ?? 0,
    atol: scale.atol ?? 1,
    divisor: scale.divisor ?? 0,
  };
  if (hasFusedKernels()) {
    const inputs = a === undefined || b === undefined ? [e] : [e, a, b];
    return tf.engine().runKernel(
      SQ_SUM,
      inputs as unknown as tf.NamedTensorMap,
      attrs as unknown as tf.NamedAttrMap,
    );
  }
  return tf.tidy(() => {
    const q = a === undefined || b === undefined
      ? e
      : tf.div(e, tf.add(tf.mul(tf.maximum(tf.abs(a), tf.abs(b)), attrs.rtol), attrs.atol));
    const q2 = tf.square(q);
    return tf.reshape(tf.sum(attrs.divisor > 0 ? tf.div(q2, attrs.divisor) : q2), [1, 1]);
  });
}
