/**
 * The browser check of the notebook tool: loads an exported notebook's page in headless Chromium
 * without network access ({@linkcode FigureBrowser}), reports what each Plotly figure drew, and
 * takes its screenshot; {@linkcode problems} turns a report into sentences. Chromium is driven
 * with `puppeteer-core`, which downloads no browser: {@linkcode findChromium} finds the binary.
 *
 * @module
 */

import { basename, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import puppeteer, { type Browser, type Page } from "puppeteer-core";

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
/**
 * What is missing to run the browser check here, or undefined when nothing is.
 *
 * @returns e.g. `"Chromium"`, or undefined
 */
export function missingChromium(): string | undefined {
  if (findChromium() !== undefined) return undefined;
  const env = Deno.env.get("CHROMIUM_PATH");
  return env ? `Chromium (CHROMIUM_PATH=${env} is not executable)` : "Chromium";
}

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
 * import { problems } from "./browser.ts";
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
      throw new Error(
        "Chromium is not installed; on Debian/Ubuntu: sudo apt-get install -y chromium, or set " +
          "CHROMIUM_PATH to a Chromium or Chrome binary",
      );
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
