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
 * is driven with `puppeteer-core`, which downloads no browser. tests/tools/notebooks_test.ts runs
 * the same checks without the screenshots.
 *
 * @module
 */

import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { FigureBrowser, missingChromium, problems } from "./browser.ts";
import {
  executeNotebook,
  exportHtml,
  listNotebooks,
  missingJupyter,
  NOTEBOOKS_DIR,
} from "./nbconvert.ts";
import {
  addFigurePngs,
  dropPlotlyJs,
  executionProblems,
  figureOutputs,
  readNotebook,
  writeNotebook,
} from "./notebook_json.ts";
import { formatNotebookText } from "./format.ts";

/** Where `deno task figures` writes its PNG files by default. */
export const FIGURES_DIR: string = fileURLToPath(new URL("../../docs/figures/", import.meta.url));

/** The install hint of the tools this needs. */
export const INSTALL_HINT: string =
  "on Debian/Ubuntu: sudo apt-get install -y --no-install-recommends chromium " +
  "jupyter-nbconvert python3-nbclient jupyter-client python3-ipykernel " +
  "(or set CHROMIUM_PATH to a Chromium or Chrome binary)";

/**
 * What is missing to render the notebooks here (Jupyter's nbconvert, Chromium), or undefined when
 * nothing is.
 *
 * @example
 * ```ts
 * import { INSTALL_HINT, missingTools } from "./main.ts";
 *
 * const missing = missingTools();
 * if (missing) console.log(`${missing}; ${INSTALL_HINT}`);
 * ```
 *
 * @returns e.g. `'not installed: "jupyter nbconvert", Chromium'`, or undefined
 */
export function missingTools(): string | undefined {
  const missing = [missingJupyter(), missingChromium()].filter((m) => m !== undefined);
  return missing.length > 0 ? `not installed: ${missing.join(", ")}` : undefined;
}

/**
 * Formats a stored notebook with `deno fmt` (its code cells; see format.ts), so that the
 * notebook check of `deno task check` accepts what `--save-notebooks` wrote.
 */
async function formatStored(notebook: string): Promise<void> {
  await Deno.writeTextFile(notebook, await formatNotebookText(await Deno.readTextFile(notebook)));
}

const USAGE = `Usage: deno task figures [options] [NOTEBOOK...]

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
      await formatStored(notebook);
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
