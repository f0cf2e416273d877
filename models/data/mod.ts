/**
 * Data utilities the models' data sets share: one seeded generator for reproducible data, one
 * shuffle, one checked on-disk cache, and the one root folder under which data, caches and
 * results go by default (`root.ts`: `$FASTERODE_ROOT`, else the project folder).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { permutation, seededRandom, uniform } from "@fasterode/fasterode/models/data";
 * const x = uniform(seededRandom(7), 2, 3);
 * assert.ok(x >= 2 && x < 3);
 * assert.equal(permutation(4, seededRandom(7)).length, 4);
 * ```
 *
 * @module
 */
export { seededRandom, uniform } from "./random.ts";
export { permutation, shuffle } from "./shuffle.ts";
export {
  CACHE_FORMAT,
  CACHE_MANIFEST,
  type CacheContents,
  type CacheFileDigest,
  cacheKey,
  type CacheManifest,
  readCacheEntry,
  type ReadCacheOptions,
  sha256File,
  sha256Hex,
  sweepStaleCacheWrites,
  writeCacheEntry,
} from "./cache.ts";
export {
  fasterodeRoot,
  PROJECT_FILES,
  projectFolder,
  ROOT_ENV,
  ROOT_FOLDERS,
  rootPath,
  setFasterodeRoot,
} from "./root.ts";
