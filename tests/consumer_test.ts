/**
 * The package as a consumer outside the repository sees it (issue 13): a fresh project in a
 * temporary folder imports every export of every entry of deno.json's `exports` by name, type
 * checks (`deno check`, strict, as a consumer's defaults are) and trains two small neural ODEs
 * with `tf.train.adam().applyGradients(grads)`, without a cast, on the wasm backend; its
 * stderr must be empty: no "already registered" kernels or "Platform … has already been set"
 * (two tfjs copies), no "looks like you are running TensorFlow.js in Node.js" banner, no other
 * warning.
 *
 * How the project gets the package and tfjs, offline once deno's cache is warm:
 *
 * - its import map maps `@fasterode/fasterode` and every subpath of `exports` to the
 *   repository's files by absolute `file:` URL (as JSR would serve them), and every npm package
 *   of the repository's `imports` to the same `npm:` specifier, all read from deno.json so that
 *   the test never drifts from it; the library's own bare imports (`@tensorflow/tfjs`, …) then
 *   resolve through the consumer's map, as they do for a published package whose ranges meet
 *   the consumer's;
 * - it gets a copy of the repository's deno.lock, so that it resolves the very versions the
 *   repository is tested with (deno trims the copy to what it uses);
 * - `"nodeModulesDir": "none"`: no node_modules folder, the packages come from deno's global
 *   cache (`DENO_DIR`, inherited), which the repository's own installs fill; on a cold cache
 *   deno fetches them from the npm registry once.
 *
 * The names are deno doc's (`deno doc --json` of every entry); which of them are values (and
 * must be defined at run time) is what importing the entry in this process shows, the rest are
 * types, imported with `type`.
 */
import assert from "node:assert/strict";

const ROOT = new URL("..", import.meta.url);
const PACKAGE = "@fasterode/fasterode";

/** The training program: hand-written, by name from the entries, and without a cast. */
const MAIN = `import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { adjointValueAndGrads, odeint, odeintAdjoint } from "${PACKAGE}";
import { useBackend } from "${PACKAGE}/backend";
import { mlpField } from "${PACKAGE}/fields";
import { seededRandom } from "${PACKAGE}/models/data";
import { sampleBatch, spiralData, SpiralODE } from "${PACKAGE}/models/spiral";
import { VALUES } from "./exports.ts";

// Every value export of every entry, imported by name, is defined.
const undefinedValues = Object.entries(VALUES).flatMap(([entry, values]) =>
  Object.entries(values).filter(([, v]) => v === undefined).map(([name]) => entry + " " + name)
);
assert.deepEqual(undefinedValues, []);

// One tfjs: the backend the library starts is the consumer's, its tensors are the consumer's.
assert.equal(await useBackend("wasm"), "wasm");
assert.equal(tf.getBackend(), "wasm");
const decay = await odeint((_t, y) => tf.neg(y), tf.tensor([1]), [0, 1]);
assert.ok(decay.ys instanceof tf.Tensor);
tf.dispose(decay.ys);

// An encoder, an MLP vector field with its own VJP and a readout, trained end to end.
const E = tf.variable(tf.randomNormal([3, 8], 0, 0.5, "float32", 1), true, "E");
const W1 = tf.variable(tf.randomNormal([8, 16], 0, 0.3, "float32", 2), true, "W1");
const b1 = tf.variable(tf.zeros([16]), true, "b1");
const W2 = tf.variable(tf.randomNormal([16, 8], 0, 0.3, "float32", 3), true, "W2");
const R = tf.variable(tf.randomNormal([8, 1], 0, 0.5, "float32", 4), true, "R");
const field = mlpField([{ kernel: W1, bias: b1 }, { kernel: W2 }]);
const x = tf.randomNormal([16, 3], 0, 1, "float32", 5);
const target = tf.randomNormal([16, 1], 0, 1, "float32", 6);
const adam = tf.train.adam(0.05);
const losses: number[] = [];
for (let i = 0; i < 15; i++) {
  const { value, grads } = await adjointValueAndGrads({
    before: () => tf.matMul(x, E),
    solve: (y0) => odeintAdjoint(field, y0, [0, 1], field.params, { adjoint: { norm: "seminorm" } }),
    after: (ys) =>
      tf.losses.meanSquaredError(target, tf.matMul(tf.squeeze(tf.slice(ys, 1, 1), [0]), R)),
  }, [E, W1, b1, W2, R]);
  adam.applyGradients(grads);
  tf.dispose(grads);
  losses.push(value);
}

// A model of the package: its training step's gradients go straight to Adam.
const data = await spiralData(100, 5);
const batch = sampleBatch(data, 8, 10, seededRandom(0), 3);
const spiral = new SpiralODE({ width: 16 });
const spiralAdam = tf.train.adam(0.02);
const spiralLosses: number[] = [];
for (let i = 0; i < 10; i++) {
  const step = await spiral.lossAndGrads(batch.y0, batch.ts, batch.target, {
    adjoint: { norm: "seminorm" },
  });
  spiralAdam.applyGradients(step.grads);
  tf.dispose(step.grads);
  spiralLosses.push(step.loss);
}
console.log(JSON.stringify({ losses, spiralLosses }));
`;

/** The repository's deno.json. */
interface Config {
  exports: Record<string, string>;
  imports: Record<string, string>;
}

/** An entry of `exports`: its specifier, its file and its exports by kind. */
interface Entry {
  specifier: string;
  file: string;
  values: string[];
  types: string[];
}

/** Runs deno with `args` in `cwd`; its exit code and output. */
async function deno(args: string[], cwd: string | URL) {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** Every entry of `exports` with the names it exports (deno doc's), split into values and types. */
async function entries(config: Config): Promise<Entry[]> {
  const files = Object.values(config.exports).map((path) => new URL(path, ROOT).href);
  const doc = await deno(["doc", "--json", ...files], ROOT);
  assert.equal(doc.code, 0, doc.stderr);
  const nodes: Record<string, { symbols: { name: string }[] }> = JSON.parse(doc.stdout).nodes;
  const result: Entry[] = [];
  for (const [key, path] of Object.entries(config.exports)) {
    const file = new URL(path, ROOT).href;
    const names = [...new Set(nodes[file].symbols.map((s) => s.name))].sort();
    const values = Object.keys(await import(file)).sort();
    const undocumented = values.filter((v) => !names.includes(v));
    assert.deepEqual(undocumented, [], `${path}: values deno doc does not list`);
    const specifier = key === "." ? PACKAGE : `${PACKAGE}${key.slice(1)}`;
    const types = names.filter((n) => !values.includes(n));
    result.push({ specifier, file, values, types });
  }
  return result;
}

/** exports.ts: every export of every entry, imported by name (aliased: names repeat), and the values. */
function exportsModule(list: Entry[]): string {
  const imports: string[] = [];
  const values: string[] = [];
  list.forEach((entry, i) => {
    const named = [
      ...entry.values.map((n) => `${n} as e${i}_${n}`),
      ...entry.types.map((n) => `type ${n} as e${i}_${n}`),
    ];
    imports.push(`import {\n  ${named.join(",\n  ")},\n} from "${entry.specifier}";`);
    const pairs = entry.values.map((n) => `${n}: e${i}_${n}`).join(", ");
    values.push(`  "${entry.specifier}": { ${pairs} },`);
  });
  return `${imports.join("\n")}\n\n/** The value exports of each entry, by name. */\n` +
    `export const VALUES: Record<string, Record<string, unknown>> = {\n${values.join("\n")}\n};\n`;
}

Deno.test("a consumer project imports every export by name, type checks and trains without a cast or a warning", async () => {
  const config: Config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const list = await entries(config);
  const specifiers = new Set(list.map((e) => e.specifier));
  const imports: Record<string, string> = {};
  for (const entry of list) imports[entry.specifier] = entry.file;
  for (const [name, target] of Object.entries(config.imports)) {
    if (target.startsWith("npm:")) imports[name] = target;
    else assert.ok(specifiers.has(name), `deno.json imports ${name}: neither npm nor an export`);
  }

  const dir = await Deno.makeTempDir({ prefix: "fasterode_consumer_" });
  try {
    await Deno.writeTextFile(
      `${dir}/deno.json`,
      JSON.stringify({ nodeModulesDir: "none", imports }, null, 2),
    );
    await Deno.copyFile(new URL("deno.lock", ROOT), `${dir}/deno.lock`);
    await Deno.writeTextFile(`${dir}/exports.ts`, exportsModule(list));
    await Deno.writeTextFile(`${dir}/main.ts`, MAIN);
    const code = MAIN.split("\n").filter((line) => !line.startsWith("import ")).join("\n");
    assert.doesNotMatch(code, /\bas\b|\bany\b|@ts-|!\./, "main.ts has no cast");

    const check = await deno(["check", "main.ts"], dir);
    assert.equal(check.code, 0, `deno check main.ts in ${dir}:\n${check.stderr}`);

    // The permissions a consumer gives: reading (the wasm binaries, from deno's cache).
    const run = await deno(["run", "--allow-read", "main.ts"], dir);
    assert.equal(run.code, 0, `deno run main.ts in ${dir}:\n${run.stderr}`);
    assert.equal(run.stderr, "", "the consumer's stderr (warnings)");
    const { losses, spiralLosses } = JSON.parse(run.stdout);
    assert.ok(losses.at(-1) < 0.8 * losses[0], `the neural ODE learns: ${losses}`);
    assert.ok(spiralLosses.at(-1) < spiralLosses[0], `SpiralODE learns: ${spiralLosses}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
