// The data cache with real files in a temporary folder: round trip, and every kind of damage
// (flipped bytes, truncation, a missing file, a broken, null or foreign manifest, an interrupted
// write, contents the owner rejects) detected, reported with the entry's path, and rebuilt.

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  CACHE_FORMAT,
  CACHE_MANIFEST,
  cacheKey,
  readCacheEntry,
  sha256File,
  sha256Hex,
  sweepStaleCacheWrites,
  writeCacheEntry,
} from "../../../models/data/cache.ts";

interface Meta {
  n: number;
}

/** The owner's check: `x.f32` holds `n` finite float32 values. */
function decode(meta: Meta, files: ReadonlyMap<string, Uint8Array>): Float32Array {
  const bytes = files.get("x.f32");
  if (bytes === undefined) throw new Error("x.f32 is not listed");
  const x = new Float32Array(bytes.slice().buffer);
  if (x.length !== meta.n) throw new Error(`x.f32 holds ${x.length} values, expected ${meta.n}`);
  if (!x.every(Number.isFinite)) throw new Error("x.f32 holds NaN or Inf");
  return x;
}

const X = Float32Array.from([1, 2, 3, 4]);
const contents = { meta: { n: 4 }, files: { "x.f32": new Uint8Array(X.buffer) } };

async function withEntry(
  fn: (
    path: string,
    key: string,
    read: () => Promise<unknown>,
    warnings: string[],
  ) => Promise<void>,
): Promise<void> {
  const root = await Deno.makeTempDir();
  try {
    const key = await cacheKey({ n: 4 });
    const path = join(root, `x-${key.slice(0, 16)}`);
    await writeCacheEntry(path, key, contents);
    const warnings: string[] = [];
    const read = async () =>
      (await readCacheEntry(path, key, { decode, warn: (m) => warnings.push(m) }))?.value;
    await fn(path, key, read, warnings);
    // Nothing but the entry is left behind (no temporary folders).
    assert.deepEqual([...Deno.readDirSync(root)].map((e) => e.name), [`x-${key.slice(0, 16)}`]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("cache: keys, round trip, manifest", async () => {
  assert.equal((await cacheKey({ a: 1 })).length, 64);
  assert.notEqual(await cacheKey({ a: 1 }), await cacheKey({ a: 2 }));
  await withEntry(async (path, key, read, warnings) => {
    assert.deepEqual(await read(), X);
    assert.equal(warnings.length, 0);
    const manifest = JSON.parse(await Deno.readTextFile(join(path, CACHE_MANIFEST)));
    assert.equal(manifest.format, CACHE_FORMAT);
    assert.equal(manifest.key, key);
    assert.deepEqual(manifest.meta, { n: 4 });
    assert.deepEqual(Object.keys(manifest.files), ["x.f32"]);
    assert.equal(manifest.files["x.f32"].bytes, 16);
    // No entry at all: undefined, and nothing reported.
    const none = await readCacheEntry(join(path, "..", "none"), key, {
      decode,
      warn: (m) => warnings.push(m),
    });
    assert.equal(none, undefined);
    assert.equal(warnings.length, 0);
  });
});

/** Damages an entry, checks it is reported (path and reason) and not used, then rebuilt. */
async function damaged(
  damage: (path: string) => Promise<void>,
  reason: RegExp,
  key?: string,
): Promise<void> {
  await withEntry(async (path, rightKey, read, warnings) => {
    await damage(path);
    const value = key === undefined
      ? await read()
      : (await readCacheEntry(path, key, { decode, warn: (m) => warnings.push(m) }))?.value;
    assert.equal(value, undefined);
    assert.equal(warnings.length, 1);
    assert.ok(warnings[0].startsWith(`cache entry ${path} is unusable: `), warnings[0]);
    assert.match(warnings[0], reason);
    assert.match(warnings[0], /rebuilding it$/);
    // Rebuilding replaces the damaged entry.
    await writeCacheEntry(path, rightKey, contents);
    assert.deepEqual(await read(), X);
    assert.equal(warnings.length, 1);
  });
}

Deno.test("cache: flipped bytes are caught by the hash", async () => {
  await damaged(async (path) => {
    const bytes = await Deno.readFile(join(path, "x.f32"));
    bytes[5] ^= 0xff;
    await Deno.writeFile(join(path, "x.f32"), bytes);
  }, /x\.f32 does not match its SHA-256 \(corrupt\)/);
});

Deno.test("cache: a truncated or missing file", async () => {
  await damaged(
    (path) => Deno.truncate(join(path, "x.f32"), 10),
    /x\.f32 has 10 bytes, the manifest says 16/,
  );
  await damaged((path) => Deno.remove(join(path, "x.f32")), /x\.f32 is missing/);
});

Deno.test("cache: a broken, empty, null or foreign manifest", async () => {
  const manifest = (path: string) => join(path, CACHE_MANIFEST);
  await damaged((path) => Deno.truncate(manifest(path), 20), /manifest\.json is not valid JSON/);
  await damaged((path) => Deno.writeTextFile(manifest(path), ""), /not valid JSON/);
  await damaged((path) => Deno.writeTextFile(manifest(path), "null"), /is not an object/);
  await damaged(async (path) => {
    const m = JSON.parse(await Deno.readTextFile(manifest(path)));
    await Deno.writeTextFile(manifest(path), JSON.stringify({ ...m, format: 0 }));
  }, /has format 0, expected 2/);
  // A hand edit of the metadata (which the files' hashes do not cover) is caught by its hash.
  await damaged(async (path) => {
    const m = JSON.parse(await Deno.readTextFile(manifest(path)));
    await Deno.writeTextFile(manifest(path), JSON.stringify({ ...m, meta: { n: 3 } }));
  }, /manifest\.json's meta does not match its SHA-256 \(edited or corrupt\)/);
  // An entry read for other settings (a key clash of the folder name) is not served.
  await damaged(async () => {}, /names key [0-9a-f]{64}, expected other/, "other");
});

Deno.test("cache: an interrupted write (a folder without manifest) is rebuilt", async () => {
  await damaged(
    (path) => Deno.remove(join(path, CACHE_MANIFEST)),
    /no manifest\.json \(an unfinished or older entry\)/,
  );
});

Deno.test("cache: contents the owner rejects (NaN, wrong size in meta)", async () => {
  await damaged(async (path) => {
    // Consistent hashes, but NaN inside: rewrite the entry as a writer with a bug would.
    const key = JSON.parse(await Deno.readTextFile(join(path, CACHE_MANIFEST))).key;
    const bad = Float32Array.from([1, NaN, 3, 4]);
    await writeCacheEntry(path, key, {
      meta: { n: 4 },
      files: { "x.f32": new Uint8Array(bad.buffer) },
    });
  }, /x\.f32 holds NaN or Inf/);
  await damaged(async (path) => {
    const key = JSON.parse(await Deno.readTextFile(join(path, CACHE_MANIFEST))).key;
    await writeCacheEntry(path, key, { meta: { n: 5 }, files: contents.files });
  }, /x\.f32 holds 4 values, expected 5/);
});

Deno.test("cache: a failing build leaves no entry and no temporary folder", async () => {
  const root = await Deno.makeTempDir();
  try {
    const path = join(root, "sub", "e");
    await assert.rejects(
      writeCacheEntry(path, "k", async (dir) => {
        await Deno.writeTextFile(join(dir, "half.txt"), "…");
        throw new Error("espeak-ng failed");
      }),
      /espeak-ng failed/,
    );
    assert.deepEqual([...Deno.readDirSync(join(root, "sub"))], []);
    // A folder entry with nested files, verified without keeping the bytes.
    await writeCacheEntry(path, "k", async (dir) => {
      await Deno.mkdir(join(dir, "yes"));
      await Deno.writeFile(join(dir, "yes", "a.wav"), Uint8Array.of(1, 2, 3));
      return { count: 1 };
    });
    const read = await readCacheEntry(path, "k", {
      load: false,
      decode: (meta: { count: number }, files) => ({ count: meta.count, kept: files.size }),
    });
    assert.deepEqual(read, { meta: { count: 1 }, value: { count: 1, kept: 0 } });
    await assert.rejects(
      writeCacheEntry(path, "k", { meta: {}, files: { [CACHE_MANIFEST]: Uint8Array.of(1) } }),
      /may not be named manifest\.json/,
    );
    assert.deepEqual([...Deno.readDirSync(join(root, "sub"))].map((e) => e.name), ["e"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("cache: sha256File hashes small files whole and large ones streamed, the same", async () => {
  const root = await Deno.makeTempDir();
  try {
    // 9 MiB: above the 8 MiB whole-read limit, so streamed in chunks.
    const big = Uint8Array.from({ length: 9 << 20 }, (_, i) => (i * 2654435761) >>> 24);
    await Deno.writeFile(join(root, "big.bin"), big);
    assert.deepEqual(await sha256File(join(root, "big.bin")), {
      bytes: big.byteLength,
      sha256: await sha256Hex(big),
    });
    await Deno.writeFile(join(root, "empty.bin"), new Uint8Array(0));
    assert.deepEqual(await sha256File(join(root, "empty.bin")), {
      bytes: 0,
      // SHA-256 of the empty string (FIPS 180-2 test vector).
      sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    });
    await assert.rejects(sha256File(join(root, "none.bin")), Deno.errors.NotFound);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("cache: temporary folders of interrupted writes are swept when the cache is read", async () => {
  const root = await Deno.makeTempDir();
  try {
    const key = await cacheKey({ n: 4 });
    const path = join(root, "x");
    await writeCacheEntry(path, key, contents);
    // A write killed half-way by another process (pid 999999999 is above Linux's pid_max, so
    // never running), one of this process (in flight: kept), and look-alikes that are not ours.
    const dead = `x.tmp-999999999-k3j4`, mine = `y.tmp-${Deno.pid}-abc`;
    await Deno.mkdir(join(root, dead, "yes"), { recursive: true });
    await Deno.writeFile(join(root, dead, "yes", "a.wav"), Uint8Array.of(1));
    await Deno.mkdir(join(root, mine));
    await Deno.mkdir(join(root, "notes.tmp-old"));
    await Deno.writeTextFile(join(root, "z.tmp-999999999-q"), "a file, not a write");
    const warnings: string[] = [];
    const read = await readCacheEntry(path, key, { decode, warn: (m) => warnings.push(m) });
    assert.deepEqual(read?.value, X, "the entry itself is served");
    assert.deepEqual(warnings, [
      `removed 1 unfinished cache write (interrupted) in ${root}: ${dead}`,
    ]);
    assert.deepEqual(
      [...Deno.readDirSync(root)].map((e) => e.name).sort(),
      ["notes.tmp-old", "x", mine, "z.tmp-999999999-q"].sort(),
    );
    // Nothing left to sweep: silent, and a folder that does not exist has nothing to sweep.
    assert.deepEqual(await sweepStaleCacheWrites(root, (m) => warnings.push(m)), []);
    assert.deepEqual(await sweepStaleCacheWrites(join(root, "none")), []);
    assert.equal(warnings.length, 1);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
