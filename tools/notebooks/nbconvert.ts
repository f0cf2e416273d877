/**
 * The nbconvert runner of the notebook tool: executes a notebook headless with this Deno as its
 * kernel ({@linkcode executeNotebook}) and exports it to HTML ({@linkcode exportHtml}), with
 * Jupyter's `nbconvert`; {@linkcode missingJupyter} says when it is not installed.
 *
 * @module
 */

import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The notebooks folder. */
export const NOTEBOOKS_DIR: string = fileURLToPath(
  new URL("../../notebooks/", import.meta.url),
);

/** Env for Jupyter's Python tools: quiets a debugpy warning of Debian's ipykernel. */
const JUPYTER_ENV = { PYDEVD_DISABLE_FILE_VALIDATION: "1" };

/**
 * What is missing to run nbconvert here, or undefined when nothing is.
 *
 * @returns e.g. `'"jupyter nbconvert"'`, or undefined
 */
export function missingJupyter(): string | undefined {
  try {
    const out = new Deno.Command("jupyter", {
      args: ["nbconvert", "--version"],
      stdout: "null",
      stderr: "null",
      env: JUPYTER_ENV,
    }).outputSync();
    return out.success ? undefined : '"jupyter nbconvert" (it fails to start)';
  } catch {
    return '"jupyter nbconvert"';
  }
}

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
