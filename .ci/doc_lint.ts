/**
 * The package's documentation checks, run by `deno task check`:
 *
 * 1. `deno doc --lint` on the package's entry points, less one kind of report: references to
 *    tfjs's own types (`Tensor`, `Scalar`, …). They come from the npm package `@tensorflow/tfjs`,
 *    which deno doc counts as private to this package although every user imports them from tfjs.
 *    Every other report fails the check.
 * 2. Examples import the package by its published name, so that users can copy them: an
 *    `@example` in a file reachable from the exports that imports, by a relative path, a name that
 *    an entry point exports fails the check, with the file, the line and the specifier to use
 *    (`@fasterode/fasterode` or a subpath; deno.json maps them all to the local files, so
 *    `deno test --doc` runs the examples as written). Internal helpers stay relative.
 */
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** One export entry: its specifier, its file and the folder it stands for (mod.ts entries). */
export interface Entry {
  spec: string;
  file: string;
  dir: string | null;
}

/** Where a name is declared (file and line), as deno doc reports it. */
export type Declared = Map<string, string[]>;

const LIBRARY = /^(solvers|adjoint|fields|kernels)\/|^(backend|mod)\.ts$/;
const IMPORT = /^(\s*\*\s*)import (?:type )?\{([^}]*)\} from "(\.\.?\/[^"]+)";/;

/**
 * The package specifier to use for names a file's example imports: among the entries that export
 * them all, the root for library files, else the deepest entry whose folder holds the file, else
 * the root, else the deepest entry that holds the imported module.
 */
export function pickSpecifier(
  root: string,
  file: string,
  target: string,
  candidates: Entry[],
): string {
  const rel = file.slice(root.length + 1);
  const holds = (e: Entry, f: string) => e.dir ? f.startsWith(e.dir + "/") : e.file === f;
  const depth = (e: Entry) => (e.dir ?? e.file).split("/").length;
  const deepest = (es: Entry[]) => es.sort((a, b) => depth(b) - depth(a))[0]?.spec;
  const top = candidates.find((e) => e.file === resolve(root, "mod.ts"));
  if (LIBRARY.test(rel) && top) return top.spec;
  const inside = deepest(candidates.filter((e) => e !== top && holds(e, file)));
  if (inside) return inside;
  if (top) return top.spec;
  return deepest(candidates.filter((e) => holds(e, target))) ?? candidates[0].spec;
}

/**
 * The relative example imports in `text` (the file `file`) of names some entry exports:
 * `declaredIn(module)` gives the declarations of a module's exports, `entries` the package's
 * entry points with theirs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { relativeExampleImports } from "./doc_lint.ts";
 * // The entry "@x/x" exports f of f.ts; f.ts also has an internal helper g.
 * const entry = { spec: "@x/x", file: "/r/mod.ts", dir: "/r" };
 * const own = new Map([["f", ["/r/f.ts:9"]], ["g", ["/r/f.ts:12"]]]);
 * const exported = new Map([["f", ["/r/f.ts:9"]]]);
 * const fence = "`".repeat(3);
 * const example = (...imports: string[]) =>
 *   ["/**", ` * ${fence}ts`, ...imports.map((i) => ` * ${i}`), ` * ${fence}`, " *\/"].join("\n");
 * const check = (text: string) =>
 *   relativeExampleImports("/r", "/r/f.ts", text, () => own, [{ entry, decl: exported }]);
 * assert.deepEqual(check(example('import { f, g } from "./f.ts";')), [
 *   '/r/f.ts:3: the example imports { f } from "./f.ts"; import it from "@x/x"',
 * ]);
 * assert.deepEqual(check(example('import { f } from "@x/x";', 'import { g } from "./f.ts";')), []);
 * ```
 */
export function relativeExampleImports(
  root: string,
  file: string,
  text: string,
  declaredIn: (module: string) => Declared | undefined,
  entries: { entry: Entry; decl: Declared }[],
): string[] {
  const problems: string[] = [];
  text.split("\n").forEach((line, i) => {
    const m = IMPORT.exec(line);
    if (!m) return;
    const target = resolve(dirname(file), m[3]);
    const own = declaredIn(target);
    const names = m[2].split(",").map((s) => s.trim().replace(/^type\s+/, "").split(/\s+as\s+/)[0])
      .filter(Boolean);
    if (!own || names.length === 0) return;
    const exports = (decl: Declared, n: string) =>
      (decl.get(n) ?? []).some((d) => (own.get(n) ?? []).includes(d));
    // The names some entry exports; internal helpers on the same line may stay relative.
    const exported = names.filter((n) => entries.some((e) => exports(e.decl, n)));
    if (exported.length === 0) return;
    const all = entries.filter((e) => exported.every((n) => exports(e.decl, n)));
    const specs = all.length > 0 ? [pickSpecifier(root, file, target, all.map((e) => e.entry))] : [
      ...new Set(
        exported.map((n) =>
          pickSpecifier(
            root,
            file,
            target,
            entries.filter((e) => exports(e.decl, n)).map((e) => e.entry),
          )
        ),
      ),
    ];
    const them = exported.length > 1 ? "them" : "it";
    problems.push(
      `${file}:${i + 1}: the example imports { ${exported.join(", ")} } from "${m[3]}"; ` +
        `import ${them} from ${specs.map((s) => `"${s}"`).join(" or ")}`,
    );
  });
  return problems;
}

/** The exports of each module deno doc reports on, by name, as "file:line" declarations. */
async function declarations(files: string[]): Promise<Map<string, Declared>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", ...files],
    env: { NO_COLOR: "1" },
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  const json = JSON.parse(new TextDecoder().decode(out.stdout));
  const byFile = new Map<string, Declared>();
  for (const [url, node] of Object.entries(json.nodes) as [string, { symbols?: unknown[] }][]) {
    const decl: Declared = new Map();
    for (const s of (node.symbols ?? []) as { name: string; declarations?: unknown[] }[]) {
      const where = ((s.declarations ?? []) as { location: { filename: string; line: number } }[])
        .map((d) => `${fileURLToPath(d.location.filename)}:${d.location.line}`);
      decl.set(s.name, [...(decl.get(s.name) ?? []), ...where]);
    }
    byFile.set(fileURLToPath(url), decl);
  }
  return byFile;
}

/** The local files the entry points reach. */
async function reachable(root: string, entries: string[]): Promise<string[]> {
  const files = new Set<string>();
  for (const e of entries) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", e],
      env: { NO_COLOR: "1" },
    }).output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
    for (const m of JSON.parse(new TextDecoder().decode(out.stdout)).modules) {
      if (typeof m.specifier !== "string" || !m.specifier.startsWith("file:")) continue;
      const f = fileURLToPath(m.specifier);
      if (f.startsWith(root + "/") && f.endsWith(".ts")) files.add(f);
    }
  }
  return [...files].sort();
}

/**
 * Check 2 over every file the entry points reach, read with `read` (the file system by default):
 * how many files, and the problems, each as "file:line: …" with the file relative to `root`.
 */
export async function exampleImportCheck(
  root: string,
  exports: Record<string, string>,
  read: (file: string) => Promise<string> = Deno.readTextFile,
): Promise<{ files: number; problems: string[] }> {
  const entries: Entry[] = Object.entries(exports).map(([k, v]) => {
    const file = resolve(root, v);
    return {
      spec: "@fasterode/fasterode" + (k === "." ? "" : k.slice(1)),
      file,
      dir: file.endsWith("/mod.ts") ? dirname(file) : null,
    };
  });
  const files = await reachable(root, entries.map((e) => e.file));
  const texts = new Map<string, string>();
  const targets = new Set<string>();
  for (const file of files) {
    const text = await read(file);
    texts.set(file, text);
    for (const line of text.split("\n")) {
      const m = IMPORT.exec(line);
      if (m) targets.add(resolve(dirname(file), m[3]));
    }
  }
  // deno doc reports where a re-exported name is declared only when it documents one module at
  // a time (given several, it may give the re-export's line instead), so one run per entry; the
  // imported modules, which mostly declare what they export, share one run.
  const entryDecl = new Map<string, Declared>();
  for (const e of entries) entryDecl.set(e.file, (await declarations([e.file])).get(e.file)!);
  const rest = [...targets].filter((t) => !entryDecl.has(t));
  const decls = rest.length > 0 ? await declarations(rest) : new Map<string, Declared>();
  for (const [f, d] of entryDecl) decls.set(f, d);
  const withDecl = entries.map((entry) => ({ entry, decl: entryDecl.get(entry.file)! }));
  const problems: string[] = [];
  for (const file of files) {
    problems.push(
      ...relativeExampleImports(root, file, texts.get(file)!, (m) => decls.get(m), withDecl)
        .map((p) => p.slice(root.length + 1)),
    );
  }
  return { files: files.length, problems };
}

if (import.meta.main) {
  const root = dirname(fileURLToPath(new URL("../deno.json", import.meta.url)));
  const exports = JSON.parse(await Deno.readTextFile(resolve(root, "deno.json"))).exports as Record<
    string,
    string
  >;
  const entries = Object.values(exports);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--lint", ...entries],
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
  const reports = text.split(/\n(?=error\[)/).filter((r) => r.startsWith("error["));
  const tfjsType =
    /references private type '(Tensor|Tensor\dD|Scalar|Variable|NamedTensorMap|Rank|AdamOptimizer)'/;
  const kept = reports.filter((r) =>
    !(r.startsWith("error[private-type-ref]") && tfjsType.test(r))
  );
  const imports = await exampleImportCheck(root, exports);
  if (kept.length > 0) console.error(kept.join("\n"));
  if (imports.problems.length > 0) console.error(imports.problems.join("\n"));
  if (kept.length + imports.problems.length > 0) {
    console.error(
      `doc lint: ${kept.length} problem(s); ${imports.problems.length} example import(s) by a ` +
        "relative path of a name the package exports (examples must import the package name)",
    );
    Deno.exit(1);
  }
  console.log(
    `doc lint: clean (${reports.length - kept.length} references to tfjs types ignored; ` +
      `examples of ${imports.files} files import the package by name)`,
  );
}
