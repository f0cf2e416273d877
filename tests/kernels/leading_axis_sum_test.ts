// The fast wasm Sum/Mean over leading axes against the stock ones and a float64 sum.
//
// Tolerance: the stock kernel sums n float32 terms, off by at most n·u·Σ|x| (u = 2⁻²⁴); the fast
// one sums in float64 and rounds once. Both are checked against the float64 sum with
// n·u·Σ|x| + u·|sum|, and against each other with twice that.

import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "../../backend.ts";
import { det, stockAndFast, U } from "./helpers.ts";

Deno.test("fast Sum and Mean over leading axes equal the stock ones; other axes are stock", async () => {
  const cases: [number[], number | number[], boolean][] = [
    [[256, 64], 0, false],
    [[256, 64], [0], true],
    [[1024, 90], -2, false],
    [[4, 256, 8], [0, 1], false],
    [[4, 256, 8], [1, 0], true],
    [[256, 2], 0, false],
    [[16, 32], 1, false], // innermost: stock
    [[8, 16, 4], [0, 2], false], // not leading: stock
    [[64, 64], [0, 1], false], // all axes: stock
  ];
  for (const [shape, axis, keepDims] of cases) {
    const x = det(shape, 4, 2);
    const { stock, fast } = await stockAndFast(() => [
      tf.sum(x, axis, keepDims),
      tf.mean(x, axis, keepDims),
    ]);
    // float64 reference via the cpu backend's layout-independent definition.
    const axes = (Array.isArray(axis) ? axis : [axis]).map((a) =>
      (a + shape.length) % shape.length
    );
    const count = axes.reduce((p, a) => p * shape[a], 1);
    await useBackend("cpu");
    const absSum = tf.sum(tf.abs(x), axis);
    const bound = Array.from(await absSum.data()).map((s) => count * U * s);
    absSum.dispose();
    for (let i = 0; i < bound.length; i++) {
      const tol = 2 * bound[i] + U * Math.abs(stock[0][i]);
      assert.ok(Math.abs(fast[0][i] - stock[0][i]) <= tol, `sum ${shape} ${axis} [${i}]`);
      assert.ok(
        Math.abs(fast[1][i] - stock[1][i]) <= tol / count + U * Math.abs(stock[1][i]),
        `mean ${shape} ${axis} [${i}]`,
      );
    }
    tf.dispose(x);
  }
});

Deno.test("fast Sum: output shapes with keepDims, int32 stays stock, gradient of a broadcast bias", async () => {
  await useBackend("wasm");
  const x = tf.ones([3, 4, 5]);
  assert.deepEqual(tf.sum(x, [0, 1], true).shape, [1, 1, 5]);
  assert.deepEqual(tf.mean(x, 0).shape, [4, 5]);
  const i = tf.ones([4, 3], "int32");
  const s = tf.sum(i, 0);
  assert.equal(s.dtype, "int32");
  assert.deepEqual(Array.from(await s.data()), [4, 4, 4]);
  tf.dispose([x, i, s]);

  const h = tf.randomNormal([256, 64], 0, 1, "float32", 1), b = tf.zeros([64]);
  const { stock, fast } = await stockAndFast(() =>
    tf.grad((q: tf.Tensor) => tf.sum(tf.square(tf.add(h, q))))(b)
  );
  // d/db Σ(h + b)² = 2·Σ_rows h: 256 terms of size ~1.
  for (let j = 0; j < 64; j++) {
    assert.ok(Math.abs(fast[0][j] - stock[0][j]) <= 2 * 256 * U * 2 * 256);
  }
  tf.dispose([h, b]);
  await useBackend("cpu");
});
