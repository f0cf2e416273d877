/**
 * Saved weights: any list of tensors (a model's `variables`, an optimiser's moments) in `tf.io`'s
 * weight encoding (`tf.io.encodeWeights`: one binary buffer plus its specs), beside a JSON
 * manifest the caller fills (model options, settings, data key, epoch, optimiser and generator
 * state, …), in one folder:
 *
 * ```
 * <dir>/checkpoint.json        { format, version, saved, weights: { file, bytes, sha256, specs },
 *                                manifest }
 * <dir>/weights-<sha256:16>.bin
 * ```
 *
 * Writes are atomic and never leave a half-written checkpoint: the weights go to a new file named
 * by their hash, then `checkpoint.json` is replaced by rename (the commit), then weight files it
 * no longer names are removed. Each file is first written into a temporary folder
 * `<dir>/<file>.tmp-<pid>-<random>` and renamed out of it, so an interrupted write leaves only
 * such a folder, which the next save or load sweeps (the data cache's rule,
 * `sweepStaleCacheWrites`). Reads check the format, the size and SHA-256 of the weights and
 * every tensor's shape, and fail with a {@link CheckpointError} naming the file and the fault.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { sha256Hex, sweepStaleCacheWrites } from "./data/mod.ts";

/** The checkpoint file's name inside its folder. */
export const CHECKPOINT_FILE = "checkpoint.json";

/** The `format` field of a checkpoint file. */
export const CHECKPOINT_FORMAT = "fasterode-checkpoint";

/** The version of the layout written. */
export const CHECKPOINT_VERSION = 1;

/** A checkpoint that cannot be used: missing, corrupt, or not what the reader expected. */
export class CheckpointError extends Error {
  /** The checkpoint file (or folder) at fault. */
  readonly path: string;

  /** An error about the checkpoint at `path`. */
  constructor(path: string, message: string) {
    super(`checkpoint ${path}: ${message}`);
    this.name = "CheckpointError";
    this.path = path;
  }
}

/** One saved tensor: a name and the tensor (`tf.io.NamedTensor`). */
export type NamedTensor = { name: string; tensor: tf.Tensor };

/** One tensor's entry in the weights file, as `tf.io.encodeWeights` writes it. */
export interface WeightSpec {
  /** The tensor's name. */
  name: string;
  /** Its shape. */
  shape: number[];
  /** Its dtype (`float32`, `int32`, …). */
  dtype: string;
}

/** What `checkpoint.json` holds. */
export interface CheckpointFile<M> {
  /** Always {@link CHECKPOINT_FORMAT}. */
  format: string;
  /** {@link CHECKPOINT_VERSION}. */
  version: number;
  /** When it was written (ISO 8601). */
  saved: string;
  /** The weights file, its size and hash, and `tf.io`'s specs of its tensors, in order. */
  weights: { file: string; bytes: number; sha256: string; specs: WeightSpec[] };
  /** The caller's manifest. */
  manifest: M;
}

/** What {@link readCheckpoint} returns. */
export interface Checkpoint<M> {
  /** The saved tensors, in the order saved (new tensors, the caller's to dispose). */
  tensors: NamedTensor[];
  /** The caller's manifest, as saved. */
  manifest: M;
  /** When it was saved. */
  saved: string;
  /** The checkpoint file. */
  path: string;
}

/** Writes `bytes` to `dir/name` atomically through a temporary folder the sweep recognises. */
async function writeAtomic(dir: string, name: string, bytes: Uint8Array): Promise<void> {
  const tmp = join(dir, `${name}.tmp-${Deno.pid}-${Math.random().toString(36).slice(2)}`);
  await Deno.mkdir(tmp);
  try {
    const file = await Deno.open(join(tmp, name), { write: true, createNew: true });
    try {
      let written = 0;
      while (written < bytes.length) written += await file.write(bytes.subarray(written));
      await file.syncData();
    } finally {
      file.close();
    }
    await Deno.rename(join(tmp, name), join(dir, name));
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

/** Whether `path` exists. */
async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * Whether `dir` holds a checkpoint file (it may still be corrupt: {@link readCheckpoint} checks).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hasCheckpoint } from "@fasterode/fasterode/models";
 * assert.equal(await hasCheckpoint(await Deno.makeTempDir()), false);
 * ```
 */
export function hasCheckpoint(dir: string): Promise<boolean> {
  return exists(join(dir, CHECKPOINT_FILE));
}

/**
 * Saves `tensors` and `manifest` as the checkpoint in `dir` (created if missing), replacing the
 * one there atomically (see the module docs): a reader sees the old checkpoint or the new one,
 * never a mix. The manifest must be JSON-serialisable. Returns the checkpoint file's path.
 *
 * @example Save two tensors and read them back
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { readCheckpoint, saveCheckpoint } from "@fasterode/fasterode/models";
 * const dir = await Deno.makeTempDir();
 * const a = tf.tensor2d([[1, 2], [3, 4]]), b = tf.scalar(5, "int32");
 * await saveCheckpoint(dir, [{ name: "a", tensor: a }, { name: "b", tensor: b }], { epoch: 3 });
 * const read = await readCheckpoint<{ epoch: number }>(dir);
 * assert.equal(read.manifest.epoch, 3);
 * assert.deepEqual(read.tensors.map((t) => t.name), ["a", "b"]);
 * assert.deepEqual(await read.tensors[0].tensor.array(), [[1, 2], [3, 4]]);
 * assert.equal(read.tensors[1].tensor.dtype, "int32");
 * tf.dispose([a, b, ...read.tensors.map((t) => t.tensor)]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function saveCheckpoint(
  dir: string,
  tensors: NamedTensor[],
  manifest: unknown,
): Promise<string> {
  if (!Array.isArray(tensors) || tensors.some((t) => !(t?.tensor instanceof tf.Tensor))) {
    throw new TypeError("saveCheckpoint: tensors must be a list of { name, tensor: tf.Tensor }");
  }
  const names = new Set<string>();
  for (const { name } of tensors) {
    if (typeof name !== "string" || names.has(name)) {
      throw new TypeError(
        `saveCheckpoint: tensor names must be distinct strings; "${name}" is not`,
      );
    }
    names.add(name);
  }
  const manifestText = JSON.stringify(manifest); // fails on cycles and BigInts, before any write
  if (manifestText === undefined) throw new TypeError("saveCheckpoint: manifest is not JSON");
  await Deno.mkdir(dir, { recursive: true });
  await sweepStaleCacheWrites(dir, () => {});
  const { data, specs } = await tf.io.encodeWeights(tensors);
  const bytes = new Uint8Array(data as ArrayBuffer);
  const sha256 = await sha256Hex(bytes);
  const file = `weights-${sha256.slice(0, 16)}.bin`;
  if (!(await exists(join(dir, file)))) await writeAtomic(dir, file, bytes);
  const record: CheckpointFile<unknown> = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    saved: new Date().toISOString(),
    weights: { file, bytes: bytes.byteLength, sha256, specs: specs as WeightSpec[] },
    manifest: JSON.parse(manifestText),
  };
  await writeAtomic(dir, CHECKPOINT_FILE, new TextEncoder().encode(JSON.stringify(record)));
  // The commit is done; weight files it does not name are from older checkpoints.
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && /^weights-[0-9a-f]{16}\.bin$/.test(e.name) && e.name !== file) {
      await Deno.remove(join(dir, e.name)).catch(() => {});
    }
  }
  return join(dir, CHECKPOINT_FILE);
}

/**
 * Reads the checkpoint in `dir`, checked: a {@link CheckpointError} naming the file when there is
 * none, it is not valid JSON or not a checkpoint, or the weights file is missing or differs in
 * size or SHA-256 from what the checkpoint says (corrupt). Stale temporary folders of interrupted
 * writes are swept first.
 *
 * @example A corrupt weights file is refused
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { join } from "node:path";
 * import { readCheckpoint, saveCheckpoint } from "@fasterode/fasterode/models";
 * const dir = await Deno.makeTempDir();
 * const a = tf.ones([4]);
 * await saveCheckpoint(dir, [{ name: "a", tensor: a }], {});
 * const bin = [...Deno.readDirSync(dir)].find((e) => e.name.endsWith(".bin"))!.name;
 * const bytes = Deno.readFileSync(join(dir, bin));
 * bytes[3] ^= 0xff;
 * Deno.writeFileSync(join(dir, bin), bytes);
 * await assert.rejects(readCheckpoint(dir), /does not match its SHA-256 \(corrupt\)/);
 * a.dispose();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readCheckpoint<M = unknown>(dir: string): Promise<Checkpoint<M>> {
  const path = join(dir, CHECKPOINT_FILE);
  await sweepStaleCacheWrites(dir, () => {});
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new CheckpointError(path, "no such file (no checkpoint was saved in this folder)");
    }
    throw new CheckpointError(path, `cannot read it: ${(e as Error).message}`);
  }
  let record: CheckpointFile<M>;
  try {
    record = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(path, `not valid JSON (corrupt): ${(e as Error).message}`);
  }
  if (record === null || typeof record !== "object" || record.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(path, `not a ${CHECKPOINT_FORMAT} file`);
  }
  if (record.version !== CHECKPOINT_VERSION) {
    throw new CheckpointError(
      path,
      `version ${record.version}; this code reads version ${CHECKPOINT_VERSION}`,
    );
  }
  const w = record.weights;
  if (
    w === null || typeof w !== "object" || typeof w.file !== "string" || !Array.isArray(w.specs) ||
    /[\/\\]/.test(w.file)
  ) {
    throw new CheckpointError(path, "its weights entry is malformed (corrupt)");
  }
  const binPath = join(dir, w.file);
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(binPath);
  } catch (e) {
    throw new CheckpointError(
      binPath,
      e instanceof Deno.errors.NotFound ? "missing (the checkpoint names it)" : String(e),
    );
  }
  if (bytes.byteLength !== w.bytes) {
    throw new CheckpointError(binPath, `has ${bytes.byteLength} bytes, ${path} says ${w.bytes}`);
  }
  if (await sha256Hex(bytes) !== w.sha256) {
    throw new CheckpointError(binPath, "does not match its SHA-256 (corrupt)");
  }
  let decoded: tf.NamedTensorMap;
  try {
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    decoded = tf.io.decodeWeights(
      buffer as ArrayBuffer,
      w.specs as unknown as tf.io.WeightsManifestEntry[],
    );
  } catch (e) {
    throw new CheckpointError(binPath, `cannot be decoded: ${(e as Error).message}`);
  }
  const tensors = w.specs.map((s) => ({ name: s.name, tensor: decoded[s.name] }));
  return { tensors, manifest: record.manifest, saved: record.saved, path };
}

/** A variable's name without its model prefix (`neuralcde3/field/0/W` → `field/0/W`). */
function localName(name: string): string {
  const i = name.indexOf("/");
  return i < 0 ? name : name.slice(i + 1);
}

/**
 * Checks that saved tensors fit `variables`, by position: the counts must agree, and each pair's
 * shape and dtype (and the name after the model's prefix, where both have one: models name
 * their variables `<model>/<part>`), else a {@link CheckpointError} naming the first mismatch.
 * `path` names the checkpoint in messages.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { checkSaved } from "@fasterode/fasterode/models";
 * const v = tf.variable(tf.zeros([2]), true, "m2/w");
 * const saved = [{ name: "m0/w", tensor: tf.zeros([3]) }];
 * assert.throws(() => checkSaved([v], saved, "here"), /float32 \[3\], the model's "m2\/w" is float32 \[2\]/);
 * assert.throws(() => checkSaved([v], [], "here"), /holds 0 tensors, the model has 1/);
 * tf.dispose([v, saved[0].tensor]);
 * ```
 */
export function checkSaved(
  variables: { name: string; shape: number[]; dtype: string }[],
  saved: NamedTensor[],
  path: string,
): void {
  if (saved.length !== variables.length) {
    throw new CheckpointError(
      path,
      `holds ${saved.length} tensors, the model has ${variables.length} variables (another model?)`,
    );
  }
  variables.forEach((v, i) => {
    const s = saved[i];
    const named = v.name.includes("/") && s.name.includes("/");
    if (named && localName(v.name) !== localName(s.name)) {
      throw new CheckpointError(path, `tensor ${i} is "${s.name}", the model's is "${v.name}"`);
    }
    if (!tf.util.arraysEqual(v.shape, s.tensor.shape) || v.dtype !== s.tensor.dtype) {
      throw new CheckpointError(
        path,
        `tensor ${i} ("${s.name}") is ${s.tensor.dtype} [${s.tensor.shape}], the model's ` +
          `"${v.name}" is ${v.dtype} [${v.shape}] (another model size?)`,
      );
    }
  });
}

/**
 * Assigns saved tensors to `variables`, by position, after {@link checkSaved}'s checks (nothing
 * is assigned when one fails).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { assignSaved } from "@fasterode/fasterode/models";
 * const v = tf.variable(tf.zeros([2]), true, "m1/w");
 * const saved = [{ name: "m0/w", tensor: tf.tensor1d([1, 2]) }];
 * assignSaved([v], saved, "here");
 * assert.deepEqual(Array.from(v.dataSync()), [1, 2]);
 * tf.dispose([v, saved[0].tensor]);
 * ```
 */
export function assignSaved(variables: tf.Variable[], saved: NamedTensor[], path: string): void {
  checkSaved(variables, saved, path);
  variables.forEach((v, i) => v.assign(saved[i].tensor));
}

/**
 * Saves a model's `variables` (any list of `tf.Variable`s) and a manifest — typically the
 * options that rebuild the model — as the checkpoint in `dir`. Returns the checkpoint file.
 *
 * @example Save a model's weights, load them into a fresh one
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { loadVariables, saveVariables } from "@fasterode/fasterode/models";
 * const dir = await Deno.makeTempDir();
 * const a = [tf.variable(tf.tensor1d([1, 2, 3]), true, "a/w")];
 * await saveVariables(dir, a, { model: "toy", width: 3 });
 * const b = [tf.variable(tf.zeros([3]), true, "b/w")];
 * const manifest = await loadVariables<{ width: number }>(dir, b);
 * assert.equal(manifest.width, 3);
 * assert.deepEqual(Array.from(b[0].dataSync()), [1, 2, 3]);
 * tf.dispose([...a, ...b]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function saveVariables(
  dir: string,
  variables: tf.Variable[],
  manifest: unknown = {},
): Promise<string> {
  if (!Array.isArray(variables) || variables.some((v) => !(v instanceof tf.Variable))) {
    throw new TypeError("saveVariables: variables must be a list of tf.Variable");
  }
  return saveCheckpoint(dir, variables.map((v) => ({ name: v.name, tensor: v })), manifest);
}

/**
 * Loads the checkpoint in `dir` into `variables` (see {@link assignSaved} for the checks) and
 * returns its manifest. Leaves no tensors behind.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadVariables } from "@fasterode/fasterode/models";
 * await assert.rejects(loadVariables(await Deno.makeTempDir(), []), /no checkpoint was saved/);
 * ```
 */
export async function loadVariables<M = unknown>(
  dir: string,
  variables: tf.Variable[],
): Promise<M> {
  const read = await readCheckpoint<M>(dir);
  try {
    assignSaved(variables, read.tensors, read.path);
  } finally {
    tf.dispose(read.tensors.map((t) => t.tensor));
  }
  return read.manifest;
}
