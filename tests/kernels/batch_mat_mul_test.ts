// The fast wasm BatchMatMul against the stock one (and the cpu backend, for the broadcast
// batches) over shapes, both transposes, batch dims and gradients.
//
// Tolerance: a product of inner size k summed in another order differs by at most
// γ_k·Σ|a||b| with γ_k ≈ k·u (u = 2⁻²⁴, float32's unit roundoff); the test allows
// 2·k·u·max Σ_k|a_ik||b_kj| per element. (Observed: a few u·Σ|a||b|.)

import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "../../backend.ts";
import { planMatMul } from "../../kernels/mod.ts";
import { det, stockAndFast, U } from "./helpers.ts";

function check(
  stock: number[],
  fast: number[],
  k: number,
  scale: number,
  what: string,
): void {
  assert.equal(fast.length, stock.length, `${what}: size`);
  const tol = 2 * k * U * scale;
  for (let i = 0; i < stock.length; i++) {
    assert.ok(
      Math.abs(fast[i] - stock[i]) <= tol,
      `${what}[${i}]: fast ${fast[i]} vs stock ${stock[i]} (±${tol})`,
    );
  }
}

// [m, k, n]: every plan (stock for the tiny, direct, swapped) is hit, and dimensions of 1.
const SHAPES: [number, number, number][] = [
  [256, 64, 64],
  [64, 256, 64],
  [2, 256, 64],
  [256, 2, 64],
  [256, 64, 2],
  [1, 64, 64],
  [64, 64, 1],
  [4, 16, 16],
  [33, 17, 65],
];

Deno.test("fast BatchMatMul equals the stock one over shapes and transposes (values and plans)", async () => {
  const plans = new Set<string>();
  for (const [m, k, n] of SHAPES) {
    for (const tA of [false, true]) {
      for (const tB of [false, true]) {
        if (tA || tB) plans.add(planMatMul(m, k, n, 1, tA, tB));
        const a = det(tA ? [k, m] : [m, k], 1), b = det(tB ? [n, k] : [k, n], 2);
        const { stock, fast } = await stockAndFast(() => tf.matMul(a, b, tA, tB));
        // |a|, |b| ≤ 1: Σ|a||b| ≤ k.
        check(stock[0], fast[0], k, k, `${m}×${k}×${n} tA=${tA} tB=${tB}`);
        tf.dispose([a, b]);
      }
    }
  }
  assert.deepEqual([...plans].sort(), ["direct", "stock", "swapped"]);
});

Deno.test("a weight with a dimension of 1, used as stored and transposed, gives both products right", async () => {
  // XNNPACK's packed weights are cached by the data's id, not its shape: a [16, 1] weight first
  // multiplied as stored and then transposed must not reuse the first packing (the acrobot's
  // Symoden does exactly this; a reshape-instead-of-copy shortcut once got it wrong).
  const w = det([16, 1], 3), x = det([60, 16], 4), y = det([60, 1], 5);
  const { stock, fast } = await stockAndFast(() => [tf.matMul(x, w), tf.matMul(y, w, false, true)]);
  check(stock[0], fast[0], 16, 16, "x·w");
  check(stock[1], fast[1], 1, 1, "y·wᵀ");
  tf.dispose([w, x, y]);
});

Deno.test("fast BatchMatMul with batch dims: a batch of A against one B (folded), both batched (stock)", async () => {
  const cases: [number[], number[], boolean, boolean][] = [
    [[8, 64, 32], [32, 16], false, false], // rank-3 A, rank-2 B: one tall product
    [[8, 32, 64], [32, 16], true, false],
    [[2, 3, 64, 32], [1, 1, 16, 32], false, true], // broadcast batch of ones
    [[4, 64, 32], [4, 16, 64], true, true], // both batched: stock
    [[1, 64, 32], [48, 32], false, true],
  ];
  for (const [sa, sb, tA, tB] of cases) {
    const a = det(sa, 3), b = det(sb, 4);
    const k = tA ? sa[sa.length - 2] : sa[sa.length - 1];
    const { stock, fast } = await stockAndFast(() => tf.matMul(a, b, tA, tB));
    // The cpu backend as the reference too: the stock wasm loop is only right for equal batches.
    await useBackend("cpu");
    const ref = tf.matMul(a, b, tA, tB);
    const cpu = Array.from(await ref.data());
    ref.dispose();
    check(cpu, fast[0], k, k, `fast vs cpu ${sa} · ${sb} tA=${tA} tB=${tB}`);
    if (sa.length === sb.length && sa[0] === sb[0]) check(stock[0], fast[0], k, k, "vs stock");
    tf.dispose([a, b]);
  }
  await useBackend("cpu");
});

Deno.test("gradients through the fast BatchMatMul equal the stock ones", async () => {
  for (const [m, k, n] of [[256, 64, 64], [2, 256, 64], [256, 2, 64], [3, 40, 5]]) {
    for (const tA of [false, true]) {
      for (const tB of [false, true]) {
        const a = det(tA ? [k, m] : [m, k], 5), b = det(tB ? [n, k] : [k, n], 6);
        const w = det([m, n], 7);
        const { stock, fast } = await stockAndFast(() => {
          const g = tf.grads((p: tf.Tensor, q: tf.Tensor) =>
            tf.sum(tf.mul(tf.matMul(p, q, tA, tB), w))
          );
          return g([a, b]);
        });
        // dA = W·opBᵀ sums n terms, dB = opAᵀ·W sums m terms, each ≤ 1.
        check(stock[0], fast[0], n, n, `dA ${m}×${k}×${n} tA=${tA} tB=${tB}`);
        check(stock[1], fast[1], m, m, `dB ${m}×${k}×${n} tA=${tA} tB=${tB}`);
        tf.dispose([a, b, w]);
      }
    }
  }
  await useBackend("cpu");
});

Deno.test("fast BatchMatMul keeps the stock error for mismatched shapes", async () => {
  await useBackend("wasm");
  const a = tf.zeros([3, 4]), b = tf.zeros([5, 6]);
  assert.throws(() => tf.matMul(a, b, true, false), /inner shapes/);
  tf.dispose([a, b]);
  await useBackend("cpu");
});
