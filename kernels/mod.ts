/**
 * Fast kernels for tfjs-backend-wasm 4.22, installed by `useBackend("wasm")`.
 *
 * **Written to be sent upstream.** This folder is self-contained: it imports only
 * `@tensorflow/tfjs` (and the wasm package's types) and knows nothing of the rest of fasterode.
 * It is written by hand in TypeScript, composing the stock kernels' compiled entry points,
 * because the published wasm binary cannot be changed from here (no C++/Emscripten/XNNPACK
 * build in this project); the upstream fix is smaller and belongs in C++:
 *
 * - `BatchMatMul` (`batch_mat_mul_impl.cc`) reaches XNNPACK only for untransposed operands
 *   with batch 1. XNNPACK's fully-connected operator takes its weights either way round (the
 *   kernel sets `XNN_FLAG_TRANSPOSE_WEIGHTS`; `transposeB` just means leaving it off), a batch
 *   of `A` against one `B` is one taller product, and only `transposeA` needs a transpose.
 *   Here: {@linkcode fastBatchMatMul} (explicit `Transpose`, then the stock XNNPACK path).
 * - `Tanh` calls scalar `tanhf`; XNNPACK has a vectorised `xnn_create_tanh_nc_f32`. Here:
 *   {@linkcode fastTanh}, `2·sigmoid(2x) − 1` on XNNPACK's sigmoid.
 * - `Sum`/`Mean` over leading axes transpose the input first; a strided reduction avoids
 *   the copy. Here: {@linkcode fastSum}, {@linkcode fastMean} (one pass over a heap view).
 * - `Slice` copies its whole input to JS (`readSync`) before slicing. Here: {@linkcode fastSlice}
 *   (a view of the heap).
 *
 * Each override falls back to the stock kernel outside the cases it speeds up, gives the same
 * values to float32 rounding, and leaves the registered gradients as they are.
 *
 * @example Stock and fast kernels side by side
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import {
 *   useBackend,
 *   fastWasmKernelsInstalled,
 *   installFastWasmKernels,
 *   restoreStockWasmKernels,
 * } from "@fasterode/fasterode";
 *
 * await useBackend("wasm"); // the fast kernels are the default
 * assert.ok(fastWasmKernelsInstalled());
 * const a = tf.randomNormal([256, 64], 0, 1, "float32", 1);
 * const fast = tf.matMul(a, a, true, false);
 * restoreStockWasmKernels();
 * const stock = tf.matMul(a, a, true, false);
 * installFastWasmKernels();
 * const diff = (await tf.max(tf.abs(tf.sub(fast, stock))).data())[0];
 * assert.ok(diff < 1e-3); // entries ~16 in size: float32 rounding of 256 terms
 * tf.dispose([a, fast, stock]);
 * await useBackend("cpu");
 * ```
 *
 * @module
 */
export { fastBatchMatMul, MATMUL_COST_NS, type MatMulPlan, planMatMul } from "./batch_mat_mul.ts";
export { fastTanh, MIN_FAST_TANH_SIZE } from "./tanh.ts";
export { fastMean, fastSum } from "./leading_axis_sum.ts";
export { fastSlice } from "./slice.ts";
export {
  FAST_WASM_KERNELS,
  fastWasmKernelsInstalled,
  installFastWasmKernels,
  restoreStockWasmKernels,
} from "./wasm.ts";
export type { KernelArgs, StockKernels, WasmKernelFunc } from "./wasm_kernel_util.ts";
