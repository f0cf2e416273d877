/**
 * Select the TensorFlow.js backend that fasterode's solvers run on.
 *
 * Three backends are supported:
 *
 * - `"cpu"`: plain JavaScript, always available (the tfjs default here).
 * - `"wasm"`: `@tensorflow/tfjs-backend-wasm` (XNNPACK, SIMD when the runtime has it,
 *   single-threaded under Deno and Node.js). Usually several times faster than `"cpu"`.
 * - `"webgpu"`: `@tensorflow/tfjs-backend-webgpu` on `navigator.gpu`. Only synchronous reads
 *   (`dataSync()`, `arraySync()`) fail on it under Deno; read results with
 *   `await t.data()` / `await t.array()`.
 *
 * The wasm and webgpu packages are imported on demand by {@linkcode useBackend}, so code
 * that stays on `"cpu"` never loads them. Use {@linkcode hasHardwareGpu} to decide whether
 * WebGPU is worth it: a software adapter (llvmpipe, SwiftShader) works but is slower than
 * `"wasm"`.
 *
 * @example Pick the fastest backend available
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { hasHardwareGpu, useBackend } from "./backend.ts";
 *
 * const name = await useBackend((await hasHardwareGpu()) ? "webgpu" : "wasm");
 * const y = tf.tanh(tf.ones([2, 2]));
 * console.log(name, await y.data());
 * y.dispose();
 * await useBackend("cpu");
 * ```
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs";

/** Names of the tfjs backends that {@linkcode useBackend} can select. */
export type BackendName = "cpu" | "wasm" | "webgpu";

const BACKEND_NAMES: readonly BackendName[] = ["cpu", "wasm", "webgpu"];

/**
 * Make `name` the active tfjs backend and wait until it is ready.
 *
 * The wasm and webgpu backend packages are imported (and so registered with tfjs) the
 * first time they are asked for. For wasm, the `.wasm` binaries are loaded from the
 * installed `@tensorflow/tfjs-backend-wasm` package. Switching backends does not move
 * existing tensors eagerly; tfjs copies them lazily the first time they are used on the
 * new backend, so it is cheapest to switch before creating tensors.
 *
 * Also silences tfjs's one-time "looks like you are running TensorFlow.js in Node.js"
 * banner of the cpu backend, which Deno triggers because it emulates Node.js.
 *
 * @example Switch to wasm and back
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { useBackend } from "./backend.ts";
 *
 * assert.equal(await useBackend("wasm"), "wasm");
 * assert.equal(tf.getBackend(), "wasm");
 * const y = tf.matMul(tf.eye(2), tf.tensor2d([[1, 2], [3, 4]]));
 * assert.deepEqual(Array.from(await y.data()), [1, 2, 3, 4]);
 * y.dispose();
 * assert.equal(await useBackend("cpu"), "cpu");
 * ```
 *
 * @param name The backend to select: `"cpu"`, `"wasm"` or `"webgpu"`.
 * @returns The name of the now-active backend (always `name`).
 * @throws {Error} If `name` is not a known backend, or the backend cannot be started here;
 *   the message says what is missing and which backend to use instead.
 */
export async function useBackend(name: BackendName): Promise<BackendName> {
  if (!(BACKEND_NAMES as readonly string[]).includes(name)) {
    throw new Error(
      `Unknown tfjs backend ${JSON.stringify(name)}: valid names are ` +
        `${BACKEND_NAMES.map((n) => JSON.stringify(n)).join(", ")}`,
    );
  }
  silenceNodeBanner();
  if (name === "wasm") await registerWasm();
  if (name === "webgpu") await registerWebGpu();

  const ok = await tf.setBackend(name);
  await tf.ready();
  const active = tf.getBackend();
  if (!ok || active !== name) {
    const hint = name === "wasm"
      ? `; its .wasm binaries are read from ${
        wasmBinaryDirectory() ?? "the package's dist/ directory"
      } with node:fs, which needs --allow-read`
      : "";
    throw new Error(
      `${name}: tfjs could not initialize the ${name} backend (the active backend is still ` +
        `${JSON.stringify(active)}; tfjs logged the cause above${hint}); use ${fallbackFor(name)}`,
    );
  }
  return name;
}

/**
 * Whether `navigator.gpu` offers a hardware GPU adapter, i.e. one that is not a fallback
 * or software rasterizer (llvmpipe, lavapipe, SwiftShader, Microsoft Basic Render Driver).
 *
 * A software adapter still runs the `"webgpu"` backend correctly, just slower than
 * `"wasm"`, so this is the test for "is webgpu worth selecting". Never throws: any failure
 * to query the adapter counts as "no hardware GPU".
 *
 * @example Choose webgpu only on real GPUs
 * ```ts
 * import { hasHardwareGpu, useBackend } from "./backend.ts";
 *
 * const gpu = await hasHardwareGpu();
 * console.log(`hardware GPU: ${gpu}`);
 * await useBackend(gpu ? "webgpu" : "wasm");
 * await useBackend("cpu");
 * ```
 *
 * @returns `true` when a non-fallback, non-software GPU adapter is available.
 */
export async function hasHardwareGpu(): Promise<boolean> {
  const gpu = navigatorGpu();
  if (gpu === undefined) return false;
  try {
    const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
    return adapter !== null && !isSoftwareAdapter(adapter);
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------
// Internals
// ---------------------------------------------------------------------------------------

/** The alternatives to suggest when `name` is unavailable. */
function fallbackFor(name: BackendName): string {
  return name === "webgpu" ? "'wasm' or 'cpu'" : "'cpu'";
}

/** `navigator.gpu`, or `undefined` in runtimes without WebGPU. */
function navigatorGpu(): GPU | undefined {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  return nav?.gpu ?? undefined;
}

const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|swiftshader|software|basic render/i;

/** Whether `adapter` is a fallback adapter or a known software rasterizer. */
function isSoftwareAdapter(adapter: GPUAdapter): boolean {
  // `isFallbackAdapter` moved from GPUAdapter to GPUAdapterInfo in the WebGPU spec; Deno
  // 2.x has it on `adapter.info`, older browsers on the adapter itself.
  const info = (adapter as { info?: Partial<GPUAdapterInfo> }).info;
  const legacy = (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter;
  if (info?.isFallbackAdapter === true || legacy === true) return true;
  const text = [info?.vendor, info?.architecture, info?.device, info?.description]
    .filter((s): s is string => typeof s === "string")
    .join(" ");
  return SOFTWARE_ADAPTER.test(text);
}

/**
 * Suppress the cpu backend's one-time "Hi, looks like you are running TensorFlow.js in
 * Node.js" banner. It is printed on the first tensor write when the `IS_NODE` flag is set,
 * which it is under Deno. `IS_NODE` cannot simply be cleared (the wasm backend relies on it
 * to read its binaries with `fs`), and `tf.enableProdMode()` would hide every other tfjs
 * warning too, so this marks the banner as already shown on the cpu backend instance.
 * Harmless if a future tfjs renames the field.
 */
function silenceNodeBanner(): void {
  try {
    const cpu = tf.findBackend("cpu") as { firstUse?: boolean } | null;
    if (cpu !== null && cpu.firstUse === true) cpu.firstUse = false;
  } catch {
    // The banner is cosmetic; never fail backend selection over it.
  }
}

let wasmPathsSet = false;

/** Import (and so register) the wasm backend and point it at its `.wasm` binaries. */
async function registerWasm(): Promise<void> {
  if (typeof WebAssembly !== "object") {
    throw new Error("wasm: WebAssembly is not available in this runtime; use 'cpu'");
  }
  let wasm: typeof import("@tensorflow/tfjs-backend-wasm");
  try {
    wasm = await import("@tensorflow/tfjs-backend-wasm");
  } catch (cause) {
    throw new Error(
      "wasm: could not import @tensorflow/tfjs-backend-wasm; add " +
        '"@tensorflow/tfjs-backend-wasm": "npm:@tensorflow/tfjs-backend-wasm@4.22.0" to the ' +
        "import map and allow reading it (--allow-read), or use 'cpu'",
      { cause },
    );
  }
  if (wasmPathsSet) return;
  const dir = wasmBinaryDirectory();
  if (dir !== undefined) {
    try {
      wasm.setWasmPaths(dir);
    } catch (cause) {
      // setWasmPaths throws once an earlier initialization attempt has failed.
      throw new Error(
        "wasm: the wasm backend failed to initialize earlier in this process and cannot be " +
          "retried; restart the process, or use 'cpu'",
        { cause },
      );
    }
  }
  wasmPathsSet = true;
}

/**
 * The `file://` URL of the directory holding the installed wasm package's `.wasm` files,
 * ending in "/", or `undefined` when the package does not resolve to a local file.
 *
 * The package's Node.js build (the one Deno loads, since Deno reports itself as Node.js to
 * npm packages) reads the binary with `fs.readFileSync(prefix + "tfjs-backend-wasm[-simd].wasm")`,
 * and accepts either a plain directory path or a `file://` URL prefix; `fetch` is not used.
 * Without a local `node_modules` Deno resolves the package to an `npm:` URL; then the
 * package's own default (its `__dirname`, which is the same directory) is used.
 */
function wasmBinaryDirectory(): string | undefined {
  let entry: string;
  try {
    entry = import.meta.resolve("@tensorflow/tfjs-backend-wasm");
  } catch {
    return undefined;
  }
  if (!entry.startsWith("file:")) return undefined;
  return new URL(".", entry).href;
}

/** Check that WebGPU has an adapter, then import (and so register) the webgpu backend. */
async function registerWebGpu(): Promise<void> {
  const gpu = navigatorGpu();
  if (gpu === undefined) {
    throw new Error(
      "webgpu: navigator.gpu is not available in this runtime; use 'wasm' or 'cpu'",
    );
  }
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  } catch (cause) {
    throw new Error(
      `webgpu: navigator.gpu.requestAdapter() failed (${String(cause)}); use 'wasm' or 'cpu'`,
      { cause },
    );
  }
  if (adapter === null) {
    throw new Error(
      "webgpu: navigator.gpu.requestAdapter() found no GPU adapter (no GPU, or no Vulkan/" +
        "Metal/D3D12 driver; on Linux a software adapter comes with mesa-vulkan-drivers); " +
        "use 'wasm' or 'cpu'",
    );
  }
  try {
    // The package registers "webgpu" on import, but only if navigator.gpu exists then.
    await import("@tensorflow/tfjs-backend-webgpu");
  } catch (cause) {
    throw new Error(
      "webgpu: could not import @tensorflow/tfjs-backend-webgpu; add " +
        '"@tensorflow/tfjs-backend-webgpu": "npm:@tensorflow/tfjs-backend-webgpu@4.22.0" to ' +
        "the import map, or use 'wasm' or 'cpu'",
      { cause },
    );
  }
}
