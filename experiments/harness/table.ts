/**
 * Tables of results, one row model for every experiment, the demo and the notebooks: a row is an
 * object whose keys are the column headers (the first row's keys give the columns and their
 * order), a cell is shown as `String(value)` with `null` and `undefined` empty. {@link textTable}
 * lays the rows out for a terminal, {@link markdownTable} for Markdown (notebooks, code hosts);
 * {@link reduction} writes the "x% fewer" figure the comparisons print.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { markdownTable, reduction, textTable } from "@fasterode/fasterode/experiments";
 *
 * const rows = [
 *   { norm: "default", "backward NFE": 19784 },
 *   { norm: "seminorm", "backward NFE": 11618 },
 * ];
 * assert.equal(
 *   textTable(rows),
 *   "norm      backward NFE\n--------  ------------\ndefault   19784\nseminorm  11618",
 * );
 * assert.equal(markdownTable(rows).split("\n")[1], "| --- | --- |");
 * assert.equal(reduction(19784, 11618), "41.3%");
 * ```
 *
 * @module
 */

/** One row of a table: column header → cell. */
export type TableRow = Readonly<Record<string, unknown>>;

/** The text of a cell: `String(value)`, empty for `null` and `undefined`. */
function text(value: unknown): string {
  return String(value ?? "");
}

/** The columns of `rows`: the first row's keys. */
function columnsOf(rows: readonly TableRow[]): string[] {
  return rows.length > 0 ? Object.keys(rows[0]) : [];
}

/**
 * A table as aligned plain text: the headers, a line of dashes under each, then one line per
 * row; columns are two spaces apart and padded to their widest cell; no trailing spaces.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { textTable } from "@fasterode/fasterode/experiments";
 * assert.equal(textTable([{ a: 1, bb: null }, { a: 333, bb: "x" }]), "a    bb\n---  --\n1\n333  x");
 * assert.equal(textTable([]), "");
 * ```
 *
 * @param rows the rows, one object each, with the same keys
 * @returns the text, lines joined by `\n`
 */
export function textTable(rows: readonly TableRow[]): string {
  const columns = columnsOf(rows);
  if (columns.length === 0) return "";
  const cells = [columns, ...rows.map((row) => columns.map((c) => text(row[c])))];
  const widths = columns.map((_, c) => Math.max(...cells.map((line) => line[c].length)));
  const lines = cells.map((line) =>
    line.map((cell, c) => cell.padEnd(widths[c])).join("  ").trimEnd()
  );
  lines.splice(1, 0, widths.map((w) => "-".repeat(w)).join("  "));
  return lines.join("\n");
}

/**
 * A table as Markdown: a header row, the `---` row, then one line per row, with `|` in cells
 * escaped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { markdownTable } from "@fasterode/fasterode/experiments";
 *
 * const rows = [{ norm: "Default norm", nfe: 19784 }, { norm: "a | b", nfe: undefined }];
 * assert.equal(
 *   markdownTable(rows),
 *   "| norm | nfe |\n| --- | --- |\n| Default norm | 19784 |\n| a \\| b |  |",
 * );
 * ```
 *
 * @param rows the rows, one object each, with the same keys
 * @returns the Markdown text
 */
export function markdownTable(rows: readonly TableRow[]): string {
  const columns = columnsOf(rows);
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  const cell = (value: unknown) => text(value).replaceAll("|", "\\|");
  return [
    line(columns.map(cell)),
    line(columns.map(() => "---")),
    ...rows.map((row) => line(columns.map((c) => cell(row[c])))),
  ].join("\n");
}

/**
 * How much smaller `after` is than `before`, as a percentage with one decimal: `1 − after/before`
 * (negative when `after` is larger).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { reduction } from "@fasterode/fasterode/experiments";
 * assert.equal(reduction(1000, 580), "42.0%");
 * assert.equal(reduction(100, 125), "-25.0%");
 * ```
 *
 * @param before the reference value (the default norm's)
 * @param after the compared value (the seminorm's)
 * @returns e.g. `"41.3%"`
 */
export function reduction(before: number, after: number): string {
  return `${(100 * (1 - after / before)).toFixed(1)}%`;
}
