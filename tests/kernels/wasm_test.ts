// Installing and removing the fast wasm kernels: useBackend("wasm") installs them, the stock
// option really leaves (or puts back) the stock kernel functions, nothing else changes.

import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "../../backend.ts";
import {
  FAST_WASM_KERNELS,
  fastWasmKernelsInstalled,
  installFastWasmKernels,
  restoreStockWasmKernels,
} from "../../kernels/mod.ts";

const funcs = () => FAST_WASM_KERNELS.map((n) => tf.getKernel(n, "wasm")!.kernelFunc);

Deno.test("useBackend('wasm') installs the fast kernels; { kernels: 'stock' } keeps the stock ones", async () => {
  await useBackend("wasm", { kernels: "stock" });
  assert.equal(fastWasmKernelsInstalled(), false);
  const stock = funcs();
  const others = tf.getKernelsForBackend("wasm").filter((k) =>
    !FAST_WASM_KERNELS.includes(k.kernelName)
  );

  await useBackend("wasm");
  assert.equal(fastWasmKernelsInstalled(), true);
  const fast = funcs();
  for (const [i, name] of FAST_WASM_KERNELS.entries()) assert.notEqual(fast[i], stock[i], name);
  installFastWasmKernels(); // idempotent
  assert.deepEqual(funcs(), fast);

  await useBackend("wasm", { kernels: "stock" });
  assert.deepEqual(funcs(), stock, "the very stock kernel functions are back");
  restoreStockWasmKernels(); // a no-op now
  assert.deepEqual(funcs(), stock);
  const othersAfter = tf.getKernelsForBackend("wasm").filter((k) =>
    !FAST_WASM_KERNELS.includes(k.kernelName)
  );
  assert.deepEqual(othersAfter.map((k) => k.kernelFunc), others.map((k) => k.kernelFunc));

  // cpu is untouched either way.
  await useBackend("wasm");
  for (const name of FAST_WASM_KERNELS) {
    assert.ok(!fast.includes(tf.getKernel(name, "cpu")!.kernelFunc), `cpu ${name}`);
  }
  await useBackend("cpu");
  assert.equal(fastWasmKernelsInstalled(), true, "switching away leaves them registered for wasm");
});

Deno.test("useBackend rejects an unknown kernels option, naming it", async () => {
  await assert.rejects(
    () => useBackend("wasm", { kernels: "turbo" as "fast" }),
    /options\.kernels is "turbo"; use "fast" or "stock"/,
  );
});
