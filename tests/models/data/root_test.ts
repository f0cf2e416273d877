import assert from "node:assert/strict";
import { join } from "node:path";
import {
  fasterodeRoot,
  projectFolder,
  ROOT_ENV,
  rootPath,
  setFasterodeRoot,
} from "../../../models/data/root.ts";

/**
 * Runs `body` in `cwd` with `FASTERODE_ROOT` set to `env` (or unset), restoring the current
 * directory, the variable and the root override afterwards.
 */
function within(cwd: string, env: string | undefined, body: () => void): void {
  const saved = { cwd: Deno.cwd(), env: Deno.env.get(ROOT_ENV) };
  try {
    Deno.chdir(cwd);
    if (env === undefined) Deno.env.delete(ROOT_ENV);
    else Deno.env.set(ROOT_ENV, env);
    body();
  } finally {
    Deno.chdir(saved.cwd);
    if (saved.env === undefined) Deno.env.delete(ROOT_ENV);
    else Deno.env.set(ROOT_ENV, saved.env);
    setFasterodeRoot(undefined);
  }
}

/** A temporary tree: `<tmp>/project/{deno.json, a/b/}` and `<tmp>/bare/c/`. */
async function tree(): Promise<{ tmp: string; project: string; deep: string; bare: string }> {
  // realPath: on macOS the temporary folder is behind a symbolic link, and Deno.cwd() resolves it.
  const tmp = await Deno.realPath(await Deno.makeTempDir());
  const project = join(tmp, "project");
  await Deno.mkdir(join(project, "a", "b"), { recursive: true });
  await Deno.writeTextFile(join(project, "deno.json"), "{}");
  await Deno.mkdir(join(tmp, "bare", "c"), { recursive: true });
  return { tmp, project, deep: join(project, "a", "b"), bare: join(tmp, "bare", "c") };
}

Deno.test("the root is the nearest ancestor holding a deno.json, from any sub-folder", async () => {
  const t = await tree();
  try {
    within(t.deep, undefined, () => {
      assert.equal(fasterodeRoot(), t.project);
      assert.equal(rootPath("results"), join(t.project, "results"));
    });
    within(t.project, undefined, () => assert.equal(fasterodeRoot(), t.project));
  } finally {
    await Deno.remove(t.tmp, { recursive: true });
  }
});

Deno.test("deno.jsonc and package.json mark a project folder too; the nearest one wins", async () => {
  const t = await tree();
  try {
    await Deno.writeTextFile(join(t.project, "a", "package.json"), "{}");
    assert.equal(projectFolder(t.deep), join(t.project, "a"));
    await Deno.writeTextFile(join(t.deep, "deno.jsonc"), "{}");
    assert.equal(projectFolder(t.deep), t.deep);
    // A folder named deno.json is not a configuration.
    await Deno.mkdir(join(t.bare, "deno.json"));
    assert.equal(projectFolder(t.bare), undefined);
  } finally {
    await Deno.remove(t.tmp, { recursive: true });
  }
});

Deno.test("without a project folder above it, the root is the current directory", async () => {
  const t = await tree();
  try {
    // The temporary folder's ancestors (/tmp, /) hold no deno.json on a sane machine.
    if (projectFolder(t.bare) !== undefined) return;
    within(t.bare, undefined, () => assert.equal(fasterodeRoot(), t.bare));
  } finally {
    await Deno.remove(t.tmp, { recursive: true });
  }
});

Deno.test("FASTERODE_ROOT wins over the project folder, relative to the current directory", async () => {
  const t = await tree();
  try {
    within(t.deep, t.bare, () => assert.equal(fasterodeRoot(), t.bare));
    within(
      t.deep,
      "../elsewhere",
      () => assert.equal(fasterodeRoot(), join(t.project, "a", "elsewhere")),
    );
    // Empty or blank: as if unset.
    within(t.deep, "  ", () => assert.equal(fasterodeRoot(), t.project));
  } finally {
    await Deno.remove(t.tmp, { recursive: true });
  }
});

Deno.test("setFasterodeRoot (--root) wins over FASTERODE_ROOT", async () => {
  const t = await tree();
  try {
    within(t.deep, t.bare, () => {
      setFasterodeRoot("x");
      assert.equal(fasterodeRoot(), join(t.deep, "x"));
      // Resolved when set: a later chdir does not move it.
      Deno.chdir(t.project);
      assert.equal(fasterodeRoot(), join(t.deep, "x"));
      setFasterodeRoot(undefined);
      assert.equal(fasterodeRoot(), t.bare);
    });
  } finally {
    await Deno.remove(t.tmp, { recursive: true });
  }
});

Deno.test("without env permission FASTERODE_ROOT is skipped silently, without a prompt", async () => {
  const t = await tree();
  try {
    const script = join(t.tmp, "root.ts");
    const module = new URL("../../../models/data/root.ts", import.meta.url).href;
    await Deno.writeTextFile(
      script,
      `import { fasterodeRoot } from ${JSON.stringify(module)};\nconsole.log(fasterodeRoot());\n`,
    );
    const run = async (permissions: string[]) => {
      const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--no-config", "--no-prompt", ...permissions, script],
        cwd: t.deep,
        env: { [ROOT_ENV]: t.bare, NO_COLOR: "1" },
        stdin: "null",
      }).output();
      const text = new TextDecoder();
      assert.equal(code, 0, text.decode(stderr));
      return text.decode(stdout).trim();
    };
    assert.equal(await run(["--allow-read"]), t.project);
    assert.equal(await run(["--allow-read", `--allow-env=${ROOT_ENV}`]), t.bare);
    // Reads only inside the current directory: no ancestor to search, the current directory.
    assert.equal(await run(["--allow-read=."]), t.deep);
  } finally {
    await Deno.remove(t.tmp, { recursive: true });
  }
});
