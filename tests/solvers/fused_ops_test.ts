import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "../../backend.ts";
import { hasFusedKernels, linearCombination, scaledSquareSum } from "../../solvers/fused_ops.ts";
import { assertClose, values } from "../helpers.ts";

Deno.test("fused kernels (cpu, wasm) equal the stock ops they replace, gradients included", async () => {
  for (const backend of ["cpu", "wasm"] as const) {
    await useBackend(backend);
    assert.ok(hasFusedKernels(), backend);
    const before = tf.memory().numTensors;
    const xs = [0, 1, 2, 3].map((i) => tf.randomNormal([3, 5], 0, 1, "float32", i));
    const w = [1, -0.3, 0, 2.5];
    const fused = linearCombination(xs, w);
    const stock = tf.tidy(() => tf.addN(xs.map((x, i) => tf.mul(x, w[i]))));
    assert.deepEqual(fused.shape, [3, 5]);
    // float32 rounding of four terms of size ~3: 1e-6 absolute is a few ulps.
    assertClose(await values(fused), await values(stock), { atol: 1e-6 }, `${backend} Σ w x`);
    const grads = tf.grads((...v: tf.Tensor[]) => tf.sum(tf.square(linearCombination(v, w))))(xs);
    const stockGrads = tf.grads((...v: tf.Tensor[]) =>
      tf.sum(tf.square(tf.addN(v.map((x, i) => tf.mul(x, w[i])))))
    )(xs);
    for (const [i, g] of grads.entries()) {
      assertClose(
        await values(g),
        await values(stockGrads[i]),
        { atol: 1e-5 },
        `${backend} ∂/∂x${i}`,
      );
    }
    const [e, a, b] = [4, 5, 6].map((i) => tf.randomNormal([2, 7], 0, 1, "float32", i));
    const rtol = 1e-3, atol = 1e-5;
    // The stock ops it replaces (errorRatio's plain path and rmsNorm): mean or sum of squares.
    const q = tf.tidy(() =>
      tf.div(e, tf.add(tf.mul(tf.maximum(tf.abs(a), tf.abs(b)), rtol), atol))
    );
    for (const divisor of [0, 14]) {
      const ss = scaledSquareSum(e, a, b, { rtol, atol, divisor });
      const expected = tf.tidy(() => divisor > 0 ? tf.mean(tf.square(q)) : tf.sum(tf.square(q)));
      assert.deepEqual(ss.shape, [1, 1]);
      // On cpu the same roundings as the stock kernels, so equal; on wasm to float32 rounding.
      const tol = backend === "cpu" ? { rtol: 0 } : { rtol: 1e-6 };
      assertClose(await values(ss), await values(expected), tol, `${backend} Σ q² / ${divisor}`);
      tf.dispose([ss, expected]);
    }
    const plain = scaledSquareSum(e);
    const plainStock = tf.tidy(() => tf.sum(tf.square(e)));
    assertClose(await values(plain), await values(plainStock), { rtol: 1e-6 }, "Σ e²");
    tf.dispose([q, plain, plainStock]);
    tf.dispose([xs, fused, stock, grads, stockGrads, e, a, b]);
    assert.equal(tf.memory().numTensors, before, `${backend}: tensors leaked`);
  }
  await useBackend("cpu");
});
