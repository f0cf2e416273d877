/**
 * The on-disk form of the Speech Commands features (`speech_commands.ts`): each split's
 * features and labels as little-endian float32 / int32 files of a `models/data/cache.ts` entry,
 * and the checks that an entry read back fits the settings asked for (metadata, sizes, labels
 * in range, finite features).
 *
 * @module
 */
import type { MfccConfig } from "./mfcc.ts";

/** The settings a cache entry was made with (in its metadata). */
export interface Settings {
  /** Seed of the split. */
  seed: number;
  /** Fraction of clips for training. */
  trainFraction: number;
  /** Fraction of clips for validation. */
  valFraction: number;
  /** The MFCC settings (without the chunk size, which does not change the features). */
  mfcc: Omit<MfccConfig, "chunkSize">;
}

/** The metadata of a cache entry (in its manifest). */
export interface CacheMeta {
  /** The loader's format number. */
  format: number;
  /** The entry's key. */
  key: string;
  /** Class names in label order. */
  classes: string[];
  /** Observation times (frame indices). */
  times: number[];
  /** Per-MFCC-channel training mean. */
  mean: number[];
  /** Per-MFCC-channel training standard deviation. */
  std: number[];
  /** Number of dropped clips. */
  dropped: number;
  /** The dropped clips, relative to the data folder. */
  droppedFiles: string[];
  /** Channels per frame (time and the MFCCs). */
  channels: number;
  /** Clips per split. */
  sizes: { train: number; val: number; test: number };
  /** The settings. */
  settings: Settings;
  /** How many source files and bytes. */
  source: { files: number; bytes: number };
}

/** The three splits, in file order. */
export const SPLITS = ["train", "val", "test"] as const;
/** The name of a split. */
export type SplitName = typeof SPLITS[number];

/** Every split's features and labels on the host. */
export interface HostSplits {
  /** Features `[clips, frames, channels]`, row-major. */
  X: Record<SplitName, Float32Array>;
  /** Labels. */
  y: Record<SplitName, Int32Array>;
}

/**
 * The files of a cache entry: each split's features and labels, little-endian.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cacheFiles } from "./speech_cache.ts";
 *
 * const X = { train: new Float32Array(2), val: new Float32Array(0), test: new Float32Array(0) };
 * const y = { train: Int32Array.of(1), val: new Int32Array(0), test: new Int32Array(0) };
 * const files = cacheFiles({ X, y });
 * assert.deepEqual(Object.keys(files).sort(), [
 *   "test_X.f32", "test_y.i32", "train_X.f32", "train_y.i32", "val_X.f32", "val_y.i32",
 * ]);
 * assert.deepEqual(Array.from(files["train_y.i32"]), [1, 0, 0, 0]);
 * ```
 *
 * @param host The splits.
 * @returns File names and bytes.
 */
export function cacheFiles(host: HostSplits): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  for (const s of SPLITS) {
    files[`${s}_X.f32`] = toLittleEndianBytes(host.X[s]);
    files[`${s}_y.i32`] = toLittleEndianBytes(host.y[s]);
  }
  return files;
}

/** What a cache entry must hold for the settings asked for (the metadata is checked against
 * it, not trusted). */
export interface Expected {
  /** The class names, in label order. */
  classes: readonly string[];
  /** Frames per clip. */
  frames: number;
  /** Channels per frame. */
  channels: number;
  /** MFCC channels (the length of `mean` and `std`). */
  nMfcc: number;
}

/**
 * The splits of a verified cache entry; throws (the reason) on metadata that does not fit
 * the settings, sizes that do not match it, labels outside the classes, or features that are
 * not finite.
 *
 * @example Labels out of range are refused
 * ```ts
 * import assert from "node:assert/strict";
 * import { cacheFiles, type CacheMeta, decodeCache } from "./speech_cache.ts";
 *
 * const one = (v: number) => ({ X: Float32Array.of(0, 0.5), y: Int32Array.of(v) });
 * const host = (v: number) => ({
 *   X: { train: one(v).X, val: one(v).X, test: one(v).X },
 *   y: { train: one(v).y, val: one(v).y, test: one(v).y },
 * });
 * const meta = {
 *   classes: ["a", "b"], times: [0], channels: 2, mean: [0], std: [1], dropped: 0,
 *   droppedFiles: [], sizes: { train: 1, val: 1, test: 1 },
 * } as unknown as CacheMeta;
 * const files = (v: number) => new Map(Object.entries(cacheFiles(host(v))));
 * const expected = { classes: ["a", "b"], frames: 1, channels: 2, nMfcc: 1 };
 * assert.deepEqual(Array.from(decodeCache(meta, files(1), expected).y.val), [1]);
 * assert.throws(() => decodeCache(meta, files(7), expected), /train_y\.i32 holds label 7 at 0/);
 * ```
 *
 * @param meta The entry's metadata.
 * @param files Its files.
 * @param expected What the settings asked for.
 * @returns The splits.
 */
export function decodeCache(
  meta: CacheMeta,
  files: ReadonlyMap<string, Uint8Array>,
  expected: Expected,
): HostSplits {
  const { frames, channels, classes: words } = expected;
  if (meta === null || typeof meta !== "object") throw new Error(`its metadata is ${meta}`);
  if (JSON.stringify(meta.classes) !== JSON.stringify(words)) {
    const listed = Array.isArray(meta.classes) ? meta.classes : [];
    const some = listed.slice(0, 3).join(", ") + (listed.length > 3 ? ", …" : "");
    throw new Error(
      `its classes are not ${words.join(", ")} (it lists ${listed.length}: ${some})`,
    );
  }
  if (
    meta.channels !== channels || !Array.isArray(meta.times) || meta.times.length !== frames ||
    meta.times.some((t, i) => t !== i)
  ) {
    throw new Error(`it is not ${frames} frames × ${channels} channels`);
  }
  for (const name of ["mean", "std"] as const) {
    const v = meta[name];
    if (!Array.isArray(v) || v.length !== expected.nMfcc || !v.every(Number.isFinite)) {
      throw new Error(`its ${name} is not ${expected.nMfcc} finite numbers`);
    }
  }
  if (!Array.isArray(meta.droppedFiles) || meta.droppedFiles.length !== meta.dropped) {
    throw new Error(`its dropped clips are not listed`);
  }
  const classes = words.length;
  const host: HostSplits = { X: {} as HostSplits["X"], y: {} as HostSplits["y"] };
  for (const s of SPLITS) {
    const xb = files.get(`${s}_X.f32`), yb = files.get(`${s}_y.i32`);
    if (xb === undefined || yb === undefined) throw new Error(`the ${s} split's files are missing`);
    const n = meta.sizes?.[s];
    if (
      !Number.isInteger(n) || xb.byteLength !== n * frames * channels * 4 ||
      yb.byteLength !== n * 4
    ) {
      throw new Error(`the ${s} split's files do not hold ${n} clips of ${frames}×${channels}`);
    }
    const X = littleEndianFloat32(xb), y = littleEndianInt32(yb);
    const label = y.findIndex((c) => !(c >= 0 && c < classes));
    if (label >= 0) {
      throw new Error(`${s}_y.i32 holds label ${y[label]} at ${label}, not in 0…${classes - 1}`);
    }
    const value = X.findIndex((v) => !Number.isFinite(v));
    if (value >= 0) throw new Error(`${s}_X.f32 holds ${X[value]} at ${value}`);
    host.X[s] = X;
    host.y[s] = y;
  }
  return host;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The float32 values of little-endian bytes (a view when the platform allows).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { littleEndianFloat32, toLittleEndianBytes } from "./speech_cache.ts";
 * const bytes = toLittleEndianBytes(Float32Array.of(1.5, -2));
 * assert.deepEqual(Array.from(littleEndianFloat32(bytes)), [1.5, -2]);
 * ```
 *
 * @param bytes A multiple of 4 bytes.
 * @returns The values.
 */
export function littleEndianFloat32(bytes: Uint8Array): Float32Array {
  if (LITTLE_ENDIAN && bytes.byteOffset % 4 === 0) {
    return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Float32Array.from({ length: bytes.byteLength / 4 }, (_, i) => v.getFloat32(4 * i, true));
}

/**
 * The int32 values of little-endian bytes (a view when the platform allows).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { littleEndianInt32 } from "./speech_cache.ts";
 * assert.deepEqual(Array.from(littleEndianInt32(Uint8Array.of(7, 0, 0, 0, 255, 255, 255, 255))), [7, -1]);
 * ```
 *
 * @param bytes A multiple of 4 bytes.
 * @returns The values.
 */
export function littleEndianInt32(bytes: Uint8Array): Int32Array {
  if (LITTLE_ENDIAN && bytes.byteOffset % 4 === 0) {
    return new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Int32Array.from({ length: bytes.byteLength / 4 }, (_, i) => v.getInt32(4 * i, true));
}

/**
 * The little-endian bytes of float32 or int32 values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toLittleEndianBytes } from "./speech_cache.ts";
 * assert.deepEqual(Array.from(toLittleEndianBytes(Int32Array.of(258))), [2, 1, 0, 0]);
 * ```
 *
 * @param a The values.
 * @returns Their bytes (a view of `a` on little-endian platforms).
 */
export function toLittleEndianBytes(a: Float32Array | Int32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const out = new Uint8Array(a.byteLength);
  const v = new DataView(out.buffer);
  a.forEach((x, i) =>
    a instanceof Float32Array ? v.setFloat32(4 * i, x, true) : v.setInt32(4 * i, x, true)
  );
  return out;
}
