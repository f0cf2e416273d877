/**
 * The training-step benchmark of issue 11: ms per training step (forward solve + adjoint
 * backward) per norm, on the problem of `tests/solvers/data/bench_problem.json` (a copy of
 * `shared/reference/bench_problem.json`), against the torchdiffeq figures recorded in that file.
 *
 * The problem: MLP 2 → 64 → 64 → 2 with tanh after the first two layers, batch 256, `y0` given,
 * outputs at t = 0 and 5, dopri5 with rtol 1e-3, atol 1e-6 on both passes, loss = mean squared
 * error to the targets at both times. Expected: forward NFE 20, backward NFE 32 (default) / 20
 * (seminorm), loss 1.33141 at the given weights (checked on every run, and asserted in
 * `tests/kernels/bench_problem_test.ts`).
 *
 * Two fields: `tape`, the MLP written as plain tfjs ops (what any user field is; the adjoint
 * takes its VJP from the tape), and `mlpField`, the library's field with a hand-written VJP.
 * With `--kernels both` (the default on wasm) the stock and the fast wasm kernels run side by
 * side in one process, alternating, so that a busy machine slows both alike.
 *
 * ```sh
 * deno run -A bench/training_step.ts                      # wasm, stock and fast kernels
 * deno run -A bench/training_step.ts --backend cpu
 * deno run -A bench/training_step.ts --kernels fast --steps 20
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { readFile } from "node:fs/promises";
import {
  type BackendName,
  mlpField,
  NORM_NAMES,
  type NormName,
  odeintAdjoint,
  useBackend,
} from "../mod.ts";
import {
  choice,
  numberFlag,
  parseCommandLine,
  parseFlags,
  runMain,
} from "../experiments/harness/mod.ts";
import { median } from "./batch_timing.ts";

/** The benchmark problem as recorded in the JSON file (the fields this benchmark reads). */
export interface BenchProblem {
  solver: { method: "dopri5"; rtol: number; atol: number };
  expected: {
    forward_nfe: number;
    backward_nfe: Record<NormName, number>;
    loss: number;
  };
  torchdiffeq: { version: string; machine: string; median_ms_per_step: Record<NormName, number> };
  B: number;
  D: number;
  H: number;
  y0: number[][];
  ts: number[];
  target: number[][][];
  /** `[W, b]` per layer in torch layout (`W` is `[out][in]`, `y = x Wᵀ + b`). */
  layers: [number[][], number[]][];
}

/** Reads the benchmark problem (the repository's copy of the shared reference file). */
export async function loadBenchProblem(): Promise<BenchProblem> {
  const url = new URL("../tests/solvers/data/bench_problem.json", import.meta.url);
  return JSON.parse(await readFile(url, "utf8")) as BenchProblem;
}

/** How the vector field is written: plain tfjs ops (tape VJP) or `mlpField` (hand VJP). */
export type FieldKind = "tape" | "mlpField";

/** The problem's tensors on the active backend, and one training step over them. */
export interface TrainingStep {
  /** One forward solve + adjoint backward; its loss and NFE. */
  step(norm: NormName): Promise<{ loss: number; forwardNfe: number; backwardNfe: number }>;
  dispose(): void;
}

/**
 * Builds the problem's tensors on the active backend and returns its training step.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadBenchProblem, trainingStep } from "./training_step.ts";
 *
 * const problem = await loadBenchProblem();
 * const run = trainingStep(problem, "tape");
 * const { loss, forwardNfe } = await run.step("seminorm");
 * assert.equal(forwardNfe, problem.expected.forward_nfe);
 * assert.ok(Math.abs(loss - problem.expected.loss) < 1e-3);
 * run.dispose();
 * ```
 *
 * @param problem the problem (see {@linkcode loadBenchProblem})
 * @param kind how the field is written
 * @returns the step and a `dispose` for its tensors
 */
export function trainingStep(problem: BenchProblem, kind: FieldKind): TrainingStep {
  // torch layout W [out][in] → kernel [in, out]; variables, as a model's weights are.
  const variable = (make: () => tf.Tensor) => {
    const init = tf.tidy(make);
    const v = tf.variable(init);
    init.dispose();
    return v;
  };
  const kernels = problem.layers.map(([W]) => variable(() => tf.transpose(tf.tensor2d(W))));
  const biases = problem.layers.map(([, b]) => variable(() => tf.tensor1d(b)));
  const params = problem.layers.flatMap((_, i) => [kernels[i], biases[i]]);
  const last = problem.layers.length - 1;
  const tape = (_t: number, y: tf.Tensor): tf.Tensor =>
    tf.tidy(() => {
      let h = y as tf.Tensor2D;
      for (const [i, kernel] of kernels.entries()) {
        h = tf.add(tf.matMul(h, kernel as tf.Tensor2D), biases[i]);
        if (i < last) h = tf.tanh(h);
      }
      return h;
    });
  const f = kind === "tape"
    ? tape
    : mlpField(kernels.map((kernel, i) => ({ kernel, bias: biases[i] })), { activation: "tanh" });
  const y0 = tf.tensor2d(problem.y0);
  const target = tf.tensor3d(problem.target);
  const { method, rtol, atol } = problem.solver;
  return {
    async step(norm) {
      const sol = await odeintAdjoint(f, y0, problem.ts, params, {
        method,
        rtol,
        atol,
        adjoint: { norm },
      });
      const diff = tf.sub(sol.ys as tf.Tensor, target);
      const lossT = tf.tidy(() => tf.mean(tf.square(diff)));
      const dLdys = tf.mul(diff, 2 / diff.size);
      const g = await sol.backward(dLdys);
      const loss = (await lossT.data())[0];
      await g.params[0].data(); // the step is done when its gradients can be read
      tf.dispose([sol.ys, diff, lossT, dLdys, g.y0, g.params]);
      return { loss, forwardNfe: sol.stats.nfe, backwardNfe: g.stats.nfe };
    },
    dispose() {
      tf.dispose([...params, y0, target]);
    },
  };
}

/** One configuration's timings. */
interface Row {
  kernels: string;
  field: FieldKind;
  norm: NormName;
  ms: number[];
}

/** The `--help` text. */
const USAGE = `Usage: deno run -A bench/training_step.ts [flags]
  --backend NAME   cpu, wasm or webgpu (default wasm)
  --kernels NAME   wasm kernels: stock, fast or both, side by side (default both; other
                   backends: their own kernels)
  --steps N        timed steps per row and round, an integer >= 1 (default 10)
  --rounds N       rounds, alternating the rows, an integer >= 1 (default 3)
  --help           this text`;

/** The benchmark's settings, from the command line. */
interface BenchOptions {
  backend: BackendName;
  kernelSets: ("stock" | "fast")[];
  steps: number;
  rounds: number;
}

/** Parses and checks the flags before any work (`"help"` for `--help`). */
function parseBenchArgs(args: string[]): BenchOptions | "help" {
  const values = parseFlags(args, {
    backend: { type: "string", default: "wasm" },
    kernels: { type: "string", default: "both" },
    steps: { type: "string", default: "10" },
    rounds: { type: "string", default: "3" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) return "help";
  const str = (flag: string) => String(values[flag]);
  const backend = choice("backend", str("backend"), ["cpu", "wasm", "webgpu"] as const);
  const kernels = choice("kernels", str("kernels"), ["stock", "fast", "both"] as const);
  const kernelSets: ("stock" | "fast")[] = kernels === "both" ? ["stock", "fast"] : [kernels];
  return {
    backend,
    kernelSets: backend === "wasm" ? kernelSets : kernelSets.slice(0, 1),
    steps: numberFlag("steps", str("steps"), true, 1),
    rounds: numberFlag("rounds", str("rounds"), true, 1),
  };
}

async function main(args: string[]): Promise<number> {
  const options = parseCommandLine(args, parseBenchArgs, USAGE);
  if (typeof options === "number") return options;
  const { backend, kernelSets, steps, rounds } = options;
  const problem = await loadBenchProblem();
  await useBackend(backend);
  const rows: Row[] = [];
  const fields: FieldKind[] = ["tape", "mlpField"];
  for (let round = 0; round < rounds; round++) {
    for (const kernels of kernelSets) {
      if (backend === "wasm") await useBackend("wasm", { kernels });
      for (const field of fields) {
        const run = trainingStep(problem, field);
        for (const norm of NORM_NAMES) {
          let row = rows.find((r) => r.kernels === kernels && r.field === field && r.norm === norm);
          if (row === undefined) rows.push(row = { kernels, field, norm, ms: [] });
          if (round === 0) await run.step(norm); // warm-up
          for (let s = 0; s < steps; s++) {
            const t0 = performance.now();
            const r = await run.step(norm);
            row.ms.push(performance.now() - t0);
            const ok = r.forwardNfe === problem.expected.forward_nfe &&
              r.backwardNfe === problem.expected.backward_nfe[norm] &&
              Math.abs(r.loss - problem.expected.loss) < 1e-4 * problem.expected.loss;
            if (!ok) {
              throw new Error(
                `${kernels}/${field}/${norm}: NFE ${r.forwardNfe}/${r.backwardNfe}, loss ` +
                  `${r.loss}; expected ${problem.expected.forward_nfe}/` +
                  `${problem.expected.backward_nfe[norm]}, ${problem.expected.loss}`,
              );
            }
          }
        }
        run.dispose();
      }
    }
  }
  const torch = problem.torchdiffeq;
  console.log(
    `training step, ${backend}, ${rounds}×${steps} steps per row, median ms (NFE and loss ` +
      `checked every step: forward ${problem.expected.forward_nfe}, backward ` +
      `${NORM_NAMES.map((n) => `${problem.expected.backward_nfe[n]} ${n}`).join(" / ")}, ` +
      `loss ${problem.expected.loss.toFixed(5)})`,
  );
  console.log(
    `torchdiffeq figures from another process, recorded in bench_problem.json: ` +
      `${torch.version}; ${torch.machine}`,
  );
  console.log("| kernels | field | norm | ms per step | × torchdiffeq | fast speed-up |");
  console.log("| --- | --- | --- | --- | --- | --- |");
  for (const r of rows) {
    const ms = median(r.ms);
    const stock = rows.find((s) =>
      s.kernels === "stock" && s.field === r.field && s.norm === r.norm
    );
    const speedUp = r.kernels === "fast" && stock !== undefined
      ? `${(median(stock.ms) / ms).toFixed(2)}×`
      : "";
    console.log(
      `| ${r.kernels} | ${r.field} | ${r.norm} | ${ms.toFixed(1)} | ` +
        `${(ms / torch.median_ms_per_step[r.norm]).toFixed(2)} | ${speedUp} |`,
    );
  }
  await useBackend("cpu");
  return 0;
}

if (import.meta.main) await runMain(main, Deno.args, "bench/training_step.ts");
