import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { adjointValueAndGrads, odeintAdjoint, withVjp } from "../../adjoint/mod.ts";
import { odeint, odeintSync } from "../../solvers/mod.ts";
import { assertClose, values } from "../helpers.ts";

await tf.setBackend("cpu");

/** A tensor holding `w` at every output time: L = Σ_k ⟨w_k, y(t_k)⟩, so dL/dys = w. */
function weights(T: number, n: number): number[][] {
  return Array.from(
    { length: T },
    (_, k) => Array.from({ length: n }, (_, i) => 0.5 + 0.3 * k - 0.2 * i),
  );
}

Deno.test("linear ODE: adjoint gradients equal the closed form at several output times", async () => {
  // y' = θ ⊙ y + b, elementwise: y(t) = (y0 + b/θ)·e^{θt} − b/θ.
  const theta0 = [-0.8, 0.3, -1.5];
  const b0 = [0.5, -0.2, 1];
  const y00 = [1, 2, -1];
  const ts = [0, 0.4, 1, 1.7];
  const w = weights(ts.length, 3);
  const exp = (i: number, t: number) => Math.exp(theta0[i] * t);
  // dL/dθ_i = Σ_k w_ki · ∂y_i(t_k)/∂θ_i; dL/db_i = Σ_k w_ki (e^{θt} − 1)/θ; dL/dy0_i = Σ_k w_ki e^{θt}
  const dTheta = theta0.map((th, i) =>
    ts.reduce((acc, t, k) => {
      const c = y00[i] + b0[i] / th;
      const dy = -b0[i] / th ** 2 * exp(i, t) + c * t * exp(i, t) + b0[i] / th ** 2;
      return acc + w[k][i] * dy;
    }, 0)
  );
  const dB = theta0.map((th, i) =>
    ts.reduce((acc, t, k) => acc + w[k][i] * (exp(i, t) - 1) / th, 0)
  );
  const dY0 = theta0.map((_, i) => ts.reduce((acc, t, k) => acc + w[k][i] * exp(i, t), 0));
  for (const norm of ["default", "seminorm"] as const) {
    const theta = tf.variable(tf.tensor(theta0));
    const b = tf.variable(tf.tensor(b0));
    const y0 = tf.tensor(y00);
    const dLdys = tf.tensor(w);
    const before = tf.memory().numTensors;
    const sol = await odeintAdjoint((_t, y) => tf.add(tf.mul(theta, y), b), y0, ts, [theta, b], {
      rtol: 1e-6,
      atol: 1e-7,
      adjoint: { norm },
    });
    const g = await sol.backward(dLdys);
    // Tolerances 1e-6 on each solve give gradients to ~1e-5 relative; 1e-4 adds float32 slack.
    assertClose(await values(g.params[0]), dTheta, { rtol: 1e-4, atol: 1e-5 }, `${norm} dL/dθ`);
    assertClose(await values(g.params[1]), dB, { rtol: 1e-4, atol: 1e-5 }, `${norm} dL/db`);
    assertClose(await values(g.y0), dY0, { rtol: 1e-4, atol: 1e-5 }, `${norm} dL/dy0`);
    // One backward solve per output interval.
    assert.ok(g.stats.nfe > 0 && g.stats.nAccepted >= ts.length - 1);
    tf.dispose([sol.ys, g.y0, g.params]);
    assert.equal(tf.memory().numTensors, before, "forward + backward leaked tensors");
    tf.dispose([theta, b, y0, dLdys]);
  }
});

/** A small neural vector field with fixed weights: f(t, y) = tanh(tanh(y W1 + b1) W2)·(1 + t/2). */
function neuralField(seed: number, width = 16) {
  const W1 = tf.variable(tf.randomNormal([2, width], 0, 0.8, "float32", seed));
  const b1 = tf.variable(tf.randomNormal([width], 0, 0.3, "float32", seed + 1));
  const W2 = tf.variable(tf.randomNormal([width, 2], 0, 0.5, "float32", seed + 2));
  const params = [W1, b1, W2];
  const f = (t: number, y: tf.Tensor) =>
    tf.mul(tf.tanh(tf.matMul(tf.tanh(tf.add(tf.matMul(y as tf.Tensor2D, W1), b1)), W2)), 1 + t / 2);
  return { f, params };
}

Deno.test("neural field: adjoint gradients agree with discretise-then-optimise and finite differences", async () => {
  const { f, params } = neuralField(7);
  const y0 = tf.tensor2d([[0.5, -1], [1.2, 0.3], [-0.4, 0.8]]);
  const ts = [0, 0.3, 0.8, 1.2];
  const w = tf.tensor(weights(ts.length, 6)).reshape([ts.length, 3, 2]);
  const opts = { rtol: 1e-6, atol: 1e-7 };
  const loss = (ys: tf.Tensor) => tf.sum(tf.mul(ys, w));

  // Discretise-then-optimise: backpropagate through the solver's operations.
  const dto = tf.variableGrads(
    () => loss(odeintSync(f, y0, ts, opts).ys) as tf.Scalar,
    params as tf.Variable[],
  );
  const dtoY0 = tf.grad((y: tf.Tensor) => loss(odeintSync(f, y, ts, opts).ys))(y0);

  // Central finite differences on a few entries of each parameter (float64 not available:
  // ε = 1e-2 balances the O(ε²) truncation against float32 rounding of L/ε ≈ 1e-5).
  async function lossAt(): Promise<number> {
    const sol = await odeint(f, y0, ts, { rtol: 1e-7, atol: 1e-8 });
    const l = loss(sol.ys);
    const v = (await l.data())[0];
    tf.dispose([sol.ys, l]);
    return v;
  }
  async function fd(p: tf.Variable, index: number): Promise<number> {
    const base = await values(p);
    const eps = 1e-2;
    const at = async (d: number) => {
      const v = base.slice();
      v[index] += d;
      p.assign(tf.tensor(v, p.shape));
      return await lossAt();
    };
    const g = ((await at(eps)) - (await at(-eps))) / (2 * eps);
    p.assign(tf.tensor(base, p.shape));
    return g;
  }

  for (const norm of ["default", "seminorm"] as const) {
    const sol = await odeintAdjoint(f, y0, ts, params, { ...opts, adjoint: { norm } });
    const g = await sol.backward(w);
    // Both are accurate to the solver tolerance (1e-6 relative per solve); 2e-3 covers the
    // different discretisations of forward and backward solves.
    for (let k = 0; k < params.length; k++) {
      assertClose(await values(g.params[k]), await values(dto.grads[params[k].name]), {
        rtol: 2e-3,
        atol: 2e-4,
      }, `${norm} θ${k} vs DTO`);
    }
    assertClose(
      await values(g.y0 as tf.Tensor),
      await values(dtoY0),
      { rtol: 2e-3, atol: 2e-4 },
      `${norm} y0 vs DTO`,
    );
    // Finite differences: truncation + rounding ≈ 1e-4 absolute; compare at 5e-3 relative.
    for (const [k, idx] of [[0, 3], [1, 5], [2, 1]]) {
      const expected = await fd(params[k] as tf.Variable, idx);
      assertClose(
        [(await values(g.params[k]))[idx]],
        [expected],
        { rtol: 5e-3, atol: 5e-4 },
        `${norm} θ${k}[${idx}] vs FD`,
      );
    }
    tf.dispose([sol.ys, g.y0, g.params]);
  }
  tf.dispose([y0, w, dto.value, dto.grads, dtoY0, params]);
});

Deno.test("the seminorm saves backward work on torchdiffeq's norm test field, same gradients", async () => {
  // torchdiffeq's test: f = tanh(Linear(1024→2)(tanh(Linear(2→1024)(y))))·sin(2t), y0 = [1, 2],
  // t ∈ [0, 1], L = Σ y(1). Weights drawn like torch's default Linear init (U(±1/√fan_in)).
  // At the default tolerances (rtol 1e-4, atol 1e-6: torchdiffeq's 1e-6 gives equal counts in
  // float32 here) the parameter adjoints' error sets the default norm's steps: 32 backward
  // evaluations against the seminorm's 20 on the cpu backend.
  const lin = (i: number, o: number, seed: number) => [
    tf.variable(tf.randomUniform([i, o], -1 / Math.sqrt(i), 1 / Math.sqrt(i), "float32", seed)),
    tf.variable(tf.randomUniform([o], -1 / Math.sqrt(i), 1 / Math.sqrt(i), "float32", seed + 1)),
  ];
  const [W1, b1] = lin(2, 1024, 1);
  const [W2, b2] = lin(1024, 2, 3);
  const params = [W1, b1, W2, b2];
  const f = (t: number, y: tf.Tensor) => {
    const h = tf.tanh(tf.add(tf.matMul(y as tf.Tensor2D, W1), b1));
    return tf.mul(tf.tanh(tf.add(tf.matMul(h, W2), b2)), Math.sin(2 * t));
  };
  const y0 = tf.tensor2d([[1, 2]]);
  const dLdys = tf.tensor3d([[[0, 0]], [[1, 1]]]);
  const results: { nfe: number; grads: number[][] }[] = [];
  const runs = [["default", {}], ["seminorm", {}], ["default", {
    rtol: 1e-6,
    atol: 1e-7,
  }]] as const;
  for (const [norm, tol] of runs) {
    const sol = await odeintAdjoint(f, y0, [0, 1], params, { ...tol, adjoint: { norm } });
    const g = await sol.backward(dLdys);
    results.push({ nfe: g.stats.nfe, grads: await Promise.all(g.params.map(values)) });
    tf.dispose([sol.ys, g.y0, g.params]);
  }
  const [full, semi, reference] = results;
  // Strict, with a margin: at least a fifth fewer evaluations (a seminorm equal to the default
  // norm would give the same count).
  assert.ok(semi.nfe <= 0.8 * full.nfe, `seminorm NFE ${semi.nfe} vs default ${full.nfe}`);
  // Against a solve at rtol 1e-6: rtol 1e-4 on the state and its adjoint gives the gradients to
  // ~1e-3 of their largest entry under either norm (the seminorm leaves the parameter adjoints
  // uncontrolled, but their integrands are smooth).
  reference.grads.forEach((gr, k) => {
    const scale = Math.max(...gr.map(Math.abs));
    assertClose(full.grads[k], gr, { rtol: 0, atol: 2e-3 * scale }, `default, param ${k}`);
    assertClose(semi.grads[k], gr, { rtol: 0, atol: 2e-3 * scale }, `seminorm, param ${k}`);
  });
  tf.dispose([y0, dLdys, params]);
});

Deno.test("a training step composes encoder → adjoint solve → readout (adjointValueAndGrads)", async () => {
  // Encoder y0 = x·E, field f(y) = tanh(y W), readout L = mean((ys_T · R − target)²).
  const E = tf.variable(tf.randomNormal([3, 4], 0, 0.5, "float32", 11), true, "E");
  const W = tf.variable(tf.randomNormal([4, 4], 0, 0.5, "float32", 12), true, "W");
  const R = tf.variable(tf.randomNormal([4, 1], 0, 0.5, "float32", 13), true, "R");
  const x = tf.tensor2d([[1, 0, -1], [0.5, 2, 0]]);
  const target = tf.tensor2d([[1], [-1]]);
  const f = (_t: number, y: tf.Tensor) => tf.tanh(tf.matMul(y as tf.Tensor2D, W));
  const ts = [0, 0.5, 1];
  const tol = { rtol: 1e-6, atol: 1e-7 };
  const opts = { ...tol, adjoint: { norm: "seminorm" as const } };
  const readout = (ys: tf.Tensor) => {
    const yT = tf.squeeze(tf.slice(ys, [ts.length - 1], [1]), [0]) as tf.Tensor2D;
    return tf.mean(tf.square(tf.sub(tf.matMul(yT, R), target))) as tf.Scalar;
  };
  const before = tf.memory().numTensors;
  const { value, grads, forward, backward } = await adjointValueAndGrads({
    before: () => tf.matMul(x, E),
    solve: (y0) => odeintAdjoint(f, y0, ts, [W], opts),
    after: readout,
  }, [E, W, R]);
  assert.equal(tf.memory().numTensors, before + 3, "only the three gradients remain");
  assert.ok(forward.nfe > 0 && backward.nfe > 0);
  // Reference: discretise-then-optimise through the whole model.
  const dto = tf.variableGrads(() => readout(odeintSync(f, tf.matMul(x, E), ts, tol).ys), [
    E,
    W,
    R,
  ]);
  assert.ok(Math.abs(value - (await values(dto.value))[0]) < 1e-5);
  for (const v of [E, W, R]) {
    assertClose(await values(grads[v.name]), await values(dto.grads[v.name]), {
      rtol: 2e-3,
      atol: 1e-4,
    }, v.name);
  }
  // The gradients feed an optimizer as they are; the loss goes down.
  tf.train.sgd(0.5).applyGradients(grads);
  const after = await adjointValueAndGrads({
    before: () => tf.matMul(x, E),
    solve: (y0) => odeintAdjoint(f, y0, ts, [W], opts),
    after: readout,
  }, [E, W, R]);
  assert.ok(after.value < value, `${after.value} ≥ ${value}`);
  tf.dispose([grads, after.grads, dto.value, dto.grads]);
  // A `before` that returns an existing tensor (data, no encoder) leaves it to the caller.
  const y0 = tf.matMul(x, E);
  const n = tf.memory().numTensors;
  const plain = await adjointValueAndGrads({
    before: () => y0,
    solve: (z0) => odeintAdjoint(f, z0, ts, [W], opts),
    after: readout,
  }, [W]);
  assert.ok(!y0.isDisposed, "adjointValueAndGrads disposed the caller's y0");
  assert.equal(tf.memory().numTensors, n + 1, "only the gradient remains");
  tf.dispose([plain.grads, y0, x, E, W, R, target]);
});

Deno.test("tuple states, unused parameters and the statistics of the backward solve", async () => {
  const k = tf.variable(tf.scalar(2));
  const unused = tf.variable(tf.tensor([1, 2, 3]));
  const y0 = [tf.tensor([1]), tf.tensor([0])];
  // x'' = −k x: x = cos(√k t), v = −√k sin(√k t). L = x(T) → dL/dk = −T·sin(√k T)/(2√k).
  const T = 1.3;
  const sol = await odeintAdjoint((_t, [x, v]) => [v, tf.mul(tf.neg(k), x)], y0, [0, T], [
    k,
    unused,
  ], {
    rtol: 1e-7,
    atol: 1e-8,
    adjoint: { record: true },
  });
  const g = await sol.backward([tf.tensor([[0], [1]]), tf.tensor([[0], [0]])]);
  const s = Math.sqrt(2);
  assertClose(await values(g.params[0]), [-T * Math.sin(s * T) / (2 * s)], {
    rtol: 1e-4,
    atol: 1e-6,
  }, "dL/dk");
  assert.deepEqual(await values(g.params[1]), [0, 0, 0]);
  assertClose(await values(g.y0[0]), [Math.cos(s * T)], { rtol: 1e-4, atol: 1e-6 }, "dL/dx0");
  assert.equal(g.stats.evalTs!.length, g.stats.nfe);
  assert.ok(g.stats.evalTs!.every((t) => t <= T + 1e-12), "backward evaluations run from T down");
  assert.ok(g.stats.acceptTs!.every((t, i, a) => i === 0 || t < a[i - 1]));
  tf.dispose([sol.ys, g.y0, g.params, k, unused, y0]);
});

Deno.test("errors: bad dL/dys, seminorm on a forward solve, bad options; no leaks when backward throws", async () => {
  const theta = tf.variable(tf.scalar(-1));
  const y0 = tf.tensor([1, 2]);
  const f = (_t: number, y: tf.Tensor) => tf.mul(theta, y);
  const sol = await odeintAdjoint(f, y0, [0, 0.5, 1], [theta]);
  const before = tf.memory().numTensors;
  const wrongShape = tf.zeros([2, 2]);
  await assert.rejects(sol.backward(wrongShape), /dL\/dys has shape \[2, 2\], expected \[3, 2\]/);
  await assert.rejects(sol.backward([wrongShape] as never), /dL\/dys must be one tensor/);
  wrongShape.dispose();
  await assert.rejects(
    odeint(f, y0, [0, 1], { norm: "seminorm" as never }),
    /"seminorm" and "default" are norms of the backward solve/,
  );
  await assert.rejects(
    odeintAdjoint(f, y0, [0, 1], [theta], { adjoint: { norm: "semi" as never } }),
    /Unknown adjoint norm "semi"/,
  );
  await assert.rejects(
    odeintAdjoint(f, y0, [0, 1], [theta], { adjoint: { tol: 1 } as never }),
    /Unknown adjoint option "tol"/,
  );
  await assert.rejects(odeintAdjoint(f, y0, [0, 1], [theta, theta]), /params lists a tensor twice/);
  assert.equal(tf.memory().numTensors, before);
  // A vector field that fails during the backward solve leaves nothing behind.
  let calls = 0;
  const flaky = (_t: number, y: tf.Tensor) => {
    if (++calls > 40) throw new Error("field failed");
    return tf.mul(theta, y);
  };
  const sol2 = await odeintAdjoint(flaky, y0, [0, 0.5, 1], [theta]);
  const g = tf.ones([3, 2]);
  const n = tf.memory().numTensors;
  await assert.rejects(sol2.backward(g), /field failed/);
  assert.equal(tf.memory().numTensors, n, "tensors leaked by a failed backward");
  tf.dispose([sol.ys, sol2.ys, g, theta, y0]);
});

Deno.test("bad input is named before work: NaN in dL/dys, bad adjoint tolerances, unlisted variables", async () => {
  const theta = tf.variable(tf.scalar(-1), true, "adj_err_theta");
  const hidden = tf.variable(tf.scalar(0.5), true, "adj_err_hidden");
  const y0 = tf.tensor([1, 2]);
  let calls = 0;
  const f = (_t: number, y: tf.Tensor) => (calls++, tf.mul(theta, y));
  // NaN in the cotangents names dL/dys and where, not y0 (and nothing leaks).
  const sol = await odeintAdjoint(f, y0, [0, 0.5, 1], [theta]);
  const nan = tf.tensor([[0, 0], [1, NaN], [1, 1]]);
  const n0 = tf.memory().numTensors;
  await assert.rejects(
    sol.backward(nan),
    /dL\/dys contains NaN or Inf: 1 entries at output time ts\[1\] = 0.5/,
  );
  assert.equal(tf.memory().numTensors, n0, "a rejected dL/dys leaked tensors");
  const tuple = await odeintAdjoint((_t, [a, b]) => [b, a], [y0, y0], [0, 1], []);
  const inf = [tf.zeros([2, 2]), tf.tensor([[0, 0], [Infinity, 0]])];
  const n = tf.memory().numTensors;
  await assert.rejects(tuple.backward(inf), /ts\[1\] = 1 \(state part 1\)/);
  assert.equal(tf.memory().numTensors, n, "a rejected dL/dys leaked tensors");
  // Backward tolerances are checked before the forward solve runs (f never called).
  calls = 0;
  await assert.rejects(
    odeintAdjoint(f, y0, [0, 1], [theta], { adjoint: { rtol: -1 } }),
    /rtol must be ≥ 0, got -1/,
  );
  await assert.rejects(
    odeintAdjoint(f, y0, [0, 1], [theta], { adjoint: { atol: NaN } }),
    /atol must be ≥ 0, got NaN/,
  );
  await assert.rejects(
    odeintAdjoint(f, y0, [0, 1], [theta], { adjoint: { method: "rk5" as never } }),
    /rk5/,
  );
  const perElement = tf.tensor([1e-5, 1e-4]);
  await assert.rejects(
    odeintAdjoint(f, y0, [0, 1], [theta], { rtol: perElement }),
    /per-component rtol .* applies to the forward solve only.*adjoint: \{ rtol: <number> \}/,
  );
  perElement.dispose();
  assert.equal(calls, 0, "the forward solve ran before the adjoint options were checked");
  // A trainable variable f reads but params leaves out: named at the first backward evaluation.
  const g = (_t: number, y: tf.Tensor) => tf.mul(tf.mul(theta, hidden), y);
  const sol2 = await odeintAdjoint(g, y0, [0, 1], [theta]);
  const ones = tf.ones([2, 2]);
  const m = tf.memory().numTensors;
  await assert.rejects(
    sol2.backward(ones),
    /f reads the trainable variable "adj_err_hidden", not in params.*Add it to odeintAdjoint's params/,
  );
  assert.equal(tf.memory().numTensors, m, "the unlisted-variable error leaked tensors");
  // Tuple states take the same check; a frozen variable (trainable = false) is no error.
  const sol3 = await odeintAdjoint((_t, [a, b]) => [tf.mul(hidden, b), a], [y0, y0], [0, 1], []);
  await assert.rejects(sol3.backward([ones, ones]), /"adj_err_hidden", not in params/);
  hidden.trainable = false;
  const g2 = await sol2.backward(ones);
  // y' = θ·h·y with θh = −0.5: L = Σ y(1) → dL/dθ = h·Σ y0·e^{θh} = 0.5·3·e^{−0.5}.
  assertClose(await values(g2.params[0]), [1.5 * Math.exp(-0.5)], { rtol: 1e-3 }, "dL/dθ");
  // A field with its own VJP: its trainable parameters left out of params are rejected up front.
  const field = withVjp((_t, y: tf.Tensor) => tf.mul(theta, y), [theta], (_t, y, a) => ({
    value: tf.mul(theta, y),
    y: tf.mul(theta, a),
    params: [tf.sum(tf.mul(a, y))],
  }));
  calls = 0;
  await assert.rejects(
    odeintAdjoint(field, y0, [0, 1], []),
    /params leaves out the field's trainable variable\(s\) "adj_err_theta"/,
  );
  tf.dispose([sol.ys, tuple.ys, sol2.ys, sol3.ys, g2.y0, g2.params, nan, inf, ones]);
  tf.dispose([theta, hidden, y0]);
});
