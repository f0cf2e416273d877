/**
 * Renders the notebooks' figures the way a reader sees them, and saves them as PNG files.
 *
 * For each notebook in notebooks/ (or those named): executes it headless with the Deno kernel
 * (`jupyter nbconvert --to notebook --execute`, into a temporary folder), exports the executed
 * notebook to HTML (`jupyter nbconvert --to html`), loads the page in headless Chromium without
 * network access, checks that every Plotly figure drew all of its traces, and writes a screenshot
 * of each figure to `docs/figures/<notebook>-<n>.png`.
 *
 * With `--save-notebooks` (`deno task notebooks`), each executed notebook whose figures draw is
 * stored over the original, with its outputs, each figure's output holding the Plotly figure
 * (`application/vnd.plotly.v1+json`) and its PNG (`image/png`) in place of the live `text/html`
 * form: code hosts' notebook previews (GitHub's) rank `text/html` above PNG and run no scripts, so
 * they would show a stored HTML figure blank; with the PNG they show the picture, and frontends
 * that render Plotly's MIME type (JupyterLab with Plotly's extension, VS Code) keep the
 * interactive figure. A figure's output is found by the id of its `<div>` (see
 * `FIGURE_ID_PREFIX` in notebooks/plot.ts).
 *
 * ```sh
 * deno task figures                      # every notebook, executed fresh
 * deno task figures 01_seminorm          # one notebook
 * deno task figures --save-notebooks     # also store the executed notebooks, outputs and PNGs
 * deno task figures --out /tmp/figs --keep
 * ```
 *
 * Needs Jupyter's nbconvert with the Deno kernel's dependencies (see `INSTALL_HINT`) and
 * Chromium (Debian: `apt-get install chromium`; another binary with `CHROMIUM_PATH=...`). Chromium
 * is driven with `puppeteer-core`, which downloads no browser. tests/figures_test.ts runs the same
 * checks without the screenshots.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { basename, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import {
  FIGURE_ID_PREFIX,
  isPlotlyJsPart,
  OUTPUT_METADATA_KEY,
  PLOTLY_MIME,
} from "../notebooks/plot.ts";

/** The notebooks folder. */
export const NOTEBOOKS_DIR: string = fileURLToPath(new URL("../notebooks/", import.meta.url));

/** Where `deno task figures` writes its PNG files by default. */
export const FIGURES_DIR: string = fileURLToPath(new URL("../docs/figures/", import.meta.url));

/** Chromium's flags: headless, and nothing that reaches the network or needs a sandbox. */
export const CHROMIUM_FLAGS: readonly string[] = [
  "--headless",
  "--no-sandbox", // as root in a container there is no user namespace for the sandbox
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
  "--hide-scrollbars",
  "--mute-audio",
];

const CHROMIUM_NAMES = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];

/** Env for Jupyter's Python tools: quiets a debugpy warning of Debian's ipykernel. */
const JUPYTER_ENV = { PYDEVD_DISABLE_FILE_VALIDATION: "1" };

/** The install hint of the tools this needs. */
export const INSTALL_HINT: string =
  "on Debian/Ubuntu: sudo apt-get install -y --no-install-recommends chromium " +
  "jupyter-nbconvert python3-nbclient jupyter-client python3-ipykernel " +
  "(or set CHROMIUM_PATH to a Chromium or Chrome binary)";

// ---------------------------------------------------------------------------------------------
// Tools
// ---------------------------------------------------------------------------------------------

/**
 * The Chromium binary: `CHROMIUM_PATH` when set, else the first of chromium, chromium-browser,
 * google-chrome and google-chrome-stable on `PATH`; undefined when there is none.
 */
export function findChromium(): string | undefined {
  const fromEnv = Deno.env.get("CHROMIUM_PATH");
  if (fromEnv) return isExecutable(fromEnv) ? fromEnv : undefined;
  const dirs = (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":").filter(Boolean);
  for (const name of CHROMIUM_NAMES) {
    for (const dir of dirs) {
      const path = join(dir, name);
      if (isExecutable(path)) return path;
    }
  }
  return undefined;
}

function isExecutable(path: string): boolean {
  try {
    const info = Deno.statSync(path);
    return info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0;
  } catch {
    return false;
  }
}

/**
 * What is missing to render the notebooks here (Jupyter's nbconvert, Chromium), or undefined when
 * nothing is.
 */
export function missingTools(): string | undefined {
  const missing: string[] = [];
  try {
    const out = new Deno.Command("jupyter", {
      args: ["nbconvert", "--version"],
      stdout: "null",
      stderr: "null",
      env: JUPYTER_ENV,
    }).outputSync();
    if (!out.success) missing.push('"jupyter nbconvert" (it fails to start)');
  } catch {
    missing.push('"jupyter nbconvert"');
  }
  if (findChromium() === undefined) {
    const env = Deno.env.get("CHROMIUM_PATH");
    missing.push(env ? `Chromium (CHROMIUM_PATH=${env} is not executable)` : "Chromium");
  }
  return missing.length > 0 ? `not installed: ${missing.join(", ")}` : undefined;
}

// ---------------------------------------------------------------------------------------------
// Jupyter
// ---------------------------------------------------------------------------------------------

/** The notebooks in notebooks/, sorted: `["00_quickstart.ipynb", …]`. */
export function listNotebooks(): string[] {
  return [...Deno.readDirSync(NOTEBOOKS_DIR)]
    .filter((entry) => entry.isFile && entry.name.endsWith(".ipynb"))
    .map((entry) => entry.name)
    .sort();
}

/** Runs a command, throwing an error with the end of its output when it fails. */
async function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<void> {
  const out = await new Deno.Command(command, {
    args,
    cwd: options.cwd,
    env: { ...JUPYTER_ENV, ...options.env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.success) return;
  const log = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
  // nbconvert's report of a failing cell follows the Python traceback.
  const marker = log.indexOf("An error occurred while executing the following cell");
  const report = marker >= 0 ? log.slice(marker) : log.trimEnd().split("\n").slice(-40).join("\n");
  throw new Error(`${command} ${args.join(" ")} failed (exit ${out.code}):\n${report}`);
}

/**
 * Executes a notebook headless into `outDir` (same file name) and returns the executed copy's
 * path. The kernel is this very Deno (`Deno.execPath()`), declared in a temporary kernelspec
 * named "deno", so no `deno jupyter --install` is needed. The notebook runs in its own folder,
 * so relative imports work; the environment (e.g. `FASTERODE_SCALE`) is passed on.
 *
 * @param notebook path of the `.ipynb` file
 * @param outDir folder for the executed copy (created if needed)
 * @returns the executed notebook's path
 * @throws {Error} with nbconvert's report of the failing cell
 */
export async function executeNotebook(notebook: string, outDir: string): Promise<string> {
  await Deno.mkdir(outDir, { recursive: true });
  const kernels = await Deno.makeTempDir({ prefix: "fasterode_kernel_" });
  try {
    await Deno.mkdir(join(kernels, "kernels", "deno"), { recursive: true });
    await Deno.writeTextFile(
      join(kernels, "kernels", "deno", "kernel.json"),
      JSON.stringify({
        argv: [Deno.execPath(), "jupyter", "--kernel", "--conn", "{connection_file}"],
        display_name: "Deno",
        language: "typescript",
      }),
    );
    const jupyterPath = [kernels, Deno.env.get("JUPYTER_PATH")].filter(Boolean).join(":");
    await run("jupyter", [
      "nbconvert",
      "--to",
      "notebook",
      "--execute",
      "--ExecutePreprocessor.timeout=1800",
      "--ExecutePreprocessor.startup_timeout=180",
      // No execution timestamps in cell metadata: a stored notebook changes only with its outputs.
      "--ExecutePreprocessor.record_timing=False",
      "--output-dir",
      outDir,
      basename(notebook),
    ], { cwd: join(notebook, ".."), env: { JUPYTER_PATH: jupyterPath } });
  } finally {
    await Deno.remove(kernels, { recursive: true });
  }
  return join(outDir, basename(notebook));
}

/**
 * Exports a notebook, with its outputs, to a standalone HTML page in `outDir`.
 *
 * @param notebook path of the `.ipynb` file
 * @param outDir folder for the page (created if needed)
 * @returns the page's path
 */
export async function exportHtml(notebook: string, outDir: string): Promise<string> {
  await Deno.mkdir(outDir, { recursive: true });
  await run("jupyter", ["nbconvert", "--to", "html", "--output-dir", outDir, notebook]);
  return join(outDir, basename(notebook).replace(/\.ipynb$/, ".html"));
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

// ---------------------------------------------------------------------------------------------
// Notebook files
// ---------------------------------------------------------------------------------------------

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
 * import { executionProblems } from "./notebooks.ts";
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
 * import { figureIdOf } from "./notebooks.ts";
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
 * @param pngs PNG files by figure id, e.g. the `png` of each {@linkcode FigureReport}
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

// ---------------------------------------------------------------------------------------------
// Chromium
// ---------------------------------------------------------------------------------------------

/** What one figure on the page shows. */
export interface FigureReport {
  /** 1-based position on the page. */
  index: number;
  /** The id of the figure's `<div>` (see plot.ts's `FIGURE_ID_PREFIX`). */
  id: string;
  /** The layout's title, or "". */
  title: string;
  /** Traces in the figure's data. */
  traces: number;
  /** Traces drawn with at least one mark (a line, marker, bar or text). */
  drawn: number;
  /** Names (or numbers) of visible traces that drew nothing. */
  empty: string[];
  /** Why the figure is not drawn at all (e.g. the fallback message), when it is not. */
  error?: string;
  /** The PNG file written, when screenshots were asked for. */
  screenshot?: string;
  /** The PNG image of the figure, when asked for (`capture`). */
  png?: Uint8Array;
}

/** What a page shows: each figure, and errors of the page itself. */
export interface PageReport {
  /** The figures, in page order. */
  figures: FigureReport[];
  /** Uncaught exceptions and console errors of the page's scripts. */
  pageErrors: string[];
  /** Requests to the network, which were blocked (a page must draw without them). */
  blocked: string[];
  /** Seconds from loading the page until every figure was drawn. */
  seconds: number;
}

/**
 * Everything wrong with a page report, as sentences; empty when every figure drew every trace.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { problems } from "./notebooks.ts";
 *
 * const nfe = { index: 1, id: "fasterode-plot-1-0123456789ab", title: "NFE", traces: 2 };
 * const report = { figures: [{ ...nfe, drawn: 1, empty: ["Seminorm"] }], pageErrors: [] };
 * assert.deepEqual(problems({ ...report, blocked: [], seconds: 1 }), [
 *   'figure 1 "NFE": drew 1 of 2 traces; nothing drawn for Seminorm',
 * ]);
 * ```
 *
 * @param report a page report from {@linkcode FigureBrowser.check}
 * @returns the problems
 */
export function problems(report: PageReport): string[] {
  const out = report.pageErrors.map((error) => `page error: ${error}`);
  const byId = new Map<string, number>();
  for (const f of report.figures) {
    const first = byId.get(f.id);
    if (first !== undefined) out.push(`figures ${first} and ${f.index} have one div id, ${f.id}`);
    else byId.set(f.id, f.index);
  }
  for (const f of report.figures) {
    const name = `figure ${f.index}${f.title ? ` "${f.title}"` : ""}`;
    if (f.error !== undefined) out.push(`${name}: ${f.error}`);
    else if (f.traces === 0) out.push(`${name}: has no traces`);
    else if (f.drawn < f.traces || f.empty.length > 0) {
      out.push(
        `${name}: drew ${f.drawn} of ${f.traces} traces` +
          (f.empty.length > 0 ? `; nothing drawn for ${f.empty.join(", ")}` : ""),
      );
    }
  }
  return out;
}

/** Options of {@linkcode FigureBrowser.check}. */
export interface CheckOptions {
  /** Write `<prefix>-<n>.png` for each figure into this folder. */
  screenshotDir?: string;
  /** File name prefix of the screenshots (default: the page's name without extension). */
  prefix?: string;
  /** Keep a PNG image of each figure in its report (`png`). */
  capture?: boolean;
  /** Seconds to wait for the figures to draw (default 120). */
  timeout?: number;
}

/** Page width in CSS pixels: figures come out about 850 px wide in nbconvert's page layout. */
const VIEWPORT = { width: 1000, height: 900, deviceScaleFactor: 1 };

/** A headless Chromium that checks pages of exported notebooks. */
export class FigureBrowser {
  readonly #browser: Browser;
  readonly #profile: string;

  private constructor(browser: Browser, profile: string) {
    this.#browser = browser;
    this.#profile = profile;
  }

  /**
   * Starts headless Chromium with a fresh profile.
   *
   * @param executablePath the binary (default {@linkcode findChromium})
   * @throws {Error} when there is no Chromium, or it does not start
   */
  static async launch(executablePath = findChromium()): Promise<FigureBrowser> {
    if (executablePath === undefined) {
      throw new Error(`Chromium is not installed; ${INSTALL_HINT}`);
    }
    const profile = await Deno.makeTempDir({ prefix: "fasterode_chromium_" });
    try {
      const browser = await puppeteer.launch({
        executablePath,
        headless: true,
        args: [...CHROMIUM_FLAGS],
        userDataDir: profile,
        timeout: 120_000,
      });
      return new FigureBrowser(browser, profile);
    } catch (error) {
      await Deno.remove(profile, { recursive: true }).catch(() => {});
      throw new Error(`cannot start ${executablePath}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  /**
   * Loads an HTML page (network requests blocked), waits until every figure is drawn or shows
   * why not, and reports what each figure drew; with `screenshotDir`, saves each as a PNG file.
   *
   * @param html path of the page
   * @param options screenshots and timeout
   * @returns what the page shows; see {@linkcode problems}
   */
  async check(html: string, options: CheckOptions = {}): Promise<PageReport> {
    const page = await this.#browser.newPage();
    try {
      return await checkPage(page, html, options);
    } finally {
      await page.close();
    }
  }

  /** Stops Chromium and removes its profile. */
  async close(): Promise<void> {
    try {
      await this.#browser.close();
    } finally {
      await Deno.remove(this.#profile, { recursive: true }).catch(() => {});
    }
  }
}

/** Per figure, as measured in the page: a report before it is numbered and screenshot. */
type Measured = Omit<FigureReport, "index" | "screenshot">;

// The scripts below run in the page (plain JavaScript: Deno's types have no DOM).

/** True when every figure is drawn (.main-svg) or its script gave up and says why. */
const ALL_SETTLED = `[...document.querySelectorAll(".fasterode-plot")].every((el) =>
  el.querySelector(".main-svg") !== null ||
  (!el.getAttribute("data-drawn") && (el.textContent || "").trim() !== ""))`;

const TWO_FRAMES =
  `new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))`;

/**
 * Measures every figure: the traces of its data (less those it hides), and which of them drew a
 * mark (a path with a non-empty outline, or a non-empty text) in their SVG groups. A group
 * `g.trace` carries its trace's calcdata (D3's `__data__`), whose `trace.index` names the trace.
 */
const MEASURE = `(() => {
  const hasMarks = (group) =>
    [...group.querySelectorAll("path")].some((p) => {
      const d = p.getAttribute("d") || "";
      return d !== "" && d !== "M0,0Z";
    }) ||
    [...group.querySelectorAll("text")].some((t) => (t.textContent || "").trim() !== "");
  const traceIndex = (group) => {
    const data = Array.isArray(group.__data__) ? group.__data__[0] : group.__data__;
    return data && data.trace ? data.trace.index : undefined;
  };
  return [...document.querySelectorAll(".fasterode-plot")].map((el) => {
    const id = el.id;
    const layout = el.layout || {};
    const title = typeof layout.title === "string" ? layout.title : (layout.title || {}).text || "";
    if (el.querySelector(".main-svg") === null) {
      const text = (el.textContent || "").trim();
      return { id, title, traces: 0, drawn: 0, empty: [], error: text ? "not drawn: " + text : "not drawn" };
    }
    const marked = new Set();
    for (const group of el.querySelectorAll("g.trace")) {
      if (hasMarks(group)) marked.add(traceIndex(group));
    }
    // The traces as given: one that the figure hides draws nothing, any other must draw (Plotly
    // itself hides a trace without data, which is what this check is for).
    let traces = 0;
    let drawn = 0;
    const empty = [];
    (el.data || []).forEach((trace, i) => {
      if (trace.visible === false || trace.visible === "legendonly") return;
      traces++;
      if (marked.has(i)) drawn++;
      else empty.push(trace.name ? trace.name : "trace " + (i + 1));
    });
    return { id, title, traces, drawn, empty };
  });
})()`;

async function checkPage(page: Page, html: string, options: CheckOptions): Promise<PageReport> {
  const pageErrors: string[] = [];
  const blocked: string[] = [];
  page.on("pageerror", (error) => pageErrors.push(String((error as Error)?.message ?? error)));
  page.on("console", (message) => {
    // A missing file the page template links (require.js, MathJax) is not the figures' problem.
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
      pageErrors.push(`console: ${message.text()}`);
    }
  });
  await page.setRequestInterception(true);
  page.on("request", (request) => {
    const url = request.url();
    if (/^(file|data|blob|about):/.test(url)) request.continue();
    else {
      blocked.push(url);
      request.abort("blockedbyclient");
    }
  });
  await page.setViewport(VIEWPORT);
  const timeout = (options.timeout ?? 120) * 1000;
  const start = performance.now();
  await page.goto(pathToFileURL(resolve(html)).href, { waitUntil: "load", timeout });
  await page.waitForFunction(ALL_SETTLED, { timeout, polling: 200 });
  // Two frames, for anything Plotly draws asynchronously.
  await page.evaluate(TWO_FRAMES);
  const seconds = (performance.now() - start) / 1000;
  const measured = await page.evaluate(MEASURE) as Measured[];

  const figures: FigureReport[] = measured.map((m, i) => ({ index: i + 1, ...m }));
  const dir = options.screenshotDir;
  if (dir !== undefined || options.capture) {
    if (dir !== undefined) await Deno.mkdir(dir, { recursive: true });
    // The toolbar that appears on hover is no part of the figure.
    await page.addStyleTag({ content: ".modebar-container { display: none !important; }" });
    const prefix = options.prefix ?? basename(html).replace(/\.[^.]*$/, "");
    const elements = await page.$$(".fasterode-plot");
    for (const [i, element] of elements.entries()) {
      // The figure itself (a figure with a fixed width is narrower than its output div), at the
      // page's scale of 1: about 850 x 450 pixels, 10 to 60 kB.
      const figure = (await element.$(".svg-container")) ?? element;
      if (figures[i].error !== undefined) continue; // nothing drawn: no picture of it
      const png = await figure.screenshot({ type: "png" });
      if (dir !== undefined) {
        const path = join(dir, `${prefix}-${i + 1}.png`);
        await Deno.writeFile(path, png);
        figures[i].screenshot = path;
      }
      if (options.capture) figures[i].png = png;
    }
    if (dir !== undefined) await removeStale(dir, prefix, elements.length);
  }
  return { figures, pageErrors, blocked, seconds };
}

/** Removes `<prefix>-<n>.png` files with n > count, left from a version with more figures. */
async function removeStale(dir: string, prefix: string, count: number): Promise<void> {
  const pattern = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}-(\\d+)\\.png$`);
  for await (const entry of Deno.readDir(dir)) {
    const m = pattern.exec(entry.name);
    if (entry.isFile && m && Number(m[1]) > count) await Deno.remove(join(dir, entry.name));
  }
}

// ---------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------

const USAGE = `usage: deno task figures [options] [NOTEBOOK...]

Executes the notebooks (default: every notebooks/*.ipynb), exports them to HTML, checks in
headless Chromium that every Plotly figure drew all its traces, and saves each figure as
<out>/<notebook>-<n>.png.

options:
  --save-notebooks   store each executed notebook whose figures draw, with its outputs and
                     a PNG of each figure (for viewers that run no scripts), over the original
  --out DIR          folder for the PNG files (default docs/figures)
  --no-screenshots   only check
  --keep             keep the executed notebooks and HTML pages (their folder is printed)
  -h, --help         this text`;

/** Resolves a command-line notebook name: `01_seminorm`, `01_seminorm.ipynb` or a path. */
function resolveNotebook(name: string): string {
  const file = name.endsWith(".ipynb") ? name : `${name}.ipynb`;
  for (const candidate of [file, join(NOTEBOOKS_DIR, basename(file))]) {
    try {
      if (Deno.statSync(candidate).isFile) return candidate;
    } catch {
      // try the next
    }
  }
  throw new Error(`no notebook ${name} (looked for ${file} and notebooks/${basename(file)})`);
}

/** Options of {@linkcode renderNotebook}. */
interface RenderOptions {
  /** Store the executed notebook over the original when its figures draw. */
  save: boolean;
  /** Folder for the PNG files; none without. */
  screenshotDir?: string;
  /** Scratch folder. */
  work: string;
}

/** Executes a notebook, renders it and prints what it drew; returns the problems. */
async function renderNotebook(
  notebook: string,
  browser: FigureBrowser,
  options: RenderOptions,
): Promise<string[]> {
  const name = basename(notebook);
  let t = performance.now();
  const lap = () => {
    const s = (performance.now() - t) / 1000;
    t = performance.now();
    return `${s.toFixed(1)} s`;
  };
  const executed = await executeNotebook(notebook, join(options.work, "executed"));
  let timing = `executed in ${lap()}, `;
  const nb = await readNotebook(executed);
  const failed = executionProblems(nb);
  if (failed.length > 0) return failed;
  const figures = figureOutputs(nb).length;
  const html = await exportHtml(executed, join(options.work, "html"));
  timing += `exported in ${lap()}, `;
  const report = await browser.check(html, {
    screenshotDir: options.screenshotDir,
    prefix: name.replace(/\.ipynb$/, ""),
    capture: options.save,
  });
  timing += `rendered in ${lap()}`;
  const found = problems(report);
  if (report.figures.length !== figures) {
    found.unshift(
      `${figures} figure outputs in the notebook, ${report.figures.length} on the page`,
    );
  }
  if (options.save && found.length === 0) {
    const pngs = new Map(report.figures.flatMap((f) => f.png ? [[f.id, f.png] as const] : []));
    const missing = addFigurePngs(nb, pngs);
    dropPlotlyJs(nb);
    if (missing.length > 0) {
      found.push(...missing.map((m) => `cannot store a PNG for ${m}`));
    } else {
      await writeNotebook(notebook, nb);
      const kB = Math.round([...pngs.values()].reduce((n, png) => n + png.length, 0) / 1024);
      timing += `, saved with its outputs and ${pngs.size} PNG(s) (${kB} kB)`;
    }
  }
  console.log(`${name}: ${report.figures.length} figure(s); ${timing}`);
  for (const f of report.figures) {
    const where = f.screenshot ? ` -> ${f.screenshot}` : "";
    console.log(`  ${f.index}. ${f.title || "(untitled)"}: ${f.drawn}/${f.traces} traces${where}`);
  }
  if (report.blocked.length > 0) {
    console.log(
      `  (blocked ${report.blocked.length} network request(s), e.g. ${report.blocked[0]})`,
    );
  }
  return found;
}

async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      "save-notebooks": { type: "boolean", default: false },
      out: { type: "string", default: FIGURES_DIR },
      "no-screenshots": { type: "boolean", default: false },
      keep: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const missing = missingTools();
  if (missing) throw new Error(`${missing}; ${INSTALL_HINT}`);
  const notebooks = positionals.length > 0
    ? positionals.map(resolveNotebook)
    : listNotebooks().map((name) => join(NOTEBOOKS_DIR, name));

  const work = await Deno.makeTempDir({ prefix: "fasterode_figures_" });
  const browser = await FigureBrowser.launch();
  let failed = 0;
  try {
    for (const notebook of notebooks) {
      const name = basename(notebook);
      try {
        const found = await renderNotebook(notebook, browser, {
          save: values["save-notebooks"],
          screenshotDir: values["no-screenshots"] ? undefined : values.out,
          work,
        });
        if (found.length > 0) {
          failed++;
          console.error(`  PROBLEMS in ${name}:\n    ${found.join("\n    ")}`);
        }
      } catch (error) {
        failed++;
        console.error(`${name}: ${(error as Error).message}`);
      }
    }
  } finally {
    await browser.close();
    if (values.keep) console.log(`executed notebooks and HTML pages kept in ${work}`);
    else await Deno.remove(work, { recursive: true });
  }
  if (failed > 0) {
    console.error(`${failed} of ${notebooks.length} notebook(s) have problems`);
    return 1;
  }
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    console.error(`figures: ${(error as Error).message}`);
    Deno.exit(2);
  }
}
