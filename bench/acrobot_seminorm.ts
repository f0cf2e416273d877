/**
 * Where the seminorm's saving lives on the acrobot at the paper's tolerances (issue 15 item 3):
 * backward NFE of the default norm, the correct seminorm and the paper's code's mis-sliced "seminorm"
 * (`paperCodeSeminorm`, models/acrobot/paper_code_norm.ts) on one batch of 256 windows (the paper's batch
 * size), dopri5 rtol = atol = 1e-4 on both passes, with accepted / rejected backward steps per
 * output interval (the 7 gaps of 0.05 s, counted from the recorded step end times).
 *
 * (a) `--widths`: untrained models (seed 0) as they grow, all three norms on the same batch.
 * (b) `--train-width W --epochs E`: one model of width W trained with AdamW (lr 1e-2, wd 0.01,
 *     batches of 256, default norm) on `--trials` trials per control; after every epoch the three
 *     norms are measured on the same fixed batch, so the rows differ only by the norm.
 *
 * ```sh
 * deno run -A bench/acrobot_seminorm.ts --widths 32,64,128 --epochs 0
 * deno run -A bench/acrobot_seminorm.ts --widths none --train-width 32 --epochs 3
 * ```
 *
 * Not a `deno bench` file; run it directly.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type AdjointNormSpec, type BackendName, useBackend } from "../mod.ts";
import {
  acrobotTrajectories,
  paperCodeSeminorm,
  splitSizes,
  Symoden,
  windowsOf,
} from "../models/acrobot/mod.ts";
import { permutation, seededRandom } from "../models/data/mod.ts";
import {
  AdamW,
  choice,
  numberFlag,
  parseCommandLine,
  parseFlags,
  runMain,
} from "../experiments/harness/mod.ts";
import { batchOf, WINDOW } from "./acrobot_batch.ts";

const DT = 0.05;
const SOLVE = { rtol: 1e-4, atol: 1e-4 };
const NORMS: [string, AdjointNormSpec][] = [
  ["default", "default"],
  ["seminorm", "seminorm"],
  ["paper-code-seminorm", paperCodeSeminorm()],
];

/**
 * Counts accepted and rejected backward steps per output interval (0 = [0, dt], …) from the
 * backward solve's `onStep`: a step belongs to the interval whose solve it is part of, the one
 * its start time lies in (`(k·dt, (k+1)·dt]`); its end may overshoot the interval (the solver
 * steps past an output time and interpolates back), so end times would miscount.
 */
export function intervalCounter(gaps = WINDOW - 1) {
  const acc = new Array(gaps).fill(0);
  const rej = new Array(gaps).fill(0);
  const onStep = ({ t, accepted }: { t: number; accepted: boolean }) => {
    const k = Math.min(gaps - 1, Math.max(0, Math.ceil(t / DT - 1e-6) - 1));
    (accepted ? acc : rej)[k]++;
  };
  return { acc, rej, onStep };
}

/** One row per norm: backward NFE, steps, per-interval counts, seconds. */
async function measure(model: Symoden, windows: tf.Tensor3D, label: string): Promise<void> {
  const base: number[] = [];
  for (const [name, norm] of NORMS) {
    const start = performance.now();
    const { acc, rej, onStep } = intervalCounter();
    const r = await model.step(windows, { ...SOLVE, adjoint: { norm, onStep } });
    const s = (performance.now() - start) / 1000;
    const loss = typeof r.loss === "number" ? r.loss : (await (r.loss as tf.Tensor).data())[0];
    tf.dispose(Object.values(r.grads));
    if (typeof r.loss !== "number") tf.dispose(r.loss as tf.Tensor);
    const b = r.backward;
    base.push(b.nfe);
    const saving = base.length > 1 ? ` (${(100 * (1 - b.nfe / base[0])).toFixed(0)}% fewer)` : "";
    console.log(
      `| ${label} | ${name} | ${r.forward.nfe} | ${b.nfe}${saving} | ${b.nAccepted} / ${b.nRejected} ` +
        `| ${acc.join(" ")} | ${rej.join(" ")} | ${loss.toExponential(3)} | ${s.toFixed(1)} |`,
    );
  }
}

const HEADER = "| model | norm | fwd NFE | bwd NFE | bwd acc / rej | acc per gap t=0→0.35 | " +
  "rej per gap | loss | s |\n|---|---|---|---|---|---|---|---|---|";

/** The `--help` text. */
const USAGE = `Usage: deno run -A bench/acrobot_seminorm.ts [flags]
  --widths LIST      untrained models to measure: widths W or M/V/G, comma-separated, or none
                     (default 32,64,128,200,300,400/300/300)
  --train-width N    width of the model trained in part (b) (default 32)
  --epochs N         its training epochs; 0 skips part (b) (default 3)
  --trials N         its trials per control, at least 7 (default 12)
  --backend NAME     cpu, wasm or webgpu (default wasm)
  --help             this text`;

/** The benchmark's settings, from the command line. */
interface BenchOptions {
  widths: [number, number, number][];
  trainWidth: number;
  epochs: number;
  trials: number;
  backend: BackendName;
}

/** Parses and checks the flags before any work (`"help"` for `--help`). */
function parseBenchArgs(args: string[]): BenchOptions | "help" {
  const values = parseFlags(args, {
    widths: { type: "string", default: "32,64,128,200,300,400/300/300" },
    "train-width": { type: "string", default: "32" },
    epochs: { type: "string", default: "3" },
    trials: { type: "string", default: "12" },
    backend: { type: "string", default: "wasm" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) return "help";
  const str = (flag: string) => String(values[flag]);
  const widths = str("widths") === "none" ? [] : str("widths").split(",").map((w) => {
    const parts = w.split("/").map((x) => numberFlag("widths", x, true, 1));
    if (parts.length !== 1 && parts.length !== 3) {
      throw new RangeError(`--widths: "${w}" is neither W nor M/V/G`);
    }
    return (parts.length === 1 ? [parts[0], parts[0], parts[0]] : parts) as [
      number,
      number,
      number,
    ];
  });
  return {
    widths,
    trainWidth: numberFlag("train-width", str("train-width"), true, 1),
    epochs: numberFlag("epochs", str("epochs"), true, 0),
    trials: numberFlag("trials", str("trials"), true, 7),
    backend: choice("backend", str("backend"), ["cpu", "wasm", "webgpu"] as const),
  };
}

async function main(args: string[]): Promise<number> {
  const options = parseCommandLine(args, parseBenchArgs, USAGE);
  if (typeof options === "number") return options;
  await useBackend(options.backend);
  const windows = await batchOf(256);
  console.log(
    `acrobot backward NFE by norm, ${tf.getBackend()}, batch 256 × 8 points, dopri5 ` +
      `rtol ${SOLVE.rtol}, atol ${SOLVE.atol}; gaps listed from t = 0 (the backward solve runs ` +
      `from 0.35 down to 0)`,
  );
  if (options.widths.length > 0) {
    console.log(`\n(a) untrained (seed 0), by width\n${HEADER}`);
    for (const [m, v, g] of options.widths) {
      const w = m === v && v === g ? `${m}` : `${m}/${v}/${g}`;
      const model = new Symoden({ massHidden: m, potentialHidden: v, inputHidden: g, seed: 0 });
      await measure(model, windows, `${w} (${model.parameterCount} p)`);
      model.dispose();
    }
  }
  const { epochs, trials } = options;
  if (epochs > 0) {
    const width = options.trainWidth;
    const traj = await acrobotTrajectories({ trials, steps: 32 });
    const train = windowsOf(traj, 0, splitSizes(trials)[0], WINDOW);
    const model = new Symoden({ massHidden: width, potentialHidden: width, inputHidden: width });
    const opt = new AdamW({ learningRate: 1e-2, weightDecay: 0.01 });
    const n = train.shape[0];
    console.log(
      `\n(b) width ${width} (${model.parameterCount} p) trained on ${n} windows ` +
        `(${trials} trials per control), AdamW lr 1e-2, batches of 256, default norm; measured ` +
        `after each epoch on the fixed batch\n${HEADER}`,
    );
    await measure(model, windows, "epoch 0");
    const random = seededRandom(1);
    for (let e = 1; e <= epochs; e++) {
      const order = permutation(n, random);
      let sum = 0, count = 0, bnfe = 0;
      const t0 = performance.now();
      for (let s = 0; s < n; s += 256) {
        const idx = tf.tensor1d(order.slice(s, s + 256), "int32");
        const batch = tf.gather(train, idx) as tf.Tensor3D;
        const r = await model.step(batch, { ...SOLVE });
        opt.applyGradients(r.grads);
        sum += r.loss * r.count;
        count += r.count;
        bnfe += r.backward.nfe;
        tf.dispose([idx, batch, ...Object.values(r.grads)]);
      }
      console.error(
        `epoch ${e}: train loss ${(sum / count).toExponential(3)}, backward NFE ` +
          `${bnfe}, ${((performance.now() - t0) / 1000).toFixed(0)} s`,
      );
      await measure(model, windows, `epoch ${e}`);
    }
    tf.dispose(train);
    opt.dispose();
    model.dispose();
  }
  windows.dispose();
  return 0;
}

if (import.meta.main) await runMain(main, Deno.args, "bench/acrobot_seminorm.ts");
