// The fast wasm Tanh (2·sigmoid(2x) − 1) against the stock one and float64 Math.tanh, and its
// gradient (tfjs's registered 1 − y², from the saved output).
//
// Tolerance: absolute 5e-7 ≈ 4 units in the last place of 1 (2⁻²³ each). tanh's values lie in
// [−1, 1]; the sigmoid is accurate to a few float32 roundings of a value near ½ … 1, and
// 2s − 1 turns that into an absolute (not relative) error, which is at the level of the
// float32 rounding of any O(1) input. The gradient dy·(1 − y²) moves by ≤ 2|y|·|δy| ≤ 1e-6.

import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "../../backend.ts";
import { MIN_FAST_TANH_SIZE } from "../../kernels/mod.ts";
import { det, stockAndFast } from "./helpers.ts";

const ATOL = 5e-7;

Deno.test("fast Tanh equals stock Tanh and Math.tanh to float32 rounding, over shapes and ranges", async () => {
  for (
    const [shape, scale] of [[[256, 64], 3], [[2048], 12], [[4, 16, 32], 0.01], [[100], 3]] as const
  ) {
    const x = det([...shape], 1, scale);
    const xs = Array.from(await x.data());
    const { stock, fast } = await stockAndFast(() => tf.tanh(x));
    for (let i = 0; i < xs.length; i++) {
      const exact = Math.tanh(xs[i]);
      assert.ok(Math.abs(fast[0][i] - exact) <= ATOL, `tanh(${xs[i]}): ${fast[0][i]} vs ${exact}`);
      assert.ok(Math.abs(fast[0][i] - stock[0][i]) <= ATOL, `vs stock at ${xs[i]}`);
    }
    tf.dispose(x);
  }
  await useBackend("cpu");
});

Deno.test("fast Tanh: special values, and the gradient 1 − y² from its output", async () => {
  const special = tf.tensor1d([
    0,
    -0,
    1e-30,
    40,
    -40,
    Infinity,
    -Infinity,
    NaN,
    ...new Array(MIN_FAST_TANH_SIZE).fill(0.5),
  ]);
  const { fast } = await stockAndFast(() => tf.tanh(special));
  assert.deepEqual(fast[0].slice(3, 7), [1, -1, 1, -1]);
  assert.ok(Math.abs(fast[0][2]) < ATOL);
  assert.ok(Number.isNaN(fast[0][7]));
  special.dispose();

  const x = det([256, 64], 2, 3), dy = det([256, 64], 3);
  const { stock, fast: g } = await stockAndFast(() =>
    tf.grad((p: tf.Tensor) => tf.sum(tf.mul(tf.tanh(p), dy)))(x)
  );
  const xs = await x.data(), dys = await dy.data();
  for (let i = 0; i < xs.length; i++) {
    const exact = dys[i] * (1 - Math.tanh(xs[i]) ** 2);
    assert.ok(Math.abs(g[0][i] - exact) <= 2 * ATOL, `grad at ${xs[i]}: ${g[0][i]} vs ${exact}`);
    assert.ok(Math.abs(g[0][i] - stock[0][i]) <= 2 * ATOL, `grad vs stock at ${xs[i]}`);
  }
  tf.dispose([x, dy]);
  await useBackend("cpu");
});
