import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { seededRandom } from "../../../models/data/mod.ts";
import {
  dequantize,
  loadMnist,
  logitTransform,
  parseIdx,
  TOY_DENSITIES,
  toyData,
} from "../../../models/cnf/mod.ts";

await tf.setBackend("cpu");

Deno.test("2-D densities: reproducible from the seed, and each has its shape", () => {
  for (const name of TOY_DENSITIES) {
    const a = toyData(name, 2000, seededRandom(5)), b = toyData(name, 2000, seededRandom(5));
    const c = toyData(name, 2000, seededRandom(6));
    assert.deepEqual(a.dataSync(), b.dataSync(), `${name} is not reproducible`);
    assert.notDeepEqual(a.dataSync(), c.dataSync());
    const xs = a.arraySync();
    // Every density lies within FFJORD's plotting box [−4.5, 4.5]² up to rare noise.
    const outside = xs.filter(([x, y]) => Math.abs(x) > 4.5 || Math.abs(y) > 4.5).length;
    assert.ok(outside < 10, `${name}: ${outside} points outside the box`);
    tf.dispose([a, b, c]);
  }
  const r = toyData("rings", 4000, seededRandom(1)).arraySync().map(([x, y]) => Math.hypot(x, y));
  // Rings: radii 3, 2.25, 1.5, 0.75 with noise std 0.08 (tangentially, radially ~0.08): every
  // point lies within 0.4 (5 std) of one of them.
  assert.ok(r.every((v) => [3, 2.25, 1.5, 0.75].some((q) => Math.abs(v - q) < 0.4)));
  const cb = toyData("checkerboard", 4000, seededRandom(2)).arraySync();
  // Checkerboard: the square of (x, y) (side 2) has an even index sum: dark squares only.
  assert.ok(cb.every(([x, y]) => (Math.floor(x / 2) + Math.floor(y / 2)) % 2 === 0));
  assert.throws(() => toyData("spiral" as never, 3, Math.random), /unknown 2-D density "spiral"/);
});

/** An IDX file of unsigned bytes. */
function idx(dims: number[], data: number[]): Uint8Array {
  const head = new DataView(new ArrayBuffer(4 + 4 * dims.length));
  head.setUint32(0, 0x800 + dims.length);
  dims.forEach((d, i) => head.setUint32(4 + 4 * i, d));
  return new Uint8Array([...new Uint8Array(head.buffer), ...data]);
}

/** gzip of `bytes`. */
async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const s = new Blob([bytes as BlobPart]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(s).arrayBuffer());
}

Deno.test("MNIST: IDX files, plain and gzipped, load with their shapes; bad ones are named", async () => {
  const dir = await Deno.makeTempDir();
  const images = Array.from({ length: 3 * 2 * 3 }, (_, i) => i * 13);
  await Deno.writeFile(`${dir}/train-images-idx3-ubyte.gz`, await gzip(idx([3, 2, 3], images)));
  await Deno.writeFile(`${dir}/train-labels-idx1-ubyte`, idx([3], [4, 1, 9]));
  const train = await loadMnist(dir, "train");
  assert.deepEqual([train.count, train.rows, train.cols], [3, 2, 3]);
  assert.deepEqual(Array.from(train.images), images);
  assert.deepEqual(Array.from(train.labels), [4, 1, 9]);
  await assert.rejects(loadMnist(dir, "test"), /none of t10k-images-idx3-ubyte.* in /);
  await Deno.writeFile(`${dir}/t10k-images-idx3-ubyte`, idx([2, 2, 3], images.slice(0, 12)));
  await Deno.writeFile(`${dir}/t10k-labels-idx1-ubyte`, idx([3], [1, 2, 3]));
  await assert.rejects(loadMnist(dir, "test"), /holds \[3\] labels for 2 images/);
  await Deno.remove(dir, { recursive: true });
  assert.throws(() => parseIdx(idx([4], [1, 2])), /the header says \[4\] \(4 bytes\) but 2 follow/);
  assert.throws(() => parseIdx(new Uint8Array([0, 0, 0x0d, 1, 0, 0, 0, 0])), /IDX type 0xd/);
});

Deno.test("dequantisation stays in its pixel's bin; the logit transform's log-Jacobian is right", () => {
  const pixels = tf.tensor2d([[0, 17, 128, 255]]);
  const x = dequantize(pixels, seededRandom(3));
  const xs = x.dataSync();
  [0, 17, 128, 255].forEach((p, i) => assert.ok(xs[i] >= p / 256 && xs[i] < (p + 1) / 256));
  // log|dy/dx| against central differences of y per coordinate (float64 here, by hand).
  const alpha = 1e-2;
  const { y, logDet } = logitTransform(x as tf.Tensor2D, alpha);
  const f = (v: number) => {
    const s = alpha + (1 - 2 * alpha) * v;
    return Math.log(s) - Math.log(1 - s);
  };
  const h = 1e-6;
  const want = Array.from(xs).reduce(
    (acc, v) => acc + Math.log((f(v + h) - f(v - h)) / (2 * h)),
    0,
  );
  // float32 logs of four O(1) terms: 1e-4.
  assert.ok(Math.abs(logDet.dataSync()[0] - want) < 1e-4, `${logDet.dataSync()[0]} vs ${want}`);
  Array.from(y.dataSync()).forEach((v, i) => assert.ok(Math.abs(v - f(xs[i])) < 1e-4));
  assert.throws(() => logitTransform(x as tf.Tensor2D, 0.5), /alpha must be in \[0, 0\.5\)/);
  tf.dispose([pixels, x, y, logDet]);
});
