import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { odeintAdjoint, odeintSyncTs } from "../../adjoint/mod.ts";
import { odeint, odeintSync } from "../../solvers/mod.ts";
import { assertClose, values } from "../helpers.ts";

await tf.setBackend("cpu");

Deno.test("dL/dts of the adjoint equal the closed form on a time-dependent field", async () => {
  // y' = θ·cos(t)·y: y(t) = y0·exp(θ(sin t − sin t0)). L = Σ_i w_i·Σ y(t_i), so
  // dL/dt_i = w_i·θ·cos(t_i)·Σ y(t_i) (i ≥ 1) and dL/dt0 = −θ·cos(t0)·Σ_{i≥1} w_i·Σ y(t_i).
  const theta = 0.7;
  const y00 = [1, -2];
  const w = [0.3, 1, -0.5, 2];
  for (const ts of [[0.1, 0.6, 1.3, 2], [2, 1.3, 0.6, 0.1]]) {
    const th = tf.variable(tf.scalar(theta));
    const y0 = tf.tensor(y00);
    const f = (t: number, y: tf.Tensor) => tf.mul(tf.mul(th, Math.cos(t)), y);
    const sumY = (t: number) =>
      (y00[0] + y00[1]) * Math.exp(theta * (Math.sin(t) - Math.sin(ts[0])));
    const expected = ts.map((t, i) =>
      i > 0
        ? w[i] * theta * Math.cos(t) * sumY(t)
        : -theta * Math.cos(ts[0]) * ts.slice(1).reduce((acc, s, j) => acc + w[j + 1] * sumY(s), 0)
    );
    const dLdys = tf.tidy(() => tf.mul(tf.tensor(w).reshape([4, 1]), tf.ones([4, 2])));
    const before = tf.memory().numTensors;
    const sol = await odeintAdjoint(f, y0, ts, [th], { rtol: 1e-7, atol: 1e-8, gradTs: true });
    const g = await sol.backward(dLdys);
    // Solves at rtol 1e-7 in float32: values to ~1e-6 relative; 1e-4 leaves room for rounding.
    assertClose(await values(g.ts!), expected, { rtol: 1e-4, atol: 1e-5 }, `dL/dts for ${ts}`);
    tf.dispose([sol.ys, g.y0, g.params, g.ts!]);
    assert.equal(tf.memory().numTensors, before, "gradTs leaked tensors");
    tf.dispose([th, y0, dLdys]);
  }
});

Deno.test("time gradients do not change the backward solve, only add one NFE per output time", async () => {
  const th = tf.variable(tf.tensor([-0.4, 0.9]));
  const f = (t: number, y: tf.Tensor) => tf.sin(tf.add(tf.mul(th, y), t));
  const y0 = tf.tensor([0.5, 1]);
  const ts = [0, 0.5, 1.5];
  const dLdys = tf.ones([3, 2]);
  const run = async (gradTs: boolean) => {
    const sol = await odeintAdjoint(f, y0, ts, [th], { gradTs, adjoint: { norm: "seminorm" } });
    const g = await sol.backward(dLdys);
    const out = { stats: g.stats, theta: await values(g.params[0]), hasTs: g.ts !== undefined };
    tf.dispose([sol.ys, g.y0, g.params, g.ts ?? []]);
    return out;
  };
  const plain = await run(false);
  const timed = await run(true);
  assert.equal(plain.hasTs, false, "dL/dts returned without gradTs");
  assert.equal(timed.hasTs, true);
  assert.equal(timed.stats.nAccepted, plain.stats.nAccepted);
  assert.equal(timed.stats.nRejected, plain.stats.nRejected);
  assert.equal(timed.stats.nfe, plain.stats.nfe + ts.length);
  assert.deepEqual(timed.theta, plain.theta);
  // ts as a tensor: the same solve.
  const tsTensor = tf.tensor1d(ts);
  const sol = await odeintAdjoint(f, y0, tsTensor, [th], {
    gradTs: true,
    adjoint: { norm: "seminorm" },
  });
  const g = await sol.backward(dLdys);
  assert.deepEqual(sol.ts, ts);
  assert.deepEqual(await values(g.params[0]), timed.theta);
  tf.dispose([sol.ys, g.y0, g.params, g.ts!, tsTensor]);
  await assert.rejects(
    odeintAdjoint(f, y0, ts, [th], { gradTs: "yes" as never }),
    /gradTs must be true or false/,
  );
  tf.dispose([th, y0, dLdys]);
});

/** A small time-dependent neural field on a tuple state [x (2), v (1)]. */
function field() {
  const W = tf.variable(tf.randomNormal([3, 3], 0, 0.7, "float32", 5));
  const f = (t: number, [x, v]: tf.Tensor[]) => {
    const h = tf.tanh(tf.matMul(tf.concat([x, v], 1) as tf.Tensor2D, W));
    const s = Math.sin(3 * t);
    return [tf.mul(tf.slice(h, [0, 0], [-1, 2]), 1 + s), tf.mul(tf.slice(h, [0, 2], [-1, 1]), s)];
  };
  return { W, f };
}

Deno.test("dL/dts agree between the adjoint, the tape (odeintSyncTs) and finite differences", async () => {
  const { W, f } = field();
  const y0 = [tf.tensor2d([[0.4, -0.3]]), tf.tensor2d([[0.8]])];
  const times = [0.2, 0.7, 1.1, 1.6];
  const wx = tf.tensor3d(times.map((_, i) => [[0.5 - 0.2 * i, 1 + 0.1 * i]]));
  const wv = tf.tensor3d(times.map((_, i) => [[0.3 * i - 0.4]]));
  const loss = (ys: tf.Tensor[]) =>
    tf.add(tf.sum(tf.mul(ys[0], wx)), tf.sum(tf.square(tf.mul(ys[1], wv)))) as tf.Scalar;
  const opts = { rtol: 1e-7, atol: 1e-8 };

  // Adjoint: the cotangents of L are wx and 2·v·wv².
  const sol = await odeintAdjoint(f, y0, times, [W], { ...opts, gradTs: true });
  const dLdys = tf.tidy(() => [wx.clone(), tf.mul(2, tf.mul(sol.ys[1], tf.square(wv)))]);
  const g = await sol.backward(dLdys);
  const adjoint = await values(g.ts!);

  // Tape: the same loss through odeintSyncTs with ts a variable.
  const tsVar = tf.variable(tf.tensor1d(times));
  const before = tf.memory().numTensors;
  const tape = tf.variableGrads(() => loss(odeintSyncTs(f, y0, tsVar, opts).ys), [tsVar, W]);
  assert.equal(tf.memory().numTensors, before + 3, "only the value and two gradients remain");
  const taped = await values(tape.grads[tsVar.name]);
  // The tape's other gradients are odeintSync's own: the time linearisation adds nothing to them.
  const plain = tf.variableGrads(() => loss(odeintSync(f, y0, times, opts).ys), [W]);
  assertClose(await values(tape.grads[W.name]), await values(plain.grads[W.name]), {
    rtol: 1e-6,
    atol: 1e-7,
  }, "dL/dW with and without time gradients");

  // Central differences in each time (ε = 1e-3: truncation O(ε²·L''') ≈ 1e-6, float32 rounding
  // of L/ε ≈ 1e-4 at L ≈ 1; hence the 2e-3 comparison below).
  const lossAt = async (ts: number[]) => {
    const s = await odeint(f, y0, ts, opts);
    const l = loss(s.ys);
    const v = (await l.data())[0];
    tf.dispose([s.ys, l]);
    return v;
  };
  const eps = 1e-3;
  const fd: number[] = [];
  for (let i = 0; i < times.length; i++) {
    const at = (d: number) => lossAt(times.map((t, j) => (j === i ? t + d : t)));
    fd.push(((await at(eps)) - (await at(-eps))) / (2 * eps));
  }
  // Adjoint and tape solve different (backward / forward) discretisations at rtol 1e-7.
  assertClose(adjoint, taped, { rtol: 1e-3, atol: 1e-4 }, "adjoint vs tape");
  assertClose(adjoint, fd, { rtol: 2e-3, atol: 2e-3 }, "adjoint vs finite differences");
  tf.dispose([sol.ys, dLdys, g.y0, g.params, g.ts!, tape.value, tape.grads, plain.value]);
  tf.dispose([plain.grads, tsVar, W, y0, wx, wv]);
});

Deno.test("odeintSyncTs: bad ts are named", () => {
  const f = (_t: number, y: tf.Tensor) => tf.neg(y);
  const y0 = tf.tensor([1]);
  assert.throws(
    () => odeintSyncTs(f, y0, [0, 1] as never),
    /ts must be a float32 rank-1 tensor.*object/,
  );
  const ints = tf.tensor1d([0, 1], "int32");
  assert.throws(() => odeintSyncTs(f, y0, ints), /got a int32 tensor of shape \[2\]/);
  tf.dispose([y0, ints]);
});
