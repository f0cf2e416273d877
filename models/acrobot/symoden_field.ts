/**
 * The vector field of the Symplectic ODE-Net (symoden.ts has the model and its equations) and its
 * hand-written vector–Jacobian product, so that the adjoint's backward solve needs no tape.
 *
 * The field takes gradients of learned functions (`∂H/∂(cos q, sin q)` through the `M⁻¹` and `V`
 * networks, and the tangent `dM⁻¹/dt` of the `M⁻¹` network along `ẋ`), written out in
 * softplus_mlp.ts. Under the tape, its VJP would be a second pass over all of that; here the
 * VJP is the reverse of each line of {@link symodenForward}, in reverse order (written next to
 * the code below, `x̄` being the cotangent of `x`), with the networks' parts reversed by
 * softplus_mlp.ts (`derivativeVjp`: the reverse of the gradient and tangent passes, which is
 * reverse-over-reverse of a softplus MLP; `mlpVjp`: the forward pass). Two identities make it
 * short: `p = N⁻¹q̇` with `N = M⁻¹` gives `q̄̇ = N⁻¹p̄` and `N̄ = −q̄̇·pᵀ` (symmetrised), and the
 * 2×2 entries `a = l11² + 0.1`, `b = l11·l21`, `c = l21² + l22² + 0.1` reverse entry by entry.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type FieldVjp, type VjpField, withVjp } from "../../mod.ts";
import {
  type DenseLayer,
  derivativeVjp,
  type GradientPass,
  gradientPass,
  mlpForward,
  type MlpPass,
  mlpVjp,
  type TangentPass,
  tangentPass,
} from "./softplus_mlp.ts";

/** The three networks of a Symoden: `M⁻¹`'s factor, the potential `V` and the input matrix `g`. */
export interface SymodenNets {
  /** `(cos q, sin q) ↦ (l11, l22, l21)`, the lower-triangular factor of `M⁻¹ − 0.1·I`. */
  mass: DenseLayer[];
  /** `(cos q, sin q) ↦ V`. */
  potential: DenseLayer[];
  /** `(cos q, sin q) ↦ g` (2×2, row-major). */
  input: DenseLayer[];
}

/** Everything the vector field computes on the way, for inspection and tests. */
export interface SymodenTerms {
  /** `M⁻¹(q)`, `[B, 2, 2]`. */
  massInv: tf.Tensor3D;
  /** `p = M(q)·q̇`, `[B, 2]`. */
  p: tf.Tensor2D;
  /** `H = ½·pᵀM⁻¹p + V`, `[B]`. */
  hamiltonian: tf.Tensor1D;
  /** `V(q)`, `[B]`. */
  potential: tf.Tensor1D;
  /** `∂H/∂p = M⁻¹p` (the model's `q̇`), `[B, 2]`. */
  dHdp: tf.Tensor2D;
  /** `∂H/∂cos q`, `[B, 2]`. */
  dHdcos: tf.Tensor2D;
  /** `∂H/∂sin q`, `[B, 2]`. */
  dHdsin: tf.Tensor2D;
  /** `g(q)`, `[B, 2, 2]`. */
  inputMatrix: tf.Tensor3D;
  /** `ṗ`, `[B, 2]`. */
  pDot: tf.Tensor2D;
  /** `dM⁻¹/dt`, `[B, 2, 2]`. */
  massInvDot: tf.Tensor3D;
  /** `dx/dt`, `[B, 8]`. */
  dxdt: tf.Tensor2D;
}

/** Columns `[from, from + n)` of a `[B, k]` tensor. */
function cols(x: tf.Tensor, from: number, n: number): tf.Tensor2D {
  return tf.slice(x, [0, from], [-1, n]) as tf.Tensor2D;
}

/** A 2×2 batch `[B, 2, 2]` from its four entries, each `[B, 1]`. */
function mat2(a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor): tf.Tensor3D {
  return tf.reshape(tf.concat([a, b, c, d], 1), [-1, 2, 2]) as tf.Tensor3D;
}

/** `Σ` of `[B, 1]` products `x_i·y_i`. */
function dot(...pairs: [tf.Tensor, tf.Tensor][]): tf.Tensor {
  const terms = pairs.map(([x, y]) => tf.mul(x, y));
  return terms.length === 1 ? terms[0] : tf.addN(terms);
}

/**
 * Checks that `x` is a batch of observations `[B, 8]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { checkObservations } from "./symoden_field.ts";
 * assert.throws(() => checkObservations(tf.zeros([2, 6]), "x"), /x must have shape \[batch, 8\]/);
 * ```
 */
export function checkObservations(x: tf.Tensor, what: string): void {
  if (!(x instanceof tf.Tensor)) throw new TypeError(`${what} must be a tf.Tensor`);
  if (x.rank !== 2 || x.shape[1] !== 8) {
    throw new TypeError(
      `${what} must have shape [batch, 8] = (cos q1, cos q2, sin q1, sin q2, q̇1, q̇2, u0, u1), ` +
        `got [${x.shape}]`,
    );
  }
}

/**
 * `M⁻¹ = L·Lᵀ + 0.1·I` as its entries `[[a, b], [b, c]]`, each `[B, 1]`, from the `M⁻¹`
 * network's output `(l11, l22, l21)` `[B, 3]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { massInverseEntries } from "./symoden_field.ts";
 * const { a, b, c } = massInverseEntries(tf.tensor2d([[1, 2, 3]]));
 * assert.deepEqual([...await a.data(), ...await b.data(), ...await c.data()].map((v) => +v.toFixed(5)), [1.1, 3, 13.1]);
 * ```
 */
export function massInverseEntries(out: tf.Tensor2D): {
  l11: tf.Tensor2D;
  l22: tf.Tensor2D;
  l21: tf.Tensor2D;
  a: tf.Tensor2D;
  b: tf.Tensor2D;
  c: tf.Tensor2D;
} {
  const [l11, l22, l21] = tf.split(out, 3, 1) as tf.Tensor2D[];
  const a = tf.add(tf.square(l11), 0.1) as tf.Tensor2D;
  const b = tf.mul(l11, l21) as tf.Tensor2D;
  const c = tf.add(tf.add(tf.square(l21), tf.square(l22)), 0.1) as tf.Tensor2D;
  return { l11, l22, l21, a, b, c };
}

/** Every intermediate of one evaluation that the VJP reads. */
interface Forward {
  cosQ: tf.Tensor2D;
  sinQ: tf.Tensor2D;
  u1: tf.Tensor;
  u2: tf.Tensor;
  mPass: MlpPass;
  l11: tf.Tensor;
  l22: tf.Tensor;
  l21: tf.Tensor;
  a: tf.Tensor;
  b: tf.Tensor;
  c: tf.Tensor;
  det: tf.Tensor;
  p1: tf.Tensor;
  p2: tf.Tensor;
  dq1: tf.Tensor;
  dq2: tf.Tensor;
  dq: tf.Tensor2D;
  w1: tf.Tensor;
  w2: tf.Tensor;
  kinPass: GradientPass;
  vPass: MlpPass;
  vGradPass: GradientPass;
  dHdcos: tf.Tensor2D;
  dHdsin: tf.Tensor2D;
  gPass: MlpPass;
  g: tf.Tensor[];
  pDot: tf.Tensor2D;
  pd1: tf.Tensor;
  pd2: tf.Tensor;
  tanPass: TangentPass;
  l11d: tf.Tensor;
  l22d: tf.Tensor;
  l21d: tf.Tensor;
  ad: tf.Tensor;
  bd: tf.Tensor;
  cd: tf.Tensor;
  dxdt: tf.Tensor2D;
}

/** The vector field at observations `x` `[B, 8]`, keeping every intermediate (unchecked). */
function forward(nets: SymodenNets, x: tf.Tensor): Forward {
  const { mass, potential, input } = nets;
  const cosSin = cols(x, 0, 4);
  const cosQ = cols(x, 0, 2);
  const sinQ = cols(x, 2, 2);
  const [qd1, qd2] = tf.split(cols(x, 4, 2), 2, 1);
  const [u1, u2] = tf.split(cols(x, 6, 2), 2, 1);

  // M⁻¹ = L·Lᵀ + 0.1·I = [[a, b], [b, c]] with L = [[l11, 0], [l21, l22]].
  const mPass = mlpForward(mass, cosSin);
  const { l11, l22, l21, a, b, c } = massInverseEntries(mPass.out);
  // p = M·q̇ with M = (M⁻¹)⁻¹ in closed form.
  const det = tf.sub(tf.mul(a, c), tf.square(b));
  const p1 = tf.div(tf.sub(tf.mul(c, qd1), tf.mul(b, qd2)), det);
  const p2 = tf.div(tf.sub(tf.mul(a, qd2), tf.mul(b, qd1)), det);
  // ∂H/∂p = M⁻¹p (equal to q̇ up to rounding, computed as the original does).
  const dq1 = tf.add(tf.mul(a, p1), tf.mul(b, p2));
  const dq2 = tf.add(tf.mul(b, p1), tf.mul(c, p2));
  const dq = tf.concat([dq1, dq2], 1) as tf.Tensor2D;
  // ½·pᵀM⁻¹p = ½·|Lᵀp|² + 0.05·|p|², so with w = Lᵀp its gradient with respect to
  // (l11, l22, l21) is (p1·w1, p2·w2, p2·w1).
  const w1 = tf.add(tf.mul(l11, p1), tf.mul(l21, p2));
  const w2 = tf.mul(l22, p2);
  const kinCot = tf.concat([tf.mul(p1, w1), tf.mul(p2, w2), tf.mul(p2, w1)], 1) as tf.Tensor2D;
  const kinPass = gradientPass(mass, mPass, kinCot);
  const vPass = mlpForward(potential, cosSin);
  const vGradPass = gradientPass(potential, vPass, tf.onesLike(vPass.out));
  const dHdx = tf.add(kinPass.grad, vGradPass.grad) as tf.Tensor2D;
  const dHdcos = cols(dHdx, 0, 2);
  const dHdsin = cols(dHdx, 2, 2);

  const gPass = mlpForward(input, cosSin);
  const g = tf.split(gPass.out, 4, 1);
  const force = tf.concat([dot([g[0], u1], [g[1], u2]), dot([g[2], u1], [g[3], u2])], 1);
  const pDot = tf.addN([tf.mul(sinQ, dHdcos), tf.neg(tf.mul(cosQ, dHdsin)), force]) as tf.Tensor2D;

  // dM⁻¹/dt = L̇Lᵀ + LL̇ᵀ, with L̇ the tangent of the M⁻¹ network along ẋ.
  const xDot = tf.concat([tf.neg(tf.mul(sinQ, dq)), tf.mul(cosQ, dq)], 1) as tf.Tensor2D;
  const tanPass = tangentPass(mass, mPass, xDot);
  const [l11d, l22d, l21d] = tf.split(tanPass.tangent, 3, 1);
  const ad = tf.mul(2, tf.mul(l11, l11d));
  const bd = tf.add(tf.mul(l11d, l21), tf.mul(l11, l21d));
  const cd = tf.mul(2, tf.add(tf.mul(l21, l21d), tf.mul(l22, l22d)));
  const [pd1, pd2] = tf.split(pDot, 2, 1);
  const qdd1 = dot([a, pd1], [b, pd2], [ad, p1], [bd, p2]);
  const qdd2 = dot([b, pd1], [c, pd2], [bd, p1], [cd, p2]);
  const dxdt = tf.concat([xDot, qdd1, qdd2, tf.zerosLike(u1), tf.zerosLike(u2)], 1) as tf.Tensor2D;
  return {
    cosQ,
    sinQ,
    u1,
    u2,
    mPass,
    l11,
    l22,
    l21,
    a,
    b,
    c,
    det,
    p1,
    p2,
    dq1,
    dq2,
    dq,
    w1,
    w2,
    kinPass,
    vPass,
    vGradPass,
    dHdcos,
    dHdsin,
    gPass,
    g,
    pDot,
    pd1,
    pd2,
    tanPass,
    l11d,
    l22d,
    l21d,
    ad,
    bd,
    cd,
    dxdt,
  };
}

/**
 * Every intermediate of the vector field at observations `x` `[B, 8]` (the caller disposes
 * them).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { Symoden } from "@fasterode/fasterode/models/acrobot";
 * import { symodenTerms } from "./symoden_field.ts";
 * const m = new Symoden({ massHidden: 4, potentialHidden: 4, inputHidden: 4, name: "terms_doc" });
 * const t = symodenTerms(m.nets, tf.tensor2d([[1, 1, 0, 0, 0.5, 0, 0, 0]]));
 * assert.deepEqual([t.dxdt.shape, t.massInv.shape], [[1, 8], [1, 2, 2]]);
 * m.dispose();
 * ```
 */
export function symodenTerms(nets: SymodenNets, x: tf.Tensor): SymodenTerms {
  checkObservations(x, "x");
  return tf.tidy(() => {
    const f = forward(nets, x);
    const potential = tf.reshape(f.vPass.out, [-1]) as tf.Tensor1D;
    const kinetic = tf.mul(0.5, tf.add(tf.mul(f.dq1, f.p1), tf.mul(f.dq2, f.p2)));
    return {
      massInv: mat2(f.a, f.b, f.b, f.c),
      p: tf.concat([f.p1, f.p2], 1) as tf.Tensor2D,
      hamiltonian: tf.add(tf.reshape(kinetic, [-1]), potential) as tf.Tensor1D,
      potential,
      dHdp: f.dq,
      dHdcos: f.dHdcos,
      dHdsin: f.dHdsin,
      inputMatrix: tf.reshape(f.gPass.out, [-1, 2, 2]) as tf.Tensor3D,
      pDot: f.pDot,
      massInvDot: mat2(f.ad, f.bd, f.bd, f.cd),
      dxdt: f.dxdt,
    };
  });
}

/**
 * The VJP of the field at `x` with the cotangent `cot` `[B, 8]`: the reverse of
 * {@link forward}, line by line in reverse order (`x̄` is the cotangent of `x`).
 */
function fieldVjp(nets: SymodenNets, x: tf.Tensor, cot: tf.Tensor): FieldVjp<tf.Tensor> {
  const f = forward(nets, x);
  const { a, b, c, p1, p2, l11, l22, l21, l11d, l22d, l21d, pd1, pd2, u1, u2, g } = f;
  const two = (t: tf.Tensor) => tf.mul(2, t);
  const xDotBar0 = cols(cot, 0, 4);
  const [A1, A2] = tf.split(cols(cot, 4, 2), 2, 1);
  // The last 2 channels of dx/dt are 0: their cotangent is ignored.

  // q̈1 = a·ṗ1 + b·ṗ2 + ȧ·p1 + ḃ·p2,  q̈2 = b·ṗ1 + c·ṗ2 + ḃ·p1 + ċ·p2.
  const aBar = [tf.mul(A1, pd1)];
  const bBar = [tf.mul(A1, pd2), tf.mul(A2, pd1)];
  const cBar = [tf.mul(A2, pd2)];
  const pd1Bar = dot([A1, a], [A2, b]);
  const pd2Bar = dot([A1, b], [A2, c]);
  const adBar = tf.mul(A1, p1);
  const bdBar = dot([A1, p2], [A2, p1]);
  const cdBar = tf.mul(A2, p2);
  const p1Bar = [tf.mul(A1, f.ad), tf.mul(A2, f.bd)];
  const p2Bar = [tf.mul(A1, f.bd), tf.mul(A2, f.cd)];
  // ȧ = 2·l11·l̇11,  ḃ = l̇11·l21 + l11·l̇21,  ċ = 2·(l21·l̇21 + l22·l̇22).
  const l11dBar = dot([two(l11), adBar], [l21, bdBar]);
  const l21dBar = dot([l11, bdBar], [two(l21), cdBar]);
  const l22dBar = tf.mul(two(l22), cdBar);
  const l11Bar = [tf.mul(two(l11d), adBar), tf.mul(l21d, bdBar)];
  const l21Bar = [tf.mul(l11d, bdBar), tf.mul(two(l21d), cdBar)];
  const l22Bar = [tf.mul(two(l22d), cdBar)];
  const tangentBar = tf.concat([l11dBar, l22dBar, l21dBar], 1) as tf.Tensor2D;

  // ṗ = sin q ⊙ ∂H/∂cos q − cos q ⊙ ∂H/∂sin q + g·u.
  const pDotBar = tf.concat([pd1Bar, pd2Bar], 1);
  const cosBar = [tf.neg(tf.mul(pDotBar, f.dHdsin))];
  const sinBar = [tf.mul(pDotBar, f.dHdcos)];
  const dHdxBar = tf.concat([tf.mul(f.sinQ, pDotBar), tf.neg(tf.mul(f.cosQ, pDotBar))], 1);
  const gBar = tf.concat([
    tf.mul(pd1Bar, u1),
    tf.mul(pd1Bar, u2),
    tf.mul(pd2Bar, u1),
    tf.mul(pd2Bar, u2),
  ], 1) as tf.Tensor2D;
  const u1Bar = dot([pd1Bar, g[0]], [pd2Bar, g[2]]);
  const u2Bar = dot([pd1Bar, g[1]], [pd2Bar, g[3]]);

  // The networks' derivative passes: ∂H/∂x = kinPass.grad + vGradPass.grad and L̇.
  const mDerived = derivativeVjp(nets.mass, f.mPass, {
    gradient: { pass: f.kinPass, cotangent: dHdxBar as tf.Tensor2D },
    tangent: { pass: f.tanPass, cotangent: tangentBar },
  });
  const vGrads = mlpVjp(
    nets.potential,
    f.vPass,
    undefined,
    derivativeVjp(nets.potential, f.vPass, {
      gradient: { pass: f.vGradPass, cotangent: dHdxBar as tf.Tensor2D },
    }),
  );
  const gGrads = mlpVjp(nets.input, f.gPass, gBar);

  // kinCot = (p1·w1, p2·w2, p2·w1),  w1 = l11·p1 + l21·p2,  w2 = l22·p2.
  const [K1, K2, K3] = tf.split(mDerived.cot!, 3, 1);
  p1Bar.push(tf.mul(K1, f.w1));
  p2Bar.push(tf.mul(K2, f.w2), tf.mul(K3, f.w1));
  const w1Bar = dot([K1, p1], [K3, p2]);
  const w2Bar = tf.mul(K2, p2);
  l11Bar.push(tf.mul(w1Bar, p1));
  l21Bar.push(tf.mul(w1Bar, p2));
  l22Bar.push(tf.mul(w2Bar, p2));
  p1Bar.push(tf.mul(w1Bar, l11));
  p2Bar.push(tf.mul(w1Bar, l21), tf.mul(w2Bar, l22));

  // ẋ = (−sin q ⊙ q̇, cos q ⊙ q̇): its cotangent is the output's plus the tangent direction's.
  const xDotBar = tf.add(xDotBar0, mDerived.v!);
  const xd1Bar = cols(xDotBar, 0, 2);
  const xd2Bar = cols(xDotBar, 2, 2);
  sinBar.push(tf.neg(tf.mul(xd1Bar, f.dq)));
  cosBar.push(tf.mul(xd2Bar, f.dq));
  const dqBar = tf.sub(tf.mul(xd2Bar, f.cosQ), tf.mul(xd1Bar, f.sinQ));
  const [dq1Bar, dq2Bar] = tf.split(dqBar, 2, 1);

  // q̇_model = M⁻¹p: dq1 = a·p1 + b·p2, dq2 = b·p1 + c·p2.
  aBar.push(tf.mul(dq1Bar, p1));
  bBar.push(tf.mul(dq1Bar, p2), tf.mul(dq2Bar, p1));
  cBar.push(tf.mul(dq2Bar, p2));
  p1Bar.push(tf.mul(dq1Bar, a), tf.mul(dq2Bar, b));
  p2Bar.push(tf.mul(dq1Bar, b), tf.mul(dq2Bar, c));

  // p = N⁻¹q̇ (N = M⁻¹): q̄̇ = λ = N⁻¹p̄, and N̄ = −λ·pᵀ, i.e. ā = −λ1·p1, b̄ = −(λ1·p2 + λ2·p1),
  // c̄ = −λ2·p2.
  const p1B = tf.addN(p1Bar);
  const p2B = tf.addN(p2Bar);
  const qd1Bar = tf.div(tf.sub(tf.mul(c, p1B), tf.mul(b, p2B)), f.det);
  const qd2Bar = tf.div(tf.sub(tf.mul(a, p2B), tf.mul(b, p1B)), f.det);
  aBar.push(tf.neg(tf.mul(qd1Bar, p1)));
  bBar.push(tf.neg(dot([qd1Bar, p2], [qd2Bar, p1])));
  cBar.push(tf.neg(tf.mul(qd2Bar, p2)));

  // a = l11² + 0.1,  b = l11·l21,  c = l21² + l22² + 0.1.
  const aB = tf.addN(aBar);
  const bB = tf.addN(bBar);
  const cB = tf.addN(cBar);
  l11Bar.push(tf.mul(two(l11), aB), tf.mul(l21, bB));
  l21Bar.push(tf.mul(l11, bB), tf.mul(two(l21), cB));
  l22Bar.push(tf.mul(two(l22), cB));
  const massOutBar = tf.concat([tf.addN(l11Bar), tf.addN(l22Bar), tf.addN(l21Bar)], 1);
  const mGrads = mlpVjp(nets.mass, f.mPass, massOutBar as tf.Tensor2D, mDerived);

  // x = (cos q, sin q, q̇, u): the networks read (cos q, sin q).
  const netsBar = tf.addN([mGrads.x, vGrads.x, gGrads.x]);
  const direct = tf.concat([tf.addN(cosBar), tf.addN(sinBar)], 1);
  const y = tf.concat([tf.add(netsBar, direct), qd1Bar, qd2Bar, u1Bar, u2Bar], 1);
  const params = [mGrads, vGrads, gGrads].flatMap((n) => n.W.flatMap((w, k) => [w, n.b[k]]));
  return { value: f.dxdt, y, params };
}

/**
 * The Symoden vector field `dx/dt = f(t, x)` on observations `[B, 8]` (autonomous) with its
 * hand-written VJP: `odeintAdjoint` uses it instead of the tape. `params` are the networks'
 * weights and biases, `M⁻¹` net, `V` net, `g` net, `W` then `b` per layer (the order of
 * `Symoden.variables`).
 *
 * @example The VJP against the tape's
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { vjp } from "@fasterode/fasterode";
 * import { Symoden } from "@fasterode/fasterode/models/acrobot";
 * import { symodenField } from "./symoden_field.ts";
 * const m = new Symoden({ massHidden: 5, potentialHidden: 4, inputHidden: 3, name: "field_doc" });
 * const f = symodenField(m.nets);
 * const x = tf.tensor2d([[0.8, 0.6, 0.6, -0.8, 0.5, -1, 1, 2]]);
 * const a = tf.tensor2d([[1, -1, 0.5, 2, -0.3, 0.7, 0, 0]]);
 * const mine = f.vjp(0, x, a);
 * const tape = vjp(() => [f(0, x)], [x, ...f.params], [a]);
 * const [p, q] = [await mine.y.data(), await tape.grads[0].data()];
 * p.forEach((v, i) => assert.ok(Math.abs(v - q[i]) < 1e-4 * (1 + Math.abs(q[i]))));
 * m.dispose();
 * ```
 */
export function symodenField(nets: SymodenNets): VjpField<tf.Tensor> {
  const params = [...nets.mass, ...nets.potential, ...nets.input].flatMap((l) => [l.W, l.b]);
  const f = (_t: number, x: tf.Tensor): tf.Tensor => {
    checkObservations(x, "x");
    return tf.tidy(() => forward(nets, x).dxdt);
  };
  const vjp = (_t: number, x: tf.Tensor, a: tf.Tensor): FieldVjp<tf.Tensor> => {
    checkObservations(x, "x");
    return fieldVjp(nets, x, a);
  };
  return withVjp(f, params, vjp);
}
