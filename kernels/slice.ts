/**
 * `Slice` for wasm that copies only the slice.
 *
 * The stock kernel (tfjs-backend-wasm 4.22) starts with `backend.readSync(x)`, which copies the
 * whole input out of the wasm heap into a new JS array, and then copies the slice from that
 * copy: slicing one knot interval of a long control path costs as much as copying the path.
 * This kernel reads the input through a view of the heap instead (`typedArrayFromHeap`, taken
 * after the output is allocated, since an allocation may grow and so detach the heap) and
 * copies contiguous runs. String tensors keep the stock kernel. The values are copied, so the
 * result is bit-identical to the stock one.
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

/**
 * The fast `Slice` kernel function, delegating string tensors to the stock kernel.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { useBackend } from "@fasterode/fasterode";
 *
 * await useBackend("wasm"); // installs fastSlice among the fast kernels
 * const x = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
 * const s = tf.slice(x, [0, 1], [2, 2]);
 * assert.deepEqual(await s.array(), [[2, 3], [5, 6]]);
 * tf.dispose([x, s]);
 * await useBackend("cpu");
 * ```
 *
 * @param stock the stock wasm kernels (`Slice`)
 * @returns the kernel function to register as `Slice` for `"wasm"`
 */
export function fastSlice(stock: StockKernels): WasmKernelFunc {
  const slice = stock.get("Slice");
  return function sliceFromHeap(args: KernelArgs): tf.TensorInfo {
    const { x } = args.inputs;
    if (x.dtype === "string") return slice(args);
    const { backend } = args;
    const [begin, size] = tf.slice_util.parseSliceParams(
      x as tf.Tensor,
      args.attrs?.begin as number | number[],
      args.attrs?.size as number | number[],
    );
    const out = backend.makeOutput(size, x.dtype);
    if (sizeOf(size) === 0) return out;
    // Views of the heap, taken after makeOutput (which may grow the heap).
    const src = backend.typedArrayFromHeap(x);
    const dst = backend.typedArrayFromHeap(out);
    copySlice(src, x.shape, dst, begin, size);
    return out;
  };
}

type Typed = Float32Array | Int32Array | Uint8Array;

/** Copies the block `begin … begin + size` of `src` (of `shape`, row-major) into `dst`. */
function copySlice(
  src: Typed,
  shape: readonly number[],
  dst: Typed,
  begin: readonly number[],
  size: readonly number[],
): void {
  const rank = shape.length;
  if (rank === 0) {
    dst[0] = src[0];
    return;
  }
  const strides = new Array<number>(rank);
  strides[rank - 1] = 1;
  for (let d = rank - 2; d >= 0; d--) strides[d] = strides[d + 1] * shape[d + 1];
  // Trailing axes taken whole join the axis before them into one contiguous run.
  let j = rank - 1;
  while (j > 0 && size[j] === shape[j]) j--;
  const run = sizeOf(size.slice(j));
  let base = 0;
  for (let d = j; d < rank; d++) base += begin[d] * strides[d];
  const outer = sizeOf(size.slice(0, j));
  const index = new Array<number>(j).fill(0);
  let offset = base;
  for (let d = 0; d < j; d++) offset += begin[d] * strides[d];
  for (let o = 0, at = 0; o < outer; o++, at += run) {
    if (run >= 16) dst.set(src.subarray(offset, offset + run), at);
    else for (let e = 0; e < run; e++) dst[at + e] = src[offset + e];
    // Advance the index over the outer axes (the last outer axis fastest).
    for (let d = j - 1; d >= 0; d--) {
      offset += strides[d];
      if (++index[d] < size[d]) break;
      offset -= size[d] * strides[d];
      index[d] = 0;
    }
  }
}
