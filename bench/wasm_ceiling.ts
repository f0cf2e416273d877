/**
 * Runs a solve out of the wasm backend's memory, for real, and prints how it fails:
 * `deno run -A bench/wasm_ceiling.ts [forward|adjoint] [n]` (defaults forward, 1.1e8 elements:
 * about 11 states of 440 MB at the forward peak, past the 4 GiB ceiling; `adjoint 5e7`: the
 * forward solve fits, the backward one, about 23 states of 200 MB, does not).
 *
 * Needs about 4.3 GB of host memory and a minute or two. The expected outcome is a
 * `WasmMemoryError` naming the ceiling and the state's size (the backend is then unusable in
 * this process, which the last line checks).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { odeint, odeintAdjoint, useBackend } from "../mod.ts";

const kind = Deno.args[0] ?? "forward";
const n = Number(Deno.args[1] ?? (kind === "forward" ? 1.1e8 : 5e7));
await useBackend("wasm");
const heap = () => (tf.backend() as unknown as { wasm: { HEAP8: Int8Array } }).wasm.HEAP8.buffer;
const y0 = tf.randomNormal([n], 0, 1, "float32", 1);
const f = (_t: number, y: tf.Tensor) => tf.neg(tf.tanh(y));
try {
  if (kind === "forward") {
    const sol = await odeint(f, y0, [0, 1], { rtol: 1e-5 });
    console.log(`solved without running out (${sol.stats.nfe} NFE)`);
  } else {
    const sol = await odeintAdjoint(f, y0, [0, 1], [], { rtol: 1e-5 });
    console.log(`forward solve fits: ${sol.stats.nfe} NFE, memory ${heap().byteLength} bytes`);
    const g = await sol.backward(tf.onesLike(sol.ys));
    console.log(`backward solve fits too (${g.stats.nfe} NFE)`);
  }
} catch (e) {
  const error = e as Error;
  console.log(`${kind} n=${n}: ${error.name}: ${error.message}`);
  console.log(`cause: ${String(error.cause)}`);
}
console.log(`WebAssembly memory at the end: ${heap().byteLength} bytes`);
try {
  await tf.add(tf.tensor([1, 2]), 1).data();
  console.log("the wasm backend still works");
} catch (e) {
  console.log(`the wasm backend no longer works: ${e}`);
}
