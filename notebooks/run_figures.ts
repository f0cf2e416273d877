/**
 * The paper's figures and table over saved training runs (the `RunResult`s that the training
 * harness writes and `loadResults` in common.ts reads), for comparing the two backward norms:
 *
 * - {@linkcode curveFigure}: a measure of the history (backward NFE on the validation set, or
 *   accuracy) against epoch, per norm, the mean over runs with a ±1 standard deviation band: the
 *   paper's README figure;
 * - {@linkcode toleranceTable}: per tolerance pair and norm, test accuracy, backward NFE, the
 *   seminorm's reduction and the time of the forward + backward passes: the draft paper's table;
 * - {@linkcode stepHistogramFigure}: where in time the backward solves accepted and rejected their
 *   steps, per norm.
 *
 * Each returns data (a Plotly figure, table rows), which a notebook shows with `show` and
 * `showTable`. The functions take any set of runs: a notebook's own small runs or the saved runs
 * of `deno task cde`.
 *
 * @example The Neural CDE notebook's use
 * ```ts ignore
 * import { loadResults, showTable } from "./common.ts";
 * import { show } from "@fasterode/fasterode/plot";
 * import { curveFigure, runsOf, toleranceTable } from "./run_figures.ts";
 *
 * const runs = runsOf((await loadResults("speech_commands"))!);
 * await show(curveFigure(runs, (h) => h.val.backwardNfe, {
 *   title: "Backward NFE on the validation set",
 *   y: "backward NFE",
 * }));
 * await showTable(toleranceTable(runs));
 * ```
 *
 * @module
 */

import { NORM_NAMES, type NormName } from "../mod.ts";
import type { HistoryEntry, RunResult } from "../experiments/harness/mod.ts";
import { histogram, meanStd, NORM_STYLE } from "./common.ts";
import type { PlotlyFigure } from "./plot.ts";

/** A saved run with the norm and tolerances of its backward solve. */
export interface Run {
  /** The backward norm (`config.norm`). */
  norm: NormName;
  /** Relative tolerance (`config.rtol`). */
  rtol: number;
  /** Absolute tolerance (`config.atol`). */
  atol: number;
  /** The run as saved. */
  result: RunResult;
}

/** A tolerance pair. */
export interface Tolerance {
  /** Relative tolerance. */
  rtol: number;
  /** Absolute tolerance. */
  atol: number;
}

/**
 * The runs of `loadResults`' answer (common.ts), flattened, each with its norm and tolerances read
 * from its configuration; of each tolerance pair, only the runs of one configuration (every
 * setting but the norm the same: one comparison of the norms), the newest one's (latest
 * `startTime`), so that runs of other settings are never averaged together.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { RunResult } from "@fasterode/fasterode/experiments";
 * import { runsOf } from "./run_figures.ts";
 *
 * const result = (norm: string, epochs = 4, startTime = "2026-01-01") =>
 *   ({
 *     name: `small-${norm}`, run: 0, config: { norm, rtol: 1e-3, atol: 1e-6 },
 *     training: { maxEpochs: epochs }, startTime,
 *   }) as unknown as RunResult;
 * const runs = runsOf({ a: [result("default")], b: [result("seminorm")] });
 * assert.deepEqual(runs.map((r) => [r.norm, r.rtol, r.atol]), [
 *   ["default", 1e-3, 1e-6],
 *   ["seminorm", 1e-3, 1e-6],
 * ]);
 * // A newer comparison with other settings at the same tolerances replaces the older one.
 * const newer = runsOf({ a: [result("default")], c: [result("default", 1, "2026-02-01")] });
 * assert.deepEqual(newer.map((r) => r.result.training.maxEpochs), [1]);
 * assert.throws(() => runsOf({ c: [result("max")] }), /small-max\/0: config.norm is max/);
 * ```
 *
 * @param byConfig runs by configuration name
 * @returns the runs of one configuration per tolerance pair
 * @throws {Error} if a run's configuration lacks a known norm or numeric tolerances
 */
export function runsOf(byConfig: Record<string, RunResult[]>): Run[] {
  const runs = Object.values(byConfig).flat().map((result) => {
    const { norm, rtol, atol } = result.config;
    if (norm !== "default" && norm !== "seminorm") {
      throw new Error(`run ${result.name}/${result.run}: config.norm is ${norm}, not a norm`);
    }
    if (typeof rtol !== "number" || typeof atol !== "number") {
      throw new Error(`run ${result.name}/${result.run}: config.rtol / config.atol are missing`);
    }
    return { norm, rtol, atol, result } as Run;
  });
  // Per tolerance pair, the newest comparison: its settings but the norm.
  const comparison = (r: Run) => {
    const { norm: _, ...rest } = r.result.config;
    return sortedJson({ config: rest, training: r.result.training });
  };
  const newest = new Map<string, { key: string; time: string }>();
  for (const r of runs) {
    const tol = toleranceLabel(r), time = String(r.result.startTime ?? "");
    const best = newest.get(tol);
    if (best === undefined || time > best.time) newest.set(tol, { key: comparison(r), time });
  }
  return runs.filter((r) => newest.get(toleranceLabel(r))!.key === comparison(r));
}

/** JSON with every object's keys sorted. */
function sortedJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_k, v) =>
      v !== null && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]))
        : v,
  );
}

/** `rtol 1e-3, atol 1e-6`. */
export function toleranceLabel(tol: Tolerance): string {
  return `rtol ${tol.rtol.toExponential()}, atol ${tol.atol.toExponential()}`;
}

/**
 * The tolerance pairs of some runs, loosest (largest rtol) first.
 *
 * @param runs the runs
 * @returns the distinct pairs
 */
export function tolerancesOf(runs: readonly Run[]): Tolerance[] {
  const pairs = new Map(runs.map((r) => [toleranceLabel(r), { rtol: r.rtol, atol: r.atol }]));
  return [...pairs.values()].sort((a, b) => b.rtol - a.rtol || b.atol - a.atol);
}

/** The runs of one norm at one tolerance pair. */
function select(runs: readonly Run[], norm: NormName, tol: Tolerance): Run[] {
  return runs.filter((r) => r.norm === norm && r.rtol === tol.rtol && r.atol === tol.atol);
}

/** `#d62728` → `rgba(214, 39, 40, 0.2)`. */
function transparent(hex: string, alpha: number): string {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return `rgba(${r}, ${g}, ${b}, ${alpha})`;
}

/** Five significant digits: the figure's JSON stays short. */
function short(v: number): number {
  return Number(v.toPrecision(5));
}

/** Mean and ±1 std of a measure at each metric epoch, over runs; see {@linkcode curveFigure}. */
export interface Curve {
  /** Epochs, counted from 1 (the history's 0-based `epoch` + 1). */
  x: number[];
  /** Mean over the runs that reached the epoch. */
  mean: number[];
  /** Sample standard deviation over those runs (0 for one run). */
  std: number[];
  /** Runs. */
  runs: number;
}

/**
 * Mean and standard deviation of `measure` over the histories of `runs`, at every metric epoch
 * that any run reached (a run that stopped early counts only where it has entries).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { curve, type Run } from "./run_figures.ts";
 *
 * const run = (nfe: number[]) =>
 *   ({ result: { history: nfe.map((n, epoch) => ({ epoch, val: { backwardNfe: n } })) } }) as
 *     unknown as Run;
 * const c = curve([run([100, 80]), run([120, 60]), run([110])], (h) => h.val.backwardNfe);
 * assert.deepEqual(c, { x: [1, 2], mean: [110, 70], std: [10, Math.sqrt(200)], runs: 3 });
 * ```
 *
 * @param runs the runs
 * @param measure the value of one history entry
 * @returns the curve
 */
export function curve(runs: readonly Run[], measure: (entry: HistoryEntry) => number): Curve {
  const histories = runs.map((r) => r.result.history);
  const epochs = [...new Set(histories.flat().map((h) => h.epoch))].sort((a, b) => a - b);
  const stats = epochs.map((epoch) =>
    meanStd(histories.flatMap((h) => h.filter((e) => e.epoch === epoch).map(measure)))
  );
  return {
    x: epochs.map((e) => e + 1),
    mean: stats.map((s) => s.mean),
    std: stats.map((s) => s.std),
    runs: runs.length,
  };
}

/** Titles of a {@linkcode curveFigure}. */
export interface CurveText {
  /** The figure's title; the tolerances are appended. */
  title: string;
  /** The y axis. */
  y: string;
}

/**
 * A measure of the history against epoch, one line per norm (the mean over runs) with a band of
 * ±1 standard deviation, for the loosest tolerance pair among the runs: the default norm red, the
 * seminorm blue, as in the paper.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { curveFigure, type Run } from "./run_figures.ts";
 *
 * const run = (norm: string, nfe: number[]) =>
 *   ({
 *     norm,
 *     rtol: 1e-3,
 *     atol: 1e-6,
 *     result: { history: nfe.map((n, epoch) => ({ epoch, val: { backwardNfe: n } })) },
 *   }) as unknown as Run;
 * const figure = curveFigure(
 *   [run("default", [900, 1000]), run("default", [1100, 1000]), run("seminorm", [300, 350])],
 *   (h) => h.val.backwardNfe,
 *   { title: "Backward NFE", y: "NFE" },
 * );
 * // Per norm: the upper and lower edges of the band, then the mean.
 * const traces = figure.data as { y: number[]; name?: string }[];
 * assert.equal(traces.length, 6);
 * assert.deepEqual(traces[2].y, [1000, 1000]);
 * assert.deepEqual(traces[0].y, [1141.4, 1000]); // mean + std (√20000), 5 digits
 * assert.equal(traces[2].name, "Default norm (2 runs)");
 * assert.equal(traces[5].name, "Seminorm (1 run)");
 * ```
 *
 * @param runs the runs
 * @param measure the value of one history entry, e.g. `(h) => h.val.backwardNfe`
 * @param text the title and the y axis' title
 * @returns the figure
 */
export function curveFigure(
  runs: readonly Run[],
  measure: (entry: HistoryEntry) => number,
  text: CurveText,
): PlotlyFigure {
  const tol = tolerancesOf(runs)[0];
  const data = NORM_NAMES.flatMap((norm) => {
    const c = curve(select(runs, norm, tol), measure);
    const { label, color } = NORM_STYLE[norm];
    const edge = (sign: number) => c.mean.map((m, i) => short(m + sign * c.std[i]));
    return [
      {
        x: c.x,
        y: edge(1),
        mode: "lines",
        line: { width: 0 },
        hoverinfo: "skip",
        showlegend: false,
      },
      {
        x: c.x,
        y: edge(-1),
        mode: "lines",
        line: { width: 0 },
        fill: "tonexty",
        fillcolor: transparent(color, 0.2),
        hoverinfo: "skip",
        showlegend: false,
      },
      {
        x: c.x,
        y: c.mean.map(short),
        mode: "lines+markers",
        name: `${label} (${c.runs} run${c.runs === 1 ? "" : "s"})`,
        line: { color, width: 2 },
      },
    ].map((trace) => ({ type: "scatter", ...trace }));
  });
  return {
    data,
    layout: {
      title: { text: `${text.title} (${toleranceLabel(tol)})` },
      xaxis: { title: { text: "epoch" }, dtick: 1 },
      yaxis: { title: { text: text.y }, rangemode: "tozero" },
      legend: { orientation: "h", y: -0.3, traceorder: "normal" },
      height: 420,
    },
  };
}

/** Backward NFE summed over the metric passes on the training split: the paper's "BNFE". */
function backwardNfe(run: Run): number {
  return run.result.history.reduce((n, h) => n + h.train.backwardNfe, 0);
}

/** Wall time of those passes (forward + backward solves of every batch), in seconds. */
function passSeconds(run: Run): number {
  return run.result.history.reduce((t, h) => t + h.train.timespan, 0);
}

/** `mean ± std` over runs, or the value alone for one run. */
function pm(values: number[], digits: number): string {
  const { mean, std, n } = meanStd(values);
  return n > 1 ? `${mean.toFixed(digits)} ± ${std.toFixed(digits)}` : mean.toFixed(digits);
}

/**
 * The draft paper's table: one row per tolerance pair and norm, loosest pair first, with the
 * test accuracy of the best model, the backward NFE summed over the metric passes on the training
 * split (the paper's `parse_results.py` measure), the seminorm's reduction of the mean backward
 * NFE, and the wall time of those passes (forward + backward solves); mean ± std over runs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Run, toleranceTable } from "./run_figures.ts";
 *
 * const run = (norm: string, nfe: number, accuracy: number) =>
 *   ({
 *     norm,
 *     rtol: 1e-3,
 *     atol: 1e-6,
 *     result: {
 *       history: [{ epoch: 0, train: { backwardNfe: nfe, timespan: nfe / 1000 } }],
 *       test: { accuracy },
 *     },
 *   }) as unknown as Run;
 * const rows = toleranceTable([
 *   run("default", 20000, 0.9),
 *   run("default", 22000, 0.92),
 *   run("seminorm", 12600, 0.91),
 * ]);
 * assert.deepEqual(rows[0], {
 *   "rtol, atol": "1e-3, 1e-6",
 *   norm: "Default norm",
 *   runs: 2,
 *   "test accuracy (%)": "91.0 ± 1.4",
 *   "backward NFE": "21000 ± 1414",
 *   reduction: "",
 *   "fwd + bwd time (s)": "21.0 ± 1.4",
 * });
 * assert.equal(rows[1].reduction, "40.0%");
 * ```
 *
 * @param runs the runs
 * @returns the rows, for `showTable`
 */
export function toleranceTable(runs: readonly Run[]): Record<string, string | number>[] {
  return tolerancesOf(runs).flatMap((tol) => {
    const mean = (norm: NormName) => meanStd(select(runs, norm, tol).map(backwardNfe)).mean;
    const reduction = 100 * (1 - mean("seminorm") / mean("default"));
    return NORM_NAMES.map((norm) => {
      const group = select(runs, norm, tol);
      return {
        "rtol, atol": `${tol.rtol.toExponential()}, ${tol.atol.toExponential()}`,
        norm: NORM_STYLE[norm].label,
        runs: group.length,
        "test accuracy (%)": pm(group.map((r) => 100 * (r.result.test?.accuracy ?? NaN)), 1),
        "backward NFE": pm(group.map(backwardNfe), 0),
        reduction: norm === "seminorm" && Number.isFinite(reduction)
          ? `${reduction.toFixed(1)}%`
          : "",
        "fwd + bwd time (s)": pm(group.map(passSeconds), 1),
      };
    });
  });
}

/**
 * Where the backward solves put their steps: histograms of the times of accepted (top) and
 * rejected (bottom) backward steps over the metric passes on the training split, per norm, for
 * the loosest tolerance pair, with dotted lines at `config.times` (a Neural CDE's knots, where
 * every backward solve restarts). Needs runs made with `recordTimes`; the others are skipped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Run, stepHistogramFigure } from "./run_figures.ts";
 *
 * const run = (norm: string, accepted: number[], rejected: number[]) =>
 *   ({
 *     norm,
 *     rtol: 1e-3,
 *     atol: 1e-6,
 *     result: {
 *       config: { times: [0, 10] },
 *       training: { recordTimes: true },
 *       history: [{ epoch: 0, train: { backwardAcceptTs: accepted, backwardRejectTs: rejected } }],
 *     },
 *   }) as unknown as Run;
 * const figure = stepHistogramFigure(
 *   [run("default", [9.5, 9.9, 2], [9.8]), run("seminorm", [9, 2], [])],
 *   { bins: 10 },
 * );
 * const traces = figure.data as { y: number[]; name: string; showlegend: boolean }[];
 * // one legend entry per norm, on the accepted panel's trace
 * assert.deepEqual(traces.filter((t) => t.showlegend).map((t) => t.name), [
 *   "Default norm (3 accepted, 1 rejected)",
 *   "Seminorm (2 accepted, 0 rejected)",
 * ]);
 * assert.equal(traces.length, 4);
 * assert.deepEqual(traces[0].y, [0, 0, 1, 0, 0, 0, 0, 0, 0, 2]);
 * ```
 *
 * @param runs the runs
 * @param options number of bins (default 80), and the title (the tolerances are appended)
 * @returns the figure
 * @throws {Error} if no run recorded step times
 */
export function stepHistogramFigure(
  runs: readonly Run[],
  options: { bins?: number; title?: string } = {},
): PlotlyFigure {
  const recorded = runs.filter((r) => r.result.training.recordTimes);
  if (recorded.length === 0) {
    throw new Error("stepHistogramFigure: no run recorded its step times (recordTimes)");
  }
  const tol = tolerancesOf(recorded)[0];
  const knots = (recorded[0].result.config.times as number[] | undefined) ?? [];
  const times = (norm: NormName, key: "backwardAcceptTs" | "backwardRejectTs") =>
    select(recorded, norm, tol).flatMap((r) => r.result.history.flatMap((h) => h.train[key] ?? []));
  const all = NORM_NAMES.flatMap((n) => times(n, "backwardAcceptTs"));
  const range: [number, number] = knots.length >= 2
    ? [knots[0], knots.at(-1)!]
    : [Math.min(...all), Math.max(...all)];
  const panels = [
    ["backwardAcceptTs", "accepted", ""],
    ["backwardRejectTs", "rejected", "2"],
  ] as const;
  return {
    data: panels.flatMap(([key, what, axis]) =>
      NORM_NAMES.map((norm) => {
        const ts = times(norm, key);
        // One legend entry per norm (its colour), on the top panel's trace; both panels' traces
        // of a norm share its legend group, so a click on the entry toggles both.
        return {
          type: "bar",
          ...histogram(ts, { bins: options.bins ?? 80, range }),
          name: axis === ""
            ? `${NORM_STYLE[norm].label} (${ts.length} accepted, ` +
              `${times(norm, "backwardRejectTs").length} rejected)`
            : `${NORM_STYLE[norm].label}, ${what}`,
          legendgroup: norm,
          showlegend: axis === "",
          hovertemplate: `${NORM_STYLE[norm].label}, ${what}: %{y} steps<extra></extra>`,
          marker: { color: NORM_STYLE[norm].color },
          opacity: 0.75,
          xaxis: `x${axis}`,
          yaxis: `y${axis}`,
        };
      })
    ),
    layout: {
      title: {
        text: `${options.title ?? "Backward steps in time"} (${toleranceLabel(tol)})`,
      },
      grid: { rows: 2, columns: 1, pattern: "independent" },
      barmode: "overlay",
      bargap: 0,
      xaxis: { range },
      xaxis2: { range, title: { text: "t" } },
      yaxis: { title: { text: "accepted steps" } },
      yaxis2: { title: { text: "rejected steps" } },
      shapes: panels.flatMap(([, , axis]) =>
        knots.map((t) => ({
          type: "line",
          xref: `x${axis}`,
          yref: `y${axis} domain`,
          x0: t,
          x1: t,
          y0: 0,
          y1: 1,
          line: { color: "#888", dash: "dot", width: 1 },
        }))
      ),
      legend: { orientation: "h", y: -0.15 },
      height: 520,
    },
  };
}
