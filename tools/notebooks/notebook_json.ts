/**
 * The pure notebook-JSON part of the notebook tool: reading and writing `.ipynb` files as Jupyter
 * does, numbers kept as written ({@linkcode parseNotebook}, {@linkcode formatNotebook},
 * {@linkcode readNotebook}, {@linkcode writeNotebook}); finding the Plotly figures' outputs
 * ({@linkcode figureOutputs}, {@linkcode figureIdOf}); what an executed notebook did wrong
 * ({@linkcode executionProblems}); and storing a notebook for viewers that run no scripts
 * ({@linkcode addFigurePngs}, {@linkcode dropPlotlyJs}, checked by {@linkcode storedOutputs}).
 * No processes, no browser: main.ts runs nbconvert (nbconvert.ts) and Chromium (browser.ts).
 *
 * @module
 */

import { Buffer } from "node:buffer";
import {
  FIGURE_ID_PREFIX,
  isPlotlyJsPart,
  OUTPUT_METADATA_KEY,
  PLOTLY_MIME,
} from "../../notebooks/plot.ts";

const PNG_MIME = "image/png";
const HTML_MIME = "text/html";

/** One output of a code cell, as stored in a notebook (nbformat 4). */
export interface NotebookOutput {
  /** "display_data", "execute_result", "stream" or "error". */
  output_type: string;
  /** The output's forms, by MIME type. */
  data?: Record<string, unknown>;
  /** The output's metadata; a figure shown by plot.ts's `show` names its `<div>` here. */
  metadata?: Record<string, unknown>;
  [key: string]: unknown;
}

/** A notebook, as stored (nbformat 4); only what this module reads is typed. */
export interface Notebook {
  /** The cells; code cells have outputs. */
  cells: { cell_type: string; outputs?: NotebookOutput[]; [key: string]: unknown }[];
  [key: string]: unknown;
}

/** A Plotly figure's output, and where it is. */
export interface FigureOutput {
  /** 1-based number of the cell among all cells. */
  cell: number;
  /** 1-based number of the output among the cell's outputs. */
  index: number;
  /** The output itself. */
  output: NotebookOutput;
}

// JSON.parse's source text access and JSON.rawJSON (ES2026, in V8), which TypeScript's lib may
// lack: numbers are kept as written, so a notebook written back differs only where it was changed.
const RawJson = JSON as unknown as {
  parse(
    text: string,
    reviver: (key: string, value: unknown, context: { source?: string }) => unknown,
  ): unknown;
  rawJSON(text: string): unknown;
  isRawJSON(value: unknown): boolean;
};

/**
 * Reads a notebook, keeping each number as written (`1e-07`, `2.0`): {@linkcode writeNotebook}
 * then writes back the same bytes for what was not changed.
 */
export async function readNotebook(path: string): Promise<Notebook> {
  return parseNotebook(await Deno.readTextFile(path));
}

/** Parses a notebook's JSON text, keeping each number as written; see {@linkcode readNotebook}. */
export function parseNotebook(text: string): Notebook {
  const nb = RawJson.parse(
    text,
    (_key, value, context) =>
      typeof value === "number" && context?.source !== undefined
        ? RawJson.rawJSON(context.source)
        : value,
  ) as Notebook;
  if (!Array.isArray(nb?.cells)) throw new Error("not a notebook (no cells)");
  return nb;
}

/**
 * A notebook's JSON text as Jupyter writes it (nbformat: keys sorted, one space of indent, a final
 * newline), so that a notebook read and written back is unchanged.
 */
export function formatNotebook(nb: Notebook): string {
  const sorted = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(sorted);
    if (value === null || typeof value !== "object" || RawJson.isRawJSON(value)) return value;
    const record = value as Record<string, unknown>;
    return Object.fromEntries(Object.keys(record).sort().map((k) => [k, sorted(record[k])]));
  };
  return JSON.stringify(sorted(nb), null, 1) + "\n";
}

/** Writes a notebook as Jupyter does; see {@linkcode formatNotebook}. */
export async function writeNotebook(path: string, nb: Notebook): Promise<void> {
  await Deno.writeTextFile(path, formatNotebook(nb));
}

/** The Plotly figures' outputs of a notebook, in order. */
export function figureOutputs(nb: Notebook): FigureOutput[] {
  const found: FigureOutput[] = [];
  nb.cells.forEach((cell, c) => {
    (cell.outputs ?? []).forEach((output, o) => {
      if (output.data?.[PLOTLY_MIME] !== undefined) {
        found.push({ cell: c + 1, index: o + 1, output });
      }
    });
  });
  return found;
}

/**
 * What is wrong with an executed notebook's outputs: a cell that raised an error, a cell with a
 * top-level `await show(…)` statement (which waits until its figure is sent) without a Plotly
 * figure among its outputs, or a notebook that plots but has no figure at all. A `show` inside a
 * block (`if`, a loop, a function) may rightly not run, and a bare `plot(…)` ending a cell can lose
 * its output to a race in Deno's kernel, so such cells are only counted.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { executionProblems } from "./notebook_json.ts";
 *
 * const nb = {
 *   cells: [
 *     { cell_type: "code", source: ["await show(figure);\n"], outputs: [] },
 *     { cell_type: "code", source: "if (saved) {\n  await show(figure);\n}", outputs: [] },
 *     { cell_type: "code", source: "x", outputs: [{ output_type: "error", ename: "TypeError" }] },
 *   ],
 * };
 * assert.deepEqual(executionProblems(nb), [
 *   "cell 1 calls show() but has no application/vnd.plotly.v1+json output",
 *   "cell 3 raised TypeError",
 *   "2 cell(s) plot, but no output is a application/vnd.plotly.v1+json figure",
 * ]);
 * ```
 *
 * @param nb an executed notebook
 * @returns the problems, none when the notebook ran cleanly and drew its figures
 */
export function executionProblems(nb: Notebook): string[] {
  const found: string[] = [];
  let plotCells = 0;
  let figures = 0;
  nb.cells.forEach((cell, c) => {
    if (cell.cell_type !== "code") return;
    const source = cell.source as string | string[] | undefined;
    const code = Array.isArray(source) ? source.join("") : source ?? "";
    const outputs = cell.outputs ?? [];
    for (const output of outputs) {
      if (output.output_type === "error") {
        found.push(`cell ${c + 1} raised ${output.ename ?? "an error"}`);
      }
    }
    const hasFigure = outputs.some((output) => output.data?.[PLOTLY_MIME] !== undefined);
    if (hasFigure) figures++;
    if (/\b(plot|show)\s*\(/.test(code)) plotCells++;
    if (/^await\s+show\s*\(/m.test(code) && !hasFigure) {
      found.push(`cell ${c + 1} calls show() but has no ${PLOTLY_MIME} output`);
    }
  });
  if (plotCells > 0 && figures === 0) {
    found.push(`${plotCells} cell(s) plot, but no output is a ${PLOTLY_MIME} figure`);
  }
  return found;
}

/** Names a figure output for messages: `cell 6, output 6 ("A damped oscillator")`. */
export function describeOutput(figure: FigureOutput): string {
  const layout = (figure.output.data?.[PLOTLY_MIME] as { layout?: { title?: unknown } })?.layout;
  const title = typeof layout?.title === "string"
    ? layout.title
    : (layout?.title as { text?: unknown } | undefined)?.text;
  return `cell ${figure.cell}, output ${figure.index}` +
    (typeof title === "string" && title !== "" ? ` ("${title}")` : "");
}

const FIGURE_DIV = new RegExp(`<div id="(${FIGURE_ID_PREFIX}[^"]+)" class="fasterode-plot"`);

/**
 * The id of a figure output's `<div>`: from the output's metadata (set by plot.ts's `show`),
 * else from its `text/html` (a figure that ended a cell, `plot(...)`, has no metadata).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { figureIdOf } from "./notebook_json.ts";
 *
 * const html = '<div id="fasterode-plot-3-0123456789ab" class="fasterode-plot"></div>';
 * assert.equal(figureIdOf({ output_type: "display_data", data: { "text/html": [html] } }),
 *   "fasterode-plot-3-0123456789ab");
 * assert.equal(figureIdOf({ output_type: "display_data", data: {} }), undefined);
 * ```
 *
 * @param output an output of a code cell
 * @returns the id, or undefined when the output is no figure of plot.ts
 */
export function figureIdOf(output: NotebookOutput): string | undefined {
  const meta = output.metadata?.[OUTPUT_METADATA_KEY] as { figure?: unknown } | undefined;
  if (typeof meta?.figure === "string") return meta.figure;
  const html = output.data?.["text/html"];
  const text = Array.isArray(html) ? html.join("") : html;
  return typeof text === "string" ? FIGURE_DIV.exec(text)?.[1] : undefined;
}

/**
 * Gives each Plotly figure output of a notebook the PNG of its figure (`image/png`, base64) in
 * place of its `text/html` form; the figure is found by its `<div>` id ({@linkcode figureIdOf}),
 * which stays in the output's metadata. Viewers that run no scripts (code hosts, which rank HTML
 * above PNG and would show the script-less HTML blank) show the PNG; frontends that render
 * Plotly's MIME type keep the interactive figure.
 *
 * @param nb the notebook, changed in place
 * @param pngs PNG files by figure id, e.g. the `png` of each figure in browser.ts's report
 * @returns the figure outputs that got no PNG (none when every figure has one)
 */
export function addFigurePngs(nb: Notebook, pngs: ReadonlyMap<string, Uint8Array>): string[] {
  const missing: string[] = [];
  for (const figure of figureOutputs(nb)) {
    const id = figureIdOf(figure.output);
    const png = id === undefined ? undefined : pngs.get(id);
    if (png === undefined) {
      missing.push(
        `${describeOutput(figure)}: ` +
          (id === undefined ? "no figure id in its metadata or HTML" : `no PNG of figure ${id}`),
      );
      continue;
    }
    figure.output.data![PNG_MIME] = Buffer.from(png).toString("base64");
    delete figure.output.data![HTML_MIME];
    figure.output.metadata = {
      ...figure.output.metadata,
      [OUTPUT_METADATA_KEY]: { figure: id },
    };
  }
  return missing;
}

/** Whether an output is a part of plotly.js embedded by plot.ts (and nothing else). */
function isLibrary(output: NotebookOutput): boolean {
  const html = output.data?.[HTML_MIME];
  const text = Array.isArray(html) ? html.join("") : html;
  return typeof text === "string" && isPlotlyJsPart(text);
}

/**
 * Removes the outputs that embed plotly.js (plot.ts sends the library before a session's first
 * figure, 2 MB in five outputs). Once {@linkcode addFigurePngs} has put PNGs in place of the
 * figures' HTML nothing in the stored notebook uses it; when the notebook runs again, the first
 * figure embeds it again.
 *
 * @param nb the notebook, changed in place
 * @returns how many outputs were removed
 */
export function dropPlotlyJs(nb: Notebook): number {
  let removed = 0;
  for (const cell of nb.cells) {
    if (cell.outputs === undefined) continue;
    const kept = cell.outputs.filter((output) => !isLibrary(output));
    removed += cell.outputs.length - kept.length;
    cell.outputs = kept;
  }
  return removed;
}

/** What a notebook's stored outputs hold. */
export interface StoredOutputs {
  /** Outputs of all code cells. */
  outputs: number;
  /** Outputs that are Plotly figures. */
  figures: number;
  /** The figure outputs without a PNG (`image/png`), named as in {@linkcode describeOutput}. */
  withoutPng: string[];
  /** The figure outputs that keep the live `text/html` form, which code hosts show blank. */
  withHtml: string[];
  /** Outputs that embed a part of plotly.js (see {@linkcode dropPlotlyJs}). */
  plotlyJsParts: number;
}

/**
 * Counts a notebook's stored outputs, the Plotly figures among them, and those without a PNG or
 * with HTML (see {@linkcode addFigurePngs}).
 */
export function storedOutputs(nb: Notebook): StoredOutputs {
  const figures = figureOutputs(nb);
  return {
    outputs: nb.cells.reduce((n, cell) => n + (cell.outputs?.length ?? 0), 0),
    figures: figures.length,
    withoutPng: figures.filter((f) => typeof f.output.data?.[PNG_MIME] !== "string")
      .map(describeOutput),
    withHtml: figures.filter((f) => f.output.data?.[HTML_MIME] !== undefined).map(describeOutput),
    plotlyJsParts: nb.cells.reduce(
      (n, cell) => n + (cell.outputs ?? []).filter(isLibrary).length,
      0,
    ),
  };
}
