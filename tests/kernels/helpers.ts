/**
 * What the kernel tests share: running the same computation with the stock and with the fast
 * wasm kernels in one process, and checking that no tensor or backend buffer leaks.
 *
 * @module
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "../../backend.ts";

/** float32's unit roundoff, 2⁻²⁴. */
export const U = 2 ** -24;

/** Backend buffers of the active backend (catches intermediates a kernel forgets to free). */
export function dataIds(): number {
  return tf.engine().backend.numDataIds();
}

/**
 * `fn`'s results (read as numbers) with the stock and with the fast wasm kernels, asserting that
 * neither leaves a tensor or a backend buffer behind. Leaves the fast kernels installed.
 */
export async function stockAndFast(
  fn: () => tf.Tensor | tf.Tensor[],
): Promise<{ stock: number[][]; fast: number[][] }> {
  const out: Record<string, number[][]> = {};
  for (const kernels of ["stock", "fast"] as const) {
    await useBackend("wasm", { kernels });
    // One run first: inputs made on another backend move to wasm on first use (new buffers).
    const warm = fn();
    tf.dispose(warm);
    const tensors = tf.memory().numTensors, ids = dataIds();
    const r = fn();
    const list = Array.isArray(r) ? r : [r];
    out[kernels] = await Promise.all(list.map(async (t) => Array.from(await t.data())));
    tf.dispose(list);
    assert.equal(tf.memory().numTensors, tensors, `${kernels}: tensors leaked`);
    assert.equal(dataIds(), ids, `${kernels}: backend buffers leaked`);
  }
  return { stock: out.stock, fast: out.fast };
}

/** Deterministic values in [-scale, scale]. */
export function det(shape: number[], seed: number, scale = 1): tf.Tensor {
  const n = shape.reduce((p, q) => p * q, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, (_, i) => scale * Math.sin(seed + 12.9898 * i + 0.1 * i * i)),
    shape,
  );
}
