/**
 * Installing and removing the fast wasm kernels.
 *
 * {@linkcode installFastWasmKernels} replaces, for the `"wasm"` backend only, the registered
 * `BatchMatMul`, `Tanh`, `Sum`, `Mean` and `Slice` kernels of tfjs-backend-wasm 4.22 with the
 * ones of this folder, which compose the package's own fast kernels (XNNPACK's fully-connected
 * operator and sigmoid, `Transpose`, binary ops) from JS; {@linkcode restoreStockWasmKernels}
 * puts the stock ones back. Kernels are looked up by name on every op, so the switch takes
 * effect at once, also for gradients (whose registered functions call the same ops).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { fastBatchMatMul } from "./batch_mat_mul.ts";
import { fastMean, fastSum } from "./leading_axis_sum.ts";
import { fastSlice } from "./slice.ts";
import { fastTanh } from "./tanh.ts";
import { type StockKernels, WASM, type WasmKernelFunc } from "./wasm_kernel_util.ts";

const OVERRIDES: Record<string, (stock: StockKernels) => WasmKernelFunc> = {
  BatchMatMul: fastBatchMatMul,
  Tanh: fastTanh,
  Sum: fastSum,
  Mean: fastMean,
  Slice: fastSlice,
};

/** The names of the wasm kernels that {@linkcode installFastWasmKernels} replaces. */
export const FAST_WASM_KERNELS: readonly string[] = Object.freeze(Object.keys(OVERRIDES));

/** The stock configurations of the replaced kernels, while the fast ones are installed. */
const stockConfigs = new Map<string, tf.KernelConfig>();
/** The kernel functions installed, to tell them from the stock ones. */
const installed = new Set<tf.KernelFunc>();

/**
 * Register the fast kernels for the `"wasm"` backend in place of the stock ones (see
 * {@linkcode FAST_WASM_KERNELS}). Idempotent. The wasm backend package must have been
 * imported (which registers its kernels); `useBackend("wasm")` does both, so most code never
 * calls this directly.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   useBackend,
 *   fastWasmKernelsInstalled,
 *   installFastWasmKernels,
 *   restoreStockWasmKernels,
 * } from "@fasterode/fasterode";
 *
 * await useBackend("wasm", { kernels: "stock" });
 * assert.equal(fastWasmKernelsInstalled(), false);
 * installFastWasmKernels();
 * assert.equal(fastWasmKernelsInstalled(), true);
 * restoreStockWasmKernels();
 * await useBackend("cpu");
 * ```
 *
 * @throws {Error} If the wasm backend's kernels are not registered (the package was not
 *   imported): call `useBackend("wasm")` instead.
 */
export function installFastWasmKernels(): void {
  if (fastWasmKernelsInstalled()) return;
  const stock = new Map<string, tf.KernelConfig>();
  const stockKernels: StockKernels = {
    get(name: string): WasmKernelFunc {
      let config = stock.get(name) ?? tf.getKernel(name, WASM);
      if (config === undefined) {
        throw new Error(
          `installFastWasmKernels: the wasm backend has no "${name}" kernel registered; import ` +
            `@tensorflow/tfjs-backend-wasm first (useBackend("wasm") does)`,
        );
      }
      if (installed.has(config.kernelFunc)) config = stockConfigs.get(name)!;
      stock.set(name, config);
      return config.kernelFunc as unknown as WasmKernelFunc;
    },
  };
  // Build every override first (each captures the stock kernels it calls), then swap.
  const fast = Object.entries(OVERRIDES).map(([name, make]) => {
    stockKernels.get(name);
    return [name, make(stockKernels)] as const;
  });
  for (const [name, kernelFunc] of fast) {
    const config = stock.get(name)!;
    stockConfigs.set(name, config);
    tf.unregisterKernel(name, WASM);
    const func = kernelFunc as unknown as tf.KernelFunc;
    installed.add(func);
    // The stock setup (which binds the wasm entry points) still runs when the backend starts.
    tf.registerKernel({ ...config, kernelFunc: func });
  }
}

/**
 * Put back the stock wasm kernels that {@linkcode installFastWasmKernels} replaced. A no-op
 * when the fast kernels are not installed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   useBackend,
 *   fastWasmKernelsInstalled,
 *   restoreStockWasmKernels,
 * } from "@fasterode/fasterode";
 *
 * await useBackend("wasm");
 * restoreStockWasmKernels();
 * assert.equal(fastWasmKernelsInstalled(), false);
 * await useBackend("cpu");
 * ```
 */
export function restoreStockWasmKernels(): void {
  for (const [name, config] of stockConfigs) {
    const current = tf.getKernel(name, WASM);
    if (current !== undefined && installed.has(current.kernelFunc)) {
      tf.unregisterKernel(name, WASM);
      tf.registerKernel(config);
    }
  }
  stockConfigs.clear();
  installed.clear();
}

/**
 * Whether the fast wasm kernels are the registered ones now.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { useBackend, fastWasmKernelsInstalled } from "@fasterode/fasterode";
 *
 * await useBackend("wasm");
 * assert.equal(fastWasmKernelsInstalled(), true);
 * await useBackend("cpu");
 * ```
 *
 * @returns `true` when every kernel of {@linkcode FAST_WASM_KERNELS} is the fast one.
 */
export function fastWasmKernelsInstalled(): boolean {
  return FAST_WASM_KERNELS.every((name) => {
    const config = tf.getKernel(name, WASM);
    return config !== undefined && installed.has(config.kernelFunc);
  });
}
