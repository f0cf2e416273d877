/**
 * The project's one on-disk data cache, used by every data set (the Speech Commands features,
 * the synthetic speech clips, the acrobot trajectories).
 *
 * An entry is a folder, named by its owner (usually with a hash of the settings that made it,
 * {@linkcode cacheKey}), holding data files and a `manifest.json`:
 * `{ format, key, created, meta, files: { <relative path>: { bytes, sha256 } } }`. It is written
 * atomically ({@linkcode writeCacheEntry}: into a temporary sibling folder, manifest last, then
 * renamed into place), and read back checked ({@linkcode readCacheEntry}): the manifest must
 * parse and name the expected key, every listed file must have its size and SHA-256, and the
 * owner's `decode` must accept the contents (shapes, value ranges). An entry that fails any
 * check is reported in one line naming its path and the reason, and the caller rebuilds it; a
 * corrupt entry is never used silently.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { cacheKey, readCacheEntry, writeCacheEntry } from "./cache.ts";
 *
 * const root = await Deno.makeTempDir();
 * const key = await cacheKey({ n: 3 });
 * const path = join(root, `squares-${key.slice(0, 16)}`);
 * const decode = (meta: { n: number }, files: ReadonlyMap<string, Uint8Array>) => {
 *   const bytes = files.get("x.u8")!;
 *   if (bytes.length !== meta.n) throw new Error(`x.u8 holds ${bytes.length} values`);
 *   return Array.from(bytes);
 * };
 * assert.equal(await readCacheEntry(path, key, { decode }), undefined); // nothing yet
 * await writeCacheEntry(path, key, { meta: { n: 3 }, files: { "x.u8": Uint8Array.of(0, 1, 4) } });
 * assert.deepEqual((await readCacheEntry(path, key, { decode }))?.value, [0, 1, 4]);
 * await Deno.remove(root, { recursive: true });
 * ```
 *
 * @module
 */
import { dirname, join } from "node:path";

/** Version of the entry layout (the manifest's fields); entries of another version are rebuilt. */
export const CACHE_FORMAT = 1;

/** Name of the manifest file in every entry folder. */
export const CACHE_MANIFEST = "manifest.json";

/** Size and SHA-256 (hex) of one file of an entry. */
export interface CacheFileDigest {
  /** Length in bytes. */
  bytes: number;
  /** SHA-256 of the contents, lowercase hex. */
  sha256: string;
}

/** The `manifest.json` of an entry. */
export interface CacheManifest<M> {
  /** {@linkcode CACHE_FORMAT} when written. */
  format: number;
  /** The key the entry was made for (its owner's hash of the settings). */
  key: string;
  /** When it was written (ISO 8601). */
  created: string;
  /** The owner's metadata (settings, shapes, statistics). */
  meta: M;
  /** Every data file of the entry by its path relative to the entry folder (`/`-separated). */
  files: Record<string, CacheFileDigest>;
}

/**
 * The SHA-256 of `data` (a string is hashed as UTF-8), as lowercase hex.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sha256Hex } from "./cache.ts";
 * assert.equal(
 *   await sha256Hex("abc"),
 *   "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
 * );
 * ```
 *
 * @param data Bytes, or text.
 * @returns 64 hex digits.
 */
export async function sha256Hex(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The key of the settings `value`: the SHA-256 (hex) of `JSON.stringify(value)`. Put everything
 * that determines the entry's contents in `value` (settings, a format number of the owner's
 * preprocessing, the inputs' identity), so that any change gives another key.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cacheKey } from "./cache.ts";
 * assert.equal(await cacheKey({ seed: 1 }), await cacheKey({ seed: 1 }));
 * assert.notEqual(await cacheKey({ seed: 1 }), await cacheKey({ seed: 2 }));
 * ```
 *
 * @param value JSON-serialisable settings (key order matters).
 * @returns 64 hex digits.
 */
export function cacheKey(value: unknown): Promise<string> {
  return sha256Hex(JSON.stringify(value));
}

/** Options of {@linkcode readCacheEntry}. */
export interface ReadCacheOptions<M, T> {
  /**
   * Turns the verified entry into the caller's value; throws (with the reason as message) if
   * the contents are not valid: wrong shapes, values out of range, NaN. Its `meta` comes from
   * disk: check what you use. `files` is empty when `load` is false.
   */
  decode: (meta: M, files: ReadonlyMap<string, Uint8Array>) => T;
  /** Keep the files' bytes for `decode` (default true); with false they are verified, then
   * dropped (for entries that are used as folders, such as a set of WAV files). */
  load?: boolean;
  /** Receives the one-line report of an unusable entry. Default `console.warn`. */
  warn?: (message: string) => void;
}

/** Why an entry cannot be used (a message), or its manifest and files. */
type Verified<M> = { manifest: CacheManifest<M>; files: Map<string, Uint8Array> } | string;

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** Checks the manifest and every file's size and hash; `undefined` if there is no entry. */
async function verify<M>(
  path: string,
  key: string,
  load: boolean,
): Promise<Verified<M> | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(join(path, CACHE_MANIFEST));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) return `cannot read ${CACHE_MANIFEST}: ${e}`;
    // A folder without a manifest is an interrupted or older entry; no folder is no entry.
    return (await exists(path)) ? `no ${CACHE_MANIFEST} (an unfinished or older entry)` : undefined;
  }
  let manifest: CacheManifest<M>;
  try {
    manifest = JSON.parse(text);
  } catch (e) {
    return `${CACHE_MANIFEST} is not valid JSON (${e instanceof Error ? e.message : e})`;
  }
  if (manifest === null || typeof manifest !== "object" || Array.isArray(manifest)) {
    return `${CACHE_MANIFEST} is not an object`;
  }
  if (manifest.format !== CACHE_FORMAT) {
    return `${CACHE_MANIFEST} has format ${manifest.format}, expected ${CACHE_FORMAT}`;
  }
  if (manifest.key !== key) return `${CACHE_MANIFEST} names key ${manifest.key}, expected ${key}`;
  const listed = manifest.files;
  if (listed === null || typeof listed !== "object") return `${CACHE_MANIFEST} lists no files`;
  const files = new Map<string, Uint8Array>();
  for (const [name, digest] of Object.entries(listed)) {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(join(path, name));
    } catch (e) {
      return e instanceof Deno.errors.NotFound ? `${name} is missing` : `cannot read ${name}: ${e}`;
    }
    if (bytes.byteLength !== digest?.bytes) {
      return `${name} has ${bytes.byteLength} bytes, the manifest says ${digest?.bytes}`;
    }
    if ((await sha256Hex(bytes)) !== digest.sha256) {
      return `${name} does not match its SHA-256 (corrupt)`;
    }
    if (load) files.set(name, bytes);
  }
  return { manifest, files };
}

/**
 * Reads the cache entry at `path` made for `key`, checked: `undefined` when there is none, or
 * when it is unusable — a manifest that is missing (an interrupted write), unparsable, of
 * another format or key; a listed file missing, of another size or hash; or contents that
 * `decode` rejects. An unusable entry is reported through `warn` in one line naming `path`
 * and the reason; the caller then rebuilds it (and {@linkcode writeCacheEntry} replaces it).
 *
 * @example A corrupt entry is reported and not used
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { readCacheEntry, writeCacheEntry } from "./cache.ts";
 *
 * const path = join(await Deno.makeTempDir(), "entry");
 * await writeCacheEntry(path, "k", { meta: {}, files: { "a.bin": Uint8Array.of(1, 2) } });
 * await Deno.writeFile(join(path, "a.bin"), Uint8Array.of(1, 3)); // same size, other bytes
 * const warnings: string[] = [];
 * const read = await readCacheEntry(path, "k", {
 *   decode: () => "used",
 *   warn: (m) => warnings.push(m),
 * });
 * assert.equal(read, undefined);
 * assert.match(warnings[0], /entry .* is unusable: a\.bin does not match its SHA-256/);
 * await Deno.remove(join(path, ".."), { recursive: true });
 * ```
 *
 * @param path The entry folder.
 * @param key The key it must have been written for.
 * @param options `decode` (validation into the caller's value), `load`, `warn`.
 * @returns The manifest's metadata and the decoded value, or `undefined`.
 */
export async function readCacheEntry<M, T>(
  path: string,
  key: string,
  options: ReadCacheOptions<M, T>,
): Promise<{ meta: M; value: T } | undefined> {
  const { decode, load = true, warn = console.warn } = options;
  const verified = await verify<M>(path, key, load);
  if (verified === undefined) return undefined;
  let reason: string;
  if (typeof verified === "string") {
    reason = verified;
  } else {
    try {
      return {
        meta: verified.manifest.meta,
        value: decode(verified.manifest.meta, verified.files),
      };
    } catch (e) {
      reason = e instanceof Error ? e.message : String(e);
    }
  }
  warn(`cache entry ${path} is unusable: ${reason}; rebuilding it`);
  return undefined;
}

/** What {@linkcode writeCacheEntry} stores: metadata and files in memory, or a function that
 * writes the files into the folder it is given and returns the metadata. */
export type CacheContents<M> =
  | { meta: M; files: Record<string, Uint8Array> }
  | ((dir: string) => Promise<M>);

/** Every file under `dir`, as `/`-separated paths relative to it, sorted. */
async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(join(dir, prefix))) {
    const rel = prefix === "" ? e.name : `${prefix}/${e.name}`;
    if (e.isDirectory) out.push(...await listFiles(dir, rel));
    else if (e.isFile) out.push(rel);
  }
  return out.sort();
}

/**
 * Writes the cache entry `path` for `key` atomically: the files go into a temporary sibling
 * folder (`<path>.tmp-<pid>-<random>`), then the manifest with every file's size and SHA-256,
 * then any old entry at `path` is removed and the folder renamed into place. A reader thus sees
 * no entry or a complete one. If the contents fail to build, the temporary folder is removed
 * and the error thrown; if the rename fails because another process wrote a valid entry for
 * the same key meanwhile, that one is kept.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { writeCacheEntry } from "./cache.ts";
 *
 * const root = await Deno.makeTempDir();
 * const manifest = await writeCacheEntry(join(root, "e"), "k", async (dir) => {
 *   await Deno.mkdir(join(dir, "sub"));
 *   await Deno.writeTextFile(join(dir, "sub", "a.txt"), "hi");
 *   return { made: "by hand" };
 * });
 * assert.deepEqual(Object.keys(manifest.files), ["sub/a.txt"]);
 * assert.deepEqual([...Deno.readDirSync(root)].map((e) => e.name), ["e"]);
 * await Deno.remove(root, { recursive: true });
 * ```
 *
 * @param path The entry folder (its parent is created if missing).
 * @param key The key to record (see {@linkcode cacheKey}).
 * @param contents The metadata and files, or a function that writes the files into a folder.
 * @returns The manifest written.
 * @throws {Error} If the contents cannot be built or written.
 */
export async function writeCacheEntry<M>(
  path: string,
  key: string,
  contents: CacheContents<M>,
): Promise<CacheManifest<M>> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${Deno.pid}-${Math.random().toString(36).slice(2)}`;
  await Deno.mkdir(tmp);
  let manifest: CacheManifest<M>;
  try {
    let meta: M;
    if (typeof contents === "function") {
      meta = await contents(tmp);
    } else {
      meta = contents.meta;
      for (const [name, bytes] of Object.entries(contents.files)) {
        await Deno.mkdir(dirname(join(tmp, name)), { recursive: true });
        await Deno.writeFile(join(tmp, name), bytes);
      }
    }
    const files: Record<string, CacheFileDigest> = {};
    for (const name of await listFiles(tmp)) {
      if (name === CACHE_MANIFEST) {
        throw new Error(`writeCacheEntry: ${path}: a data file may not be named ${CACHE_MANIFEST}`);
      }
      const bytes = await Deno.readFile(join(tmp, name));
      files[name] = { bytes: bytes.byteLength, sha256: await sha256Hex(bytes) };
    }
    manifest = { format: CACHE_FORMAT, key, created: new Date().toISOString(), meta, files };
    await Deno.writeTextFile(join(tmp, CACHE_MANIFEST), JSON.stringify(manifest, null, 1) + "\n");
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw e;
  }
  try {
    await Deno.remove(path, { recursive: true }).catch(() => {}); // a stale or broken entry
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    // Another process may have written the same entry meanwhile; that one is as good.
    const other = await verify<M>(path, key, false);
    if (other === undefined || typeof other === "string") throw e;
    return other.manifest;
  }
  return manifest;
}
