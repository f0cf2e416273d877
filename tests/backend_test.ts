// Tests for backend.ts: each tfjs backend can be selected, and cpu, wasm and webgpu compute
// the same matMul + tanh + gradients to float32 accuracy.
//
// All tests share tfjs's global engine, so every test switches back to "cpu" when it ends.
// The webgpu tests are skipped (ignored, not failed) where navigator.gpu has no adapter;
// in Deno on Linux even a machine without a GPU usually has one (llvmpipe via Mesa's
// Vulkan drivers), so they normally run.

import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { type BackendName, chooseBackend, hasHardwareGpu, useBackend } from "../backend.ts";

const BACKENDS: readonly BackendName[] = ["cpu", "wasm", "webgpu"];

/** Why webgpu cannot run here, or undefined when it can. */
async function webgpuMissingReason(): Promise<string | undefined> {
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (gpu === undefined) return "navigator.gpu is not available";
  const adapter = await gpu.requestAdapter();
  return adapter === null ? "navigator.gpu.requestAdapter() returned null" : undefined;
}

const WEBGPU_MISSING = await webgpuMissingReason();
if (WEBGPU_MISSING !== undefined) {
  console.warn(`backend_test: skipping webgpu tests: ${WEBGPU_MISSING}`);
}

function unavailable(name: BackendName): boolean {
  return name === "webgpu" && WEBGPU_MISSING !== undefined;
}

/** Deterministic, well-spread test data in [-scale, scale]. */
function fill(n: number, seed: number, scale: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = scale * Math.sin(seed + 12.9898 * i);
  return a;
}

/** Largest |a[i] - b[i]|. */
function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Largest |a[i]|. */
function maxAbs(a: Float32Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

const BATCH = 16;
const WIDTH = 32;

interface Results {
  /** tanh(x W + b), shape [BATCH, WIDTH]. */
  y: Float32Array;
  /** loss = sum(tanh(x W + b) * v), a scalar. */
  loss: Float32Array;
  /** d loss / d x, d loss / d W, d loss / d b. */
  grads: Float32Array[];
}

/** Run the matMul + tanh forward pass and its gradients on `name`; reads with `await data()`. */
async function compute(name: BackendName): Promise<Results> {
  await useBackend(name);
  try {
    const before = tf.memory().numTensors;
    const x = tf.tensor2d(fill(BATCH * WIDTH, 1, 1), [BATCH, WIDTH]);
    const w = tf.tensor2d(fill(WIDTH * WIDTH, 2, 0.3), [WIDTH, WIDTH]);
    const b = tf.tensor1d(fill(WIDTH, 3, 0.1));
    const v = tf.tensor2d(fill(BATCH * WIDTH, 4, 1), [BATCH, WIDTH]);
    const layer = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor =>
      tf.tanh(tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b));
    const y = tf.tidy(() => layer(x, w, b));
    // valueAndGrads does not tidy the intermediates of the forward pass itself.
    const { value, grads } = tf.tidy(() =>
      tf.valueAndGrads((x, w, b) => tf.sum(tf.mul(layer(x, w, b), v)))([x, w, b])
    );
    try {
      assert.deepEqual(grads.map((g) => g.shape), [[BATCH, WIDTH], [WIDTH, WIDTH], [WIDTH]]);
      return {
        y: (await y.data()) as Float32Array,
        loss: (await value.data()) as Float32Array,
        grads: (await Promise.all(grads.map((g) => g.data()))) as Float32Array[],
      };
    } finally {
      tf.dispose([x, w, b, v, y, value, ...grads]);
      assert.equal(tf.memory().numTensors, before, `${name}: tensors leaked`);
    }
  } finally {
    await useBackend("cpu");
  }
}

for (const name of BACKENDS) {
  Deno.test({
    name: `useBackend("${name}") makes ${name} the active backend`,
    ignore: unavailable(name),
    async fn() {
      try {
        assert.equal(await useBackend(name), name);
        assert.equal(tf.getBackend(), name);
        // Selecting the active backend again is a no-op.
        assert.equal(await useBackend(name), name);
        const before = tf.memory().numTensors;
        const a = tf.tensor2d([[1, 2], [3, 4]]);
        const p = tf.matMul(a, a);
        assert.deepEqual(Array.from(await p.data()), [7, 10, 15, 22]);
        tf.dispose([a, p]);
        assert.equal(tf.memory().numTensors, before);
      } finally {
        await useBackend("cpu");
      }
      assert.equal(tf.getBackend(), "cpu");
    },
  });
}

Deno.test({
  name: "cpu, wasm and webgpu agree on matMul + tanh + valueAndGrads to float32 accuracy",
  async fn() {
    const ref = await compute("cpu");
    // Sanity: the reference is not degenerate (tanh not saturated, gradients nonzero).
    assert.ok(maxAbs(ref.y) > 0.1 && maxAbs(ref.y) < 0.99);
    for (const g of ref.grads) assert.ok(maxAbs(g) > 0.1);

    for (const name of BACKENDS.filter((n) => n !== "cpu" && !unavailable(n))) {
      const got = await compute(name);
      // Tolerance: float32 has unit roundoff u = 2^-24 ~ 6e-8. The backends sum the 32
      // products of each matMul entry (and the 512 terms of the loss) in different orders
      // (XNNPACK blocks and uses FMA, WGSL tiles), and implement tanh differently (cpu:
      // Math.tanh in float64 then rounded; wasm/webgpu: float32 formulas a few ulp off).
      // Reordering n terms can change a sum by up to ~n*u times the sum of |terms|, i.e.
      // ~2e-6 of the operands' magnitude here. Elements that come out near zero through
      // cancellation have no meaningful relative accuracy (measured: up to 1e-4 relative
      // on such elements), so each tensor is compared relative to its largest magnitude.
      // Measured differences are ~2e-7 of that scale; 1e-5 leaves a 50x margin and still
      // catches real bugs (a wrong transpose, missing bias or wrong gradient is O(1)).
      const tol = 1e-5;
      const pairs: [string, Float32Array, Float32Array][] = [
        ["y", got.y, ref.y],
        ["loss", got.loss, ref.loss],
        ["dx", got.grads[0], ref.grads[0]],
        ["dW", got.grads[1], ref.grads[1]],
        ["db", got.grads[2], ref.grads[2]],
      ];
      for (const [what, a, b] of pairs) {
        const err = maxAbsDiff(a, b);
        const scale = maxAbs(b);
        assert.ok(
          err <= tol * scale,
          `${name} vs cpu: ${what} differs by ${err.toExponential(2)} > ${tol} * ${
            scale.toFixed(3)
          }`,
        );
      }
    }
    assert.equal(tf.getBackend(), "cpu");
  },
});

Deno.test("useBackend rejects an unknown name with an error listing the valid names", async () => {
  await useBackend("cpu");
  await assert.rejects(
    () => useBackend("tpu" as BackendName),
    (e: unknown) => {
      assert.ok(e instanceof Error);
      assert.match(e.message, /Unknown tfjs backend "tpu"/);
      assert.match(e.message, /valid names are "cpu", "wasm", "webgpu"/);
      return true;
    },
  );
  assert.equal(tf.getBackend(), "cpu");
});

Deno.test("hasHardwareGpu is false without an adapter or with a software adapter", async () => {
  const hw = await hasHardwareGpu();
  assert.equal(typeof hw, "boolean");
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  const adapter = gpu === undefined ? null : await gpu.requestAdapter();
  if (adapter === null) {
    assert.equal(hw, false);
    return;
  }
  const info = adapter.info;
  const software = info.isFallbackAdapter ||
    /llvmpipe|lavapipe|swiftshader/i.test(`${info.vendor} ${info.device} ${info.description}`);
  console.log(
    `adapter: ${JSON.stringify(info.description || info.vendor)}, ` +
      `fallback: ${info.isFallbackAdapter}, hasHardwareGpu: ${hw}`,
  );
  if (software) assert.equal(hw, false);
});

/** Runs `fn` with FASTERODE_BACKEND set to `value` (unset for undefined), then restores it. */
async function withBackendEnv<T>(value: string | undefined, fn: () => Promise<T>): Promise<T> {
  const saved = Deno.env.get("FASTERODE_BACKEND");
  if (value === undefined) Deno.env.delete("FASTERODE_BACKEND");
  else Deno.env.set("FASTERODE_BACKEND", value);
  try {
    return await fn();
  } finally {
    if (saved === undefined) Deno.env.delete("FASTERODE_BACKEND");
    else Deno.env.set("FASTERODE_BACKEND", saved);
    await useBackend("cpu");
  }
}

Deno.test("chooseBackend starts a requested backend, whatever FASTERODE_BACKEND says", async () => {
  await withBackendEnv("wasm", async () => {
    const lines: string[] = [];
    const choice = await chooseBackend({ requested: "cpu", log: (line) => lines.push(line) });
    assert.deepEqual(choice, { backend: "cpu", reason: "requested" });
    assert.equal(tf.getBackend(), "cpu");
    assert.deepEqual(lines, ["tfjs backend: cpu (requested)"]);
  });
});

Deno.test("chooseBackend rejects a requested name that is no backend, naming it", async () => {
  await assert.rejects(
    () => chooseBackend({ requested: "tpu" as BackendName }),
    /requested "tpu" is not a backend; use "auto" or one of "cpu", "wasm", "webgpu"/,
  );
  assert.equal(tf.getBackend(), "cpu");
});

Deno.test("chooseBackend on auto follows FASTERODE_BACKEND and rejects a bad value", async () => {
  await withBackendEnv("wasm", async () => {
    assert.deepEqual(await chooseBackend(), {
      backend: "wasm",
      reason: "FASTERODE_BACKEND=wasm",
    });
    assert.equal(tf.getBackend(), "wasm");
  });
  await withBackendEnv("gpu", async () => {
    await assert.rejects(
      () => chooseBackend({ requested: "auto" }),
      /FASTERODE_BACKEND=gpu is not a backend/,
    );
  });
});

Deno.test("chooseBackend on auto picks webgpu only on a hardware GPU, else wasm", async () => {
  await withBackendEnv(undefined, async () => {
    const lines: string[] = [];
    const { backend, reason } = await chooseBackend({ log: (line) => lines.push(line) });
    assert.equal(tf.getBackend(), backend);
    assert.deepEqual(lines, [`tfjs backend: ${backend} (${reason})`]);
    if (await hasHardwareGpu()) {
      // webgpu, or a fallback that says why webgpu failed.
      assert.ok(
        backend === "webgpu" ? /^hardware GPU: /.test(reason) : /webgpu failed/.test(reason),
        reason,
      );
    } else {
      assert.equal(backend, "wasm", reason);
      assert.match(reason, /no WebGPU|no GPU adapter|software or fallback/);
    }
  });
});
