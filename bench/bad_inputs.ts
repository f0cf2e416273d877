/**
 * Bad inputs tried against the library, counted: `deno run -A bench/bad_inputs.ts [--list]`.
 *
 * Each case is one bad (or suspicious) input as a new user would give it, and what a good answer
 * is: an error (before any work) whose message matches a pattern naming the input at fault, or,
 * for input that is legal but suspicious, one `console.warn` that matches. A case counts as:
 *
 * - **clear error**: it threw, and the message names the input (the pattern matched);
 * - **warning**: it warned as expected (and did not throw);
 * - **unclear**: it threw, but the message does not match (counted, listed);
 * - **silent**: neither (accepted without a word: counted, listed);
 * - **leak**: `tf.memory().numTensors` differs after the case from before it (whatever else).
 *
 * The case list covers the solvers, the adjoint, the fields, the backend switch, the models
 * (Neural CDE, interpolation, MFCC, Symoden) and the training harness; it is a fixed list, not
 * a fuzzer. `--list` prints every case with its outcome. Runs on the cpu backend in seconds.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  mlpField,
  odeint,
  odeintAdjoint,
  odeintSync,
  useBackend,
  type VectorField,
} from "../mod.ts";
import { cdeint, linearInterpolation, mfcc, NeuralCDE } from "../models/cde/mod.ts";
import { Symoden } from "../models/acrobot/mod.ts";
import { AdamW, plateauSchedule } from "../experiments/harness/mod.ts";

await useBackend("cpu");

/** One bad input: what to run, and the error or warning that names it. */
interface Case {
  name: string;
  run: () => unknown;
  error?: RegExp;
  warn?: RegExp;
}

const decay: VectorField<tf.Tensor> = (_t, y) => tf.neg(y);
const Y = tf.tensor([1, 2]);
const theta = tf.tidy(() => tf.variable(tf.scalar(-0.5), true, "bad_inputs_theta"));
const hidden = tf.tidy(() => tf.variable(tf.scalar(2), true, "bad_inputs_hidden"));
const scaled: VectorField<tf.Tensor> = (_t, y) => tf.mul(theta, y);
const disposeSol = (sol: { ys: tf.Tensor | tf.Tensor[] }) => tf.dispose(sol.ys);
/** The forward solve of y' = θy and the backward solve with `dLdys` (disposed here). */
async function backward(dLdys: () => tf.Tensor, options: object = {}, backOptions?: object) {
  const sol = await odeintAdjoint(scaled, Y, [0, 1], [theta], options);
  const g = tf.tidy(dLdys);
  try {
    const grads = await sol.backward(g, backOptions as never);
    tf.dispose([grads.y0, grads.params]);
  } finally {
    tf.dispose([g, sol.ys]);
  }
}
/** Runs `run` on `x`, then disposes `x`. */
async function using<T extends tf.Tensor>(x: T, run: (x: T) => unknown): Promise<void> {
  try {
    await run(x);
  } finally {
    x.dispose();
  }
}
const withNaN = (shape: number[], at: number) =>
  tf.tidy(() => {
    const b = tf.buffer(shape, "float32");
    b.values.fill(0.5);
    b.values[at] = NaN;
    return b.toTensor();
  });

const solverCases: Case[] = [
  {
    name: "y0 with NaN",
    run: () => using(tf.tensor([1, NaN]), (y) => odeint(decay, y, [0, 1])),
    error: /y0/,
  },
  {
    name: "y0 int32",
    run: () => using(tf.tensor([1, 2], undefined, "int32"), (y) => odeint(decay, y, [0, 1])),
    error: /float32/,
  },
  { name: "ts not monotonic", run: () => odeint(decay, Y, [0, 1, 0.5]), error: /ts/ },
  { name: "ts with NaN", run: () => odeint(decay, Y, [0, NaN]), error: /ts/ },
  { name: "ts empty", run: () => odeint(decay, Y, []), error: /ts/ },
  { name: "ts a string", run: () => odeint(decay, Y, "0,1" as never), error: /ts must be/ },
  { name: "rtol negative", run: () => odeint(decay, Y, [0, 1], { rtol: -1 }), error: /rtol/ },
  { name: "rtol NaN", run: () => odeint(decay, Y, [0, 1], { rtol: NaN }), error: /rtol/ },
  { name: "rtol 1e10", run: () => odeint(decay, Y, [0, 1], { rtol: 1e10 }), error: /rtol/ },
  {
    name: "rtol 1e-10 in float32",
    run: async () => disposeSol(await odeint(decay, Y, [0, 0.1], { rtol: 1e-10, atol: 1e-12 })),
    warn: /rtol=1e-10 is below what float32/,
  },
  { name: "atol negative", run: () => odeint(decay, Y, [0, 1], { atol: -1 }), error: /atol/ },
  {
    name: "maxSteps 2.5",
    run: () => odeint(decay, Y, [0, 1], { maxSteps: 2.5 }),
    error: /maxSteps/,
  },
  { name: "maxSteps 0", run: () => odeint(decay, Y, [0, 1], { maxSteps: 0 }), error: /maxSteps/ },
  {
    name: "maxSteps a string",
    run: () => odeint(decay, Y, [0, 1], { maxSteps: "10" as never }),
    error: /maxSteps/,
  },
  {
    name: "dtMin > dtMax",
    run: () => odeint(decay, Y, [0, 1], { dtMin: 0.5, dtMax: 0.1 }),
    error: /dtMin.*dtMax/,
  },
  { name: "dtMax 0", run: () => odeint(decay, Y, [0, 1], { dtMax: 0 }), error: /dtMax/ },
  {
    name: "unknown method",
    run: () => odeint(decay, Y, [0, 1], { method: "dopri6" as never }),
    error: /dopri6/,
  },
  {
    name: "option typo rTol",
    run: () => odeint(decay, Y, [0, 1], { rTol: 1e-3 } as never),
    error: /rTol/,
  },
  {
    name: "stepSize negative",
    run: () => odeint(decay, Y, [0, 1], { method: "rk4", stepSize: -0.1 }),
    error: /stepSize/,
  },
  {
    name: "firstStep 0",
    run: () => odeint(decay, Y, [0, 1], { firstStep: 0 }),
    error: /firstStep/,
  },
  {
    name: "norm not a function",
    run: () => odeint(decay, Y, [0, 1], { norm: 2 as never }),
    error: /norm/,
  },
  {
    name: "onFailure unknown",
    run: () => odeint(decay, Y, [0, 1], { onFailure: "maybe" as never }),
    error: /onFailure/,
  },
  {
    name: "onStep not a function",
    run: () => odeint(decay, Y, [0, 1], { onStep: 1 as never }),
    error: /onStep/,
  },
  {
    name: "event not a function",
    run: () => odeint(decay, Y, [0, 1], { event: 1 as never }),
    error: /event/,
  },
  {
    name: "dense not boolean",
    run: () => odeint(decay, Y, [0, 1], { dense: 1 as never }),
    error: /dense/,
  },
  {
    name: "ts a 2-D tensor",
    run: () => using(tf.zeros([2, 2]), (ts) => odeint(decay, Y, ts)),
    error: /ts/,
  },
  {
    name: "f returns the wrong shape",
    run: () => odeint((_t, y) => tf.concat([y, y]), Y, [0, 1]),
    error: /f\(t, y\)/,
  },
  {
    name: "f returns NaN",
    run: () => odeint((_t, y) => tf.mul(y, NaN), Y, [0, 1]),
    error: /NaN or Inf/,
  },
  {
    name: "f blows up (y' = y², y0 = 10)",
    run: () => using(tf.tensor([10]), (y) => odeint((_t, y) => tf.square(y), y, [0, 1])),
    error: /NaN or Inf|underflow|maxSteps/,
  },
  {
    name: "tuple f returns one tensor",
    run: () => odeint((_t, y: tf.Tensor[]) => y[0] as never, [Y, Y], [0, 1]),
    error: /f\(t, y\)/,
  },
  {
    name: "odeintSync on a failing solve under tf.grad",
    run: () =>
      tf.grad((y0: tf.Tensor) => tf.sum(odeintSync(decay, y0, [0, 100], { maxSteps: 3 }).ys))(Y),
    error: /maxSteps=3/,
  },
];

const adjointCases: Case[] = [
  {
    name: "params not an array",
    run: () => odeintAdjoint(scaled, Y, [0, 1], theta as never),
    error: /params/,
  },
  {
    name: "params lists a tensor twice",
    run: () => odeintAdjoint(scaled, Y, [0, 1], [theta, theta]),
    error: /twice/,
  },
  {
    name: "adjoint option typo",
    run: () => odeintAdjoint(scaled, Y, [0, 1], [theta], { adjoint: { rTol: 1 } as never }),
    error: /rTol/,
  },
  {
    name: "adjoint rtol negative (before the forward solve)",
    run: () => odeintAdjoint(scaled, Y, [0, 1], [theta], { adjoint: { rtol: -1 } }),
    error: /rtol/,
  },
  {
    name: "adjoint norm unknown",
    run: () => odeintAdjoint(scaled, Y, [0, 1], [theta], { adjoint: { norm: "semi" as never } }),
    error: /semi/,
  },
  {
    name: "gradTs not boolean",
    run: () => odeintAdjoint(scaled, Y, [0, 1], [theta], { gradTs: 1 as never }),
    error: /gradTs/,
  },
  { name: "dL/dys with NaN", run: () => backward(() => withNaN([2, 2], 3)), error: /dL\/dys/ },
  { name: "dL/dys the wrong shape", run: () => backward(() => tf.ones([3, 2])), error: /dL\/dys/ },
  {
    name: "a variable f reads, missing from params",
    run: async () => {
      const sol = await odeintAdjoint((_t, y) => tf.mul(hidden, tf.mul(theta, y)), Y, [0, 1], [
        theta,
      ]);
      const g = tf.onesLike(sol.ys);
      try {
        await sol.backward(g);
      } finally {
        tf.dispose([g, sol.ys]);
      }
    },
    error: /bad_inputs_hidden.*not in params/,
  },
  {
    name: "backward after ys was disposed",
    run: async () => {
      const sol = await odeintAdjoint(scaled, Y, [0, 1], [theta]);
      sol.ys.dispose();
      const g = tf.ones([2, 2]);
      try {
        await sol.backward(g);
      } finally {
        g.dispose();
      }
    },
    error: /disposed/,
  },
  {
    name: "eventTime without an event",
    run: () => backward(() => tf.ones([2, 2]), {}, { eventTime: 1 }),
    error: /eventTime/,
  },
  {
    name: "backward option typo",
    run: () => backward(() => tf.ones([2, 2]), {}, { evenTime: 1 }),
    error: /evenTime/,
  },
  {
    name: "per-component forward rtol without an adjoint rtol",
    run: () =>
      using(tf.tensor([1e-3, 1e-4]), (rtol) => odeintAdjoint(scaled, Y, [0, 1], [theta], { rtol })),
    error: /per-component rtol/,
  },
];

const otherLibraryCases: Case[] = [
  { name: "useBackend unknown name", run: () => useBackend("gpu" as never), error: /gpu/ },
  {
    name: "useBackend kernels typo",
    run: () => useBackend("cpu", { kernels: "fastest" as never }),
    error: /kernels/,
  },
  { name: "mlpField no layers", run: () => mlpField([]), error: /layers/ },
  {
    name: "mlpField 1-D kernel",
    run: () => using(tf.zeros([3]), (kernel) => mlpField([{ kernel }])),
    error: /kernel/,
  },
  {
    name: "mlpField unknown activation",
    run: () =>
      using(tf.zeros([2, 2]), (kernel) => mlpField([{ kernel }], { activation: "gelu" as never })),
    error: /activation/,
  },
];

/** A tiny path on [0, 8] and a constant CDE field. */
async function cdeWith(ts: number[]) {
  const x = tf.tidy(() => tf.stack([tf.linspace(0, 8, 9), tf.linspace(0, 1, 9)], 1).expandDims(0));
  const X = await linearInterpolation(x as tf.Tensor3D);
  const A = tf.ones([1, 2, 2]);
  const z0 = tf.zeros([1, 2]);
  try {
    disposeSol(await cdeint(X, () => A, z0, ts, { adjoint: false }));
  } finally {
    tf.dispose([x, A, z0]);
    X.dispose();
  }
}

const modelCases: Case[] = [
  {
    name: "NeuralCDE option typo",
    run: () => new NeuralCDE({ hidenChannels: 8 } as never),
    error: /hidenChannels/,
  },
  {
    name: "labels out of range (7 of 3 classes)",
    run: async () => {
      const model = new NeuralCDE({
        inputChannels: 2,
        hiddenChannels: 2,
        hiddenHiddenChannels: 2,
        classes: 3,
      });
      const x = tf.tensor3d([[[0, 0], [1, 1]], [[0, 1], [1, 0]]]);
      const X = await linearInterpolation(x);
      const labels = tf.tensor1d([0, 7], "int32");
      try {
        await model.lossAndGrads(X, labels);
      } finally {
        tf.dispose([x, labels]);
        X.dispose();
        model.dispose();
      }
    },
    error: /labels\[1\] is 7/,
  },
  {
    name: "cdeint ts past the last knot",
    run: () => cdeWith([0, 8, 9.5]),
    error: /9\.5.*outside the control path's domain/,
  },
  { name: "cdeint ts before the first knot", run: () => cdeWith([-1, 4]), error: /-1.*outside/ },
  {
    name: "linearInterpolation with Infinity",
    run: async () => {
      const x = tf.tensor3d([[[1], [Infinity]]]);
      try {
        (await linearInterpolation(x)).dispose();
      } finally {
        x.dispose();
      }
    },
    error: /Infinity/,
  },
  {
    name: "linearInterpolation times not increasing",
    run: async () => {
      const x = tf.tensor3d([[[1], [2]]]);
      try {
        (await linearInterpolation(x, [0, 0])).dispose();
      } finally {
        x.dispose();
      }
    },
    error: /strictly increasing/,
  },
  {
    name: "mfcc input with NaN",
    run: async () => {
      const signals = withNaN([2, 1000], 1500);
      try {
        (await mfcc(signals as tf.Tensor2D)).dispose();
      } finally {
        signals.dispose();
      }
    },
    error: /NaN/,
  },
  {
    name: "Symoden.step option typo rTol",
    run: () => withSymoden(tf.zeros([2, 3, 8]), (m, x) => m.step(x, { rTol: 1e-3 } as never)),
    error: /rTol/,
  },
  {
    name: "Symoden target with NaN",
    run: () => withSymoden(withNaN([2, 3, 8], 21), (m, x) => m.step(x)),
    error: /targets \(windows\).*NaN/,
  },
  {
    name: "Symoden windows the wrong shape",
    run: () => withSymoden(tf.zeros([4, 8]), (m, x) => m.step(x)),
    error: /windows must have shape/,
  },
];

/** Runs `use` on a tiny Symoden and the input `x`, then disposes both. */
async function withSymoden(x: tf.Tensor, use: (m: Symoden, x: tf.Tensor) => Promise<unknown>) {
  const model = new Symoden({ massHidden: 4, potentialHidden: 3, inputHidden: 3 });
  try {
    await use(model, x);
  } finally {
    tf.dispose([x, ...model.variables]);
  }
}

const harnessCases: Case[] = [
  {
    name: "plateauSchedule option typo",
    run: () => plateauSchedule({ patiense: 3 } as never),
    error: /patiense/,
  },
  { name: "plateauSchedule factor 1", run: () => plateauSchedule({ factor: 1 }), error: /factor/ },
  { name: "AdamW without learningRate", run: () => new AdamW({} as never), error: /learningRate/ },
  {
    name: "AdamW option typo",
    run: () => new AdamW({ learningRate: 1e-3, weightDecai: 0 } as never),
    error: /weightDecai/,
  },
];

const groups: [string, Case[]][] = [
  ["solvers (odeint, odeintSync)", solverCases],
  ["adjoint (odeintAdjoint, backward)", adjointCases],
  ["backend, fields", otherLibraryCases],
  ["models (Neural CDE, interpolation, MFCC, Symoden)", modelCases],
  ["training harness", harnessCases],
];

type Outcome = "clear error" | "warning" | "unclear" | "silent";
const list = Deno.args.includes("--list");
const totals = new Map<string, Record<Outcome | "leak" | "tried", number>>();
for (const [layer, cases] of groups) {
  const count = { tried: 0, "clear error": 0, warning: 0, unclear: 0, silent: 0, leak: 0 };
  totals.set(layer, count);
  for (const c of cases) {
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (...args: unknown[]) => void warnings.push(args.map(String).join(" "));
    const before = tf.memory().numTensors;
    let message: string | undefined;
    try {
      await c.run();
    } catch (e) {
      message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    } finally {
      console.warn = warn;
    }
    const leaked = tf.memory().numTensors - before;
    let outcome: Outcome;
    if (message !== undefined) outcome = c.error?.test(message) ? "clear error" : "unclear";
    else if (c.warn !== undefined && warnings.some((w) => c.warn!.test(w))) outcome = "warning";
    else outcome = "silent";
    count.tried++;
    count[outcome]++;
    if (leaked !== 0) count.leak++;
    if (list || outcome === "unclear" || outcome === "silent" || leaked !== 0) {
      const shown = (message ?? warnings[0] ?? "(nothing)").split("\n")[0].slice(0, 150);
      console.log(
        `${outcome}${leaked ? `, ${leaked} tensors leaked` : ""} | ${layer} | ${c.name} | ${shown}`,
      );
    }
  }
}
tf.dispose([Y, theta, hidden]);

const rows = [...totals].map(([layer, c]) =>
  `| ${layer} | ${c.tried} | ${
    c["clear error"]
  } | ${c.warning} | ${c.unclear} | ${c.silent} | ${c.leak} |`
);
const sum = (k: Outcome | "leak" | "tried") => [...totals.values()].reduce((n, c) => n + c[k], 0);
console.log(
  [
    "| layer | bad inputs tried | clear errors | warnings | unclear errors | silent | leaks |",
    "| ----- | ---------------- | ------------ | -------- | -------------- | ------ | ----- |",
    ...rows,
    `| **all** | ${sum("tried")} | ${sum("clear error")} | ${sum("warning")} | ${
      sum("unclear")
    } | ` +
    `${sum("silent")} | ${sum("leak")} |`,
  ].join("\n"),
);
