/**
 * Formatting the stored notebooks with `deno fmt`, outside the repository's own `deno fmt` run.
 *
 * Why by hand: Deno 2.9.6's `deno fmt --check` reports a notebook whose markdown cells end
 * without a newline (as Jupyter stores them) as unformatted even when `deno fmt` would write it
 * back byte for byte, so `notebooks/*.ipynb` are excluded from the repository's fmt (deno.json)
 * and checked here instead: a notebook is formatted when `deno fmt`, run on a copy with the
 * repository's fmt options, leaves the copy unchanged.
 *
 * @module
 */
import { join } from "node:path";

/** The repository's deno.json. */
const CONFIG = new URL("../../deno.json", import.meta.url);

/**
 * `text` (a notebook's JSON) as `deno fmt` formats it with the repository's fmt options (line
 * width and the like; not its excludes).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatNotebookText } from "./format.ts";
 * const nb = {
 *   cells: [{ cell_type: "code", metadata: {}, source: ["const x = {a: 1}"], outputs: [] }],
 *   metadata: { language_info: { name: "typescript" } },
 *   nbformat: 4,
 *   nbformat_minor: 5,
 * };
 * const out = JSON.parse(await formatNotebookText(JSON.stringify(nb, null, 1)));
 * assert.deepEqual(out.cells[0].source, ["const x = { a: 1 };"]);
 * ```
 *
 * @param text the notebook's JSON
 * @returns the formatted JSON
 * @throws {Error} if `deno fmt` fails (the message is its output)
 */
export async function formatNotebookText(text: string): Promise<string> {
  const { fmt = {} } = JSON.parse(await Deno.readTextFile(CONFIG));
  const { exclude: _exclude, include: _include, ...options } = fmt;
  const dir = await Deno.makeTempDir({ prefix: "fasterode_fmt_" });
  try {
    await Deno.writeTextFile(join(dir, "deno.json"), JSON.stringify({ fmt: options }));
    const file = join(dir, "notebook.ipynb");
    await Deno.writeTextFile(file, text);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["fmt", "--quiet", file],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(`deno fmt failed: ${new TextDecoder().decode(out.stderr).trim()}`);
    }
    return await Deno.readTextFile(file);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * The stored notebooks in `dir` that `deno fmt` would change.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { unformattedNotebooks } from "./format.ts";
 * assert.deepEqual(await unformattedNotebooks(new URL("../../notebooks/", import.meta.url)), []);
 * ```
 *
 * @param dir the folder of `.ipynb` files
 * @returns their paths, empty when all are formatted
 */
export async function unformattedNotebooks(dir: string | URL): Promise<string[]> {
  const bad: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile || !entry.name.endsWith(".ipynb")) continue;
    const path = join(dir instanceof URL ? dir.pathname : dir, entry.name);
    const text = await Deno.readTextFile(path);
    if ((await formatNotebookText(text)) !== text) bad.push(path);
  }
  return bad.sort();
}

if (import.meta.main) {
  const bad = await unformattedNotebooks(new URL("../../notebooks/", import.meta.url));
  if (bad.length > 0) {
    console.error(`not formatted (run deno task notebooks, or format a copy): ${bad.join(", ")}`);
    Deno.exit(1);
  }
  console.log("notebooks: formatted");
}
