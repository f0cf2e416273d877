/**
 * What the fast wasm kernels share: the stock kernels they delegate to, and cheap ways to
 * make, reshape and free the backend's tensor data inside a kernel.
 *
 * A kernel function receives and returns `TensorInfo`s (data id, shape, dtype) owned by the
 * backend, not `tf.Tensor`s: intermediate results made here must be freed with
 * {@linkcode disposeInfo}, and only the returned one survives.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

/** The backend name the overrides are registered for. */
export const WASM = "wasm";

/** Arguments tfjs passes to a kernel function. */
export interface KernelArgs {
  inputs: Record<string, tf.TensorInfo>;
  backend: BackendWasm;
  attrs?: tf.NamedAttrMap;
}

/** A kernel function of the wasm backend, typed for the overrides' use. */
export type WasmKernelFunc = (args: KernelArgs) => tf.TensorInfo;

/** The stock kernels an override may call, captured when the overrides are installed. */
export interface StockKernels {
  /** The stock kernel of the name (throws if the wasm backend does not register it). */
  get(name: string): WasmKernelFunc;
}

/** Frees the backend data of an intermediate `TensorInfo` made inside a kernel. */
export function disposeInfo(backend: BackendWasm, info: tf.TensorInfo): void {
  backend.disposeData(info.dataId);
}

/**
 * The same data under another shape of the same size: a view, no copy and no new reference,
 * so it must not be disposed (the data stays owned by `info`).
 */
export function viewAs(info: tf.TensorInfo, shape: number[]): tf.TensorInfo {
  return { dataId: info.dataId, shape, dtype: info.dtype };
}

/** A new float32 tensor of `shape` filled with `value` (to be disposed or returned). */
export function filled(backend: BackendWasm, shape: number[], value: number): tf.TensorInfo {
  const out = backend.makeOutput(shape, "float32");
  backend.typedArrayFromHeap(out).fill(value);
  return out;
}

/** The number of elements of a shape. */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
