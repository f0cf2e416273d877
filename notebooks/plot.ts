/**
 * Plotly figures for Deno Jupyter notebooks.
 *
 * {@linkcode plot} wraps a Plotly figure (`{ data, layout }`) in an object that Deno's Jupyter
 * kernel displays, and {@linkcode show} displays one from inside a cell. The output carries:
 *
 * - `application/vnd.plotly.v1+json`, the figure itself, drawn by frontends that have a Plotly
 *   renderer (JupyterLab with the plotly extension, VS Code, nteract);
 * - `text/html`, a fallback that draws the figure with plotly.js embedded in the notebook, so that
 *   a notebook exported with `jupyter nbconvert --to html` shows its figures without a network.
 *
 * plotly.js (4.8 MB, 2 MB gzipped and base64-encoded) is embedded once per kernel session, with the
 * first figure displayed; later figures wait for `window.Plotly`. Prefer `await show(figure)` in
 * notebooks that are executed headless (`nbconvert --execute`): see {@linkcode show} for why.
 *
 * Each figure's `<div>` has an id made of a counter and a hash of the figure
 * ({@linkcode FIGURE_ID_PREFIX}), which `show` also puts in the output's metadata
 * (`metadata.fasterode.figure`): a notebook run twice on the same data stores the same ids, and
 * tools/notebooks/ finds the output of each figure it renders: a stored notebook keeps the
 * figure and a PNG of it (`image/png`) in place of the HTML, for viewers that run no scripts, such
 * as code hosts' notebook previews, and drops the embedded library.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import plotlyPackage from "plotly.js-dist-min/package.json" with { type: "json" };
import { type JupyterApi, jupyterApi, settle } from "./jupyter.ts";

export type { JupyterApi } from "./jupyter.ts";

/** The MIME type of a Plotly figure in a Jupyter output. */
export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

/**
 * The start of each figure's `<div>` id in the `text/html` output: `fasterode-plot-<n>-<hash>`,
 * where n counts the figures of the kernel session and hash is a hash of the figure.
 */
export const FIGURE_ID_PREFIX = "fasterode-plot-";

/** The key of the output metadata that {@linkcode show} sends: `{ figure: <div id> }`. */
export const OUTPUT_METADATA_KEY = "fasterode";

/** The version of plotly.js that the HTML fallback embeds. */
export const PLOTLY_JS_VERSION: string = plotlyPackage.version;

// The key under which Deno's Jupyter kernel looks for a display method. `Deno.jupyter` exists only
// inside the kernel, so the symbol is made here and only its type is borrowed.
const $display: typeof Deno.jupyter.$display = Symbol.for(
  "Jupyter.display",
) as typeof Deno.jupyter.$display;

/** A Plotly figure: traces, and optionally a layout and a plotly.js config. */
export interface PlotlyFigure {
  /** The traces, e.g. `{ x: [...], y: [...], type: "scatter", name: "y(t)" }`. */
  data: unknown[];
  /** Axes, titles, size, … (see https://plotly.com/javascript/reference/layout/). */
  layout?: Record<string, unknown>;
  /** plotly.js config; `{ responsive: true }` when absent. */
  config?: Record<string, unknown>;
  /**
   * Animation frames, kept in the figure's JSON for frontends that render Plotly's MIME type; the
   * HTML fallback draws the figure's first state.
   */
  frames?: unknown[];
}

/** Options of {@linkcode plot} and {@linkcode show}. */
export interface PlotOptions {
  /**
   * Whether the `text/html` output embeds plotly.js.
   *
   * - `"auto"` (default): only the first figure displayed in this kernel session embeds it; later
   *   figures draw with the `window.Plotly` that it defines. A figure whose script runs before
   *   the library is there (an earlier cell run later) waits for it. Run the notebook top to
   *   bottom (Restart & Run All, or `nbconvert --execute`) before exporting it, so that a stored
   *   output carries the library.
   * - `true`: embed it again with this figure.
   * - `false`: never embed it; the page must load plotly.js some other way.
   */
  includePlotlyJs?: "auto" | boolean;
}

/** The MIME bundle of a figure, as handed to the Jupyter frontend. */
export interface PlotlyBundle extends Deno.jupyter.MediaBundle {
  /** The figure, with typed arrays turned into plain arrays. */
  [PLOTLY_MIME]: PlotlyFigure;
  /**
   * A `<div>` with a {@linkcode FIGURE_ID_PREFIX} id and the script that draws the figure into it
   * (and plotly.js, when embedded).
   */
  "text/html": string;
  /** A one-line description for plain-text frontends. */
  "text/plain": string;
}

/** A figure that Deno's Jupyter kernel displays; made by {@linkcode plot}. */
export class PlotlyDisplay implements Deno.jupyter.Displayable {
  /** The figure, with typed arrays turned into plain arrays. */
  readonly figure: PlotlyFigure;
  readonly #includePlotlyJs: "auto" | boolean;

  /** Wraps `figure`; prefer {@linkcode plot}. */
  constructor(figure: PlotlyFigure, options: PlotOptions = {}) {
    if (!Array.isArray(figure?.data)) {
      throw new TypeError("plot: figure.data must be an array of traces");
    }
    const include = options.includePlotlyJs ?? "auto";
    if (include !== "auto" && typeof include !== "boolean") {
      throw new TypeError(`plot: includePlotlyJs must be "auto", true or false, got ${include}`);
    }
    this.figure = toJsonValue(figure) as PlotlyFigure;
    this.#includePlotlyJs = include;
  }

  /** Whether the next bundle of this figure embeds plotly.js. */
  get embedsPlotlyJs(): boolean {
    return this.#includePlotlyJs === true ||
      (this.#includePlotlyJs === "auto" && !plotlyJsEmbedded);
  }

  /**
   * The MIME bundle. With `includePlotlyJs: "auto"`, the first bundle made in this process embeds
   * plotly.js, and later ones do not.
   */
  bundle(): PlotlyBundle {
    const library = this.embedsPlotlyJs ? plotlyJsParts().join("") : "";
    if (library) plotlyJsEmbedded = true;
    return this.#bundleWith(library).data;
  }

  /** Called by the Jupyter kernel to display the figure. */
  [$display](): PlotlyBundle {
    return this.bundle();
  }

  /**
   * The bundle, with `library` (HTML that loads plotly.js, or "") before the figure's script, and
   * the output metadata that names the figure's `<div>`.
   */
  #bundleWith(library: string): { data: PlotlyBundle; metadata: PlotlyOutputMetadata } {
    const title = titleOf(this.figure.layout);
    const n = this.figure.data.length;
    const { id, html } = figureHtml(this.figure, library);
    return {
      data: {
        [PLOTLY_MIME]: this.figure,
        "text/html": html,
        "text/plain": `Plotly figure${title ? ` "${title}"` : ""}: ${n} trace${n === 1 ? "" : "s"}`,
      },
      metadata: { [OUTPUT_METADATA_KEY]: { figure: id } },
    };
  }

  /**
   * Displays the figure through `jupyter`, sending plotly.js first in small messages if due. With
   * `jupyter.broadcast`, the output's metadata names the figure's `<div>` (see
   * {@linkcode OUTPUT_METADATA_KEY}).
   */
  async showWith(jupyter: JupyterApi): Promise<void> {
    if (this.embedsPlotlyJs) {
      for (const part of plotlyJsParts()) {
        await jupyter.display({ "text/html": part }, { raw: true });
        await settle(SETTLE_MS);
      }
      plotlyJsEmbedded = true;
    }
    const output = this.#bundleWith("");
    if (jupyter.broadcast !== undefined) {
      // What `display(data, { raw: true })` sends, with metadata.
      await jupyter.broadcast("display_data", { ...output, transient: {} });
    } else {
      await jupyter.display(output.data, { raw: true });
    }
    await settle(SETTLE_MS);
  }
}

/**
 * Makes a Plotly figure displayable in a Deno Jupyter notebook: end a cell with `plot(...)`, or
 * use {@linkcode show}, which is more reliable when notebooks run headless.
 *
 * @example Plot a sine curve
 * ```ts
 * import assert from "node:assert/strict";
 * import { plot, PLOTLY_MIME } from "@fasterode/fasterode/plot";
 *
 * const t = Array.from({ length: 50 }, (_, i) => i / 10);
 * const fig = plot({
 *   data: [{ x: t, y: new Float32Array(t.map(Math.sin)), type: "scatter", name: "sin t" }],
 *   layout: { title: { text: "A sine" }, xaxis: { title: { text: "t" } } },
 * });
 *
 * // The kernel displays `fig` by calling its `Symbol.for("Jupyter.display")` method, which
 * // returns `fig.bundle()`: the figure as JSON, and an HTML fallback that draws it.
 * assert.equal(typeof Reflect.get(fig, Symbol.for("Jupyter.display")), "function");
 * const bundle = fig.bundle();
 * assert.equal(bundle[PLOTLY_MIME].data.length, 1);
 * assert.ok(Array.isArray((bundle[PLOTLY_MIME].data[0] as { y: unknown }).y));
 * assert.match(bundle["text/html"], /Plotly\.newPlot/);
 * // The figure's div has an id that counts figures and hashes this one: fasterode-plot-<n>-<hash>.
 * assert.match(bundle["text/html"], /^<div id="fasterode-plot-\d+-[0-9a-f]{12}"/);
 * assert.equal(bundle["text/plain"], 'Plotly figure "A sine": 1 trace');
 * ```
 *
 * @param figure the traces and layout, as in plotly.js; typed arrays are allowed
 * @param options whether to embed plotly.js in the HTML fallback
 * @returns an object that the Jupyter kernel displays as a figure
 */
export function plot(figure: PlotlyFigure, options: PlotOptions = {}): PlotlyDisplay {
  return new PlotlyDisplay(figure, options);
}

/**
 * Displays a figure from inside a notebook cell: `await show({ data, layout })`. Outside a Jupyter
 * kernel it prints the figure's one-line `text/plain` form instead.
 *
 * Why not just end the cell with `plot(...)`: Deno's kernel (2.x) can send a cell's last output
 * after it reports the cell finished, and headless runners (`nbconvert --execute`, nbclient) then
 * drop that output. `show` sends the figure itself (`Deno.jupyter.broadcast`, with the figure's
 * id in the output's metadata), sends plotly.js (when due) as several small messages instead of
 * one of 2 MB, and waits briefly after each, so the outputs arrive before the cell ends. Text
 * printed earlier in the same cell is flushed too.
 *
 * @example Outside Jupyter, show prints a summary
 * ```ts
 * import assert from "node:assert/strict";
 * import { show } from "@fasterode/fasterode/plot";
 *
 * const printed: unknown[] = [];
 * const log = console.log;
 * console.log = (...args: unknown[]) => void printed.push(...args);
 * try {
 *   await show({ data: [{ x: [0, 1, 2], y: [0, 1, 4], type: "scatter" }] });
 * } finally {
 *   console.log = log;
 * }
 * assert.deepEqual(printed, ["Plotly figure: 1 trace"]);
 * ```
 *
 * @param figure a figure, or a display made by {@linkcode plot}
 * @param options whether to embed plotly.js (ignored when `figure` was made by `plot`)
 */
export async function show(
  figure: PlotlyFigure | PlotlyDisplay,
  options: PlotOptions = {},
): Promise<void> {
  const display = figure instanceof PlotlyDisplay ? figure : plot(figure, options);
  const jupyter = jupyterApi();
  if (jupyter === undefined) {
    console.log(display.bundle()["text/plain"]);
    return;
  }
  await display.showWith(jupyter);
}

/** The metadata of a figure's output: which `<div>` of the `text/html` output is the figure. */
export interface PlotlyOutputMetadata {
  /** Under {@linkcode OUTPUT_METADATA_KEY}: the `<div>`'s id. */
  [OUTPUT_METADATA_KEY]: { figure: string };
}

/** Milliseconds to wait after each message, for the kernel to send it (see `settle`). */
const SETTLE_MS = 20;

let plotlyJsEmbedded = false;
let plotlyJsBase64: string | undefined;
/** Figures made in this process, for their ids. */
let figureCount = 0;

/** Base64 characters per message: keeps each output near 0.4 MB (the library takes 5). */
const PART_CHARS = 400_000;

/** The global that the scripts share: figures waiting for plotly.js, and library parts. */
const STATE = "window.__fasterodePlotly";
const STATE_INIT = `${STATE} = ${STATE} || { queue: [], parts: {}, loading: false }`;

/**
 * HTML pieces that together load plotly.js: scripts that store parts of the gzipped, base64
 * encoded library, the last of which also decompresses it, runs it, and draws the waiting figures.
 */
function plotlyJsParts(): string[] {
  if (plotlyJsBase64 === undefined) {
    const url = new URL(import.meta.resolve("plotly.js-dist-min/plotly.min.js"));
    plotlyJsBase64 = gzipSync(Deno.readTextFileSync(url), { level: 9 }).toString("base64");
  }
  const b64 = plotlyJsBase64;
  // The same for the same library, so that a notebook run again stores the same outputs (parts of
  // two embeddings with one key are the same parts).
  const key = `${PLOTLY_JS_VERSION}-${shortHash(b64)}`;
  const n = Math.ceil(b64.length / PART_CHARS);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const chunk = b64.slice(i * PART_CHARS, (i + 1) * PART_CHARS);
    parts.push(
      `<script type="text/javascript">/* plotly.js ${PLOTLY_JS_VERSION} (MIT), part ${
        i + 1
      }/${n} */` +
        `(function () { var s = ${STATE_INIT}; (s.parts[${scriptJson(key)}] = ` +
        `s.parts[${scriptJson(key)}] || [])[${i}] = "${chunk}"; })();</script>\n`,
    );
  }
  parts[n - 1] += `<script type="text/javascript">\n${loaderScript(key, n)}\n</script>\n`;
  return parts;
}

/** The comment that opens every part of the embedded library; see {@linkcode isPlotlyJsPart}. */
const PART_MARKER =
  /^<script type="text\/javascript">\/\* plotly\.js \S+ \(MIT\), part \d+\/\d+ \*\//;

/**
 * Whether an output's `text/html` is a part of the plotly.js library that {@linkcode show} embeds
 * before the first figure of a session (rather than a figure). A notebook stored with PNGs of its
 * figures in place of their HTML (tools/notebooks/) no longer needs these parts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isPlotlyJsPart, plot } from "@fasterode/fasterode/plot";
 *
 * const figure = plot({ data: [{ y: [1, 2], type: "scatter" }] }, { includePlotlyJs: false });
 * assert.equal(isPlotlyJsPart(figure.bundle()["text/html"]), false);
 * assert.equal(
 *   isPlotlyJsPart('<script type="text/javascript">/* plotly.js 4.1.2 (MIT), part 1/5 *' + "/"),
 *   true,
 * );
 * ```
 *
 * @param html an output's `text/html`
 * @returns true for a library part
 */
export function isPlotlyJsPart(html: string): boolean {
  return PART_MARKER.test(html);
}

/** The script that turns the stored parts into `window.Plotly` and draws the waiting figures. */
function loaderScript(key: string, n: number): string {
  return `(function () {
  var s = ${STATE_INIT};
  var parts = s.parts[${scriptJson(key)}] || [];
  delete s.parts[${scriptJson(key)}];
  function drawWaiting() {
    var queue = s.queue.splice(0);
    for (var i = 0; i < queue.length; i++) queue[i]();
  }
  if (window.Plotly) { drawWaiting(); return; }
  if (s.loading) return;
  var count = 0;
  for (var i = 0; i < parts.length; i++) if (typeof parts[i] === "string") count++;
  function fail(error) { s.loading = false; s.error = String(error); drawWaiting(); }
  if (count !== ${n}) { fail("only " + count + " of ${n} parts of plotly.js are on the page"); return; }
  if (typeof DecompressionStream === "undefined") { fail("this browser lacks DecompressionStream"); return; }
  s.loading = true;
  try {
    var binary = atob(parts.join(""));
    var bytes = new Uint8Array(binary.length);
    for (var j = 0; j < binary.length; j++) bytes[j] = binary.charCodeAt(j);
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    new Response(stream).text().then(function (source) {
      var script = document.createElement("script");
      script.text = source;
      document.head.appendChild(script);
      s.loading = false;
      if (!window.Plotly) s.error = "plotly.js did not define window.Plotly";
      drawWaiting();
    }, fail);
  } catch (error) { fail(error); }
})();`;
}

/**
 * The figure's `<div>` and the script that draws it: now if plotly.js is loaded, otherwise as soon
 * as `library` (or another output) loads it. If the page finishes loading without plotly.js on its
 * way, the div says why it is empty. The div's id counts the figures of this process and hashes
 * the figure: unique on a page, and the same when a notebook is run again on the same data.
 */
function figureHtml(figure: PlotlyFigure, library: string): { id: string; html: string } {
  const height = typeof figure.layout?.height === "number" ? figure.layout.height : 450;
  const spec = { data: figure.data, layout: figure.layout ?? {}, config: figure.config ?? {} };
  if (figure.config === undefined) spec.config = { responsive: true };
  const id = `${FIGURE_ID_PREFIX}${++figureCount}-${shortHash(JSON.stringify(spec))}`;
  const draw = `(function () {
  var s = ${STATE_INIT};
  var id = ${scriptJson(id)};
  var figure = ${scriptJson(spec)};
  function draw() {
    var el = document.getElementById(id);
    if (!el || el.getAttribute("data-drawn")) return;
    if (!window.Plotly) {
      el.textContent = "This figure needs plotly.js, which is not on this page" +
        (s.error ? " (" + s.error + ")" : "") + ". Run the notebook from the top: the first " +
        "figure of a kernel session embeds plotly.js.";
      return;
    }
    el.setAttribute("data-drawn", "1");
    el.textContent = "";
    window.Plotly.newPlot(el, figure.data, figure.layout, figure.config);
  }
  function check() { if (!window.Plotly && !s.loading) draw(); }
  if (window.Plotly) { draw(); return; }
  s.queue.push(draw);
  if (document.readyState === "complete") setTimeout(check, 3000);
  else window.addEventListener("load", function () { setTimeout(check, 0); });
})();`;
  const html = `<div id="${id}" class="fasterode-plot" style="width: 100%; height: ${height}px;">` +
    `</div>\n${library}<script type="text/javascript">\n${draw}\n</script>\n`;
  return { id, html };
}

/** The first 12 hex digits of the SHA-256 of `text`. */
function shortHash(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 12);
}

/** JSON for an inline script: `<`, U+2028 and U+2029 escaped so HTML parsing cannot interfere. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/**
 * Copies a value into plain JSON data: typed arrays become arrays (float32 values rounded to the
 * 9 significant digits that identify them), non-finite numbers become null.
 */
function toJsonValue(value: unknown): unknown {
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value === "bigint") return Number(value);
  if (value instanceof Float32Array) {
    return Array.from(value, (x) => Number.isFinite(x) ? Number(x.toPrecision(9)) : null);
  }
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return Array.from(value as unknown as ArrayLike<number | bigint>, toJsonValue);
  }
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (value instanceof Date) return value.toISOString();
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (v !== undefined && typeof v !== "function") out[k] = toJsonValue(v);
    }
    return out;
  }
  return value;
}

function titleOf(layout: Record<string, unknown> | undefined): string | undefined {
  const title = layout?.title;
  if (typeof title === "string") return title;
  if (title !== null && typeof title === "object") {
    const text = (title as { text?: unknown }).text;
    if (typeof text === "string") return text;
  }
  return undefined;
}
