/**
 * Helpers shared by the notebooks: the backend to run on ({@linkcode pickBackend}), how big a run
 * to make ({@linkcode scale}), a live progress line ({@linkcode progressLine}), output that is not
 * lost when a cell ends ({@linkcode flush}), the norms' colours ({@linkcode NORM_STYLE}), binned
 * histograms ({@linkcode histogram}) and mean ± std over runs ({@linkcode meanStd}) for figures,
 * tables that render on code hosts ({@linkcode showTable}, {@linkcode markdownTable}), and the results of command-line
 * training runs ({@linkcode loadResults}).
 *
 * Everything here also works outside Jupyter (in `deno test`, or a script), where output goes to
 * the console instead of a notebook display.
 *
 * @example A notebook's first cell
 * ```ts
 * import { pickBackend, scale, useBackend } from "./common.ts";
 *
 * const { backend } = await pickBackend(); // prints e.g. "tfjs backend: wasm (no WebGPU …)"
 * const SCALE = scale("small"); // FASTERODE_SCALE=paper overrides
 * const iterations = { small: 60, paper: 200 }[SCALE];
 * console.log(backend, SCALE, iterations);
 * await useBackend("cpu");
 * ```
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { type BackendName, hasHardwareGpu, useBackend } from "../backend.ts";
import { formatProgress, type ProgressEvent } from "../experiments/harness/progress.ts";
import { readResults, type RunResult } from "../experiments/harness/results.ts";

export { type BackendName, useBackend } from "../backend.ts";
export type {
  BatchProgress,
  MessageProgress,
  MetricsProgress,
  Phase,
  ProgressEvent,
} from "../experiments/harness/progress.ts";
export type {
  HistoryEntry,
  Metrics,
  RunResult,
  TrainSettings,
} from "../experiments/harness/results.ts";

// ---------------------------------------------------------------------------------------------
// Jupyter
// ---------------------------------------------------------------------------------------------

/** `Deno.jupyter` inside Deno's Jupyter kernel; undefined elsewhere (where reading it throws). */
function jupyterApi(): typeof Deno.jupyter | undefined {
  try {
    return Deno.jupyter;
  } catch {
    return undefined;
  }
}

/**
 * Whether this code runs in Deno's Jupyter kernel (`deno jupyter`), where `Deno.jupyter` exists.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inJupyter } from "./common.ts";
 *
 * assert.equal(inJupyter(), false); // under `deno test`
 * ```
 *
 * @returns true inside the kernel
 */
export function inJupyter(): boolean {
  return jupyterApi() !== undefined;
}

/**
 * Gives the kernel time to send what the cell printed: end a cell that prints with
 * `await flush()`. Deno's Jupyter kernel (2.x) can send a cell's last lines of output after it
 * reports the cell finished, and headless runners (`nbconvert --execute`, nbclient) then drop
 * them: about one cell in ten that ends with `console.log` loses its last lines. A short pause
 * before the cell ends lets them out. Outside Jupyter it returns at once.
 *
 * @example
 * ```ts
 * import { flush } from "./common.ts";
 *
 * console.log("the last line of a cell");
 * await flush();
 * ```
 */
export async function flush(): Promise<void> {
  if (jupyterApi() !== undefined) await settle();
}

/** Lets the kernel send pending messages (50 ms; 20 ms sufficed in 45 of 45 tries). */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 50));
}

/** An environment variable, or undefined when unset or not readable (no --allow-env). */
function envVar(name: string): string | undefined {
  try {
    const value = Deno.env.get(name)?.trim();
    return value === "" ? undefined : value;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Backend
// ---------------------------------------------------------------------------------------------

/** The backend {@linkcode pickBackend} selected, and why. */
export interface BackendChoice {
  /** The active tfjs backend. */
  backend: BackendName;
  /** Why it was chosen, e.g. "no WebGPU in this runtime (navigator.gpu is undefined)". */
  reason: string;
}

/** Options of {@linkcode pickBackend}. */
export interface PickBackendOptions {
  /** Print the choice (default true): `tfjs backend: wasm (…)`. */
  log?: boolean;
}

const BACKENDS: readonly BackendName[] = ["cpu", "wasm", "webgpu"];

/**
 * Selects the fastest tfjs backend here and prints which one and why: `webgpu` when there is a
 * hardware GPU (see `hasHardwareGpu`: not a fallback or software adapter such as llvmpipe, which
 * runs slower than wasm), otherwise `wasm`. If the chosen backend fails to start, it falls back
 * (webgpu → wasm → cpu) and says so. The environment variable `FASTERODE_BACKEND` (`cpu`, `wasm`
 * or `webgpu`) forces a backend.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { pickBackend, useBackend } from "./common.ts";
 *
 * const { backend, reason } = await pickBackend();
 * assert.equal(tf.getBackend(), backend);
 * assert.ok(reason.length > 0);
 * await useBackend("cpu");
 * ```
 *
 * @param options whether to print the choice
 * @returns the active backend and the reason for it
 * @throws {Error} if `FASTERODE_BACKEND` names no backend, or a forced backend cannot start
 */
export async function pickBackend(options: PickBackendOptions = {}): Promise<BackendChoice> {
  const { log = true } = options;
  const forced = envVar("FASTERODE_BACKEND");
  let choice: BackendChoice;
  if (forced !== undefined) {
    if (!(BACKENDS as readonly string[]).includes(forced)) {
      throw new Error(
        `FASTERODE_BACKEND=${forced} is not a backend; use one of ${BACKENDS.join(", ")}`,
      );
    }
    choice = { backend: await useBackend(forced as BackendName), reason: `FASTERODE_BACKEND` };
  } else if (await hasHardwareGpu()) {
    const gpu = await adapterDescription();
    try {
      choice = { backend: await useBackend("webgpu"), reason: `hardware GPU: ${gpu}` };
    } catch (error) {
      choice = await fallBack("wasm", `webgpu failed on ${gpu}: ${messageOf(error)}`);
    }
  } else {
    choice = await fallBack("wasm", await whyNoGpu());
  }
  if (log) console.log(`tfjs backend: ${choice.backend} (${choice.reason})`);
  return choice;
}

/** Starts `name` (wasm or cpu), falling back to cpu if wasm fails; `why` explains the choice. */
async function fallBack(name: "wasm" | "cpu", why: string): Promise<BackendChoice> {
  if (name === "wasm") {
    try {
      return { backend: await useBackend("wasm"), reason: why };
    } catch (error) {
      why = `${why}; wasm failed: ${messageOf(error)}`;
    }
  }
  return { backend: await useBackend("cpu"), reason: why };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `navigator.gpu`, or undefined in runtimes without WebGPU. */
function navigatorGpu(): GPU | undefined {
  return (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu ?? undefined;
}

/** The GPU adapter's description, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)", or vendor names. */
async function adapterDescription(): Promise<string> {
  try {
    const adapter = await navigatorGpu()?.requestAdapter({ powerPreference: "high-performance" });
    const info = (adapter as { info?: Partial<GPUAdapterInfo> } | null | undefined)?.info;
    if (typeof info?.description === "string" && info.description !== "") return info.description;
    // Vendor and device may be bare PCI ids ("4318", "0"): keep only words.
    const words = [info?.vendor, info?.architecture, info?.device]
      .filter((s): s is string => typeof s === "string" && /[a-z]/i.test(s));
    return words.length > 0 ? words.join(" ") : "an adapter without a name";
  } catch {
    return "an adapter that gives no information";
  }
}

/** Why there is no hardware GPU to run on. */
async function whyNoGpu(): Promise<string> {
  const gpu = navigatorGpu();
  if (gpu === undefined) return "no WebGPU in this runtime (navigator.gpu is undefined)";
  try {
    const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
    if (adapter === null) return "no GPU adapter (navigator.gpu.requestAdapter() found none)";
  } catch (error) {
    return `no GPU adapter (requestAdapter failed: ${messageOf(error)})`;
  }
  return `the only GPU adapter is a software or fallback one, ${await adapterDescription()}, ` +
    "which is slower than wasm";
}

// ---------------------------------------------------------------------------------------------
// Scale
// ---------------------------------------------------------------------------------------------

/**
 * How big a notebook's runs are: `"small"` (seconds to a minute on 2 CPU cores, for tests and a
 * first look) or `"paper"` (the paper's settings, or as close as a notebook gets; minutes to
 * hours).
 */
export type Scale = "small" | "paper";

const SCALES: readonly Scale[] = ["small", "paper"];

/**
 * The scale to run at: the environment variable `FASTERODE_SCALE` when set, else `requested`,
 * else `"small"`. So a notebook says what it runs at by default, and
 * `FASTERODE_SCALE=paper jupyter nbconvert --execute …` runs it at full size without editing it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { scale } from "./common.ts";
 *
 * const saved = Deno.env.get("FASTERODE_SCALE");
 * Deno.env.delete("FASTERODE_SCALE");
 * assert.equal(scale(), "small");
 * assert.equal(scale("paper"), "paper");
 * Deno.env.set("FASTERODE_SCALE", "paper");
 * assert.equal(scale("small"), "paper"); // the environment wins
 * Deno.env.set("FASTERODE_SCALE", "huge");
 * assert.throws(() => scale(), /FASTERODE_SCALE=huge/);
 * if (saved === undefined) Deno.env.delete("FASTERODE_SCALE");
 * else Deno.env.set("FASTERODE_SCALE", saved);
 * ```
 *
 * @param requested the notebook's default (`"small"` when omitted)
 * @returns `"small"` or `"paper"`
 * @throws {Error} if `requested` or `FASTERODE_SCALE` is neither `"small"` nor `"paper"`
 */
export function scale(requested: Scale = "small"): Scale {
  if (!SCALES.includes(requested)) {
    throw new Error(`scale: "${requested}" is not a scale; use "small" or "paper"`);
  }
  const fromEnv = envVar("FASTERODE_SCALE");
  if (fromEnv === undefined) return requested;
  const value = fromEnv.toLowerCase();
  if (!(SCALES as readonly string[]).includes(value)) {
    throw new Error(`FASTERODE_SCALE=${fromEnv} is not a scale; use "small" or "paper"`);
  }
  return value as Scale;
}

// ---------------------------------------------------------------------------------------------
// Progress
// ---------------------------------------------------------------------------------------------

/** A single line of progress; see {@linkcode progressLine}. */
export interface ProgressLine {
  /**
   * Shows `text`, replacing the previous line, with a bar when `fraction` (0 to 1) is given.
   * Calls closer together than the interval are skipped (the last one is kept for `done`).
   */
  update(text: string, fraction?: number): void;
  /** Shows a training-harness event (`train(…, { onProgress: line.report })`). */
  report(event: ProgressEvent): void;
  /** Shows `text` (or the last update) as the final state and waits until it is sent. */
  done(text?: string): Promise<void>;
}

/** Options of {@linkcode progressLine}. */
export interface ProgressLineOptions {
  /**
   * Least seconds between two shown updates: default 0.25 in Jupyter (the line is redrawn in
   * place), 10 elsewhere (each update is a new line of output).
   */
  interval?: number;
  /**
   * Where lines go outside Jupyter (default `console.log`). When given, lines go here also in
   * Jupyter, instead of the updating display.
   */
  write?: (line: string) => void;
}

/** Width of the text bar, in characters. */
const BAR_WIDTH = 24;

/** `text` preceded by a bar `[#####.....] 40%` when `fraction` is a number. */
function withBar(text: string, fraction: number | undefined): string {
  if (fraction === undefined || !Number.isFinite(fraction)) return text;
  const f = Math.min(1, Math.max(0, fraction));
  const filled = Math.round(f * BAR_WIDTH);
  const bar = `[${"#".repeat(filled)}${".".repeat(BAR_WIDTH - filled)}]`;
  return `${bar} ${String(Math.round(f * 100)).padStart(3)}% ${text}`;
}

/**
 * A progress line for long cells. In Jupyter it is one output that is redrawn in place
 * (`Deno.jupyter.display` with a `display_id`; a notebook executed headless keeps the last
 * state). Elsewhere it prints a line at most every `interval` seconds. Call `done()` at the end:
 * it shows the final state and waits until it is sent, so it is not lost when the cell ends.
 *
 * With the training harness, pass `report` as `onProgress`: batch events update the line, and
 * metric epochs and messages are printed as lines of their own.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { progressLine } from "./common.ts";
 *
 * const lines: string[] = [];
 * const progress = progressLine({ write: (line) => lines.push(line), interval: 3600 });
 * for (let i = 1; i <= 100; i++) progress.update(`iteration ${i}/100`, i / 100);
 * await progress.done();
 * // The first update is shown at once; the others come within the interval, so only the last
 * // one is shown, by done().
 * assert.deepEqual(lines, [
 *   "[........................]   1% iteration 1/100",
 *   "[########################] 100% iteration 100/100",
 * ]);
 * ```
 *
 * @param options how often to redraw, and where lines go
 * @returns the line
 */
export function progressLine(options: ProgressLineOptions = {}): ProgressLine {
  const jupyter = options.write === undefined ? jupyterApi() : undefined;
  const interval = options.interval ?? (jupyter ? 0.25 : 10);
  if (!(interval >= 0)) throw new RangeError(`progressLine: interval must be >= 0`);
  const write = options.write ?? ((line: string) => console.log(line));
  const displayId = `fasterode-progress-${crypto.randomUUID()}`;
  let displayed = false;
  let sending: Promise<void> = Promise.resolve();
  let pending: string | undefined;
  let shown: string | undefined;
  let lastShown = -Infinity;

  const show = (line: string): void => {
    shown = line;
    pending = undefined;
    lastShown = performance.now();
    if (jupyter === undefined) {
      write(line);
      return;
    }
    const update = displayed;
    displayed = true;
    sending = sending
      .then(() =>
        jupyter.display({ "text/plain": line }, { raw: true, display_id: displayId, update })
      )
      .catch(() => write(line)); // never let a failed display break the computation
  };

  const update = (text: string, fraction?: number): void => {
    const line = withBar(text, fraction);
    if (performance.now() - lastShown >= interval * 1000) show(line);
    else pending = line;
  };

  return {
    update,
    report(event: ProgressEvent): void {
      if (event.kind === "batch") {
        update(formatProgress(event), event.batch / event.batches);
      } else {
        // Metric epochs and messages stay, as lines of their own below the live line.
        if (jupyter === undefined && pending !== undefined) show(pending);
        write(formatProgress(event));
      }
    },
    async done(text?: string): Promise<void> {
      const line = text ?? pending;
      if (line !== undefined && line !== shown) show(line);
      await sending;
      // Give the kernel a moment to send the message before the cell ends (see flush).
      if (jupyter !== undefined) await settle();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Figures
// ---------------------------------------------------------------------------------------------

/** The backward norms that the notebooks compare. */
export type NormName = "default" | "seminorm";

/**
 * The label and colour of each norm in every figure, as in the paper's figures: the default norm
 * red, the seminorm blue (matplotlib's `tab:red` and `tab:blue`).
 */
export const NORM_STYLE: Readonly<Record<NormName, { label: string; color: string }>> = {
  default: { label: "Default norm", color: "#d62728" },
  seminorm: { label: "Seminorm", color: "#1f77b4" },
};

/** Counts of values in equal bins; see {@linkcode histogram}. */
export interface Histogram {
  /** Bin centres. */
  x: number[];
  /** Counts. */
  y: number[];
  /** Bin width. */
  width: number;
}

/** Options of {@linkcode histogram}. */
export interface HistogramOptions {
  /** Number of bins (default 100). */
  bins?: number;
  /** `[lo, hi]`; default: the values' smallest and largest. Values outside are not counted. */
  range?: [number, number];
}

/**
 * Bins values for a bar chart: a few hundred numbers in a notebook instead of every value (a
 * training run records thousands of evaluation times, and each figure's data is stored twice in
 * the notebook). Spread the result into a Plotly bar trace: `{ type: "bar", ...histogram(ts) }`,
 * with `layout.barmode: "overlay"` to compare two series.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { histogram } from "./common.ts";
 *
 * const h = histogram([0, 0.1, 0.3, 0.9, 1], { bins: 4, range: [0, 1] });
 * assert.deepEqual(h.x, [0.125, 0.375, 0.625, 0.875]);
 * assert.deepEqual(h.y, [2, 1, 0, 2]); // the upper end belongs to the last bin
 * assert.equal(h.width, 0.25);
 * ```
 *
 * @param values the values, e.g. `stats.evalTs` of backward solves
 * @param options number of bins and range
 * @returns bin centres, counts and width
 * @throws {RangeError} if `bins` is not a positive integer or the range is empty or not finite
 */
export function histogram(values: ArrayLike<number>, options: HistogramOptions = {}): Histogram {
  const { bins = 100 } = options;
  if (!Number.isInteger(bins) || bins < 1) {
    throw new RangeError(`histogram: bins must be a positive integer, got ${bins}`);
  }
  let [lo, hi] = options.range ?? [Infinity, -Infinity];
  if (options.range === undefined) {
    for (let i = 0; i < values.length; i++) {
      if (values[i] < lo) lo = values[i];
      if (values[i] > hi) hi = values[i];
    }
    if (values.length === 0) [lo, hi] = [0, 1];
    if (lo === hi) [lo, hi] = [lo - 0.5, hi + 0.5];
  }
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && hi > lo)) {
    throw new RangeError(`histogram: the range must be finite with lo < hi, got [${lo}, ${hi}]`);
  }
  const width = (hi - lo) / bins;
  const y = new Array<number>(bins).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!(v >= lo && v <= hi)) continue;
    y[Math.min(bins - 1, Math.floor((v - lo) / width))]++;
  }
  // Centres rounded to 6 significant digits: shorter JSON, same picture.
  const x = y.map((_, i) => Number((lo + (i + 0.5) * width).toPrecision(6)));
  return { x, y, width };
}

/** Mean and standard deviation of some numbers; see {@linkcode meanStd}. */
export interface MeanStd {
  /** The mean (NaN for no values). */
  mean: number;
  /** The sample standard deviation (n − 1 in the denominator; 0 for one value). */
  std: number;
  /** How many values. */
  n: number;
}

/**
 * The mean and sample standard deviation of `values`, for the ±1 std bands and the "mean ± std"
 * entries of tables over runs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { meanStd } from "./common.ts";
 *
 * assert.deepEqual(meanStd([2, 4, 6]), { mean: 4, std: 2, n: 3 });
 * assert.deepEqual(meanStd([5]), { mean: 5, std: 0, n: 1 });
 * ```
 *
 * @param values the numbers, e.g. one measure of each run
 * @returns mean, standard deviation and count
 */
export function meanStd(values: readonly number[]): MeanStd {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const sq = values.reduce((a, b) => a + (b - mean) ** 2, 0);
  return { mean, std: n > 1 ? Math.sqrt(sq / (n - 1)) : 0, n };
}

/** A table cell's text: `String(value)`, `null` and `undefined` empty, `|` escaped. */
function cell(value: unknown): string {
  return String(value ?? "").replaceAll("|", "\\|");
}

/**
 * A table as Markdown: a header row of the first row's keys, then one line per row, cells as
 * `String(value)` (`null` and `undefined` empty) with `|` escaped. See {@linkcode showTable}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { markdownTable } from "./common.ts";
 *
 * const rows = [{ norm: "Default norm", nfe: 19784 }, { norm: "a | b", nfe: undefined }];
 * assert.equal(
 *   markdownTable(rows),
 *   "| norm | nfe |\n| --- | --- |\n| Default norm | 19784 |\n| a \\| b |  |",
 * );
 * ```
 *
 * @param rows the rows, one object each, with the same keys
 * @returns the Markdown text
 */
export function markdownTable(rows: readonly Record<string, unknown>[]): string {
  const columns = rows.length > 0 ? Object.keys(rows[0]) : [];
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [
    line(columns.map(cell)),
    line(columns.map(() => "---")),
    ...rows.map((row) => line(columns.map((c) => cell(row[c])))),
  ].join("\n");
}

/**
 * Shows a table: in Jupyter as Markdown ({@linkcode markdownTable}; code hosts render it in a
 * stored notebook, unlike `console.table`'s box drawing in a proportional font) with
 * tab-separated text as the plain form, elsewhere with `console.table`. Each row is an object whose keys are
 * the column headers.
 *
 * @example
 * ```ts
 * import { showTable } from "./common.ts";
 *
 * // Outside Jupyter (here, under deno test) this is console.table.
 * await showTable([
 *   { norm: "Default norm", "backward NFE": 19784 },
 *   { norm: "Seminorm", "backward NFE": 11618 },
 * ]);
 * ```
 *
 * @param rows the rows, one object each, with the same keys
 */
export async function showTable(rows: readonly Record<string, unknown>[]): Promise<void> {
  const jupyter = jupyterApi();
  if (jupyter === undefined || rows.length === 0) {
    console.table(rows);
    return;
  }
  const columns = Object.keys(rows[0]);
  const plain = [columns, ...rows.map((row) => columns.map((c) => cell(row[c])))]
    .map((line) => line.join("\t")).join("\n");
  await jupyter.display({ "text/markdown": markdownTable(rows), "text/plain": plain }, {
    raw: true,
  });
  await settle();
}

// ---------------------------------------------------------------------------------------------
// Results of command-line runs
// ---------------------------------------------------------------------------------------------

/** The repository's `data/` folder, where data sets (e.g. synthetic speech) are made and kept. */
export const DATA_DIR: string = fileURLToPath(new URL("../data/", import.meta.url));

/** The repository's `results/` folder, where the command-line experiments save their runs. */
export const RESULTS_DIR: string = fileURLToPath(new URL("../results/", import.meta.url));

/** Options of {@linkcode loadResults}. */
export interface LoadResultsOptions {
  /** The results folder (default {@linkcode RESULTS_DIR}, the repository's `results/`). */
  dir?: string | URL;
}

/**
 * The saved runs of a command-line experiment, `results/<experiment>/<config>/<n>.json` (see
 * `saveResult` in models/results.ts), by configuration name, each configuration's runs in run
 * order; `undefined` when there are none (the folder is absent or holds no run), so that a
 * notebook can fall back to its own small run.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadResults } from "./common.ts";
 * import { saveResult } from "../experiments/harness/results.ts";
 *
 * const dir = await Deno.makeTempDir();
 * assert.equal(await loadResults("spiral", { dir }), undefined);
 * await saveResult({ backwardNfe: 11618 }, { dir, experiment: "spiral", name: "seminorm" });
 * const runs = await loadResults("spiral", { dir });
 * assert.deepEqual(Object.keys(runs!), ["seminorm"]);
 * assert.equal(runs!.seminorm[0].run, 0);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @param experiment the experiment's folder name, e.g. `"speech_commands"`
 * @param options where the results are
 * @returns the runs by configuration, or `undefined` when there are none
 * @throws {TypeError} if `experiment` is not a plain folder name
 * @throws {Error} if a result file cannot be read or parsed
 */
export async function loadResults(
  experiment: string,
  options: LoadResultsOptions = {},
): Promise<Record<string, RunResult[]> | undefined> {
  const dir = options.dir === undefined
    ? RESULTS_DIR
    : options.dir instanceof URL
    ? fileURLToPath(options.dir)
    : options.dir;
  let runs: Record<string, RunResult[]>;
  try {
    runs = await readResults(dir, experiment);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  const nonEmpty = Object.entries(runs).filter(([, list]) => list.length > 0);
  return nonEmpty.length > 0 ? Object.fromEntries(nonEmpty) : undefined;
}
