/**
 * `Tanh` for wasm as `2·sigmoid(2x) − 1`, through XNNPACK's vectorised sigmoid.
 *
 * The stock kernel calls the C library's scalar `tanhf` per element (~13 ns each); the four
 * stock kernels used here (`Add`, `Sigmoid`, `Add`, `Sub`) cost ~1.2 ns per element together.
 * The identity is exact; in float32 it is accurate to a few units of 1e-7 absolute (the
 * subtraction of 1 loses the relative accuracy of tiny results, which the absolute error of
 * the float32 inputs of any field dominates anyway). The registered gradient of `Tanh`
 * (`dy·(1 − y²)` from the saved output) is unchanged. Tensors smaller than
 * {@linkcode MIN_FAST_TANH_SIZE} keep the stock kernel, where four launches cost more.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import {
  disposeInfo,
  filled,
  type KernelArgs,
  sizeOf,
  type StockKernels,
  type WasmKernelFunc,
} from "./wasm_kernel_util.ts";

/** Float32 tensors with fewer elements than this keep the stock `Tanh` (measured crossover). */
export const MIN_FAST_TANH_SIZE = 1024;

/**
 * The fast `Tanh` kernel function, delegating to the given stock kernels.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { useBackend } from "@fasterode/fasterode";
 *
 * await useBackend("wasm"); // installs fastTanh among the fast kernels
 * const x = tf.linspace(-3, 3, 2048);
 * const y = tf.tanh(x);
 * const xs = await x.data(), ys = await y.data();
 * assert.ok(ys.every((v, i) => Math.abs(v - Math.tanh(xs[i])) < 1e-6));
 * tf.dispose([x, y]);
 * await useBackend("cpu");
 * ```
 *
 * @param stock the stock wasm kernels (`Tanh`, `Add`, `Sigmoid`, `Sub`)
 * @returns the kernel function to register as `Tanh` for `"wasm"`
 */
export function fastTanh(stock: StockKernels): WasmKernelFunc {
  const tanh = stock.get("Tanh");
  const add = stock.get("Add");
  const sigmoid = stock.get("Sigmoid");
  const sub = stock.get("Sub");
  return function tanhViaSigmoid(args: KernelArgs): tf.TensorInfo {
    const { x } = args.inputs;
    if (x.dtype !== "float32" || sizeOf(x.shape) < MIN_FAST_TANH_SIZE) return tanh(args);
    const { backend } = args;
    const twoX = add({ inputs: { a: x, b: x }, backend });
    const s = sigmoid({ inputs: { x: twoX }, backend });
    disposeInfo(backend, twoX);
    const twoS = add({ inputs: { a: s, b: s }, backend });
    disposeInfo(backend, s);
    const one = filled(backend, [], 1);
    const out = sub({ inputs: { a: twoS, b: one }, backend });
    disposeInfo(backend, twoS);
    disposeInfo(backend, one);
    return out;
  };
}
