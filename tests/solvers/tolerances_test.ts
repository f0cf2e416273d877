/**
 * Tests of `solvers/tolerances.ts` through `odeint`: tolerances per tensor of a tuple and per
 * element, equal to the scalar solve when they are equal, and the tightest component deciding
 * the steps otherwise.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { odeint } from "../../solvers/mod.ts";
import { values } from "../helpers.ts";

await tf.setBackend("cpu");

const decay = (_t: number, y: tf.Tensor) => tf.neg(y);
const pair = (_t: number, [a, b]: tf.Tensor[]) => [tf.neg(a), tf.mul(b, -2)];

Deno.test("equal per-component tolerances take exactly the scalar solve's steps", async () => {
  const before = tf.memory().numTensors;
  const y0 = tf.tensor([1, 2, 3]);
  const scalar = await odeint(decay, y0, [0, 3], { rtol: 1e-5, atol: 1e-7 });
  const rtolT = tf.fill([3], 1e-5), atolT = tf.fill([1], 1e-7);
  const perElement = await odeint(decay, y0, [0, 3], { rtol: rtolT, atol: atolT });
  assert.equal(perElement.stats.nfe, scalar.stats.nfe);
  assert.deepEqual(await values(perElement.ys), await values(scalar.ys));
  const t0 = [tf.tensor([1]), tf.tensor([1, 1])];
  const s1 = await odeint(pair, t0, [0, 3], { rtol: 1e-5 });
  const s2 = await odeint(pair, t0, [0, 3], { rtol: [1e-5, 1e-5] });
  assert.equal(s2.stats.nfe, s1.stats.nfe);
  tf.dispose([y0, rtolT, atolT, scalar.ys, perElement.ys, t0, s1.ys, s2.ys]);
  assert.equal(tf.memory().numTensors, before, "tensors leaked");
});

Deno.test("a loose component costs fewer steps; the tight one keeps its accuracy", async () => {
  const y0 = [tf.tensor([1]), tf.tensor([1, 1])];
  const tight = await odeint(pair, y0, [0, 4], { rtol: 1e-7, atol: 1e-9 });
  const loose = await odeint(pair, y0, [0, 4], { rtol: 1e-3, atol: 1e-5 });
  // Part 0 tight, part 1 loose: between the two.
  const mixed = await odeint(pair, y0, [0, 4], { rtol: [1e-7, 1e-3], atol: [1e-9, 1e-5] });
  assert.ok(mixed.stats.nfe < tight.stats.nfe, `${mixed.stats.nfe} vs ${tight.stats.nfe}`);
  assert.ok(mixed.stats.nfe >= loose.stats.nfe, `${mixed.stats.nfe} vs ${loose.stats.nfe}`);
  // Part 0 (e^{−4} ≈ 0.018) at rtol 1e-7: float32-limited, well inside 1e-6.
  const a = await values(mixed.ys[0]);
  assert.ok(Math.abs(a[1] - Math.exp(-4)) < 1e-6, `a(4) = ${a[1]}`);
  // Per element: a loose element of a one-tensor state. The RMS norm averages the elements'
  // squared scaled errors, so the loose one (≈ 0) lowers the ratio by √2: fewer steps than
  // all-tight, more than all-loose, and the tight element still within its tolerance.
  const z0 = tf.tensor([1, 1]);
  const el = tf.tensor([1e-7, 1e-3]);
  const perEl = await odeint(decay, z0, [0, 4], { rtol: el, atol: 1e-9 });
  const allTight = await odeint(decay, z0, [0, 4], { rtol: 1e-7, atol: 1e-9 });
  const allLoose = await odeint(decay, z0, [0, 4], { rtol: 1e-3, atol: 1e-9 });
  assert.ok(perEl.stats.nfe <= allTight.stats.nfe && perEl.stats.nfe > allLoose.stats.nfe);
  const z = await values(perEl.ys);
  assert.ok(Math.abs(z[2] - Math.exp(-4)) < 1e-6, `z(4) = ${z[2]}`);
  tf.dispose([y0, tight.ys, loose.ys, mixed.ys, z0, el, perEl.ys, allTight.ys, allLoose.ys]);
});

Deno.test("per-component tolerances are checked before any work", async () => {
  let calls = 0;
  const f = (_t: number, y: tf.Tensor) => (calls++, tf.neg(y));
  const y0 = tf.tensor([1, 2]);
  const bad = [tf.tensor([1e-6, 1e-6, 1e-6]), tf.tensor([1e-6, -1]), tf.tensor([1], [1], "int32")];
  const cases: [object, RegExp][] = [
    [{ rtol: bad[0] }, /rtol has shape \[3\], which does not broadcast to .* \[2\]/],
    [{ atol: bad[1] }, /every element of atol must be ≥ 0, got -1/],
    [{ atol: bad[2] }, /atol has dtype int32, not float32/],
    [{ rtol: [1e-3, 1e-4] }, /rtol is an array but the state is one tensor/],
  ];
  for (const [options, message] of cases) {
    await assert.rejects(odeint(f, y0, [0, 1], options), message);
  }
  const t0 = [y0, y0];
  await assert.rejects(
    odeint(() => t0, t0, [0, 1], { atol: [1e-6] }),
    /atol has 1 entries, but the state has 2 tensors/,
  );
  await assert.rejects(
    odeint(() => t0, t0, [0, 1], { atol: [1e-6, "1"] as never }),
    /atol\[1\] must be a number or a tf.Tensor/,
  );
  assert.equal(calls, 0);
  tf.dispose([y0, ...bad]);
});
