/**
 * Tests of `solvers/wasm_memory.ts`: a solve that runs out of the wasm backend's memory fails
 * with a `WasmMemoryError` that names the ceiling, the state's size and what to do.
 *
 * Running out for real needs ~4 GiB (the memory ceiling; `bench/wasm_ceiling.ts` does it, with
 * its output in bench/RESULTS.md), too much for a test. So the classification is tested on the
 * failures the backend reports then (a WebAssembly trap, an emscripten abort, NaN with the
 * memory full), and the wiring into `odeint`, `odeintSync` and the adjoint's backward solve
 * with a field that raises the same trap the backend raises, on the wasm backend.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "../../backend.ts";
import {
  classifyWasmFailure,
  NonFiniteError,
  odeint,
  odeintSync,
  WASM_MEMORY_MAX,
  WasmMemoryError,
} from "../../solvers/mod.ts";
import { odeintAdjoint } from "../../adjoint/mod.ts";

await tf.setBackend("cpu");

const GIB = 2 ** 30;
// 3.95 GiB: within two states (2·40 MB) of the ceiling.
const FULL = {
  backend: "wasm",
  memoryBytes: 3.95 * GIB,
  maxBytes: WASM_MEMORY_MAX,
  stateBytes: 4e7,
};
const nonFinite = () => new NonFiniteError({ t: 0.25, dt: 0.1, errorRatio: NaN, nfe: 14 });

Deno.test("a full wasm memory's failures are told as its ceiling, with sizes and remedies", () => {
  const traps = [
    new WebAssembly.RuntimeError("memory access out of bounds"),
    new Error("Aborted(). Build with -sASSERTIONS for more info."), // emscripten's abort()
    new Error("Cannot enlarge memory arrays to size 4294967296 bytes (OOM)"),
    new RangeError("WebAssembly.Memory.grow(): Maximum memory size exceeded"),
  ];
  for (const trap of traps) {
    const e = classifyWasmFailure(trap, FULL);
    assert.ok(e instanceof WasmMemoryError, trap.message);
    assert.equal(e.cause, trap);
    // 3.95 GiB of 4 GiB − 64 KiB (which rounds to 4.00 GiB); 4e7 bytes = 1e7 float32 elements.
    assert.match(e.message, /ran out of memory.* 3\.95 GiB of its 4\.00 GiB ceiling/);
    assert.match(e.message, /the state holds 10000000 float32 elements \(40\.0 MB/);
    assert.match(e.message, /smaller batch.*useBackend\("cpu"\)/);
    assert.equal(e.memoryBytes, FULL.memoryBytes);
    assert.equal(e.stateBytes, 4e7);
  }
  // A trap is memory whatever the size reached (one large allocation can fail well below the
  // ceiling); NaN is only when the memory is within two states of it.
  assert.ok(
    classifyWasmFailure(traps[0], { ...FULL, memoryBytes: GIB }) instanceof WasmMemoryError,
  );
  assert.ok(classifyWasmFailure(nonFinite(), FULL) instanceof WasmMemoryError);
  const nearlyFull = { ...FULL, memoryBytes: WASM_MEMORY_MAX - 2 * FULL.stateBytes - 1 };
  assert.equal(classifyWasmFailure(nonFinite(), nearlyFull), undefined, "a genuine blow-up");
  assert.ok(
    classifyWasmFailure(nonFinite(), {
      ...nearlyFull,
      memoryBytes: nearlyFull.memoryBytes + 2,
    }) instanceof
      WasmMemoryError,
  );
  // Not wasm, or not a memory failure: passed through.
  assert.equal(classifyWasmFailure(traps[0], { ...FULL, backend: "cpu" }), undefined);
  assert.equal(classifyWasmFailure(new TypeError("y0 must be float32"), FULL), undefined);
  assert.equal(classifyWasmFailure(new Error("boom"), FULL), undefined);
  // Already explained (the adjoint around its forward solve): the same error.
  const once = classifyWasmFailure(traps[0], FULL)!;
  assert.equal(classifyWasmFailure(once, FULL), once);
});

/** A field that raises the trap tfjs-backend-wasm raises when its memory is exhausted. */
function trapsAt(call: number) {
  let calls = 0;
  return (_t: number, y: tf.Tensor) => {
    if (++calls === call) throw new WebAssembly.RuntimeError("memory access out of bounds");
    return tf.neg(tf.tanh(y));
  };
}

Deno.test("odeint, odeintSync and the adjoint's backward report the wasm ceiling", async () => {
  await useBackend("wasm");
  try {
    const y0 = tf.ones([4, 250]); // 1000 elements
    const before = tf.memory().numTensors;
    const forward = await odeint(trapsAt(9), y0, [0, 1]).then(() => undefined, (e) => e);
    assert.ok(forward instanceof WasmMemoryError, String(forward));
    assert.ok(forward.cause instanceof WebAssembly.RuntimeError);
    assert.match(forward.message, /the state holds 1000 float32 elements/);
    // The memory now, as the backend reports it, against the 4 GiB ceiling.
    const heap = (tf.backend() as unknown as { wasm: { HEAP8: Int8Array } }).wasm.HEAP8.buffer;
    assert.equal(forward.memoryBytes, heap.byteLength);
    assert.match(forward.message, /of its 4\.00 GiB ceiling/);
    assert.throws(() => odeintSync(trapsAt(9), y0, [0, 1]), WasmMemoryError);
    assert.equal(tf.memory().numTensors, before, "a failed solve leaves no tensors");

    // The backward solve: its state is [y, dL/dy, dL/dθ], 2·1000 + 1 elements.
    const theta = tf.tidy(() => tf.variable(tf.scalar(1), true, "wasm_memory_theta"));
    let calls = 0;
    let failAt = Infinity;
    const f = (_t: number, y: tf.Tensor) => {
      if (++calls === failAt) throw new WebAssembly.RuntimeError("memory access out of bounds");
      return tf.mul(theta, tf.neg(tf.tanh(y)));
    };
    const sol = await odeintAdjoint(f, y0, [0, 1], [theta]);
    failAt = calls + 10; // (the tenth backward evaluation)
    const dLdys = tf.onesLike(sol.ys);
    const backward = await sol.backward(dLdys).then(() => undefined, (e) => e);
    assert.ok(backward instanceof WasmMemoryError, String(backward));
    assert.match(backward.message, /the backward state \[y, dL\/dy, dL\/dθ\] holds 2001 float32/);
    tf.dispose([sol.ys, dLdys, theta]);
    assert.equal(tf.memory().numTensors, before);

    // A field that genuinely blows up, with the memory far from full: still a NonFiniteError.
    const blowUp = (_t: number, y: tf.Tensor) => tf.mul(tf.square(y), 1e30);
    await assert.rejects(odeint(blowUp, y0, [0, 1]), NonFiniteError);
    const returned = await odeint(blowUp, y0, [0, 1], { onFailure: "return" });
    assert.equal(returned.status, "non_finite");
    tf.dispose([returned.ys, y0]);
    assert.equal(tf.memory().numTensors, before - 1);
  } finally {
    await useBackend("cpu");
  }
});
