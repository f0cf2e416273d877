import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { vjp } from "../../../adjoint/vjp.ts";
import { odeintSync } from "../../../solvers/odeint.ts";
import { acrobotTrajectories, windowsOf } from "../../../models/acrobot/dataset.ts";
import { seededRandom, uniform } from "../../../models/data/random.ts";
import type { DenseLayer } from "../../../models/acrobot/softplus_mlp.ts";
import { Symoden } from "../../../models/acrobot/symoden.ts";
import { assertClose } from "../../helpers.ts";

await tf.setBackend("cpu");

const TINY = { massHidden: 6, potentialHidden: 5, inputHidden: 4 };

// ---------------------------------------------------------------------------------------------
// A float64 reference of the model, written from the equations: plain JS MLPs on the model's
// weights, and every derivative (∂H, dM⁻¹/dt) by central finite differences. It shares no code
// with the tfjs implementation (which writes the derivatives out by hand).
// ---------------------------------------------------------------------------------------------

type Layer = { W: number[]; b: number[]; nIn: number; nOut: number };
type Weights = { M: Layer[]; V: Layer[]; g: Layer[] };

async function weightsOf(model: Symoden): Promise<Weights> {
  const read = (net: readonly DenseLayer[]) =>
    Promise.all(net.map(async ({ W, b }) => ({
      W: Array.from(await W.data()),
      b: Array.from(await b.data()),
      nIn: W.shape[0],
      nOut: W.shape[1],
    })));
  return {
    M: await read(model.massNet),
    V: await read(model.potentialNet),
    g: await read(model.inputNet),
  };
}

/** The weights as one flat list (model.variables order), and back. */
function flatWeights(w: Weights): number[][] {
  return [...w.M, ...w.V, ...w.g].flatMap((l) => [l.W, l.b]);
}
function withFlat(w: Weights, flat: number[][]): Weights {
  let k = 0;
  const take = (net: Layer[]) => net.map((l) => ({ ...l, W: flat[k++], b: flat[k++] }));
  return { M: take(w.M), V: take(w.V), g: take(w.g) };
}

const softplus = (z: number) => (z > 30 ? z : Math.log1p(Math.exp(z)));

function mlp64(net: Layer[], x: number[]): number[] {
  let h = x;
  net.forEach((l, i) => {
    const out = l.b.slice();
    for (let j = 0; j < l.nIn; j++) {
      for (let o = 0; o < l.nOut; o++) out[o] += h[j] * l.W[j * l.nOut + o];
    }
    h = i < net.length - 1 ? out.map(softplus) : out;
  });
  return h;
}

/** M⁻¹ as [a, b, c] (= [[a, b], [b, c]]). */
function massInv64(w: Weights, cs: number[]): [number, number, number] {
  const [l11, l22, l21] = mlp64(w.M, cs);
  return [l11 * l11 + 0.1, l11 * l21, l21 * l21 + l22 * l22 + 0.1];
}

function hamiltonian64(w: Weights, cs: number[], p: number[]): number {
  const [a, b, c] = massInv64(w, cs);
  return 0.5 * (a * p[0] * p[0] + 2 * b * p[0] * p[1] + c * p[1] * p[1]) + mlp64(w.V, cs)[0];
}

/** Central difference of a vector function along direction d. */
function fdDir(f: (x: number[]) => number[], x: number[], d: number[], h: number): number[] {
  const plus = f(x.map((v, i) => v + h * d[i]));
  const minus = f(x.map((v, i) => v - h * d[i]));
  return plus.map((v, i) => (v - minus[i]) / (2 * h));
}
const unit = (n: number, i: number) => Array.from({ length: n }, (_, j) => (j === i ? 1 : 0));

/** Every term of the vector field at one observation, float64. */
function terms64(w: Weights, x: number[]) {
  const cs = x.slice(0, 4);
  const [cosQ, sinQ] = [x.slice(0, 2), x.slice(2, 4)];
  const qd = x.slice(4, 6);
  const u = x.slice(6, 8);
  const [a, b, c] = massInv64(w, cs);
  const det = a * c - b * b;
  const p = [(c * qd[0] - b * qd[1]) / det, (a * qd[1] - b * qd[0]) / det];
  const h = 1e-5; // H ~ 1: FD truncation ~h²·H‴ ≈ 1e-10, rounding ~1e-16/h ≈ 1e-11
  const dHdp = [0, 1].map((i) =>
    fdDir(([p0, p1]) => [hamiltonian64(w, cs, [p0, p1])], p, unit(2, i), h)[0]
  );
  const dHdx = [0, 1, 2, 3].map((i) =>
    fdDir((y) => [hamiltonian64(w, y, p)], cs, unit(4, i), h)[0]
  );
  const g = mlp64(w.g, cs);
  const pDot = [0, 1].map((i) =>
    sinQ[i] * dHdx[i] - cosQ[i] * dHdx[2 + i] + g[2 * i] * u[0] + g[2 * i + 1] * u[1]
  );
  const xDot = [-sinQ[0] * dHdp[0], -sinQ[1] * dHdp[1], cosQ[0] * dHdp[0], cosQ[1] * dHdp[1]];
  const [ad, bd, cd] = fdDir((y) => massInv64(w, y), cs, xDot, h);
  const qdd = [
    a * pDot[0] + b * pDot[1] + ad * p[0] + bd * p[1],
    b * pDot[0] + c * pDot[1] + bd * p[0] + cd * p[1],
  ];
  return {
    H: hamiltonian64(w, cs, p),
    p,
    dHdp,
    dHdcos: dHdx.slice(0, 2),
    dHdsin: dHdx.slice(2, 4),
    massInvDot: [ad, bd, bd, cd],
    dxdt: [...xDot, ...qdd, 0, 0],
  };
}

function observations(n: number, seed: number): number[][] {
  const rng = seededRandom(seed);
  return Array.from({ length: n }, () => {
    const q = [uniform(rng, -3.14, 3.14), uniform(rng, -3.14, 3.14)];
    return [
      Math.cos(q[0]),
      Math.cos(q[1]),
      Math.sin(q[0]),
      Math.sin(q[1]),
      uniform(rng, -4, 4),
      uniform(rng, -4, 4),
      uniform(rng, -2, 2),
      uniform(rng, -2, 2),
    ];
  });
}

Deno.test("(a) H, ∂H/∂p, ∂H/∂cos q, ∂H/∂sin q, dM⁻¹/dt and dx/dt match float64 finite differences", async () => {
  const model = new Symoden({ ...TINY, seed: 11 });
  const w = await weightsOf(model);
  const xs = observations(6, 12);
  const x = tf.tensor2d(xs);
  const before = tf.memory().numTensors;
  const t = model.terms(x);
  const got = {
    H: Array.from(await t.hamiltonian.data()),
    p: await t.p.array(),
    dHdp: await t.dHdp.array(),
    dHdcos: await t.dHdcos.array(),
    dHdsin: await t.dHdsin.array(),
    massInvDot: await t.massInvDot.array(),
    dxdt: await t.dxdt.array(),
  };
  const f = model.vectorField(0, x);
  assert.deepEqual(await f.array(), got.dxdt, "vectorField = terms().dxdt");
  tf.dispose([f, t as unknown as tf.TensorContainer]);
  assert.equal(tf.memory().numTensors, before, "terms/vectorField leaked tensors");
  // float32 through a few small layers: ~1e-6 relative per quantity; the FD references are
  // good to ~1e-9. 1e-4 relative + 1e-5 absolute leaves a wide margin, while any formula error
  // (a wrong sign, a transposed L, a missing term) is O(1).
  xs.forEach((xi, i) => {
    const r = terms64(w, xi);
    assertClose([got.H[i]], [r.H], { rtol: 1e-4, atol: 1e-5 }, `H #${i}`);
    assertClose(got.p[i], r.p, { rtol: 1e-4, atol: 1e-5 }, `p #${i}`);
    assertClose(got.dHdp[i], r.dHdp, { rtol: 1e-4, atol: 1e-5 }, `∂H/∂p #${i}`);
    assertClose(got.dHdp[i], xi.slice(4, 6), { rtol: 1e-4, atol: 1e-5 }, `∂H/∂p = q̇ #${i}`);
    assertClose(got.dHdcos[i], r.dHdcos, { rtol: 1e-4, atol: 1e-5 }, `∂H/∂cos q #${i}`);
    assertClose(got.dHdsin[i], r.dHdsin, { rtol: 1e-4, atol: 1e-5 }, `∂H/∂sin q #${i}`);
    assertClose(
      got.massInvDot[i].flat(),
      r.massInvDot,
      { rtol: 1e-4, atol: 1e-5 },
      `dM⁻¹/dt #${i}`,
    );
    assertClose(got.dxdt[i], r.dxdt, { rtol: 1e-4, atol: 1e-5 }, `dx/dt #${i}`);
  });
  // The networks on their own: M⁻¹ (symmetric, ⪰ 0.1·I by construction), V, g, ∂V.
  const cs = tf.slice(x, [0, 0], [-1, 4]);
  const [mInv, V, g, dV] = [
    model.massInverse(cs),
    model.potential(cs),
    model.inputMatrix(cs),
    model.potentialGradient(cs),
  ];
  const [mInvA, VA, gA, dVA] = [
    await mInv.array(),
    await V.array(),
    await g.array(),
    await dV.array(),
  ];
  xs.forEach((xi, i) => {
    const c4 = xi.slice(0, 4);
    const [a, b, c] = massInv64(w, c4);
    assertClose(mInvA[i].flat(), [a, b, b, c], { rtol: 1e-5, atol: 1e-6 }, `M⁻¹ #${i}`);
    assert.ok(a >= 0.1 && c >= 0.1 && a * c - b * b >= 0.01 - 1e-9, "M⁻¹ ⪰ 0.1·I");
    assertClose([VA[i]], mlp64(w.V, c4), { rtol: 1e-5, atol: 1e-6 }, `V #${i}`);
    assertClose(gA[i].flat(), mlp64(w.g, c4), { rtol: 1e-5, atol: 1e-6 }, `g #${i}`);
    const fd = [0, 1, 2, 3].map((k) => fdDir((y) => mlp64(w.V, y), c4, unit(4, k), 1e-5)[0]);
    assertClose(dVA[i], fd, { rtol: 1e-4, atol: 1e-5 }, `∂V #${i}`);
  });
  tf.dispose([cs, mInv, V, g, dV]);
  assert.throws(
    () => model.massInverse(tf.zeros([2, 8])),
    /inputs must be a tf.Tensor of shape \[batch, 4\]/,
  );
  x.dispose();
  model.dispose();
});

Deno.test("(b) the vector field's VJP (adjoint/vjp.ts) matches float64 finite differences", async () => {
  const model = new Symoden({ ...TINY, seed: 21 });
  const w = await weightsOf(model);
  const xs = observations(5, 22);
  const rng = seededRandom(23);
  const cotangent = xs.map(() => Array.from({ length: 8 }, () => uniform(rng, -1, 1)));
  const x = tf.tensor2d(xs);
  const cot = tf.tensor2d(cotangent);
  const before = tf.memory().numTensors;
  const { value, grads } = tf.tidy(() =>
    vjp(() => [model.vectorField(0, x)], [x, ...model.variables], [cot])
  );
  const gx = await grads[0].array() as number[][];
  const gParams = await Promise.all(grads.slice(1).map(async (g) => Array.from(await g.data())));
  tf.dispose([value, grads]);
  assert.equal(tf.memory().numTensors, before, "vjp leaked tensors");

  // L(x, θ) = Σ ⟨cotangent, f(x; θ)⟩ in float64; its directional derivatives by central FD
  // (ε = 1e-4 on a function whose own FD noise is ~1e-11 per term: absolute error ≈1e-6, plus
  // ε²·L‴ ≈ 1e-8). Measured: state 1.2e-6 and parameters ≤ 1e-4 of the scale |g|·|d|, the
  // largest relative misses on the smallest gradients, where the 1e-6 FD noise dominates.
  const L = (wts: Weights, obs: number[][]) =>
    obs.reduce(
      (acc, xi, i) => acc + terms64(wts, xi).dxdt.reduce((s, v, k) => s + v * cotangent[i][k], 0),
      0,
    );
  const eps = 1e-4;
  const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i], 0);

  // State: along 4 random directions of the whole batch (the u channels included).
  for (let trial = 0; trial < 4; trial++) {
    const d = xs.map(() => Array.from({ length: 8 }, () => uniform(rng, -1, 1)));
    const fd = (L(w, xs.map((xi, i) => xi.map((v, k) => v + eps * d[i][k]))) -
      L(w, xs.map((xi, i) => xi.map((v, k) => v - eps * d[i][k])))) / (2 * eps);
    const ad = gx.reduce((s, row, i) => s + dot(row, d[i]), 0);
    // The VJP is float32 (~1e-6 relative per op over ~100 ops): 1e-4 relative of the scale of
    // the terms summed, |g|·|d|.
    const scale = Math.sqrt(
      gx.flat().reduce((s, v) => s + v * v, 0) * d.flat().reduce((s, v) => s + v * v, 0),
    );
    assert.ok(Math.abs(ad - fd) <= 1e-4 * scale + 1e-6, `∂/∂x along d${trial}: ${ad} vs ${fd}`);
  }
  // Parameters: one random direction per variable (all 18 tensors, every network).
  const flat = flatWeights(w);
  flat.forEach((theta, k) => {
    const d = theta.map(() => uniform(rng, -1, 1));
    const at = (s: number) =>
      withFlat(w, flat.map((t, j) => (j === k ? t.map((v, i) => v + s * d[i]) : t)));
    const fd = (L(at(eps), xs) - L(at(-eps), xs)) / (2 * eps);
    const ad = dot(gParams[k], d);
    const scale = Math.sqrt(dot(gParams[k], gParams[k]) * dot(d, d));
    assert.ok(
      Math.abs(ad - fd) <= 1e-4 * scale + 1e-5,
      `${model.variables[k].name} along a random direction: ${ad} vs ${fd}`,
    );
  });
  tf.dispose([x, cot]);
  model.dispose();
});

Deno.test("(c) adjoint gradients of step() agree with discretise-then-optimise through odeintSync", async () => {
  const model = new Symoden({ ...TINY, seed: 31 });
  const traj = await acrobotTrajectories({
    trials: 2,
    steps: 9,
    controls: [[0, 1], [-1, 0]],
    cacheDir: false,
  });
  const windows = windowsOf(traj, 0, 2, 8); // 2 controls × 2 windows × 2 trials = 8 samples
  const tol = { rtol: 1e-6, atol: 1e-6 };
  const ts = Array.from({ length: 8 }, (_, i) => i * 0.05);
  // Reference: backpropagate through every operation of the solver (exact gradient of the
  // discrete forward solve) at the same tolerance.
  const x0 = tf.squeeze(tf.slice(windows, [0, 0, 0], [-1, 1, -1]), [1]);
  const dto = tf.variableGrads(() => {
    const ys = odeintSync((t, x) => model.vectorField(t, x), x0, ts, tol).ys;
    return tf.mean(tf.squaredDifference(tf.transpose(ys, [1, 0, 2]), windows)) as tf.Scalar;
  }, model.variables);
  const dtoLoss = (await dto.value.data())[0];
  const nfe: Record<string, { forward: number; backward: number; loss: number }> = {};
  const gradsOf: Record<string, number[][]> = {};
  for (const norm of ["default", "seminorm"] as const) {
    const before = tf.memory().numTensors;
    const step = await model.step(windows, { ...tol, record: true, adjoint: { norm } });
    assert.equal(tf.memory().numTensors, before + model.variables.length, "only grads remain");
    assert.equal(step.count, 8);
    assert.ok(Math.abs(step.loss - dtoLoss) < 1e-6 + 1e-5 * dtoLoss, `${step.loss} vs ${dtoLoss}`);
    assert.equal(step.backward.evalTs!.length, step.backward.nfe);
    nfe[norm] = { forward: step.forward.nfe, backward: step.backward.nfe, loss: step.loss };
    gradsOf[norm] = [];
    for (const v of model.variables) {
      const a = Array.from(await step.grads[v.name].data());
      gradsOf[norm].push(a);
      const b = Array.from(await dto.grads[v.name].data());
      // Both are accurate to the solver tolerance (1e-6 per solve) but take different steps
      // (forward vs backward solves): measured agreement ≈1e-5 of the gradient's largest entry.
      const scale = Math.max(...b.map(Math.abs));
      assertClose(a, b, { rtol: 0, atol: 2e-4 * scale + 1e-7 }, `${norm} ${v.name}`);
    }
    tf.dispose(step.grads);
  }
  // The norm is the backward solve's only: the same forward solve (NFE and loss) for both.
  assert.equal(nfe.seminorm.forward, nfe.default.forward, "forward NFE");
  assert.equal(nfe.seminorm.loss, nfe.default.loss, "loss");
  // The seminorm is the default norm less the a_θ parts (a max over fewer parts, never
  // larger), so from any one state it accepts every step the default accepts. At rtol = atol the state and a_x
  // limit the steps and both norms take the same ones (measured 98 and 98); the strict saving
  // is the next test's.
  assert.ok(
    nfe.seminorm.backward <= nfe.default.backward,
    `backward NFE: seminorm ${nfe.seminorm.backward} > default ${nfe.default.backward}`,
  );
  // Both gradients are accurate to the solver's tolerance: they agree with each other as each
  // does with the reference above (2e-4 of the largest entry).
  model.variables.forEach((v, k) => {
    const b = gradsOf.default[k];
    const scale = Math.max(...b.map(Math.abs));
    assertClose(gradsOf.seminorm[k], b, { atol: 2e-4 * scale + 1e-7 }, `norms agree: ${v.name}`);
  });
  // evaluate() is the forward half of step().
  const ev = await model.evaluate(windows, tol);
  assert.ok(Math.abs(ev.loss - dtoLoss) < 1e-6 + 1e-5 * dtoLoss);
  tf.dispose([dto.value, dto.grads, x0, windows]);
  model.dispose();
});

Deno.test("(d) the seminorm saves backward evaluations where a_θ limits the default norm's steps", async () => {
  const model = new Symoden({ ...TINY, seed: 31 });
  const traj = await acrobotTrajectories({
    trials: 2,
    steps: 9,
    controls: [[0, 1], [-1, 0]],
    cacheDir: false,
  });
  const windows = windowsOf(traj, 0, 2, 8);
  // atol far below rtol (the small preset's 1e-3 / 1e-9): the parameter adjoints start at 0 on
  // every backward gap, so the default norm measures them against atol alone and its first
  // steps are tiny; the seminorm ignores them (ACROBOT_PRESET_NOTES, experiments/acrobot).
  // Measured: 128 default, 92 seminorm.
  const tol = { rtol: 1e-3, atol: 1e-9 };
  const steps = [];
  for (const norm of ["default", "seminorm"] as const) {
    steps.push(await model.step(windows, { ...tol, adjoint: { norm } }));
  }
  const [full, semi] = steps;
  assert.equal(semi.forward.nfe, full.forward.nfe, "forward NFE");
  assert.ok(
    semi.backward.nfe < full.backward.nfe,
    `backward NFE: seminorm ${semi.backward.nfe}, default ${full.backward.nfe}`,
  );
  for (const v of model.variables) {
    // rtol 1e-3 on both solves, different steps: agreement to ~1e-3 of the largest entry
    // (measured 3e-5); a gradient with a term missing differs by O(1) of it.
    const b = Array.from(await full.grads[v.name].data());
    const scale = Math.max(...b.map(Math.abs));
    assertClose(
      Array.from(await semi.grads[v.name].data()),
      b,
      { atol: 5e-3 * scale + 1e-7 },
      `norms agree at rtol 1e-3: ${v.name}`,
    );
  }
  tf.dispose([full.grads, semi.grads, windows]);
  model.dispose();
});

Deno.test("sizes, names, initialisation and the experiment's parameter count", async () => {
  const full = new Symoden({ name: "paper" });
  // 324,003 (M⁻¹) + 92,101 (V) + 93,004 (g), as the original.
  assert.equal(full.parameterCount, 509108);
  assert.equal(full.variables.length, 20);
  assert.equal(new Set(full.variables.map((v) => v.name)).size, 20);
  assert.ok(full.variables.every((v) => v.name.startsWith("paper/")));
  // torch.nn.Linear initialisation: U(±1/√fan_in) for weights and biases.
  const [W2, b2] = [full.variables[2], full.variables[3]]; // M net, 400 → 400
  const bound = 1 / Math.sqrt(400);
  for (const v of [W2, b2]) {
    const d = await v.data();
    assert.ok(d.every((x) => Math.abs(x) <= bound));
    let [lo, hi] = [0, 0];
    for (const x of d) [lo, hi] = [Math.min(lo, x), Math.max(hi, x)];
    assert.ok(hi > 0.95 * bound && lo < -0.95 * bound, "spans the interval");
  }
  assert.throws(() => new Symoden({ name: "paper" }), /variables named "paper\/…" already exist/);
  full.dispose();
  const again = new Symoden({ name: "paper", ...TINY, seed: 5 });
  const twin = new Symoden({ name: "twin", ...TINY, seed: 5 });
  for (let i = 0; i < again.variables.length; i++) {
    assert.deepEqual(await again.variables[i].data(), await twin.variables[i].data(), "seeded");
  }
  assert.throws(() => new Symoden({ massHidden: 0 }), /massHidden must be a positive integer/);
  tf.dispose([again.variables, twin.variables]);
});

Deno.test("bad inputs to the model give clear errors", async () => {
  const model = new Symoden(TINY);
  const x = tf.zeros([3, 6]);
  assert.throws(() => model.vectorField(0, x), /x must have shape \[batch, 8\]/);
  await assert.rejects(
    model.step(tf.zeros([4, 8])),
    /windows must have shape \[batch, time ≥ 2, 8\]/,
  );
  await assert.rejects(model.step(tf.zeros([0, 8, 8])), /windows is an empty batch/);
  await assert.rejects(model.evaluate(tf.zeros([2, 1, 8])), /time ≥ 2/);
  await assert.rejects(
    model.step(tf.zeros([2, 3, 8]), { adjoint: { norm: "semi" as never } }),
    /Unknown adjoint norm "semi"/,
  );
  // A misspelt option is named, with the valid ones.
  await assert.rejects(
    model.step(tf.zeros([2, 3, 8]), { rTol: 1e-3 } as never),
    /Unknown Symoden option "rTol"; valid: rtol, atol, method, record, dt \(and adjoint, vjp in step\)/,
  );
  await assert.rejects(
    model.evaluate(tf.zeros([2, 3, 8]), { adjoint: {} } as never),
    /Unknown Symoden option "adjoint"/,
  );
  await assert.rejects(
    model.step(tf.zeros([2, 3, 8]), { vjp: "auto" as never }),
    /vjp must be "hand" or "tape", got "auto"/,
  );
  // A NaN target is reported before any solve, naming the targets.
  const nan = tf.tidy(() => {
    const w = tf.buffer([2, 3, 8], "float32");
    w.set(NaN, 1, 2, 5);
    return w.toTensor();
  });
  const before = tf.memory().numTensors;
  for (const call of [() => model.step(nan), () => model.evaluate(nan)]) {
    await assert.rejects(
      call(),
      /the targets \(windows\) hold 1 NaN or infinite value\(s\), the first at window 1, time 2, channel 5 \(NaN\)/,
    );
  }
  assert.equal(tf.memory().numTensors, before, "no tensors left behind by the check");
  const inf = tf.tidy(() => tf.concat([tf.fill([1, 3, 8], Infinity), nan], 0));
  await assert.rejects(
    model.evaluate(inf),
    /hold 25 NaN or infinite .* window 0, time 0, channel 0 \(Infinity\)/,
  );
  tf.dispose([nan, inf]);
  x.dispose();
  model.dispose();
});
