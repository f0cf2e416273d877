/**
 * The demo's command line (`deno task demo`): train the spiral neural ODE twice, once with each
 * backward norm, and print forward NFE, backward NFE, the seminorm's saving, final loss and wall
 * time. Flags are parsed by the experiments' shared parser: `--help` prints
 * {@link DEMO_USAGE}, a bad value is a usage error (exit code 2).
 *
 * ```sh
 * deno task demo                       # cpu, 200 iterations per norm
 * deno task demo --iters 200 --backend wasm
 * ```
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseDemoArgs } from "@fasterode/fasterode/experiments";
 * assert.deepEqual(parseDemoArgs(["--iters", "50"]), { iters: 50 });
 * ```
 *
 * @module
 */
import { type BackendName, chooseBackend } from "../../mod.ts";
import { SpiralODE } from "../../models/spiral/mod.ts";
import {
  choice,
  numberFlag,
  parseCommandLine,
  parseFlags,
  pathFlag,
  runMain,
} from "../harness/mod.ts";
import { formatDemoTable } from "./report.ts";
import { runDemo } from "./run.ts";
import { DEMO_SETTINGS, type DemoOptions, resolveDemoSettings } from "./settings.ts";

/**
 * The usage text of the demo (`--help`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEMO_USAGE } from "@fasterode/fasterode/experiments";
 * assert.match(DEMO_USAGE, /--iters N +Adam iterations per norm \(default 200\)/);
 * ```
 */
export const DEMO_USAGE: string = `Usage: deno task demo [options]
       (deno run -A experiments/spiral/main.ts [options])

Trains the spiral neural ODE with Adam twice from the same seed, once with each backward norm,
and prints forward NFE, backward NFE, the final loss and the wall time.

  --iters N           Adam iterations per norm (default ${DEMO_SETTINGS.iters})
  --batch N           segments per batch (default ${DEMO_SETTINGS.batch})
  --width N           hidden width of the model (default ${DEMO_SETTINGS.width})
  --seed N            seed of the weights and the batches (default 0)
  --checkpoint DIR    save a checkpoint every 50 iterations and on Ctrl-C / SIGTERM (after the
                      current iteration) into DIR (needs --allow-write for DIR)
  --resume DIR        continue the demo whose checkpoint folder DIR is, with the same flags
  --backend NAME      cpu, wasm or webgpu (default: webgpu on a hardware GPU, else wasm)
  --help              this text`;

/** The demo's options from its command line. */
export interface DemoCliOptions
  extends Pick<DemoOptions, "iters" | "batch" | "width" | "seed" | "checkpoint" | "resume"> {
  /** The tfjs backend (default: the library's choice, `chooseBackend`). */
  backend?: BackendName;
}

const FLAGS = {
  iters: { type: "string" },
  batch: { type: "string" },
  width: { type: "string" },
  seed: { type: "string" },
  backend: { type: "string" },
  checkpoint: { type: "string" },
  resume: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/**
 * Parses the demo's flags (see {@link DEMO_USAGE}) into options, or `"help"` for `--help`.
 * Throws a `TypeError` naming an unknown flag or a stray argument, and a `RangeError` naming a
 * bad value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseDemoArgs } from "@fasterode/fasterode/experiments";
 * assert.deepEqual(parseDemoArgs(["--width", "16", "--backend", "wasm"]), {
 *   width: 16,
 *   backend: "wasm",
 * });
 * assert.throws(() => parseDemoArgs(["--iters", "x"]), /--iters must be an integer >= 1, got "x"/);
 * assert.equal(parseDemoArgs(["-h"]), "help");
 * ```
 *
 * @param args the command line's arguments
 * @returns the options, or `"help"`
 */
export function parseDemoArgs(args: string[]): DemoCliOptions | "help" {
  const values = parseFlags(args, FLAGS);
  if (values.help) return "help";
  const o: DemoCliOptions = {};
  const str = (k: keyof typeof FLAGS) => values[k] as string | undefined;
  if (str("iters") !== undefined) o.iters = numberFlag("iters", str("iters")!, true, 1);
  if (str("batch") !== undefined) o.batch = numberFlag("batch", str("batch")!, true, 1);
  if (str("width") !== undefined) o.width = numberFlag("width", str("width")!, true, 1);
  if (str("seed") !== undefined) o.seed = numberFlag("seed", str("seed")!, true, 0);
  if (str("backend") !== undefined) {
    o.backend = choice("backend", str("backend")!, ["cpu", "wasm", "webgpu"] as const);
  }
  if (str("checkpoint") !== undefined) o.checkpoint = pathFlag("checkpoint", str("checkpoint")!);
  if (str("resume") !== undefined) o.resume = pathFlag("resume", str("resume")!);
  if (o.checkpoint !== undefined && o.resume !== undefined) {
    throw new TypeError("--checkpoint and --resume exclude each other: a resume uses its folder");
  }
  return o;
}

/**
 * The demo: parses `args`, starts the backend (`chooseBackend`'s: webgpu on a hardware GPU,
 * else wasm, unless `--backend` or `FASTERODE_BACKEND` says otherwise), trains
 * both norms with a progress line on stderr and prints the table. Returns the exit code (0; 2
 * for a usage error).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { demoMain } from "@fasterode/fasterode/experiments";
 * const error = console.error;
 * console.error = () => {}; // the usage error's message
 * try {
 *   assert.equal(await demoMain(["--batch", "0"]), 2);
 * } finally {
 *   console.error = error;
 * }
 * ```
 *
 * @param args the command line's arguments
 * @returns the exit code
 */
export async function demoMain(args: string[]): Promise<number> {
  const options = parseCommandLine(args, parseDemoArgs, DEMO_USAGE);
  if (typeof options === "number") return options;
  const { backend: asked = "auto", ...demo } = options;
  const settings = resolveDemoSettings(demo);
  const { backend } = await chooseBackend({ requested: asked });
  const { iters } = settings;
  const model = new SpiralODE({ width: settings.width });
  console.log(
    `Spiral neural ODE (${model.parameterCount} parameters), ${settings.batch} segments per ` +
      `batch, outputs at t = 0, 0.5, 1; ${iters} Adam iterations per norm; dopri5, rtol ` +
      `${settings.rtol.toExponential()}, atol ${settings.atol.toExponential()}; backend ${backend}`,
  );
  model.dispose();
  const runs = await runDemo({
    ...demo,
    onIteration: (norm, it, loss) => {
      const line =
        `${norm.padEnd(8)} ${"#".repeat(Math.round((30 * it) / iters)).padEnd(30, ".")}` +
        ` ${it}/${iters} loss ${loss.toFixed(4)}`;
      if (Deno.stderr.isTerminal()) Deno.stderr.writeSync(new TextEncoder().encode(`\r${line}`));
      else if (it % 50 === 0 || it === iters) console.error(line);
      if (it === iters && Deno.stderr.isTerminal()) console.error();
    },
  });
  console.log(`\n${formatDemoTable(runs)}`);
  return 0;
}

if (import.meta.main) await runMain(demoMain, Deno.args, "deno task demo");
