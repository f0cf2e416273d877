/**
 * The one place where fasterode keeps its files: the **root**, and under it `data/` (data sets,
 * e.g. the synthetic speech clips), `.cache/` (the checked data caches, e.g. the acrobot
 * trajectories) and `results/` (the experiments' result files, their checkpoints in
 * `results/checkpoints/`). Every default path of the models, the experiments and the notebooks is
 * built here ({@linkcode rootPath}), so that a run from any folder, a library call and a notebook
 * (which runs in `notebooks/`) all find the same files.
 *
 * The root ({@linkcode fasterodeRoot}) is, in this order:
 *
 * 1. the folder set for the process with {@linkcode setFasterodeRoot} (the experiments' `--root
 *    DIR` flag);
 * 2. the environment variable `FASTERODE_ROOT` (absolute, or relative to the current directory),
 *    read only where the process may read it (`--allow-env=FASTERODE_ROOT`): without that
 *    permission it is skipped, never prompted for;
 * 3. the project folder: the nearest ancestor of the current directory (itself included) that
 *    holds a `deno.json`, `deno.jsonc` or `package.json`, as Deno finds its configuration
 *    (ancestors the process may not read are not searched);
 * 4. the current directory.
 *
 * A path the user gives explicitly (a `--out DIR`, a `cacheDir` option) is not resolved here: it
 * stays relative to the current directory, as a flag's path is expected to.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { fasterodeRoot, rootPath, setFasterodeRoot } from "@fasterode/fasterode/models/data";
 *
 * // In this repository: its folder (where deno.json is), unless FASTERODE_ROOT says otherwise.
 * const root = fasterodeRoot();
 * assert.equal(rootPath("results"), join(root, "results"));
 * const dir = await Deno.makeTempDir();
 * setFasterodeRoot(dir); // what --root DIR does
 * try {
 *   assert.equal(rootPath(".cache", "acrobot"), join(dir, ".cache", "acrobot"));
 * } finally {
 *   setFasterodeRoot(undefined);
 *   await Deno.remove(dir);
 * }
 * assert.equal(fasterodeRoot(), root);
 * ```
 *
 * @module
 */
import { dirname, join, resolve } from "node:path";

/** The environment variable that names the root. */
export const ROOT_ENV = "FASTERODE_ROOT";

/** The files whose folder is a project folder (as Deno finds its configuration). */
export const PROJECT_FILES: readonly string[] = ["deno.json", "deno.jsonc", "package.json"];

/** The root's sub-folders, by what they hold. */
export const ROOT_FOLDERS = {
  /** Data sets (the synthetic speech clips). */
  data: "data",
  /** Checked data caches (the acrobot trajectories). */
  cache: ".cache",
  /** Result files; checkpoints in `results/checkpoints`. */
  results: "results",
} as const;

/** The folder {@linkcode setFasterodeRoot} set, absolute; `undefined` when none. */
let override: string | undefined;

/**
 * Sets the root for the rest of the process (`undefined` clears it): what the experiments'
 * `--root DIR` flag does. It wins over `FASTERODE_ROOT` and the project folder.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolve } from "node:path";
 * import { fasterodeRoot, setFasterodeRoot } from "@fasterode/fasterode/models/data";
 * setFasterodeRoot("elsewhere");
 * assert.equal(fasterodeRoot(), resolve("elsewhere")); // relative to the current directory
 * setFasterodeRoot(undefined);
 * assert.throws(() => setFasterodeRoot(""), /must be a folder/);
 * ```
 *
 * @param dir the root (absolute, or relative to the current directory), or `undefined`
 * @returns the folder set before (absolute), or `undefined`: pass it back to restore it
 * @throws {TypeError} For an empty string.
 */
export function setFasterodeRoot(dir: string | undefined): string | undefined {
  if (dir !== undefined && (typeof dir !== "string" || dir === "")) {
    throw new TypeError(`the fasterode root must be a folder, got ${JSON.stringify(dir)}`);
  }
  const previous = override;
  override = dir === undefined ? undefined : resolve(dir);
  return previous;
}

/** Whether the process may read `path` without a prompt. */
function mayRead(path: string): boolean {
  return Deno.permissions.querySync({ name: "read", path }).state === "granted";
}

/** `FASTERODE_ROOT`, when set, non-empty and readable without a prompt. */
function rootFromEnv(): string | undefined {
  const env = Deno.permissions.querySync({ name: "env", variable: ROOT_ENV });
  if (env.state !== "granted") return undefined;
  const value = Deno.env.get(ROOT_ENV)?.trim();
  return value === undefined || value === "" ? undefined : value;
}

/**
 * The nearest folder from `start` upwards (itself included) that holds one of
 * {@linkcode PROJECT_FILES}; `undefined` when none does, or where the search reaches a folder
 * the process may not read.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { projectFolder } from "@fasterode/fasterode/models/data";
 * const dir = await Deno.makeTempDir();
 * await Deno.mkdir(join(dir, "a", "b"), { recursive: true });
 * await Deno.writeTextFile(join(dir, "package.json"), "{}");
 * assert.equal(projectFolder(join(dir, "a", "b")), dir);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @param start an absolute folder
 * @returns the project folder, or `undefined`
 */
export function projectFolder(start: string): string | undefined {
  for (let dir = resolve(start);; dir = dirname(dir)) {
    for (const name of PROJECT_FILES) {
      const file = join(dir, name);
      if (!mayRead(file)) return undefined;
      try {
        if (Deno.statSync(file).isFile) return dir;
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * The root, absolute: the folder of {@linkcode setFasterodeRoot}, else `FASTERODE_ROOT`
 * (resolved against the current directory), else the project folder of the current directory
 * ({@linkcode projectFolder}), else the current directory. Where the process may not read the
 * current directory, `"."`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isAbsolute } from "node:path";
 * import { fasterodeRoot } from "@fasterode/fasterode/models/data";
 * assert.ok(isAbsolute(fasterodeRoot()));
 * ```
 *
 * @returns the root
 */
export function fasterodeRoot(): string {
  if (override !== undefined) return override;
  const fromEnv = rootFromEnv();
  if (!mayRead(".")) return fromEnv ?? ".";
  if (fromEnv !== undefined) return resolve(fromEnv);
  const cwd = Deno.cwd();
  return projectFolder(cwd) ?? cwd;
}

/**
 * A path under the root: `rootPath("results")`, `rootPath(".cache", "acrobot")`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { fasterodeRoot, rootPath } from "@fasterode/fasterode/models/data";
 * assert.equal(rootPath("results", "checkpoints"), join(fasterodeRoot(), "results", "checkpoints"));
 * ```
 *
 * @param parts the path's parts below the root
 * @returns the joined path
 */
export function rootPath(...parts: string[]): string {
  return join(fasterodeRoot(), ...parts);
}
