/**
 * `BatchMatMul` for wasm that reaches XNNPACK with transposed operands and broadcast batches.
 *
 * The stock kernel (tfjs-backend-wasm 4.22, `batch_mat_mul_impl.cc`) hands a product to
 * XNNPACK's fully-connected operator only when neither operand is transposed and both batch
 * sizes are 1; every other case runs a scalar blocked loop, 10–50× slower. Each gradient of a
 * `matMul` has a transposed operand (`dA = dC·Bᵀ`, `dB = Aᵀ·dC`), so training pays that price.
 * This kernel makes the operand explicit with the stock `Transpose` (a copy, cheap next to the
 * product; a free reshape when one of the two dimensions is 1) and folds a batch of `A` against
 * a single `B` into one tall product, then calls the stock kernel on the XNNPACK path.
 *
 * It picks, by a cost model ({@linkcode planMatMul}), between that, the swapped product
 * `C = (op(B)ᵀ·op(A)ᵀ)ᵀ` (which packs the smaller operand when `A` is skinny) and the stock
 * loop (small products). Products where both operands carry a batch larger than 1 go to the
 * stock kernel unchanged.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import {
  disposeInfo,
  type KernelArgs,
  sizeOf,
  type StockKernels,
  viewAs,
  type WasmKernelFunc,
} from "./wasm_kernel_util.ts";

/**
 * The cost model that picks the way to compute a product, in nanoseconds per unit, measured on
 * wasm (SIMD, one thread, AMD EPYC): the stock scalar loop per multiply–add; XNNPACK's product
 * per multiply–add; XNNPACK packing its weight operand, per element (on every new tensor: the
 * stock kernel caches the packed weights per tensor id, and gradients are always new); a
 * `Transpose` per element, and a kernel launch.
 */
export const MATMUL_COST_NS: Readonly<{
  stockMac: number;
  xnnMac: number;
  pack: number;
  transpose: number;
  launch: number;
}> = Object.freeze({ stockMac: 1.5, xnnMac: 0.12, pack: 10, transpose: 3, launch: 4000 });

/** How a product is computed: the stock kernel, `C = op(A)·op(B)`, or `C = (op(B)ᵀ·op(A)ᵀ)ᵀ`. */
export type MatMulPlan = "stock" | "direct" | "swapped";

/**
 * The cheapest way to compute `op(A)·op(B)` (`op(A)` of shape `[batch, m, k]`, `op(B)` of
 * `[k, n]`) by {@linkcode MATMUL_COST_NS}. Through XNNPACK both ways: `"direct"` packs
 * `op(B)` (`k·n` elements) and transposes the operands stored transposed; `"swapped"`
 * (batch 1 only) packs `op(A)ᵀ` (`k·m`), which is `A` as stored when `transposeA`, and
 * transposes the result back; so a skinny `A` (small `m`) favours `"swapped"`, and small
 * products the stock loop.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { planMatMul } from "./batch_mat_mul.ts";
 *
 * assert.equal(planMatMul(256, 64, 64, 1, true, false), "direct"); // a weight gradient
 * assert.equal(planMatMul(2, 256, 64, 1, false, true), "swapped"); // a skinny A times Bᵀ
 * assert.equal(planMatMul(4, 16, 16, 1, false, true), "stock"); // tiny
 * ```
 *
 * @param m rows of `op(A)`
 * @param k the shared dimension
 * @param n columns of `op(B)`
 * @param batch the batch of `A` (`B` has none)
 * @param transposeA whether `A` is stored as `[k, m]`
 * @param transposeB whether `B` is stored as `[n, k]`
 * @returns the plan
 */
export function planMatMul(
  m: number,
  k: number,
  n: number,
  batch: number,
  transposeA: boolean,
  transposeB: boolean,
): MatMulPlan {
  const c = MATMUL_COST_NS;
  const macs = batch * m * n * k;
  /**
   * Cost of transposing a `[rows, cols]` matrix `count` times: always a copy, also with a side
   * of 1 (see `swapLastTwo`: a reshape would share the data's id, and with it XNNPACK's cache).
   */
  const t = (rows: number, cols: number, count = 1) => c.launch + c.transpose * rows * cols * count;
  const stock = c.stockMac * macs;
  const direct = (transposeA ? t(k, m, batch) : 0) + (transposeB ? t(n, k) : 0) +
    c.pack * k * n + c.xnnMac * macs;
  const swapped = batch !== 1 ? Infinity : (transposeB ? 0 : t(k, n)) +
    (transposeA ? 0 : t(m, k)) + c.pack * k * m + c.xnnMac * macs + t(n, m);
  if (stock <= direct && stock <= swapped) return "stock";
  return direct <= swapped ? "direct" : "swapped";
}

/**
 * The fast `BatchMatMul` kernel function, delegating to the given stock kernels.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { useBackend, FAST_WASM_KERNELS } from "@fasterode/fasterode";
 *
 * await useBackend("wasm"); // installs fastBatchMatMul among the fast kernels
 * assert.ok(FAST_WASM_KERNELS.includes("BatchMatMul"));
 * const a = tf.tensor2d([[1, 2], [3, 4]]);
 * const c = tf.matMul(a, a, true, false); // aᵀa through XNNPACK
 * assert.deepEqual(await c.array(), [[10, 14], [14, 20]]);
 * tf.dispose([a, c]);
 * await useBackend("cpu");
 * ```
 *
 * @param stock the stock wasm kernels (`BatchMatMul`, `Transpose`)
 * @returns the kernel function to register as `BatchMatMul` for `"wasm"`
 */
export function fastBatchMatMul(stock: StockKernels): WasmKernelFunc {
  const matMul = stock.get("BatchMatMul");
  const transpose = stock.get("Transpose");

  /** `x` with its last two axes swapped: new data, to be freed by the caller. */
  function swapLastTwo(backend: BackendWasm, x: tf.TensorInfo): tf.TensorInfo {
    const r = x.shape.length;
    // Always a copy, with a new id, even when a dimension of 1 would make a reshape enough: the
    // stock kernel caches XNNPACK's packed weights by the data's id, not by its shape, so the
    // same data reshaped from [k, 1] to [1, k] would be multiplied with the stale packing of
    // its other shape (found on the acrobot's Symoden, whose [16, 1] weight is used both ways).
    const perm = [...x.shape.keys()];
    [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
    return transpose({ inputs: { x }, backend, attrs: { perm } });
  }

  return function batchMatMul(args: KernelArgs): tf.TensorInfo {
    const { a, b } = args.inputs;
    const transposeA = args.attrs?.transposeA === true;
    const transposeB = args.attrs?.transposeB === true;
    const ra = a.shape.length, rb = b.shape.length;
    if (a.dtype !== "float32" || b.dtype !== "float32" || ra < 2 || rb < 2) return matMul(args);
    const batchA = sizeOf(a.shape.slice(0, -2));
    const batchB = sizeOf(b.shape.slice(0, -2));
    // Already the XNNPACK path, or both batched (no single weight matrix): stock.
    if (batchB !== 1 || (batchA === 1 && !transposeA && !transposeB)) return matMul(args);
    const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
    const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
    const kB = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
    const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
    // A mismatch gets the stock kernel's error message.
    if (k !== kB) return matMul(args);
    const plan = planMatMul(m, k, n, batchA, transposeA, transposeB);
    if (plan === "stock") return matMul(args);
    const batchShape = tf.broadcast_util.assertAndGetBroadcastShape(
      a.shape.slice(0, -2),
      b.shape.slice(0, -2),
    );
    const { backend } = args;
    const xnn = (left: tf.TensorInfo, right: tf.TensorInfo, rows: number, cols: number) =>
      matMul({
        inputs: { a: viewAs(left, [1, rows, k]), b: viewAs(right, [1, k, cols]) },
        backend,
        attrs: { transposeA: false, transposeB: false },
      });
    const owned: tf.TensorInfo[] = [];
    /** `x` as stored, or with its last two axes swapped when `swap`. */
    const operand = (x: tf.TensorInfo, swap: boolean) => {
      if (!swap) return x;
      const y = swapLastTwo(backend, x);
      owned.push(y);
      return y;
    };
    try {
      let out: tf.TensorInfo;
      if (plan === "direct") {
        // C[batch·m, n] = op(A)[batch·m, k] · op(B)[k, n]
        out = xnn(operand(a, transposeA), operand(b, transposeB), batchA * m, n);
      } else {
        // Cᵀ[n, m] = op(B)ᵀ[n, k] · op(A)ᵀ[k, m], then C = (Cᵀ)ᵀ.
        const outT = xnn(operand(b, !transposeB), operand(a, !transposeA), n, m);
        const c = swapLastTwo(backend, viewAs(outT, [n, m]));
        owned.push(outT);
        out = c;
      }
      out.shape = [...batchShape, m, n];
      return out;
    } finally {
      for (const info of owned) disposeInfo(backend, info);
    }
  };
}
