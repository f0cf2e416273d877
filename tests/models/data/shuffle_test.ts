import assert from "node:assert/strict";
import { permutation, seededRandom, shuffle } from "../../../models/data/mod.ts";

// The orders below were drawn by the two shuffles this one replaces (the harness's
// `batchIndices` and the Speech Commands split's), which were the same Fisher–Yates: pinning
// them keeps every seeded batch order and split unchanged.
Deno.test("shuffle reproduces the orders of the shuffles it replaces", () => {
  assert.deepEqual(permutation(10, seededRandom(0)), [3, 8, 6, 4, 5, 9, 7, 1, 0, 2]);
  assert.deepEqual(permutation(7, seededRandom(42)), [3, 1, 0, 5, 6, 2, 4]);
});

Deno.test("shuffle draws length − 1 numbers and works in place", () => {
  let calls = 0;
  const counting = (): number => {
    calls++;
    return 0.5;
  };
  const a = ["a", "b", "c", "d"];
  assert.equal(shuffle(a, counting), a);
  assert.equal(calls, 3);
  assert.deepEqual([...a].sort(), ["a", "b", "c", "d"]);
  calls = 0;
  shuffle([], counting);
  shuffle([1], counting);
  assert.equal(calls, 0);
});

Deno.test("permutation rejects a bad length", () => {
  assert.throws(() => permutation(-1, Math.random), /n must be an integer >= 0, got -1/);
  assert.throws(() => permutation(2.5, Math.random), /got 2\.5/);
});
