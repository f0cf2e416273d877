/**
 * The project's one on-disk data cache, used by every data set (the Speech Commands features,
 * the synthetic speech clips, the acrobot trajectories).
 *
 * An entry is a folder, named by its owner (usually with a hash of the settings that made it,
 * {@linkcode cacheKey}), holding data files and a `manifest.json`:
 * `{ format, key, created, meta, metaSha256, files: { <relative path>: { bytes, sha256 } } }`.
 * It is written atomically ({@linkcode writeCacheEntry}: into a temporary sibling folder,
 * manifest last, then renamed into place), and read back checked ({@linkcode readCacheEntry}):
 * the manifest must parse and name the expected key, its `meta` must match its SHA-256, every
 * listed file must have its size and SHA-256, and the owner's `decode` must accept the contents
 * (shapes, value ranges). An entry that fails any check is reported in one line naming its path
 * and the reason, and the caller rebuilds it; a corrupt entry is never used silently. The
 * temporary folders of writes that were interrupted (a killed process) are swept when a later
 * process reads the cache ({@linkcode sweepStaleCacheWrites}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { cacheKey, readCacheEntry, writeCacheEntry } from "@fasterode/fasterode/models/data";
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
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";

/** Version of the entry layout (the manifest's fields); entries of another version are rebuilt.
 * 2: the manifest records the SHA-256 of its `meta` (`metaSha256`). */
export const CACHE_FORMAT = 2;

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
  /** SHA-256 of `JSON.stringify(meta)`: a hand-edited or damaged `meta` is caught too. */
  metaSha256: string;
  /** Every data file of the entry by its path relative to the entry folder (`/`-separated). */
  files: Record<string, CacheFileDigest>;
}

/**
 * The SHA-256 of `data` (a string is hashed as UTF-8), as lowercase hex.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sha256Hex } from "@fasterode/fasterode/models/data";
 * assert.equal(
 *   await sha256Hex("abc"),
 *   "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
 * );
 * ```
 *
 * @param data Bytes, or text.
 * @returns 64 hex digits.
 */
export function sha256Hex(data: Uint8Array | string): Promise<string> {
  // node:crypto's hash is about twice as fast as WebCrypto's on small files, and streams.
  return Promise.resolve(createHash("sha256").update(data).digest("hex"));
}

/** Files up to this size are hashed from one read; larger ones are streamed. */
const WHOLE_READ_BYTES = 8 << 20;

/**
 * The SHA-256 (lowercase hex) and size of the file at `path`, read once: in one piece up to
 * 8 MiB, streamed in chunks above (so that a large file is never held in memory).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { sha256File, sha256Hex } from "@fasterode/fasterode/models/data";
 *
 * const path = join(await Deno.makeTempDir(), "a.txt");
 * await Deno.writeTextFile(path, "abc");
 * assert.deepEqual(await sha256File(path), { bytes: 3, sha256: await sha256Hex("abc") });
 * await Deno.remove(join(path, ".."), { recursive: true });
 * ```
 *
 * @param path The file.
 * @returns Its size in bytes and its SHA-256.
 * @throws {Deno.errors.NotFound} If there is no such file (and other file-system errors).
 */
export async function sha256File(path: string): Promise<CacheFileDigest> {
  const { size } = await Deno.stat(path);
  if (size <= WHOLE_READ_BYTES) {
    const all = await Deno.readFile(path);
    return { bytes: all.byteLength, sha256: createHash("sha256").update(all).digest("hex") };
  }
  const file = await Deno.open(path, { read: true });
  const hash = createHash("sha256");
  let bytes = 0;
  try {
    for await (const chunk of file.readable) { // closes the file at its end
      hash.update(chunk);
      bytes += chunk.byteLength;
    }
  } finally {
    try {
      file.close();
    } catch { /* already closed by its readable */ }
  }
  return { bytes, sha256: hash.digest("hex") };
}

/**
 * The key of the settings `value`: the SHA-256 (hex) of `JSON.stringify(value)`. Put everything
 * that determines the entry's contents in `value` (settings, a format number of the owner's
 * preprocessing, the inputs' identity), so that any change gives another key.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cacheKey } from "@fasterode/fasterode/models/data";
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

/** The name of an entry's temporary folder while it is written: `<entry>.tmp-<pid>-<random>`. */
const TEMP_NAME = /^(.+)\.tmp-(\d+)-[0-9a-z]+$/;

/** A temporary folder whose process cannot be checked is stale after this long. */
const STALE_AFTER_MS = 24 * 3600 * 1000;

/** Whether process `pid` is running on this machine: `undefined` where that cannot be told
 * (no `/proc`, or no permission to read it). */
async function processAlive(pid: number): Promise<boolean | undefined> {
  try {
    await Deno.stat(`/proc/${pid}`);
    return true;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) return undefined;
    try {
      await Deno.stat("/proc/self");
      return false; // /proc works here, and the process is gone
    } catch {
      return undefined;
    }
  }
}

/**
 * Removes the temporary folders of interrupted cache writes in `dir` (`<entry>.tmp-<pid>-<random>`,
 * left by a process killed during {@linkcode writeCacheEntry}): those whose process is no longer
 * running (checked through `/proc`), or, where that cannot be checked, that are older than a day.
 * The current process's own folders are never touched. {@linkcode readCacheEntry} calls it on
 * the entry's folder, so that every data set sweeps its cache when it starts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { sweepStaleCacheWrites } from "@fasterode/fasterode/models/data";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.mkdir(join(dir, "entry.tmp-999999999-abc")); // no such process
 * assert.deepEqual(await sweepStaleCacheWrites(dir, () => {}), ["entry.tmp-999999999-abc"]);
 * assert.deepEqual([...Deno.readDirSync(dir)], []);
 * await Deno.remove(dir);
 * ```
 *
 * @param dir The folder holding cache entries (a missing folder has nothing to sweep).
 * @param warn Receives one line naming what was removed, if anything. Default `console.warn`.
 * @returns The names of the removed folders.
 */
export async function sweepStaleCacheWrites(
  dir: string,
  warn: (message: string) => void = console.warn,
): Promise<string[]> {
  const stale: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      const m = TEMP_NAME.exec(e.name);
      if (!e.isDirectory || m === null) continue;
      const pid = Number(m[2]);
      if (pid === Deno.pid) continue;
      let gone = await processAlive(pid).then((alive) => alive === undefined ? undefined : !alive);
      if (gone === undefined) {
        const { mtime } = await Deno.stat(join(dir, e.name));
        gone = mtime !== null && Date.now() - mtime.getTime() > STALE_AFTER_MS;
      }
      if (gone) stale.push(e.name);
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  const removed: string[] = [];
  for (const name of stale.sort()) {
    try {
      await Deno.remove(join(dir, name), { recursive: true });
      removed.push(name);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e; // another process swept it first
    }
  }
  if (removed.length > 0) {
    warn(
      `removed ${removed.length} unfinished cache write${removed.length === 1 ? "" : "s"} ` +
        `(interrupted) in ${dir}: ${removed.join(", ")}`,
    );
  }
  return removed;
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
  if (manifest.metaSha256 !== await sha256Hex(JSON.stringify(manifest.meta) ?? "")) {
    return `${CACHE_MANIFEST}'s meta does not match its SHA-256 (edited or corrupt)`;
  }
  const listed = manifest.files;
  if (listed === null || typeof listed !== "object") return `${CACHE_MANIFEST} lists no files`;
  const files = new Map<string, Uint8Array>();
  for (const [name, digest] of Object.entries(listed)) {
    const file = join(path, name);
    let bytes: Uint8Array | undefined, actual: CacheFileDigest;
    try {
      if (load) {
        bytes = await Deno.readFile(file);
        actual = { bytes: bytes.byteLength, sha256: await sha256Hex(bytes) };
      } else {
        actual = await sha256File(file); // streamed, nothing kept
      }
    } catch (e) {
      return e instanceof Deno.errors.NotFound ? `${name} is missing` : `cannot read ${name}: ${e}`;
    }
    if (actual.bytes !== digest?.bytes) {
      return `${name} has ${actual.bytes} bytes, the manifest says ${digest?.bytes}`;
    }
    if (actual.sha256 !== digest.sha256) {
      return `${name} does not match its SHA-256 (corrupt)`;
    }
    if (bytes !== undefined) files.set(name, bytes);
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
 * import { readCacheEntry, writeCacheEntry } from "@fasterode/fasterode/models/data";
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
  await sweepStaleCacheWrites(dirname(path), warn);
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
 * import { writeCacheEntry } from "@fasterode/fasterode/models/data";
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
      files[name] = await sha256File(join(tmp, name));
    }
    manifest = {
      format: CACHE_FORMAT,
      key,
      created: new Date().toISOString(),
      meta,
      metaSha256: await sha256Hex(JSON.stringify(meta) ?? ""),
      files,
    };
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
