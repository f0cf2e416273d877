/**
 * `Sum` and `Mean` over leading axes for wasm, as one pass over the input.
 *
 * The stock reductions (tfjs-backend-wasm 4.22) first transpose the reduced axes to the end
 * (a copy with a generic index loop), then reduce: 21 ms for the batch axis of a fresh
 * `[1024, 1890]` tensor, ~120 µs for `[256, 64]`. Every gradient of a broadcast bias (`x + b`
 * with `b` of shape `[n]`) is such a sum. This kernel serves float32 reductions over the first
 * `k` axes (`0 … k−1`, `k` less than the rank) with a row-by-row loop over a view of the wasm
 * heap, accumulating in float64 (so it is at least as accurate as the stock kernel), and
 * leaves every other case to the stock kernel.
 *
 * (A product with a row of ones, `ones[1, n]·x`, looks fast when timed on one tensor again and
 * again, but XNNPACK packs `x` as weights, ~10 ns per element, on every new tensor: slower
 * than the stock kernel in a training step, where every `x` is new.)
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  type KernelArgs,
  sizeOf,
  type StockKernels,
  type WasmKernelFunc,
} from "./wasm_kernel_util.ts";

/** The number `k` of leading axes that `axis` reduces, or 0 when it is not `0 … k−1` (k < rank). */
function leadingAxes(x: tf.TensorInfo, axis: unknown): number {
  const rank = x.shape.length;
  if (rank < 2 || axis === undefined || axis === null) return 0;
  const axes = [...new Set(tf.util.parseAxisParam(axis as number | number[], x.shape))].sort(
    (p, q) => p - q,
  );
  if (axes.length === 0 || axes.length >= rank || axes.some((a, i) => a !== i)) return 0;
  return axes.length;
}

/**
 * The sum over the leading axes of `x` times `scale`, shaped as the reduction's output; `null`
 * when the stock kernel should run instead.
 */
function reduceLeading(args: KernelArgs, mean: boolean): tf.TensorInfo | null {
  const { x } = args.inputs;
  if (x.dtype !== "float32") return null;
  const k = leadingAxes(x, args.attrs?.axis);
  if (k === 0) return null;
  const outer = sizeOf(x.shape.slice(0, k));
  const inner = sizeOf(x.shape.slice(k));
  const rest = x.shape.slice(k);
  const { backend } = args;
  const out = backend.makeOutput(
    args.attrs?.keepDims === true ? [...new Array(k).fill(1), ...rest] : rest,
    "float32",
  );
  // Views of the heap, taken after makeOutput (which may grow the heap).
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  const acc = new Float64Array(inner);
  for (let i = 0, at = 0; i < outer; i++, at += inner) {
    for (let j = 0; j < inner; j++) acc[j] += src[at + j];
  }
  const scale = mean ? 1 / outer : 1;
  for (let j = 0; j < inner; j++) dst[j] = acc[j] * scale;
  return out;
}

/**
 * The fast `Sum` kernel function, delegating to the given stock kernels.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { useBackend } from "@fasterode/fasterode";
 *
 * await useBackend("wasm"); // installs fastSum among the fast kernels
 * const x = tf.ones([512, 4]);
 * const s = tf.sum(x, 0); // the batch axis: one pass, no transpose
 * assert.deepEqual(Array.from(await s.data()), [512, 512, 512, 512]);
 * tf.dispose([x, s]);
 * await useBackend("cpu");
 * ```
 *
 * @param stock the stock wasm kernels (`Sum`)
 * @returns the kernel function to register as `Sum` for `"wasm"`
 */
export function fastSum(stock: StockKernels): WasmKernelFunc {
  const sum = stock.get("Sum");
  return function sumOverLeadingAxes(args: KernelArgs): tf.TensorInfo {
    return reduceLeading(args, false) ?? sum(args);
  };
}

/**
 * The fast `Mean` kernel function (the leading-axis sum times `1 / count`), delegating to the
 * stock kernel outside leading-axis float32 reductions.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { useBackend } from "@fasterode/fasterode";
 *
 * await useBackend("wasm");
 * const x = tf.fill([512, 4], 3);
 * const m = tf.mean(x, 0);
 * assert.deepEqual(Array.from(await m.data()), [3, 3, 3, 3]);
 * tf.dispose([x, m]);
 * await useBackend("cpu");
 * ```
 *
 * @param stock the stock wasm kernels (`Mean`)
 * @returns the kernel function to register as `Mean` for `"wasm"`
 */
export function fastMean(stock: StockKernels): WasmKernelFunc {
  const mean = stock.get("Mean");
  return function meanOverLeadingAxes(args: KernelArgs): tf.TensorInfo {
    return reduceLeading(args, true) ?? mean(args);
  };
}
