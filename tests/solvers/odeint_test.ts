import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  MaxStepsError,
  NonFiniteError,
  odeint,
  type OdeSolveError,
  StepSizeUnderflowError,
} from "../../solvers/mod.ts";
import { readFile } from "node:fs/promises";
import { assertClose, values } from "../helpers.ts";

await tf.setBackend("cpu");

/** Runs `body` and asserts it created no net tensors (also when it throws). */
async function noLeak(body: () => Promise<void>): Promise<void> {
  const before = tf.memory().numTensors;
  await body();
  assert.equal(tf.memory().numTensors, before, "tensors leaked");
}

Deno.test("exponential decay matches e^{-t} at many output times (dense output)", async () => {
  await noLeak(async () => {
    const ts = Array.from({ length: 41 }, (_, i) => i * 0.1);
    const y0 = tf.tensor([1, 2]);
    const sol = await odeint((_t, y) => tf.neg(y), y0, ts, { rtol: 1e-6, atol: 1e-8 });
    y0.dispose();
    const ys = await values(sol.ys);
    assert.deepEqual(sol.ys.shape, [41, 2]);
    // 41 outputs from far fewer steps: most outputs come from the interpolant.
    assert.ok(sol.stats.nAccepted < 20, `steps ${sol.stats.nAccepted}`);
    // rtol 1e-6 on values ≤ 2 gives errors ~1e-6; the 4th-order dense output stays within a few
    // times that. 1e-5 leaves room for float32 rounding (ε ≈ 1.2e-7 per operation).
    assertClose(ys, ts.flatMap((t) => [Math.exp(-t), 2 * Math.exp(-t)]), { atol: 1e-5 }, "y");
    sol.ys.dispose();
  });
});

Deno.test("harmonic oscillator as a tuple state, and solved backwards in time", async () => {
  await noLeak(async () => {
    const f = (_t: number, [x, v]: tf.Tensor[]) => [v, tf.neg(x)];
    const ts = [0, 1, 2, 5];
    const y0 = [tf.tensor([1]), tf.tensor([0])];
    const fwd = await odeint(f, y0, ts, { rtol: 1e-6, atol: 1e-8 });
    assert.equal(fwd.ys.length, 2);
    // |error| ≲ 1e-6 per unit time; 1e-5 over t ≤ 5 plus float32 rounding.
    assertClose(await values(fwd.ys[0]), ts.map(Math.cos), { atol: 1e-5 }, "x");
    assertClose(await values(fwd.ys[1]), ts.map((t) => -Math.sin(t)), { atol: 1e-5 }, "v");
    // Backwards from t = 5 to 0 returns to the initial condition.
    const y5 = [tf.tensor([Math.cos(5)]), tf.tensor([-Math.sin(5)])];
    const back = await odeint(f, y5, [5, 2, 0], { rtol: 1e-6, atol: 1e-8 });
    assertClose(await values(back.ys[0]), [5, 2, 0].map(Math.cos), { atol: 1e-5 }, "x backwards");
    assertClose(
      await values(back.ys[1]),
      [5, 2, 0].map((t) => -Math.sin(t)),
      { atol: 1e-5 },
      "v backwards",
    );
    tf.dispose([fwd.ys, back.ys, y0, y5]);
  });
});

Deno.test("a linear system y' = A y converges to its equilibrium as the closed form says", async () => {
  await noLeak(async () => {
    // A = [[-1,1,0],[1,-2,1],[0,1,-1]] has eigenvalues 0, -1, -3 with eigenvectors
    // (1,1,1), (1,0,-1), (1,-2,1), and y0 = (2,0,1) = 1·(1,1,1) + ½·(1,0,-1) + ½·(1,-2,1).
    const A = tf.tensor2d([[-1, 1, 0], [1, -2, 1], [0, 1, -1]]);
    const exact = (t: number) => {
      const a = 0.5 * Math.exp(-t), c = 0.5 * Math.exp(-3 * t);
      return [1 + a + c, 1 - 2 * c, 1 - a + c];
    };
    const ts = [0, 0.5, 1, 3];
    const y0 = tf.tensor2d([[2, 0, 1]]);
    const sol = await odeint((_t, y) => tf.matMul(y as tf.Tensor2D, A), y0, ts, {
      rtol: 1e-6,
      atol: 1e-8,
    });
    // rtol 1e-6 on values ~1: 2e-5 covers the global error and float32 rounding.
    assertClose(await values(sol.ys), ts.flatMap(exact), { atol: 2e-5 }, "y");
    tf.dispose([A, y0, sol.ys]);
  });
});

interface RefRun {
  dtype: "float32" | "float64";
  rtol: number;
  atol: number;
  nfe: number;
  final: number[];
}
interface RefProblem {
  y0: number[];
  exact_final: number[];
  runs: RefRun[];
}

Deno.test("dopri5 NFE and accuracy match the reference implementation (shared/reference)", async () => {
  const ref: { problems: Record<string, RefProblem> } = JSON.parse(
    await readFile(new URL("./data/dopri5_nfe.json", import.meta.url), "utf8"),
  );
  const fields: Record<string, (y: tf.Tensor) => tf.Tensor> = {
    A1: (y) => tf.neg(y),
    A4: (y) => tf.mul(tf.div(y, 4), tf.sub(1, tf.div(y, 20))),
    B2: (y) => {
      const [a, b, c] = tf.unstack(y);
      return tf.stack([tf.sub(b, a), tf.sub(tf.add(a, c), tf.mul(2, b)), tf.sub(b, c)]);
    },
    E4: (y) => {
      const [, y1] = tf.split(y, 2);
      return tf.concat([y1, tf.sub(0.32, tf.mul(0.4, tf.square(y1)))]);
    },
  };
  await noLeak(async () => {
    for (const [name, problem] of Object.entries(ref.problems)) {
      for (const run of problem.runs.filter((r) => r.dtype === "float32")) {
        const y0 = tf.tensor(problem.y0);
        const sol = await odeint((_t, y) => fields[name](y), y0, [0, 20], {
          rtol: run.rtol,
          atol: run.atol,
        });
        const final = (await values(sol.ys)).slice(problem.y0.length);
        tf.dispose([y0, sol.ys]);
        const what = `${name} tol ${run.rtol}`;
        // Same stepping rules: NFE within 10% (float32 rounding can flip an accept/reject).
        assert.ok(
          Math.abs(sol.stats.nfe - run.nfe) <= 0.1 * run.nfe,
          `${what}: nfe ${sol.stats.nfe} vs reference ${run.nfe}`,
        );
        // As accurate as the reference. Its float32 and float64 runs differ by up to 0.3% in
        // error through rounding in the dense output, so we allow 1% over the larger of the two,
        // plus the float32 resolution of the values (relative 1.2e-7; 1e-6 is a few roundings).
        const exact: number[] = problem.exact_final;
        const errOf = (v: number[]) => Math.max(...exact.map((e, i) => Math.abs(v[i] - e)));
        const twin = problem.runs.find((r) => r.dtype === "float64" && r.rtol === run.rtol)!;
        const refErr = 1.01 * Math.max(errOf(run.final), errOf(twin.final));
        const ourErr = errOf(final);
        const slack = 1e-6 * Math.max(...run.final.map(Math.abs));
        assert.ok(ourErr <= refErr + slack, `${what}: error ${ourErr} vs reference ${refErr}`);
      }
    }
  });
});

Deno.test("jumpT steps exactly onto a discontinuity and costs fewer evaluations", async () => {
  // dy/dt = 1 before t = 1 and -1 after: y = t, then 2 - t. Every RK method integrates a
  // piecewise constant field exactly when steps do not straddle the jump.
  const f = (t: number, y: tf.Tensor) => tf.fill(y.shape, t < 1 ? 1 : -1);
  await noLeak(async () => {
    const opts = { rtol: 1e-7, atol: 1e-7 };
    const y0 = tf.tensor([0]);
    const plain = await odeint(f, y0, [0, 3], opts);
    const jumped = await odeint(f, y0, [0, 3], { ...opts, jumpT: [1], record: true });
    assertClose((await values(jumped.ys)).slice(1), [-1], { atol: 1e-6 }, "with jumpT");
    assert.ok(jumped.stats.nfe < plain.stats.nfe, `${jumped.stats.nfe} vs ${plain.stats.nfe}`);
    assert.equal(jumped.stats.nRejected, 0);
    // A step ends exactly at t = 1 and f is evaluated just after it.
    assert.ok(jumped.stats.acceptTs!.includes(1));
    assert.ok(jumped.stats.evalTs!.some((t) => t > 1 && t - 1 < 1e-15));
    // stepT also lands on t = 1 (the FSAL value there is the left limit, -1 is never wrong here
    // because the last stage sits just below the jump).
    const stepped = await odeint(f, y0, [0, 3], { ...opts, stepT: [1], record: true });
    assert.ok(stepped.stats.acceptTs!.includes(1));
    tf.dispose([y0, plain.ys, jumped.ys, stepped.ys]);
  });
});

Deno.test("a kink (|t - 1|) is resolved with fewer evaluations when passed as stepT", async () => {
  // dy/dt = |t − 1| has a kink at t = 1; y(3) = ½ + 2 = 2.5.
  const f = (t: number, y: tf.Tensor) => tf.fill(y.shape, Math.abs(t - 1));
  const opts = { rtol: 1e-6, atol: 1e-6 };
  const plain = await odeint(f, tf.tensor([0]), [0, 3], opts);
  const stepped = await odeint(f, tf.tensor([0]), [0, 3], { ...opts, stepT: [1] });
  assertClose((await values(stepped.ys)).slice(1), [2.5], { atol: 1e-5 }, "stepT");
  assertClose((await values(plain.ys)).slice(1), [2.5], { atol: 1e-4 }, "plain");
  assert.ok(stepped.stats.nfe < plain.stats.nfe, `${stepped.stats.nfe} vs ${plain.stats.nfe}`);
  tf.dispose([plain.ys, stepped.ys]);
});

Deno.test("statistics: record gives one time per evaluation and per step", async () => {
  const sol = await odeint((_t, y) => tf.neg(tf.mul(y, 10)), tf.tensor([1]), [0, 2], {
    rtol: 1e-5,
    atol: 1e-7,
    record: true,
  });
  const { nfe, nAccepted, nRejected, evalTs, acceptTs, rejectTs } = sol.stats;
  assert.equal(evalTs!.length, nfe);
  assert.equal(acceptTs!.length, nAccepted);
  assert.equal(rejectTs!.length, nRejected);
  // dopri5: f0 + initial-step probe + 6 per attempted step.
  assert.equal(nfe, 2 + 6 * (nAccepted + nRejected));
  // The last step reaches (or, as in torchdiffeq, passes) the end time.
  assert.ok(acceptTs![acceptTs!.length - 1] >= 2);
  assert.ok(acceptTs!.every((t, i) => i === 0 || t > acceptTs![i - 1]));
  sol.ys.dispose();
});

Deno.test("the PI controller solves to the same accuracy", async () => {
  const sol = await odeint((_t, y) => tf.neg(y), tf.tensor([1]), [0, 5], {
    rtol: 1e-6,
    atol: 1e-8,
    controller: { kind: "pi" },
  });
  assertClose((await values(sol.ys)).slice(1), [Math.exp(-5)], { atol: 1e-6 }, "PI");
  sol.ys.dispose();
});

Deno.test("firstStep, dtMax and maxSteps bound the steps", async () => {
  const sol = await odeint((_t, y) => tf.neg(y), tf.tensor([1]), [0, 1], {
    firstStep: 0.01,
    dtMax: 0.1,
    record: true,
  });
  // A given first step skips the initial-step probe: NFE = 1 + 6 per step.
  assert.equal(sol.stats.nfe, 1 + 6 * (sol.stats.nAccepted + sol.stats.nRejected));
  assert.ok(sol.stats.acceptTs![0] <= 0.01 + 1e-12);
  const steps = sol.stats.acceptTs!.map((t, i, a) => t - (i === 0 ? 0 : a[i - 1]));
  assert.ok(steps.every((h) => h <= 0.1 + 1e-12), `steps ${steps}`);
  sol.ys.dispose();
});

Deno.test("failures throw typed errors naming t, dt, the error ratio and the NFE", async () => {
  await noLeak(async () => {
    // Too many steps.
    const y0 = tf.tensor([1]);
    const err = await odeint((_t, y) => tf.neg(y), y0, [0, 100], { maxSteps: 3 })
      .then(() => undefined, (e) => e);
    assert.ok(err instanceof MaxStepsError, String(err));
    assert.equal(err.status, "max_steps");
    assert.ok(err.nfe > 0 && err.t > 0 && err.dt > 0 && Number.isFinite(err.errorRatio));
    assert.match(err.message, /maxSteps=3 .* at t=.*dt=.*error ratio=.*nfe=/);

    // y' = y² from y(0) = 1 blows up at t = 1: the step size underflows or a stage overflows.
    const blow = await odeint((_t, y) => tf.square(y), y0, [0, 2])
      .then(() => undefined, (e) => e);
    assert.ok(
      blow instanceof StepSizeUnderflowError || blow instanceof NonFiniteError,
      String(blow),
    );
    assert.ok(Math.abs(blow.t - 1) < 1e-2, `stopped at t=${blow.t}`);

    // A NaN produced by f.
    const nan = await odeint(
      (t, y) => (t > 0.5 ? tf.mul(y, NaN) : tf.neg(y)),
      y0,
      [0, 1],
    ).then(() => undefined, (e) => e);
    y0.dispose();
    assert.ok(nan instanceof NonFiniteError, String(nan));
    assert.equal(nan.status, "non_finite");
    assert.ok(nan.t <= 0.5 + 1e-9);
  });
});

Deno.test("onFailure: 'return' gives the outputs reached and the status", async () => {
  await noLeak(async () => {
    const y0 = tf.tensor([1]);
    const sol = await odeint((_t, y) => tf.square(y), y0, [0, 0.5, 0.9, 2], {
      onFailure: "return",
    });
    y0.dispose();
    assert.notEqual(sol.status, "success");
    assert.deepEqual(sol.ts, [0, 0.5, 0.9]);
    // y = 1 / (1 − t).
    assertClose(await values(sol.ys), [1, 2, 10], { atol: 1e-2 }, "y");
    assert.ok((sol.error as OdeSolveError).nfe > 0);
    sol.ys.dispose();
  });
});

Deno.test("an exception thrown by f leaves no tensors behind", async () => {
  await noLeak(async () => {
    let calls = 0;
    const f = (_t: number, y: tf.Tensor) => {
      if (++calls === 10) throw new Error("boom");
      return tf.neg(y);
    };
    const y0 = tf.tensor([1]);
    await assert.rejects(odeint(f, y0, [0, 1]), /boom/);
    y0.dispose();
  });
});

Deno.test("bad input is rejected before any work with a clear message", async () => {
  let calls = 0;
  const f = (_t: number, y: tf.Tensor) => (calls++, tf.neg(y));
  const y0 = tf.tensor([1, 2]);
  const bad = [tf.tensor([1, NaN]), tf.tensor([1, Infinity]), tf.tensor([1], [1], "int32")];
  await noLeak(async () => {
    const cases: [Promise<unknown>, RegExp][] = [
      [odeint(f, y0, [0, 1, 1]), /strictly increasing or strictly decreasing/],
      [odeint(f, y0, [0, 1, 0.5]), /strictly increasing/],
      [odeint(f, y0, []), /ts is empty/],
      [odeint(f, y0, [0, NaN]), /NaN or Inf/],
      [odeint(f, bad[0], [0, 1]), /y0 contains NaN or Inf/],
      [odeint(f, bad[1], [0, 1]), /y0 contains NaN or Inf/],
      [
        odeint(f, y0, [0, 1], { method: "rk45" as never }),
        /Unknown method "rk45"; available: dopri5/,
      ],
      [odeint(f, y0, [0, 1], { tolerance: 1 } as never), /Unknown odeint option "tolerance"/],
      [odeint(f, y0, [0, 1], { rtol: -1 }), /rtol must be ≥ 0/],
      [odeint(f, y0, [0, 1], { atol: -1e-6 }), /atol must be ≥ 0/],
      [odeint(f, y0, [0, 1], { stepSize: 0.1 }), /stepSize is for fixed-step methods/],
      [odeint(f, y0, [0, 1], { stepT: [0.5], jumpT: [0.5] }), /both stepT and jumpT/],
      [odeint(f, bad[2], [0, 1]), /dtype int32; states must be float32/],
      [odeint(f as never, [], [0, 1]), /empty tuple/],
      [odeint(f, y0, [0, 1], { controller: { kind: "pd" as never } }), /Unknown controller kind/],
    ];
    for (const [promise, message] of cases) await assert.rejects(promise, message);
  });
  assert.equal(calls, 0, "f must not be called for bad input");
  tf.dispose(bad);
  await noLeak(async () => {
    // f returning the wrong shape or structure is caught at its first call.
    await assert.rejects(
      odeint((_t, y) => tf.concat([y, y]), y0, [0, 1]),
      /f\(t, y\) has shape \[4\], expected \[2\]/,
    );
    await assert.rejects(
      odeint((_t, [x]) => [x] as never, [y0, y0], [0, 1]),
      /f\(t, y\) has 1 tensors, but the state has 2/,
    );
    await assert.rejects(
      odeint((_t, y) => [y] as never, y0, [0, 1]),
      /f\(t, y\) must be one tensor/,
    );
  });
  y0.dispose();
});

Deno.test("every adaptive method solves y' = -y to its tolerance", async () => {
  for (
    const method of ["dopri5", "tsit5", "bosh3", "fehlberg2", "adaptive_heun", "dopri8"] as const
  ) {
    await noLeak(async () => {
      const y0 = tf.tensor([1]);
      const sol = await odeint((_t, y) => tf.neg(y), y0, [0, 0.7, 2], {
        method,
        rtol: 1e-5,
        atol: 1e-7,
      });
      // Error control is local: the global error is about the tolerance times the number of
      // steps, so ~1e-5 for the high-order methods (which take few steps) and up to ~1e-3 for
      // the 2nd-order ones (hundreds of steps, each with an error near rtol).
      // Outputs between steps come from dense output: dopri5's quartic is as accurate as the
      // steps, while the cubic Hermite interpolant of the others has a local error ~h⁴/384·|y⁗|,
      // up to ~1e-3 for the very long steps dopri8 takes here.
      const atol = method === "dopri5" || method === "tsit5" || method === "bosh3" ? 1e-4 : 1e-3;
      assertClose(await values(sol.ys), [1, Math.exp(-0.7), Math.exp(-2)], { atol: atol }, method);
      tf.dispose([y0, sol.ys]);
    });
  }
});

Deno.test("fixed-step methods: stepSize, clipping at the end, and their order of accuracy", async () => {
  // y' = -2y on [0, 1] with steps h and h/2: the error ratio ≈ 2^order. rk4 takes h = 0.25 so
  // that its error (~1e-4, ~6e-6) stays far above float32 resolution (~2e-8 at e^{-2}); the
  // others take h = 0.05, small enough to be in the asymptotic regime.
  for (const [method, order] of [["euler", 1], ["midpoint", 2], ["heun", 2], ["rk4", 4]] as const) {
    const errors: number[] = [];
    for (const h of order === 4 ? [0.25, 0.125] : [0.05, 0.025]) {
      const y0 = tf.tensor([1]);
      const sol = await odeint((_t, y) => tf.mul(y, -2), y0, [0, 1], { method, stepSize: h });
      // One evaluation at t0, then one per stage per step (non-FSAL: f(t1) starts the next).
      const steps = Math.round(1 / h);
      assert.equal(sol.stats.nAccepted, steps, method);
      errors.push(Math.abs((await values(sol.ys))[1] - Math.exp(-2)));
      tf.dispose([y0, sol.ys]);
    }
    const observed = Math.log2(errors[0] / errors[1]);
    // ±0.35 around the order: what remains of the higher-order terms at these step sizes
    // (measured: euler 1.0, midpoint 2.0, heun 2.0, rk4 4.3).
    assert.ok(Math.abs(observed - order) < 0.35, `${method}: order ${observed}`);
  }
  // Without stepSize a fixed method steps from output time to output time; a step that does
  // not divide the interval is clipped at the end.
  const y0 = tf.tensor([1]);
  const grid = await odeint((_t, y) => tf.neg(y), y0, [0, 0.5, 1], { method: "rk4", record: true });
  assert.deepEqual(grid.stats.acceptTs, [0.5, 1]);
  const clipped = await odeint((_t, y) => tf.neg(y), y0, [0, 1], {
    method: "rk4",
    stepSize: 0.3,
    record: true,
  });
  assert.equal(clipped.stats.acceptTs!.at(-1), 1);
  assert.equal(clipped.stats.nAccepted, 4);
  // Dense output between fixed steps uses the cubic Hermite interpolant (4th-order accurate
  // with rk4 slopes): y(0.25) from steps of 0.5 is within 1e-3.
  const dense = await odeint((_t, y) => tf.neg(y), y0, [0, 0.25, 1], {
    method: "rk4",
    stepSize: 0.5,
  });
  assertClose(
    await values(dense.ys),
    [1, Math.exp(-0.25), Math.exp(-1)],
    { atol: 1e-3 },
    "rk4 dense",
  );
  tf.dispose([y0, grid.ys, clipped.ys, dense.ys]);
});

Deno.test("a step that rounds to just short of a break time snaps onto it", async () => {
  // The first step (0.3) ends one ulp before the break 0.3 + 2^-54·…: without snapping, the
  // remaining sliver is below the smallest resolvable step and the solve fails with underflow.
  const y0 = tf.tensor([1]);
  const brk = 0.30000000000000004;
  assert.ok(brk > 0.3);
  const sol = await odeint((_t, y) => tf.neg(y), y0, [0, 1], {
    firstStep: 0.3,
    dtMax: 0.3,
    stepT: [brk],
    record: true,
  });
  assert.ok(sol.stats.acceptTs!.includes(brk));
  assertClose((await values(sol.ys)).slice(1), [Math.exp(-1)], { atol: 1e-4 }, "y(1)");
  tf.dispose([y0, sol.ys]);
});
