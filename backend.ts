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
 * that stays on `"cpu"` never loads them. {@linkcode chooseBackend} picks the fastest one here
 * (the choice of the command lines, notebooks and demo): WebGPU only on a hardware GPU
 * ({@linkcode hasHardwareGpu}), since a software adapter (llvmpipe, SwiftShader) works but is
 * slower than `"wasm"`.
 *
 * @example Pick the fastest backend available
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { chooseBackend, useBackend } from "@fasterode/fasterode";
 *
 * const { backend, reason } = await chooseBackend();
 * assert.equal(tf.getBackend(), backend);
 * assert.ok(reason.length > 0, "the choice says why");
 * const y = tf.tanh(tf.ones([2, 2]));
 * // Every backend computes tanh to float32 rounding (a few ulps of 0.76: well under 1e-6).
 * for (const v of await y.data()) assert.ok(Math.abs(v - Math.tanh(1)) < 1e-6, `${backend}: ${v}`);
 * y.dispose();
 * await useBackend("cpu");
 * ```
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs";
import { installFastWasmKernels, restoreStockWasmKernels } from "./kernels/wasm.ts";

/** Names of the tfjs backends that {@linkcode useBackend} can select. */
export type BackendName = "cpu" | "wasm" | "webgpu";

const BACKEND_NAMES: readonly BackendName[] = ["cpu", "wasm", "webgpu"];

/** Options of {@linkcode useBackend}. */
export interface UseBackendOptions {
  /**
   * Which wasm kernels to run (wasm only; ignored by the other backends): `"fast"` (the
   * default) installs fasterode's fast `BatchMatMul`, `Tanh`, `Sum`, `Mean` and `Slice`
   * (`kernels/`: transposed products through XNNPACK, tanh through sigmoid, batch-axis sums as
   * products, slices without a copy of the input), the same values to float32 rounding;
   * `"stock"` keeps (or puts back) tfjs-backend-wasm's own.
   */
  kernels?: "fast" | "stock";
}

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
 * import { useBackend } from "@fasterode/fasterode";
 *
 * assert.equal(await useBackend("wasm"), "wasm");
 * assert.equal(tf.getBackend(), "wasm");
 * const y = tf.matMul(tf.eye(2), tf.tensor2d([[1, 2], [3, 4]]));
 * assert.deepEqual(Array.from(await y.data()), [1, 2, 3, 4]);
 * y.dispose();
 * assert.equal(await useBackend("cpu"), "cpu");
 * ```
 *
 * @example wasm with its stock kernels (to compare against the fast ones)
 * ```ts
 * import assert from "node:assert/strict";
 * import { fastWasmKernelsInstalled, useBackend } from "@fasterode/fasterode";
 *
 * await useBackend("wasm", { kernels: "stock" });
 * assert.equal(fastWasmKernelsInstalled(), false);
 * await useBackend("wasm"); // fast kernels again: the default
 * assert.equal(fastWasmKernelsInstalled(), true);
 * await useBackend("cpu");
 * ```
 *
 * @param name The backend to select: `"cpu"`, `"wasm"` or `"webgpu"`.
 * @param options `kernels`: `"fast"` (default) or `"stock"` wasm kernels.
 * @returns The name of the now-active backend (always `name`).
 * @throws {Error} If `name` is not a known backend, or the backend cannot be started here;
 *   the message says what is missing and which backend to use instead.
 */
export async function useBackend(
  name: BackendName,
  options: UseBackendOptions = {},
): Promise<BackendName> {
  const kernels = options.kernels ?? "fast";
  if (kernels !== "fast" && kernels !== "stock") {
    throw new Error(
      `useBackend: options.kernels is ${JSON.stringify(kernels)}; use "fast" or "stock"`,
    );
  }
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
  if (name === "wasm") {
    if (kernels === "fast" && fastKernelsFit()) installFastWasmKernels();
    else restoreStockWasmKernels();
  }
  return name;
}

/** The tfjs-backend-wasm versions the fast kernels are written and tested against. */
const FAST_KERNEL_VERSIONS = /^4\.22\./;
/** The version of the imported tfjs-backend-wasm, once imported. */
let wasmVersion: string | undefined;
let versionWarned = false;

/**
 * Whether the installed tfjs-backend-wasm is one the fast kernels were tested with. They call
 * the package's own kernels and wasm entry points by name, so another version keeps the stock
 * kernels (correct, slower on transposed products and tanh), with one warning per process.
 */
function fastKernelsFit(): boolean {
  if (wasmVersion === undefined || FAST_KERNEL_VERSIONS.test(wasmVersion)) return true;
  if (!versionWarned) {
    versionWarned = true;
    console.warn(
      `fasterode: the fast wasm kernels are tested with tfjs-backend-wasm 4.22.x and this is ` +
        `${wasmVersion}, so the stock kernels stay (slower); use tfjs 4.22 for the fast ones`,
    );
  }
  return false;
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
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { hasHardwareGpu, useBackend } from "@fasterode/fasterode";
 *
 * const gpu = await hasHardwareGpu();
 * assert.equal(typeof gpu, "boolean"); // never throws, never undefined
 * await useBackend(gpu ? "webgpu" : "wasm");
 * assert.equal(tf.getBackend(), gpu ? "webgpu" : "wasm");
 * await useBackend("cpu");
 * ```
 *
 * @returns `true` when a non-fallback, non-software GPU adapter is available.
 */
export async function hasHardwareGpu(): Promise<boolean> {
  return (await surveyGpu()).hardware;
}

/** The backend {@linkcode chooseBackend} started, and why. */
export interface BackendChoice {
  /** The active tfjs backend. */
  backend: BackendName;
  /**
   * Why it was chosen: `"requested"`, `"FASTERODE_BACKEND=wasm"`, `"hardware GPU: …"`, or why
   * there is no GPU to run on, e.g. `"no WebGPU in this runtime (navigator.gpu is undefined)"`.
   */
  reason: string;
}

/** Options of {@linkcode chooseBackend}. */
export interface ChooseBackendOptions {
  /**
   * The backend to start, or `"auto"` (the default) to choose one: the environment variable
   * `FASTERODE_BACKEND` when it is set, else `"webgpu"` on a hardware GPU, else `"wasm"`.
   */
  requested?: BackendName | "auto";
  /** Where to report the choice as one line, `tfjs backend: wasm (…)` (e.g. `console.log`). */
  log?: (line: string) => void;
}

/** The environment variable that decides the backend of an `"auto"` choice. */
const BACKEND_ENV = "FASTERODE_BACKEND";

/**
 * Starts the backend to run on and says why it was chosen: the one command lines, notebooks and
 * the demo use.
 *
 * - A requested name (`--backend`) is started as it is; if it cannot start, the error names it
 *   and the backend to use instead.
 * - `"auto"` (the default): the environment variable `FASTERODE_BACKEND` (`cpu`, `wasm` or
 *   `webgpu`, read when the environment may be read) when set; else `"webgpu"` when there is a
 *   hardware GPU ({@linkcode hasHardwareGpu}), else `"wasm"`. A backend chosen this way that fails
 *   to start falls back, webgpu → wasm → cpu, and the reason says so.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { chooseBackend, useBackend } from "@fasterode/fasterode";
 *
 * assert.deepEqual(await chooseBackend({ requested: "cpu" }), {
 *   backend: "cpu",
 *   reason: "requested",
 * });
 * const lines: string[] = [];
 * const { backend, reason } = await chooseBackend({ log: (line) => lines.push(line) });
 * assert.equal(tf.getBackend(), backend);
 * assert.deepEqual(lines, [`tfjs backend: ${backend} (${reason})`]);
 * await useBackend("cpu");
 * ```
 *
 * @param options the backend asked for (default `"auto"`), and where to report the choice
 * @returns the now-active backend and why it was chosen
 * @throws {Error} if `requested` or `FASTERODE_BACKEND` names no backend, or the backend they
 *   name cannot start here (the message says which to use instead)
 */
export async function chooseBackend(options: ChooseBackendOptions = {}): Promise<BackendChoice> {
  const { requested = "auto", log } = options;
  let choice: BackendChoice;
  if (requested !== "auto") {
    if (!isBackendName(requested)) {
      throw new Error(
        `chooseBackend: requested ${JSON.stringify(requested)} is not a backend; use "auto" or ` +
          `one of ${BACKEND_NAMES.map((n) => JSON.stringify(n)).join(", ")}`,
      );
    }
    choice = { backend: await useBackend(requested), reason: "requested" };
  } else {
    const forced = envVar(BACKEND_ENV);
    if (forced === undefined || forced === "auto") {
      choice = await autoBackend();
    } else if (!isBackendName(forced)) {
      throw new Error(
        `${BACKEND_ENV}=${forced} is not a backend; set it to one of ${
          BACKEND_NAMES.join(", ")
        } or auto, or unset it`,
      );
    } else {
      try {
        choice = { backend: await useBackend(forced), reason: `${BACKEND_ENV}=${forced}` };
      } catch (cause) {
        throw new Error(`${BACKEND_ENV}=${forced}: ${messageOf(cause)}`, { cause });
      }
    }
  }
  log?.(`tfjs backend: ${choice.backend} (${choice.reason})`);
  return choice;
}

// ---------------------------------------------------------------------------------------
// Internals
// ---------------------------------------------------------------------------------------

/** The alternatives to suggest when `name` is unavailable. */
function fallbackFor(name: BackendName): string {
  return name === "webgpu" ? "'wasm' or 'cpu'" : "'cpu'";
}

/** Whether `name` is one of {@linkcode BACKEND_NAMES}. */
function isBackendName(name: string): name is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(name);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * An environment variable, trimmed; undefined when unset, empty, or not readable (outside Deno,
 * or when Deno's permissions do not grant it: this never prompts).
 */
function envVar(name: string): string | undefined {
  try {
    const deno = (globalThis as { Deno?: typeof Deno }).Deno;
    if (deno?.permissions.querySync?.({ name: "env", variable: name }).state !== "granted") {
      return undefined;
    }
    const value = deno.env.get(name)?.trim();
    return value === "" ? undefined : value;
  } catch {
    return undefined;
  }
}

/** The `"auto"` choice without `FASTERODE_BACKEND`: webgpu on a hardware GPU, else wasm. */
async function autoBackend(): Promise<BackendChoice> {
  const gpu = await surveyGpu();
  if (gpu.hardware) {
    try {
      return { backend: await useBackend("webgpu"), reason: `hardware GPU: ${gpu.description}` };
    } catch (error) {
      return await wasmOrCpu(`webgpu failed on ${gpu.description}: ${messageOf(error)}`);
    }
  }
  return await wasmOrCpu(gpu.description);
}

/** Starts wasm, or cpu if wasm fails (saying so); `why` explains the choice. */
async function wasmOrCpu(why: string): Promise<BackendChoice> {
  try {
    return { backend: await useBackend("wasm"), reason: why };
  } catch (error) {
    return { backend: await useBackend("cpu"), reason: `${why}; wasm failed: ${messageOf(error)}` };
  }
}

/** What WebGPU offers here: a hardware GPU (and its name), or why not. */
interface GpuSurvey {
  /** Whether there is a non-fallback, non-software adapter. */
  hardware: boolean;
  /** The adapter's name when `hardware`, else why there is no hardware GPU to run on. */
  description: string;
}

/** Asks `navigator.gpu` for an adapter, once; never throws. */
async function surveyGpu(): Promise<GpuSurvey> {
  const gpu = navigatorGpu();
  if (gpu === undefined) {
    return {
      hardware: false,
      description: "no WebGPU in this runtime (navigator.gpu is undefined)",
    };
  }
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  } catch (error) {
    return {
      hardware: false,
      description: `no GPU adapter (requestAdapter failed: ${messageOf(error)})`,
    };
  }
  if (adapter === null) {
    return {
      hardware: false,
      description: "no GPU adapter (navigator.gpu.requestAdapter() found none)",
    };
  }
  try {
    const name = adapterName(adapter);
    if (!isSoftwareAdapter(adapter)) return { hardware: true, description: name };
    return {
      hardware: false,
      description: `the only GPU adapter is a software or fallback one, ${name}, which is ` +
        "slower than wasm",
    };
  } catch (error) {
    return {
      hardware: false,
      description: `the GPU adapter fails to describe itself (${messageOf(error)})`,
    };
  }
}

/** The adapter's description, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)", or its vendor's words. */
function adapterName(adapter: GPUAdapter): string {
  const info = (adapter as { info?: Partial<GPUAdapterInfo> }).info;
  if (typeof info?.description === "string" && info.description !== "") return info.description;
  // Vendor and device may be bare PCI ids ("4318", "0"): keep only words.
  const words = [info?.vendor, info?.architecture, info?.device]
    .filter((s): s is string => typeof s === "string" && /[a-z]/i.test(s));
  return words.length > 0 ? words.join(" ") : "an adapter without a name";
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
    // tfjs makes a fresh cpu backend instance when it first picks a backend, so settle that
    // choice now (what the first op would do anyway) and mark the instance it picked.
    if (tf.env().getBool("IS_NODE")) void tf.engine().backend;
    const cpu = tf.findBackend("cpu") as { firstUse?: boolean } | null;
    if (cpu !== null && cpu.firstUse === true) cpu.firstUse = false;
  } catch {
    // The banner is cosmetic; never fail backend selection over it.
  }
}

// Silenced once on import, so that no program using the library sees the banner, whether or not
// it calls useBackend.
silenceNodeBanner();

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
        '"@tensorflow/tfjs-backend-wasm": "npm:@tensorflow/tfjs-backend-wasm@^4.20.0" to the ' +
        "import map and allow reading it (--allow-read), or use 'cpu'",
      { cause },
    );
  }
  wasmVersion = wasm.version_wasm;
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

let webGpuReleaseOnUnload = false;

/**
 * Destroys the webgpu backend's device when the process ends, while the runtime is still whole.
 * tfjs never destroys it (its `dispose` frees buffers only), so otherwise the device, and with a
 * software adapter (Mesa's lavapipe) its worker threads, are torn down in the runtime's own exit
 * path; under Deno 2.9 that exit has been seen to abort with a glibc heap error after every test
 * had passed.
 */
function releaseWebGpuOnUnload(): void {
  if (webGpuReleaseOnUnload || typeof globalThis.addEventListener !== "function") return;
  webGpuReleaseOnUnload = true;
  globalThis.addEventListener("unload", () => {
    try {
      const registry = (tf.engine() as unknown as { registry: Record<string, unknown> }).registry;
      const backend = registry["webgpu"] as
        | { device?: GPUDevice; dispose?: () => void }
        | undefined;
      backend?.dispose?.();
      backend?.device?.destroy();
    } catch {
      // Nothing to release, or the runtime is already gone: the process ends either way.
    }
  });
}

/** Check that WebGPU has an adapter, then import (and so register) the webgpu backend. */
async function registerWebGpu(): Promise<void> {
  releaseWebGpuOnUnload();
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
        '"@tensorflow/tfjs-backend-webgpu": "npm:@tensorflow/tfjs-backend-webgpu@^4.20.0" to ' +
        "the import map, or use 'wasm' or 'cpu'",
      { cause },
    );
  }
}
