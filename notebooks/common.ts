/**
 * Helpers shared by the notebooks: how big a run to make ({@linkcode notebookPreset}), a live
 * progress line ({@linkcode progressLine}), the norms' colours ({@linkcode NORM_STYLE}), binned
 * histograms ({@linkcode histogram}) and mean ± std over runs ({@linkcode meanStd}) for figures,
 * tables that render on code hosts ({@linkcode showTable}), and the results of command-line
 * training runs ({@linkcode loadResults}). The backend comes from the library's `chooseBackend`
 * (../mod.ts), the kernel's API and `flush` from jupyter.ts.
 *
 * Everything here also works outside Jupyter (in `deno test`, or a script), where output goes to
 * the console instead of a notebook display.
 *
 * @example A notebook's first cell
 * ```ts
 * import assert from "node:assert/strict";
 * import { chooseBackend, useBackend } from "@fasterode/fasterode";
 * import { notebookPreset } from "./common.ts";
 *
 * // A notebook passes console.log: one line, "tfjs backend: wasm (no WebGPU in this runtime …)".
 * const lines: string[] = [];
 * const { backend } = await chooseBackend({ log: (line) => lines.push(line) });
 * assert.equal(lines.length, 1);
 * assert.ok(lines[0].startsWith(`tfjs backend: ${backend} (`), lines[0]);
 * const PRESET = notebookPreset("small"); // FASTERODE_PRESET=paper overrides
 * assert.equal(PRESET, Deno.env.get("FASTERODE_PRESET")?.trim() || "small");
 * const iterations = { small: 60, paper: 200 }[PRESET];
 * assert.ok(iterations === 60 || iterations === 200);
 * await useBackend("cpu");
 * ```
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import type { NormName } from "../mod.ts";
import {
  markdownTable,
  notebookSink,
  type ProgressDisplay,
  progressDisplay,
  readResults,
  type RunResult,
} from "../experiments/harness/mod.ts";
import { rootPath } from "../models/data/mod.ts";
import { jupyterApi, settle } from "./jupyter.ts";

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
// Preset
// ---------------------------------------------------------------------------------------------

/**
 * The preset a notebook runs: `"small"` (seconds to a minute on 2 CPU cores, for tests and a
 * first look) or `"paper"` (the paper's settings, or as close as a notebook gets; minutes to
 * hours), as the experiments' presets.
 */
export type NotebookPreset = "small" | "paper";

const PRESETS: readonly NotebookPreset[] = ["small", "paper"];

/** The environment variable that overrides a notebook's preset. */
const PRESET_ENV = "FASTERODE_PRESET";

/**
 * The preset to run: the environment variable `FASTERODE_PRESET` when set, else `requested`,
 * else `"small"`. So a notebook says what it runs by default, and
 * `FASTERODE_PRESET=paper jupyter nbconvert --execute …` runs it at full size without editing it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { notebookPreset } from "./common.ts";
 *
 * const saved = Deno.env.get("FASTERODE_PRESET");
 * Deno.env.delete("FASTERODE_PRESET");
 * assert.equal(notebookPreset(), "small");
 * assert.equal(notebookPreset("paper"), "paper");
 * Deno.env.set("FASTERODE_PRESET", "paper");
 * assert.equal(notebookPreset("small"), "paper"); // the environment wins
 * Deno.env.set("FASTERODE_PRESET", "huge");
 * assert.throws(() => notebookPreset(), /FASTERODE_PRESET=huge/);
 * if (saved === undefined) Deno.env.delete("FASTERODE_PRESET");
 * else Deno.env.set("FASTERODE_PRESET", saved);
 * ```
 *
 * @param requested the notebook's default (`"small"` when omitted)
 * @returns `"small"` or `"paper"`
 * @throws {Error} if `requested` or `FASTERODE_PRESET` is neither `"small"` nor `"paper"`
 */
export function notebookPreset(requested: NotebookPreset = "small"): NotebookPreset {
  if (!PRESETS.includes(requested)) {
    throw new Error(`notebookPreset: "${requested}" is not a preset; use "small" or "paper"`);
  }
  const fromEnv = envVar(PRESET_ENV);
  if (fromEnv === undefined) return requested;
  const value = fromEnv.toLowerCase();
  if (!(PRESETS as readonly string[]).includes(value)) {
    throw new Error(
      `${PRESET_ENV}=${fromEnv} is not a preset; set it to small or paper, or unset it`,
    );
  }
  return value as NotebookPreset;
}

// ---------------------------------------------------------------------------------------------
// Progress
// ---------------------------------------------------------------------------------------------

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

/**
 * A progress line for long cells: the harness's progress renderer (`progressDisplay`) on its
 * notebook sink. In Jupyter it is one output that is redrawn in place (`Deno.jupyter.display`
 * with a `display_id`; a notebook executed headless keeps the last state). Elsewhere it prints a
 * line at most every `interval` seconds. Call `done()` at the end: it shows the final state and
 * waits until it is sent, so it is not lost when the cell ends.
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
 * @throws {RangeError} if `interval` is negative
 */
export function progressLine(options: ProgressLineOptions = {}): ProgressDisplay {
  const jupyter = options.write === undefined ? jupyterApi() : undefined;
  const interval = options.interval ?? (jupyter ? 0.25 : 10);
  if (!(interval >= 0)) throw new RangeError(`progressLine: interval must be >= 0`);
  // settle: give the kernel a moment to send the last state before the cell ends (see flush).
  return progressDisplay(notebookSink({ jupyter, write: options.write, settle }), { interval });
}

// ---------------------------------------------------------------------------------------------
// Figures
// ---------------------------------------------------------------------------------------------

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

/**
 * Shows a table: in Jupyter as Markdown (the harness's `markdownTable`; code hosts render it in a
 * stored notebook, unlike `console.table`'s box drawing in a proportional font) with
 * tab-separated text as the plain form, elsewhere with `console.table`. Each row is an object
 * whose keys are the column headers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { showTable } from "./common.ts";
 *
 * // Outside Jupyter (here, under deno test) this is console.table, given the rows as they are.
 * const rows = [
 *   { norm: "Default norm", "backward NFE": 19784 },
 *   { norm: "Seminorm", "backward NFE": 11618 },
 * ];
 * const shown: unknown[] = [];
 * const table = console.table;
 * console.table = (data: unknown) => void shown.push(data);
 * try {
 *   await showTable(rows);
 * } finally {
 *   console.table = table;
 * }
 * assert.deepEqual(shown, [rows]);
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
  const plain = [columns, ...rows.map((row) => columns.map((c) => String(row[c] ?? "")))]
    .map((line) => line.join("\t")).join("\n");
  await jupyter.display({ "text/markdown": markdownTable(rows), "text/plain": plain }, {
    raw: true,
  });
  await settle();
}

// ---------------------------------------------------------------------------------------------
// Results of command-line runs
// ---------------------------------------------------------------------------------------------

/**
 * The `data/` folder of the fasterode root (`rootPath("data")` of models/data/root.ts:
 * `$FASTERODE_ROOT`, else the project folder), where data sets (e.g. synthetic speech) are made
 * and kept: the folder the command lines use, from `notebooks/` as from the repository's root.
 */
export const DATA_DIR: string = rootPath("data");

/** The root's `results/` folder, where the command-line experiments save their runs. */
export const RESULTS_DIR: string = rootPath("results");

/** Options of {@linkcode loadResults}. */
export interface LoadResultsOptions {
  /** The results folder (default {@linkcode RESULTS_DIR}, the root's `results/`). */
  dir?: string | URL;
}

/**
 * The saved runs of a command-line experiment, `results/<experiment>/<config>/<n>.json` (see
 * the harness's `saveResult`), by configuration name, each configuration's runs in run order;
 * `undefined` when there are none (the folder is absent or holds no run), so that a notebook can
 * fall back to its own small run.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadResults } from "./common.ts";
 * import { saveResult } from "@fasterode/fasterode/experiments";
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
