/**
 * Tests of the Butcher tableaus in `solvers/`: exact order conditions (rooted trees), empirical
 * convergence orders of a plain float64 fixed-step integrator, `makeTableau`'s validation, and
 * the FSAL / adaptive flags.
 */
import assert from "node:assert/strict";
import { makeTableau, type Tableau, type TableauSpec } from "../../solvers/tableau.ts";
import { dopri5 } from "../../solvers/dopri5.ts";
import { tsit5 } from "../../solvers/tsit5.ts";
import { bosh3 } from "../../solvers/bosh3.ts";
import { fehlberg2 } from "../../solvers/fehlberg2.ts";
import { adaptiveHeun } from "../../solvers/adaptive_heun.ts";
import { dopri8 } from "../../solvers/dopri8.ts";
import { euler } from "../../solvers/euler.ts";
import { midpoint } from "../../solvers/midpoint.ts";
import { rk4 } from "../../solvers/rk4.ts";
import { heun } from "../../solvers/heun.ts";
import { denseWeights, usesF1 } from "../../solvers/dense_output.ts";

/** Every tableau, with the properties it must have. */
const CASES: { tab: Tableau; name: string; stages: number; adaptive: boolean; fsal: boolean }[] = [
  { tab: dopri5, name: "dopri5", stages: 7, adaptive: true, fsal: true },
  { tab: tsit5, name: "tsit5", stages: 7, adaptive: true, fsal: true },
  { tab: bosh3, name: "bosh3", stages: 4, adaptive: true, fsal: true },
  // Fehlberg 2(1)'s last row of `a` equals the embedded 1st-order weights b̂, not b, and
  // b₃ = 1/512 ≠ 0: the last stage is f(t1, ŷ1), not f(t1, y1), so it is not FSAL here.
  { tab: fehlberg2, name: "fehlberg2", stages: 3, adaptive: true, fsal: false },
  { tab: adaptiveHeun, name: "adaptive_heun", stages: 2, adaptive: true, fsal: false },
  // RK8(7)13M's last stage is at c = 1 but b₁₃ = 1/4 ≠ 0 and a₁₃ ≠ b: not FSAL.
  { tab: dopri8, name: "dopri8", stages: 13, adaptive: true, fsal: false },
  { tab: euler, name: "euler", stages: 1, adaptive: false, fsal: false },
  { tab: midpoint, name: "midpoint", stages: 2, adaptive: false, fsal: false },
  { tab: rk4, name: "rk4", stages: 4, adaptive: false, fsal: false },
  { tab: heun, name: "heun", stages: 2, adaptive: false, fsal: false },
];

/** The weights of the embedded method, b̂ = b − bError. */
const embedded = (tab: Tableau): number[] => tab.b.map((x, i) => x - tab.bError![i]);

// ---------------------------------------------------------------------------------------------
// Exact order conditions via rooted trees (Butcher): a method with weights w has order p iff
// Φ(τ) = Σᵢ wᵢ gᵢ(τ) equals 1/γ(τ) for every rooted tree τ with |τ| ≤ p, where for a tree whose
// root has subtrees τ₁…τₘ, gᵢ(τ) = Πₖ (Σⱼ aᵢⱼ gⱼ(τₖ)) (gᵢ = 1 for the single node), and
// γ(τ) = |τ|·Πₖ γ(τₖ). This holds for non-autonomous problems because makeTableau enforces
// c = row sums of a. Unlike the empirical test below, this checks every one of the 200
// conditions of order 8 (dopri8), so a single wrong digit in a coefficient shows up.
// ---------------------------------------------------------------------------------------------

/** A rooted tree as the list of its root's subtrees. */
type Tree = Tree[];
const treeKey = (t: Tree): string => "(" + t.map(treeKey).sort().join("") + ")";
/** All trees obtained from `t` by attaching one new leaf to one of its nodes. */
function grow(t: Tree): Tree[] {
  const out: Tree[] = [[...t, []]];
  t.forEach((child, i) => {
    for (const g of grow(child)) out.push(t.map((c, j) => (j === i ? g : c)));
  });
  return out;
}
const MAX_TREE_ORDER = 9; // dopri8 has order 8; order 9 checks that it is not higher.
/** TREES[n] = all rooted trees with n nodes (counts 1, 1, 2, 4, 9, 20, 48, 115, 286). */
const TREES: Tree[][] = [[], [[]]];
for (let n = 2; n <= MAX_TREE_ORDER; n++) {
  const seen = new Map<string, Tree>();
  for (const t of TREES[n - 1]) for (const g of grow(t)) seen.set(treeKey(g), g);
  TREES.push([...seen.values()]);
}
const treeSize = (t: Tree): number => 1 + t.reduce((acc, c) => acc + treeSize(c), 0);
const treeGamma = (t: Tree): number => treeSize(t) * t.reduce((acc, c) => acc * treeGamma(c), 1);
function stageWeights(tab: Tableau, t: Tree): number[] {
  const g = new Array<number>(tab.stages).fill(1);
  for (const child of t) {
    const gc = stageWeights(tab, child);
    for (let i = 0; i < tab.stages; i++) {
      g[i] *= tab.a[i].reduce((acc, aij, j) => acc + aij * gc[j], 0);
    }
  }
  return g;
}
/** max over trees of order `n` of |γ(τ)·Φ(τ) − 1| (a relative residual). */
function orderResidual(tab: Tableau, w: number[], n: number): number {
  let worst = 0;
  for (const t of TREES[n]) {
    const g = stageWeights(tab, t);
    const phi = w.reduce((acc, wi, i) => acc + wi * g[i], 0);
    worst = Math.max(worst, Math.abs(treeGamma(t) * phi - 1));
  }
  return worst;
}
/**
 * Satisfied conditions: the largest residual seen is 5e-14 (tsit5, whose coefficients are
 * decimals of size up to 13, so the sums cancel a few digits); 1e-12 leaves room for that.
 * Violated conditions (order p + 1): the smallest largest-residual is 3.9e-3 (fehlberg2's
 * embedded Euler-like weights, 2·Σ b̂ᵢcᵢ = 255/256); 1e-3 separates the two cleanly.
 */
const SATISFIED_TOL = 1e-12;
const VIOLATED_MIN = 1e-3;

Deno.test("rooted-tree enumeration has the known counts", () => {
  assert.deepEqual(TREES.slice(1).map((ts) => ts.length), [1, 1, 2, 4, 9, 20, 48, 115, 286]);
});

for (const { tab } of CASES) {
  Deno.test(`${tab.name}: order conditions hold exactly up to order ${tab.order}`, () => {
    const check = (w: number[], p: number, what: string) => {
      for (let n = 1; n <= p; n++) {
        const r = orderResidual(tab, w, n);
        assert.ok(r < SATISFIED_TOL, `${tab.name} ${what}: order-${n} conditions off by ${r}`);
      }
      // ... and the method is not of higher order than declared (else `order` would be wrong
      // and the controller's exponent with it).
      const r = orderResidual(tab, w, p + 1);
      assert.ok(r > VIOLATED_MIN, `${tab.name} ${what}: order ${p + 1} also holds (${r})`);
    };
    check(tab.b, tab.order, "b");
    if (tab.adaptive) check(embedded(tab), tab.order - 1, "embedded b − bError");
  });
}

// ---------------------------------------------------------------------------------------------
// Dense output order, exactly: an interpolant with weights w_r(θ) over the stages (and f1, a
// stage whose row of a is b) has order q iff Σ_r w_r(θ)·g_r(τ) = θ^|τ|/γ(τ) for every tree with
// |τ| ≤ q, at every θ (the continuous analogue of the conditions above, Hairer–Nørsett–Wanner
// II.6). Checked at three θ inside the step; order q + 1 must fail at one of them, so the
// declared `denseOrder` is the true one.
// ---------------------------------------------------------------------------------------------

/** The tableau with f(t1, y1) appended as a stage (row of a = b), when the interpolant reads it. */
function withF1(tab: Tableau): Tableau {
  if (!usesF1(tab)) return tab;
  return {
    ...tab,
    stages: tab.stages + 1,
    c: [...tab.c, 1],
    a: [...tab.a, tab.b.slice()],
    b: [...tab.b, 0],
  };
}
function denseResidual(tab: Tableau, theta: number, n: number): number {
  const aug = withF1(tab);
  const w = denseWeights(tab, theta, 1).slice(1); // (row 0 is y0)
  let worst = 0;
  for (const t of TREES[n]) {
    const g = stageWeights(aug, t);
    const phi = w.reduce((acc, wi, i) => acc + wi * g[i], 0);
    worst = Math.max(worst, Math.abs(treeGamma(t) * phi / theta ** n - 1));
  }
  return worst;
}
/** Expected dense orders: Hermite 3 (capped by the method's order), quartics 4, dopri8's 6. */
const DENSE_ORDER: Record<string, number> = {
  dopri5: 4,
  tsit5: 4,
  bosh3: 3,
  fehlberg2: 2,
  adaptive_heun: 2,
  dopri8: 5,
  euler: 1,
  midpoint: 2,
  rk4: 3,
  heun: 2,
};
for (const { tab } of CASES) {
  Deno.test(`${tab.name}: dense output has order ${DENSE_ORDER[tab.name]}`, () => {
    const q = DENSE_ORDER[tab.name];
    assert.equal(tab.denseOrder, q);
    const thetas = [0.3, 0.5, 0.8];
    for (const theta of thetas) {
      for (let n = 1; n <= q; n++) {
        const r = denseResidual(tab, theta, n);
        // (dopri8's interpolant is published as 20-digit decimals, good to ~1e-12 relative)
        assert.ok(r < 1e-9, `${tab.name} θ=${theta}: order-${n} dense conditions off by ${r}`);
      }
    }
    const worst = Math.max(...thetas.map((theta) => denseResidual(tab, theta, q + 1)));
    assert.ok(worst > 1e-3, `${tab.name}: dense order ${q + 1} also holds (${worst})`);
  });
}

// ---------------------------------------------------------------------------------------------
// Empirical convergence order with a plain float64 fixed-step integrator.
//
// Test problem, t ∈ [0, 2], y(0) = (1, 1, 0, 0):
//   y₁' = −y₁²                      y₁ = 1/(1 + t)
//   y₂' = −y₃/y₁,  y₃' = y₂/y₁       (y₂, y₃) = (cos θ, sin θ),  θ = t + t²/2
//   y₄' = y₁²(y₂² + y₃²)             y₄ = t/(1 + t)
// Nonlinear, with the components coupled through the Jacobian (a rotation whose speed 1/y₁ is
// itself a solution component), and with closed-form solutions.
// ---------------------------------------------------------------------------------------------

const T_END = 2;
const Y0 = [1, 1, 0, 0];
const rhs = (_t: number, y: number[]): number[] => [
  -y[0] * y[0],
  -y[2] / y[0],
  y[1] / y[0],
  y[0] * y[0] * (y[1] * y[1] + y[2] * y[2]),
];
const exactSolution = (t: number): number[] => {
  const theta = t + t * t / 2;
  return [1 / (1 + t), Math.cos(theta), Math.sin(theta), t / (1 + t)];
};

/**
 * Integrates the test problem with `n` fixed steps of the explicit RK method (c, a, w) and returns
 * the largest absolute error over all steps and components. The update y += h·Σ wᵢkᵢ uses Kahan
 * compensated summation so that rounding does not accumulate over the (up to 32768) steps.
 * When `fsalCheck` is set, also checks that the last stage equals f(t₁, y₁).
 */
function maxError(tab: Tableau, w: number[], n: number, fsalCheck = false): number {
  const h = T_END / n;
  let y = Y0.slice();
  const carry = new Array<number>(y.length).fill(0);
  let err = 0;
  for (let step = 0; step < n; step++) {
    const t = step * h;
    const k: number[][] = [];
    for (let i = 0; i < tab.stages; i++) {
      const yi = y.map((v, d) => v + h * tab.a[i].reduce((acc, aij, j) => acc + aij * k[j][d], 0));
      k.push(rhs(t + tab.c[i] * h, yi));
    }
    y = y.map((v, d) => {
      const inc = h * w.reduce((acc, wi, i) => acc + wi * k[i][d], 0) - carry[d];
      const s = v + inc;
      carry[d] = (s - v) - inc;
      return s;
    });
    if (fsalCheck) {
      const f1 = rhs(t + h, y);
      f1.forEach((v, d) =>
        assert.ok(Math.abs(v - k[tab.stages - 1][d]) <= 1e-12 * (1 + Math.abs(v)))
      );
    }
    const exact = exactSolution((step + 1) * h);
    for (let d = 0; d < y.length; d++) err = Math.max(err, Math.abs(y[d] - exact[d]));
  }
  return err;
}

/**
 * Errors below this are not used: they would be within a factor ~10–100 of float64 round-off
 * (the solution is O(1); the computed errors keep following C·hᵖ down to ~1e-14 here).
 */
const ERROR_FLOOR = 1e-13;
const MAX_STEPS = 32768;

/**
 * Empirical order: runs n = 4·√2ᵏ steps (k = 0, 1, …) until the error drops below ERROR_FLOOR or
 * n exceeds MAX_STEPS, then fits log(error) against log(h) by least squares over the last
 * three (finest) step sizes — the ones closest to the asymptotic regime error ≈ C·hᵖ.
 */
function empiricalOrder(tab: Tableau, w: number[]): { slope: number; points: string } {
  const pts: [number, number][] = [];
  for (let k = 0;; k++) {
    const n = Math.round(4 * Math.SQRT2 ** k);
    if (n > MAX_STEPS) break;
    const e = maxError(tab, w, n);
    if (!(e >= ERROR_FLOOR)) break;
    pts.push([T_END / n, e]);
  }
  const use = pts.slice(-3);
  const xs = use.map(([h]) => Math.log(h));
  const ys = use.map(([, e]) => Math.log(e));
  const mean = (v: number[]) => v.reduce((acc, x) => acc + x, 0) / v.length;
  const mx = mean(xs);
  const my = mean(ys);
  const slope = xs.reduce((acc, x, i) => acc + (x - mx) * (ys[i] - my), 0) /
    xs.reduce((acc, x) => acc + (x - mx) ** 2, 0);
  const points = use.map(([h, e]) => `h=${h.toPrecision(3)}: ${e.toExponential(2)}`).join(", ");
  return { slope, points };
}

/**
 * Tolerance on the fitted slope. Measured slopes are within 0.08 of the nominal order for every
 * method here; what remains is the next term of the error expansion (relative size O(h)). The
 * methods with minimized principal error (tsit5, dopri8) approach their asymptotic slope only at
 * small errors, which is why the fit uses the finest steps above ERROR_FLOOR: with coarse steps
 * tsit5 shows ≈ 5.5 and dopri8's embedded method ≈ 6.7. A wrong coefficient typically lowers
 * the order by at least 1, far outside ±0.3.
 */
const SLOPE_TOL = 0.3;

for (const { tab } of CASES) {
  Deno.test(`${tab.name}: empirical convergence order ${tab.order}`, () => {
    const main = empiricalOrder(tab, tab.b);
    assert.ok(
      Math.abs(main.slope - tab.order) <= SLOPE_TOL,
      `${tab.name}: slope ${main.slope.toFixed(3)}, expected ${tab.order} (${main.points})`,
    );
    if (tab.adaptive) {
      const low = empiricalOrder(tab, embedded(tab));
      assert.ok(
        Math.abs(low.slope - (tab.order - 1)) <= SLOPE_TOL,
        `${tab.name} embedded: slope ${low.slope.toFixed(3)}, expected ${
          tab.order - 1
        } (${low.points})`,
      );
    }
  });
}

/**
 * Largest error of the dense output inside one step of size h from the exact y(0.3) of the test
 * problem above, at θ = 1/4, 1/2, 3/4 (float64, the method's own weights from denseWeights).
 */
function denseLocalError(tab: Tableau, h: number): number {
  const t0 = 0.3;
  const y0 = exactSolution(t0);
  const k: number[][] = [];
  for (let i = 0; i < tab.stages; i++) {
    const yi = y0.map((v, d) => v + h * tab.a[i].reduce((acc, aij, j) => acc + aij * k[j][d], 0));
    k.push(rhs(t0 + tab.c[i] * h, yi));
  }
  const y1 = y0.map((v, d) => v + h * tab.b.reduce((acc, bi, i) => acc + bi * k[i][d], 0));
  const rows = usesF1(tab) ? [...k, rhs(t0 + h, y1)] : k;
  let err = 0;
  for (const theta of [0.25, 0.5, 0.75]) {
    const w = denseWeights(tab, theta, h);
    const exact = exactSolution(t0 + theta * h);
    for (let d = 0; d < y0.length; d++) {
      const y = w[0] * y0[d] + rows.reduce((acc, r, i) => acc + w[1 + i] * r[d], 0);
      err = Math.max(err, Math.abs(y - exact[d]));
    }
  }
  return err;
}

for (const { tab } of CASES) {
  Deno.test(`${tab.name}: dense output error falls as dt^${tab.denseOrder + 1}`, () => {
    // Halving h divides a local error C·h^(q+1) by 2^(q+1); the fitted slope over the three
    // finest sizes above float64's floor is within 0.3 of q + 1 (the next term of the expansion
    // is O(h) relative; a wrong weight drops the slope by ≥ 1).
    const pts: [number, number][] = [];
    for (let h = 0.4; h > 1e-4; h /= 2) {
      const e = denseLocalError(tab, h);
      if (!(e >= ERROR_FLOOR * 10)) break;
      pts.push([Math.log(h), Math.log(e)]);
    }
    const use = pts.slice(-3);
    const slope = (use[2][1] - use[0][1]) / (use[2][0] - use[0][0]);
    const q = tab.denseOrder + 1;
    assert.ok(
      Math.abs(slope - q) <= SLOPE_TOL,
      `${tab.name}: slope ${slope.toFixed(2)}, want ${q}`,
    );
  });
}

// ---------------------------------------------------------------------------------------------
// Properties and FSAL.
// ---------------------------------------------------------------------------------------------

/** The FSAL definition of tableau.ts, restated: c_s = 1, b_s = 0 and the last row of a is b. */
const isFsalByDefinition = (tab: Tableau): boolean => {
  const s = tab.stages - 1;
  return s > 0 && tab.c[s] === 1 && tab.b[s] === 0 &&
    tab.a[s].every((x, j) => Math.abs(x - tab.b[j]) <= 1e-12);
};

Deno.test("tableaus: names, stages, adaptive flag, error weights", () => {
  for (const { tab, name, stages, adaptive } of CASES) {
    assert.equal(tab.name, name);
    assert.equal(tab.stages, stages, name);
    assert.equal(tab.adaptive, adaptive, name);
    assert.equal(tab.bError !== undefined, adaptive, name);
    assert.ok(Object.isFrozen(tab), name);
    if (tab.bError) {
      // b − bError is a genuinely different (lower-order) method: the error estimate is not 0.
      assert.ok(tab.bError.some((x) => Math.abs(x) > 1e-6), name);
    }
  }
  // Only dopri5 carries midpoint dense-output weights, tsit5 and dopri8 continuous extensions;
  // the others use cubic Hermite.
  for (const { tab } of CASES) {
    assert.equal(tab.bMid !== undefined, tab === dopri5, tab.name);
    assert.equal(tab.bTheta !== undefined, tab === tsit5 || tab === dopri8, tab.name);
  }
});

Deno.test("tableaus: FSAL flags", () => {
  for (const { tab, name, fsal } of CASES) {
    assert.equal(tab.fsal, fsal, `${name}.fsal`);
    assert.equal(isFsalByDefinition(tab), fsal, `${name}: definition`);
  }
  assert.deepEqual(CASES.filter((c) => c.fsal).map((c) => c.name), ["dopri5", "tsit5", "bosh3"]);
  // For the FSAL ones the last stage really is f(t₁, y₁) along a computed trajectory.
  for (const { tab } of CASES.filter((c) => c.fsal)) maxError(tab, tab.b, 16, true);
});

// ---------------------------------------------------------------------------------------------
// makeTableau validation.
// ---------------------------------------------------------------------------------------------

const GOOD: TableauSpec = { name: "bad", order: 2, c: [0, 1 / 2], a: [[], [1 / 2]], b: [0, 1] };

function assertRejected(change: Partial<TableauSpec>, pattern: RegExp) {
  assert.throws(
    () => makeTableau({ ...GOOD, ...change }),
    (e: unknown) => {
      assert.ok(e instanceof RangeError, `expected a RangeError, got ${e}`);
      assert.match(e.message, /^Butcher tableau "bad": /);
      assert.match(e.message, pattern);
      return true;
    },
  );
}

Deno.test("makeTableau accepts a valid spec, including round-off-sized deviations", () => {
  const ok = makeTableau(GOOD);
  assert.equal(ok.stages, 2);
  assert.equal(ok.adaptive, false);
  assert.equal(ok.fsal, false);
  // Coefficients are rationals rounded to float64: sums off by ~1e-16 must pass.
  const nearly = makeTableau({
    ...GOOD,
    a: [[], [1 / 2 + 1e-14]],
    b: [1 / 3, 2 / 3 + 1e-15],
    bError: [1e-15, 0],
  });
  assert.equal(nearly.adaptive, true);
});

Deno.test("makeTableau rejects a row of a that does not sum to c", () => {
  assertRejected({ a: [[], [0.4]] }, /row a\[1\] sums to 0\.4, but c\[1\] = 0\.5/);
  assertRejected(
    { c: [0, 1 / 2, 1], a: [[], [1 / 2], [0.5, 0.4]], b: [0, 1, 0] },
    /row a\[2\] sums to 0\.9, but c\[2\] = 1/,
  );
  // Larger than round-off, though small.
  assertRejected({ a: [[], [0.5 + 1e-9]] }, /row a\[1\] sums to/);
});

Deno.test("makeTableau rejects b not summing to 1", () => {
  assertRejected({ b: [0.5, 0.4] }, /b sums to 0\.9, expected 1/);
  assertRejected({ b: [0, 1 + 1e-9] }, /b sums to .*, expected 1/);
});

Deno.test("makeTableau rejects bError not summing to 0", () => {
  assertRejected({ bError: [0.1, 0] }, /bError sums to 0\.1, expected 0/);
});

Deno.test("makeTableau rejects bMid not summing to 1/2", () => {
  assertRejected({ bMid: [0.25, 0.5] }, /bMid sums to 0\.75, expected 1\/2/);
});

Deno.test("makeTableau rejects a continuous extension that misses b at θ = 1", () => {
  assertRejected({ bTheta: [[0, 0], [1, -0.5]] }, /bTheta\[1\] is 0\.5 at θ = 1, but b\[1\] = 1/);
  // An f1 row (non-FSAL methods) must vanish at θ = 1.
  assertRejected({ bTheta: [[0], [1], [0.1]] }, /bTheta\[2\] is 0\.1 at θ = 1, but b\[2\] = 0/);
});

Deno.test("makeTableau: an implicit diagonal needs a step function and counts in the row sums", () => {
  assertRejected({ diagonal: [0, 0.5], a: [[], [0]] }, /implicit method .* needs its own step/);
  assertRejected({ diagonal: [0] }, /diagonal has 1 entries, expected 2/);
  const implicit = makeTableau({
    ...GOOD,
    a: [[], [0]],
    diagonal: [0, 1 / 2],
    // deno-lint-ignore require-yield
    step: function* () {
      throw new Error("not called"); // (only the spec is checked)
    },
  });
  assert.equal(implicit.stages, 2);
});

Deno.test("makeTableau rejects wrong lengths", () => {
  assertRejected({ a: [[]] }, /a has 1 rows, expected 2/);
  assertRejected({ a: [[], [1 / 4, 1 / 4]] }, /a\[1\] has 2 entries, expected 1/);
  assertRejected({ a: [[0], [1 / 2]] }, /a\[0\] has 1 entries, expected 0/);
  assertRejected({ b: [0, 1, 0] }, /b has 3 entries, expected 2/);
  assertRejected({ b: [1] }, /b has 1 entries, expected 2/);
  assertRejected({ bError: [0] }, /bError has 1 entries, expected 2/);
  assertRejected({ bMid: [0, 0.25, 0.25, 0] }, /bMid has 4 entries, expected 2 or 3/);
  assertRejected({ bTheta: [[0], [1], [0], [0]] }, /bTheta has 4 rows, expected 2 or 3/);
  assertRejected({ c: [], a: [], b: [] }, /needs at least one stage/);
});

Deno.test("makeTableau rejects c[0] ≠ 0 and a bad order", () => {
  assertRejected({ c: [0.1, 1 / 2] }, /c\[0\] must be 0, got 0\.1/);
  assertRejected({ order: 0 }, /order must be a positive integer/);
  assertRejected({ order: 2.5 }, /order must be a positive integer/);
});
