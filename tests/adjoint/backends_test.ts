// A whole training step (encoder → adjoint solve with the seminorm → readout) gives the same
// loss and gradients on cpu, wasm and webgpu (the software adapter where no GPU is present).
// Every read is `await data()`; webgpu has no `dataSync`.

import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { type BackendName, useBackend } from "../../backend.ts";
import { adjointValueAndGrads, odeintAdjoint } from "../../adjoint/mod.ts";

async function webgpuAvailable(): Promise<boolean> {
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  return gpu !== undefined && (await gpu.requestAdapter()) !== null;
}
const BACKENDS: BackendName[] = ["cpu", "wasm"];
if (await webgpuAvailable()) BACKENDS.push("webgpu");

/** Deterministic data in [-scale, scale]. */
function fill(n: number, seed: number, scale: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => scale * Math.sin(seed + 12.9898 * i));
}

async function trainingStep(name: BackendName) {
  await useBackend(name);
  const before = tf.memory().numTensors;
  const variable = (data: Float32Array, shape: [number, number], n: string) =>
    tf.tidy(() => tf.variable(tf.tensor2d(data, shape), true, `${n}_${name}`));
  const E = variable(fill(12, 1, 0.5), [3, 4], "E");
  const W = variable(fill(16, 2, 0.5), [4, 4], "W");
  const R = variable(fill(4, 3, 0.5), [4, 1], "R");
  const x = tf.tensor2d(fill(24, 4, 1), [8, 3]);
  const target = tf.tensor2d(fill(8, 5, 1), [8, 1]);
  const f = (t: number, y: tf.Tensor) => tf.mul(tf.tanh(tf.matMul(y as tf.Tensor2D, W)), 1 + t);
  const { value, grads, backward } = await adjointValueAndGrads({
    before: () => tf.matMul(x, E),
    solve: (y0) =>
      odeintAdjoint(f, y0, [0, 0.5, 1], [W], {
        rtol: 1e-5,
        atol: 1e-7,
        adjoint: { norm: "seminorm" },
      }),
    after: (ys) => {
      const yT = tf.squeeze(tf.slice(ys, 2, 1), [0]) as tf.Tensor2D;
      return tf.mean(tf.square(tf.sub(tf.matMul(yT, R), target))) as tf.Scalar;
    },
  }, [E, W, R]);
  const out = {
    value,
    nfe: backward.nfe,
    grads: await Promise.all([E, W, R].map(async (v) => Array.from(await grads[v.name].data()))),
  };
  tf.dispose([grads, E, W, R, x, target]);
  assert.equal(tf.memory().numTensors, before, `${name}: tensors leaked`);
  return out;
}

Deno.test({
  name: `adjoint training step agrees on ${BACKENDS.join(", ")}`,
  async fn() {
    try {
      const ref = await trainingStep("cpu");
      for (const name of BACKENDS.slice(1)) {
        const got = await trainingStep(name);
        // float32 kernels differ in rounding between backends; adaptive stepping turns that
        // into differences of the order of the tolerance (1e-5): compare at 1e-3 relative.
        assert.ok(Math.abs(got.value - ref.value) <= 1e-4 * Math.abs(ref.value), `${name} loss`);
        got.grads.forEach((g, k) => {
          const scale = Math.max(...ref.grads[k].map(Math.abs));
          g.forEach((v, i) =>
            assert.ok(
              Math.abs(v - ref.grads[k][i]) <= 1e-3 * scale,
              `${name} grad ${k}[${i}]: ${v} vs ${ref.grads[k][i]}`,
            )
          );
        });
        assert.ok(Math.abs(got.nfe - ref.nfe) <= 12, `${name} NFE ${got.nfe} vs ${ref.nfe}`);
      }
    } finally {
      await useBackend("cpu");
    }
  },
});
