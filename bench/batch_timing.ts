/**
 * What the training-batch benchmarks (`acrobot_batch.ts`, `cde_batch.ts`) share: their common
 * flags, on the experiments' strict parser ({@linkcode batchFlags}, {@linkcode batchUsage}); the
 * timing loop over kernel sets × VJPs × norms, one warm-up batch then `--repeats` timed ones, in
 * wall and CPU seconds ({@linkcode timeBatches}, {@linkcode timed}, {@linkcode median}); and
 * their report, the table of medians (with the experiments' table code) and the hand-vs-tape
 * comparison ({@linkcode batchReport}).
 *
 * CPU seconds are this process's (user + system, `process.cpuUsage`): the wasm backend runs on
 * one thread, so on a quiet machine they agree with the wall time, and on a busy one they are the
 * better measure of the work.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import process from "node:process";
import { type BackendName, NORM_NAMES, type NormName, useBackend } from "../mod.ts";
import type { TrainStepResult } from "../experiments/harness/mod.ts";
import { choice, markdownTable, numberFlag, parseFlags } from "../experiments/harness/mod.ts";

/** Whose vector–Jacobian products the backward solve uses. */
export type VjpKind = "hand" | "tape";
/** Which wasm kernels run: tfjs's own or the library's faster ones. */
export type Kernels = "fast" | "stock";

/** A flag of one benchmark: its default value and its help text. */
export interface FlagSpec {
  /** The value when the flag is not given. */
  default: string;
  /** One line for `--help`: what the value is. */
  help: string;
  /** The value's name for `--help` (default `N` where the default is a number, else `NAME`). */
  arg?: string;
}

/** What differs between the benchmarks' command lines. */
export interface BatchFlagOptions {
  /** How it is run, for `--help` (`"deno run -A bench/cde_batch.ts"`). */
  command: string;
  /** The default `--batch` (the paper's batch size). */
  batch: number;
  /** What a batch holds, for `--help` (`"windows"`, `"clips"`). */
  items: string;
  /** The default `--vjp`. */
  vjp: VjpKind | "both";
  /** The least `--repeats` (0 where the benchmark has something to show without batches). */
  minRepeats: number;
  /** The benchmark's own flags, by name. */
  extra?: Readonly<Record<string, FlagSpec>>;
}

/** The checked values of the common flags, and the text of the benchmark's own. */
export interface BatchFlags {
  /** `--backend`: cpu, wasm or webgpu. */
  backend: BackendName;
  /** `--batch`: examples per batch. */
  batchSize: number;
  /** `--repeats`: timed batches per configuration. */
  repeats: number;
  /** `--kernels`, expanded (`both`: stock, then fast); only `fast` off wasm. */
  kernelSets: Kernels[];
  /** `--vjp`, expanded (`both`: hand, then tape). */
  vjps: VjpKind[];
  /** The benchmark's own flags, as given or their defaults (the benchmark checks them). */
  extra: Record<string, string>;
}

/** The common flags of a batch benchmark, with their defaults. */
function commonFlags(options: BatchFlagOptions): Record<string, FlagSpec> {
  return {
    backend: { default: "wasm", help: "tfjs backend: cpu, wasm or webgpu" },
    batch: { default: String(options.batch), help: `${options.items} per batch` },
    kernels: { default: "fast", help: "wasm kernels: fast, stock or both" },
    vjp: { default: options.vjp, help: "backward VJPs: hand, tape or both" },
    repeats: {
      default: "1",
      help: `timed batches per row, an integer >= ${options.minRepeats}`,
    },
  };
}

/**
 * The `--help` text of a batch benchmark: its command and every flag with its default.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { batchUsage } from "./batch_timing.ts";
 * const usage = batchUsage({
 *   command: "deno run -A bench/x.ts", batch: 64, items: "clips", vjp: "hand", minRepeats: 1,
 *   extra: { knots: { default: "161", help: "knots per clip" } },
 * });
 * assert.match(usage, /^Usage: deno run -A bench\/x\.ts \[flags\]\n/);
 * assert.match(usage, /--batch N +clips per batch \(default 64\)/);
 * assert.match(usage, /--knots N +knots per clip \(default 161\)\n/);
 * ```
 */
export function batchUsage(options: BatchFlagOptions): string {
  const all = { ...commonFlags(options), ...options.extra };
  const lines = Object.entries(all).map(([name, spec]) => {
    const arg = spec.arg ?? (/^\d+$/.test(spec.default) ? "N" : "NAME");
    return `  --${`${name} ${arg}`.padEnd(16)} ${spec.help} (default ${spec.default})`;
  });
  return [
    `Usage: ${options.command} [flags]`,
    ...lines,
    `  --help             this text`,
  ].join("\n");
}

/**
 * Reads a batch benchmark's command line (strict: an unknown flag is an error): the common flags
 * checked, the benchmark's own as text; `"help"` for `--help`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { batchFlags } from "./batch_timing.ts";
 * const options = {
 *   command: "deno run -A bench/x.ts", batch: 64, items: "clips", vjp: "hand" as const,
 *   minRepeats: 1, extra: { knots: { default: "161", help: "knots per clip" } },
 * };
 * assert.deepEqual(batchFlags(["--kernels", "both", "--knots", "41"], options), {
 *   backend: "wasm", batchSize: 64, repeats: 1, kernelSets: ["stock", "fast"], vjps: ["hand"],
 *   extra: { knots: "41" },
 * });
 * // Off wasm there is one kernel set.
 * const cpu = batchFlags(["--backend", "cpu", "--kernels", "both"], options);
 * assert.deepEqual(cpu !== "help" && cpu.kernelSets, ["fast"]);
 * assert.throws(() => batchFlags(["--repeats", "0"], options), /--repeats must be an integer >= 1/);
 * assert.throws(() => batchFlags(["--vjp", "taped"], options), /--vjp must be one of hand, tape, both/);
 * assert.throws(() => batchFlags(["--knot", "3"], options), /unknown flag --knot/);
 * assert.equal(batchFlags(["--help"], options), "help");
 * ```
 *
 * @param args the command line's arguments
 * @param options the benchmark's defaults and own flags
 * @returns the flags' values, or `"help"`
 * @throws {TypeError | RangeError} naming a flag that is unknown or has a bad value
 */
export function batchFlags(args: string[], options: BatchFlagOptions): BatchFlags | "help" {
  const specs = { ...commonFlags(options), ...options.extra };
  const values = parseFlags(args, {
    ...Object.fromEntries(Object.keys(specs).map((name) => [name, { type: "string" as const }])),
    help: { type: "boolean", short: "h" },
  });
  if (values.help === true) return "help";
  const text = (name: string) => (values[name] as string | undefined) ?? specs[name].default;
  const backend = choice("backend", text("backend"), ["cpu", "wasm", "webgpu"] as const);
  const kernels = choice("kernels", text("kernels"), ["stock", "fast", "both"] as const);
  const vjp = choice("vjp", text("vjp"), ["hand", "tape", "both"] as const);
  return {
    backend,
    batchSize: numberFlag("batch", text("batch"), true, 1),
    repeats: numberFlag("repeats", text("repeats"), true, options.minRepeats),
    kernelSets: backend !== "wasm" ? ["fast"] : kernels === "both" ? ["stock", "fast"] : [kernels],
    vjps: vjp === "both" ? ["hand", "tape"] : [vjp],
    extra: Object.fromEntries(Object.keys(options.extra ?? {}).map((name) => [name, text(name)])),
  };
}

/**
 * Runs `run` and measures it: wall seconds and this process's CPU seconds (user + system).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { timed } from "./batch_timing.ts";
 * const { value, seconds, cpuSeconds } = await timed(async () => {
 *   const start = performance.now();
 *   while (performance.now() - start < 20); // 20 ms of work
 *   return 42;
 * });
 * assert.equal(value, 42);
 * assert.ok(seconds >= 0.02 && cpuSeconds > 0);
 * ```
 */
export async function timed<T>(
  run: () => Promise<T>,
): Promise<{ value: T; seconds: number; cpuSeconds: number }> {
  const [t0, cpu0] = [performance.now(), process.cpuUsage()];
  const value = await run();
  const cpu = process.cpuUsage(cpu0);
  return {
    value,
    seconds: (performance.now() - t0) / 1000,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

/**
 * The median of `xs` (the upper one of an even count: always a measured value).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { median } from "./batch_timing.ts";
 * assert.equal(median([3, 1, 2]), 2);
 * assert.equal(median([4, 1, 3, 2]), 3);
 * ```
 */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** One configuration of a benchmark's loop. */
export interface BatchConfig {
  /** The wasm kernels it runs on. */
  kernels: Kernels;
  /** The backward solve's VJPs. */
  vjp: VjpKind;
  /** The backward solve's norm. */
  norm: NormName;
}

/** One configuration's measurements. */
export interface BatchRow extends BatchConfig {
  /** Wall seconds per timed batch. */
  seconds: number[];
  /** CPU seconds of this process per timed batch (user + system): robust to other load. */
  cpuSeconds: number[];
  /** NFE of the forward solve (of the last timed batch). */
  forwardNfe: number;
  /** NFE of the backward solve (of the last timed batch). */
  backwardNfe: number;
  /** The loss (of the last timed batch). */
  loss: number;
  /** Gradients of the last timed batch, in the order of `variables` (for hand vs tape). */
  grads: Float32Array[];
}

/** What {@linkcode timeBatches} runs. */
export interface BatchRun {
  /** The untimed warm-up step of a configuration (a small batch); its gradients are disposed. */
  warmUp: (config: BatchConfig) => Promise<TrainStepResult>;
  /** One timed training step; timed until its gradients are read back. */
  batch: (config: BatchConfig) => Promise<TrainStepResult>;
  /** The model's variables: the gradients are read in their order. */
  variables: readonly { name: string }[];
}

/**
 * The line printed for a configuration as soon as it is measured: medians, NFE and loss.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type BatchRow, rowLine } from "./batch_timing.ts";
 * const row: BatchRow = {
 *   kernels: "fast", vjp: "hand", norm: "seminorm", seconds: [0.5, 0.3, 0.4],
 *   cpuSeconds: [0.4, 0.3, 0.3], forwardNfe: 20, backwardNfe: 56, loss: 0.4540061, grads: [],
 * };
 * assert.equal(
 *   rowLine(row),
 *   "  fast kernels, hand VJP, seminorm: 0.40 s (CPU 0.30 s; NFE 20 + 56, loss 0.454006)",
 * );
 * ```
 */
export function rowLine(row: BatchRow): string {
  return `  ${row.kernels} kernels, ${row.vjp} VJP, ${row.norm}: ` +
    `${median(row.seconds).toFixed(2)} s (CPU ${median(row.cpuSeconds).toFixed(2)} s; ` +
    `NFE ${row.forwardNfe} + ${row.backwardNfe}, loss ${row.loss.toPrecision(6)})`;
}

/**
 * The loop of a batch benchmark: for every kernel set (switching the wasm kernels), VJP and norm,
 * one warm-up step, then `repeats` timed batches (each timed from the step's start until its
 * gradients are read back); prints each configuration's {@linkcode rowLine} when it is done.
 * None with `repeats` 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { type BatchFlags, timeBatches } from "./batch_timing.ts";
 * const w = tf.variable(tf.scalar(2), true, "batch_timing_doc_w");
 * const step = async () => {
 *   const { value, grads } = tf.variableGrads(() => tf.square(w) as tf.Scalar, [w]);
 *   const stats = { nfe: 6, nAccepted: 1, nRejected: 0 };
 *   const loss = (await value.data())[0];
 *   value.dispose();
 *   return { loss, count: 1, grads, forward: stats, backward: stats };
 * };
 * const flags: Pick<BatchFlags, "backend" | "kernelSets" | "vjps" | "repeats"> = {
 *   backend: "cpu", kernelSets: ["fast"], vjps: ["hand"], repeats: 2,
 * };
 * const rows = await timeBatches(flags, { warmUp: step, batch: step, variables: [w] });
 * assert.deepEqual(rows.map((r) => [r.norm, r.seconds.length, r.loss, r.grads[0][0]]), [
 *   ["default", 2, 4, 4],
 *   ["seminorm", 2, 4, 4],
 * ]);
 * w.dispose();
 * ```
 *
 * @param flags the backend, kernel sets, VJPs and repeats ({@linkcode batchFlags})
 * @param run the warm-up and timed steps, and the variables whose gradients are kept
 * @returns one row per configuration, in the loop's order
 */
export async function timeBatches(
  flags: Pick<BatchFlags, "backend" | "kernelSets" | "vjps" | "repeats">,
  run: BatchRun,
): Promise<BatchRow[]> {
  const rows: BatchRow[] = [];
  if (flags.repeats === 0) return rows;
  for (const kernels of flags.kernelSets) {
    if (flags.backend === "wasm") await useBackend("wasm", { kernels });
    for (const vjp of flags.vjps) {
      for (const norm of NORM_NAMES) {
        const config = { kernels, vjp, norm };
        tf.dispose((await run.warmUp(config)).grads);
        const row: BatchRow = {
          ...config,
          seconds: [],
          cpuSeconds: [],
          forwardNfe: 0,
          backwardNfe: 0,
          loss: 0,
          grads: [],
        };
        for (let r = 0; r < flags.repeats; r++) {
          const { value, seconds, cpuSeconds } = await timed(async () => {
            const step = await run.batch(config);
            const grads = await Promise.all(run.variables.map((v) => step.grads[v.name].data()));
            return { step, grads: grads as Float32Array[] };
          });
          row.seconds.push(seconds);
          row.cpuSeconds.push(cpuSeconds);
          Object.assign(row, {
            forwardNfe: value.step.forward.nfe,
            backwardNfe: value.step.backward.nfe,
            loss: value.step.loss,
            grads: value.grads,
          });
          tf.dispose(value.step.grads);
        }
        rows.push(row);
        console.log(rowLine(row));
      }
    }
  }
  return rows;
}

/**
 * The report of a batch benchmark: a Markdown table of the medians with the hours a paper run of
 * `batchesPerRun` batches per norm would take, then for every kernel set and norm measured with
 * both VJPs, the hand/tape speed-up and whether the NFE and gradients agree (the largest
 * difference relative to each gradient's largest entry).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { batchReport, type BatchRow } from "./batch_timing.ts";
 * const row = (vjp: "hand" | "tape", s: number, g: number): BatchRow => ({
 *   kernels: "fast", vjp, norm: "default", seconds: [s], cpuSeconds: [s], forwardNfe: 20,
 *   backwardNfe: 56, loss: 0.5, grads: [new Float32Array([1, g])],
 * });
 * const lines = batchReport([row("hand", 0.5, 2), row("tape", 0.75, 2.002)], 3600);
 * assert.deepEqual(lines.slice(0, 4), [
 *   "| kernels | VJP | norm | s per batch | CPU s per batch | forward NFE | backward NFE | h per paper run (wall) |",
 *   "| --- | --- | --- | --- | --- | --- | --- | --- |",
 *   "| fast | hand | default | 0.50 | 0.50 | 20 | 56 | 0.5 |",
 *   "| fast | tape | default | 0.75 | 0.75 | 20 | 56 | 0.8 |",
 * ]);
 * assert.match(lines[4], /^fast, default: hand\/tape speed-up 1\.50× wall, 1\.50× CPU, NFE equal, gradients differ by ≤ 1\.0e-3 /);
 * ```
 *
 * @param rows what {@linkcode timeBatches} measured
 * @param batchesPerRun batches per norm in a paper run
 * @returns the lines to print
 */
export function batchReport(rows: readonly BatchRow[], batchesPerRun: number): string[] {
  const table = markdownTable(rows.map((r) => {
    const s = median(r.seconds);
    return {
      kernels: r.kernels,
      VJP: r.vjp,
      norm: r.norm,
      "s per batch": s.toFixed(2),
      "CPU s per batch": median(r.cpuSeconds).toFixed(2),
      "forward NFE": r.forwardNfe,
      "backward NFE": r.backwardNfe,
      "h per paper run (wall)": ((s * batchesPerRun) / 3600).toFixed(1),
    };
  }));
  const lines = table.split("\n");
  // Hand vs tape: the same NFE, and gradients equal to rounding.
  for (const kernels of new Set(rows.map((r) => r.kernels))) {
    for (const norm of NORM_NAMES) {
      const find = (vjp: VjpKind) =>
        rows.find((r) => r.kernels === kernels && r.vjp === vjp && r.norm === norm);
      const [hand, tape] = [find("hand"), find("tape")];
      if (hand === undefined || tape === undefined) continue;
      let worst = 0;
      hand.grads.forEach((g, k) => {
        const t = tape.grads[k];
        const scale = t.reduce((m, v) => Math.max(m, Math.abs(v)), 0) || 1;
        g.forEach((v, i) => worst = Math.max(worst, Math.abs(v - t[i]) / scale));
      });
      const same = hand.forwardNfe === tape.forwardNfe && hand.backwardNfe === tape.backwardNfe;
      const ratio = (xs: (r: BatchRow) => number[]) =>
        (median(xs(tape)) / median(xs(hand))).toFixed(2);
      lines.push(
        `${kernels}, ${norm}: hand/tape speed-up ${ratio((r) => r.seconds)}× wall, ` +
          `${ratio((r) => r.cpuSeconds)}× CPU, NFE ${same ? "equal" : "DIFFER"}, ` +
          `gradients differ by ≤ ${worst.toExponential(1)} of each gradient's largest entry`,
      );
    }
  }
  return lines;
}
