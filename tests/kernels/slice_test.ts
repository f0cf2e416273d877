// The fast wasm Slice against the stock one: bit-identical (both copy values) over ranks,
// contiguous and strided slices, dtypes, and its gradient (a pad).

import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "../../backend.ts";
import { det, stockAndFast } from "./helpers.ts";

Deno.test("fast Slice is bit-identical to the stock one over ranks, strides and dtypes", async () => {
  const cases: [number[], number[], number[]][] = [
    [[4800], [4700], [100]],
    [[10], [3], [-1]],
    [[256, 130], [0, 2], [256, 64]],
    [[161, 64, 41], [10, 0, 0], [1, 64, 41]],
    [[5, 6, 7], [1, 2, 3], [3, 2, 4]],
    [[3, 4, 5, 6], [1, 0, 2, 1], [2, 4, 2, 5]],
    [[2, 3, 4, 5, 6], [1, 1, 0, 2, 3], [1, 2, 4, 3, 3]],
    [[7, 1], [2, 0], [3, 1]],
    [[4, 4], [1, 1], [0, 2]],
  ];
  for (const [shape, begin, size] of cases) {
    const x = det(shape, 5);
    const xi = tf.cast(tf.mul(x, 100), "int32");
    const { stock, fast } = await stockAndFast(
      () => [tf.slice(x, begin, size), tf.slice(xi, begin, size)],
    );
    assert.deepEqual(fast, stock, `slice ${shape} ${begin} ${size}`);
    tf.dispose([x, xi]);
  }
  const x = det([6, 8], 6);
  const { stock, fast } = await stockAndFast(() =>
    tf.grad((p: tf.Tensor) => tf.sum(tf.square(tf.slice(p, [1, 2], [3, 4]))))(x)
  );
  assert.deepEqual(fast, stock, "gradient");
  x.dispose();
  await useBackend("wasm");
  const s = tf.tensor1d(["a", "b", "c"], "string");
  const t = tf.slice(s, [1], [2]);
  assert.deepEqual(await t.array(), ["b", "c"]);
  tf.dispose([s, t]);
  await useBackend("cpu");
});
