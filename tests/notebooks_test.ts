/**
 * Runs every notebook in notebooks/ headless with the Deno kernel, through
 * `jupyter nbconvert --to notebook --execute`, and checks the executed copies: no cell errors, and
 * a notebook that plots has Plotly figures in its outputs.
 *
 * Needs Jupyter's nbconvert (Debian: `apt-get install -y --no-install-recommends
 * jupyter-nbconvert python3-nbclient jupyter-client python3-ipykernel`). Without it the tests are
 * ignored on a developer machine and fail under CI (`CI=true`). The kernel is this very Deno
 * (`Deno.execPath()`), declared in a temporary kernelspec, so no `deno jupyter --install` is
 * needed and the notebooks run on the same Deno version as the tests.
 */

import assert from "node:assert/strict";

const NOTEBOOKS_DIR = new URL("../notebooks/", import.meta.url);
const PLOTLY_MIME = "application/vnd.plotly.v1+json";
const INSTALL_HINT =
  "install Jupyter's nbconvert, e.g. on Debian/Ubuntu: sudo apt-get install -y " +
  "--no-install-recommends jupyter-nbconvert python3-nbclient jupyter-client python3-ipykernel " +
  "(or: pip install nbconvert nbclient jupyter_client)";

const notebooks = [...Deno.readDirSync(NOTEBOOKS_DIR)]
  .filter((entry) => entry.isFile && entry.name.endsWith(".ipynb"))
  .map((entry) => entry.name)
  .sort();

const ci = ["true", "1", "yes"].includes((Deno.env.get("CI") ?? "").toLowerCase());
const missing = jupyterMissing();
if (missing && !ci) {
  console.warn(
    `notebooks_test: ignoring ${notebooks.length} notebook(s): ${missing}; to run them, ` +
      `${INSTALL_HINT}`,
  );
}

for (const name of notebooks) {
  Deno.test({
    name: `notebook ${name} runs without errors and draws its figures`,
    ignore: missing !== undefined && !ci,
    async fn() {
      if (missing) throw new Error(`${missing} (CI=true requires it); ${INSTALL_HINT}`);
      await checkNotebook(name);
    },
  });
}

/** Why `jupyter nbconvert` cannot run here, or undefined when it can. */
function jupyterMissing(): string | undefined {
  try {
    const out = new Deno.Command("jupyter", {
      args: ["nbconvert", "--version"],
      stdout: "piped",
      stderr: "piped",
      env: { PYDEVD_DISABLE_FILE_VALIDATION: "1" },
    }).outputSync();
    if (out.success) return undefined;
    return `"jupyter nbconvert --version" failed: ${new TextDecoder().decode(out.stderr).trim()}`;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "the jupyter command is not installed";
    return `cannot run jupyter: ${error}`;
  }
}

interface Cell {
  cell_type: string;
  source: string | string[];
  outputs?: { output_type: string; data?: Record<string, unknown>; ename?: string }[];
}

/** Executes `notebooks/<name>` into a temporary folder and checks the result. */
async function checkNotebook(name: string): Promise<void> {
  const source = JSON.parse(await Deno.readTextFile(new URL(name, NOTEBOOKS_DIR)));
  assert.equal(
    source.metadata?.kernelspec?.name,
    "deno",
    `${name}: the kernelspec must be "deno" (metadata.kernelspec.name)`,
  );

  const tmp = await Deno.makeTempDir({ prefix: "fasterode_notebooks_" });
  let keep = false;
  try {
    // A kernelspec named "deno" that runs this Deno; JUPYTER_PATH takes precedence over any
    // installed one.
    await Deno.mkdir(`${tmp}/jupyter/kernels/deno`, { recursive: true });
    await Deno.writeTextFile(
      `${tmp}/jupyter/kernels/deno/kernel.json`,
      JSON.stringify({
        argv: [Deno.execPath(), "jupyter", "--kernel", "--conn", "{connection_file}"],
        display_name: "Deno",
        language: "typescript",
      }),
    );
    const jupyterPath = [`${tmp}/jupyter`, Deno.env.get("JUPYTER_PATH")].filter(Boolean);

    const started = performance.now();
    const run = await new Deno.Command("jupyter", {
      args: [
        "nbconvert",
        "--to",
        "notebook",
        "--execute",
        "--ExecutePreprocessor.timeout=600",
        "--ExecutePreprocessor.startup_timeout=180",
        "--output-dir",
        `${tmp}/out`,
        name,
      ],
      cwd: NOTEBOOKS_DIR,
      env: { JUPYTER_PATH: jupyterPath.join(":"), PYDEVD_DISABLE_FILE_VALIDATION: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const log = new TextDecoder().decode(run.stderr);
    if (!run.success) {
      keep = true;
      // nbconvert stops at the first failing cell; its report follows the Python traceback.
      const marker = log.indexOf("An error occurred while executing the following cell");
      const report = marker >= 0 ? log.slice(marker) : tail(log);
      throw new Error(`${name} failed after ${seconds} s (files kept in ${tmp}):\n${report}`);
    }

    const executed = JSON.parse(await Deno.readTextFile(`${tmp}/out/${name}`));
    const problems: string[] = [];
    let plotCells = 0;
    let figures = 0;
    executed.cells.forEach((cell: Cell, index: number) => {
      if (cell.cell_type !== "code") return;
      const code = Array.isArray(cell.source) ? cell.source.join("") : cell.source;
      const outputs = cell.outputs ?? [];
      for (const output of outputs) {
        if (output.output_type === "error") {
          problems.push(`cell ${index + 1} raised ${output.ename ?? "an error"}`);
        }
      }
      const hasFigure = outputs.some((output) => output.data?.[PLOTLY_MIME] !== undefined);
      if (hasFigure) figures++;
      if (/\b(plot|show)\s*\(/.test(code)) plotCells++;
      // `await show(...)` waits until its outputs are sent, so each such cell must have a figure.
      // (A bare `plot(...)` ending a cell can lose its output to a race in Deno's kernel, so it is
      // only counted.)
      if (/\bawait\s+show\s*\(/.test(code) && !hasFigure) {
        problems.push(`cell ${index + 1} calls show() but has no ${PLOTLY_MIME} output`);
      }
    });
    if (plotCells > 0 && figures === 0) {
      problems.push(`${plotCells} cell(s) plot, but no output is a ${PLOTLY_MIME} figure`);
    }
    if (problems.length > 0) {
      keep = true;
      throw new Error(
        `${name} (ran in ${seconds} s, files kept in ${tmp}):\n` +
          problems.join("\n"),
      );
    }
  } finally {
    if (!keep) await Deno.remove(tmp, { recursive: true });
  }
}

/** The last lines of a long log. */
function tail(text: string, lines = 60): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}
