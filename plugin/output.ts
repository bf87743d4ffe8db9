// How results are printed: kubectl-style aligned tables (upper-case headers, columns two spaces
// apart), or the same rows as JSON or YAML for scripts. Pure.
import { stringify } from "yaml";
import { PluginError } from "./errors.js";

export const OUTPUT_FORMATS = ["table", "json", "yaml"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function parseFormat(value: string | undefined): OutputFormat {
  const format = value ?? "table";
  if ((OUTPUT_FORMATS as readonly string[]).includes(format)) return format as OutputFormat;
  throw new PluginError(`unknown output format "${format}"`, `use -o ${OUTPUT_FORMATS.join("|")}`, 2);
}

export type Cell = string | number | boolean | undefined | null;

export interface Column<Row> {
  header: string;
  cell(row: Row): Cell;
}

export function table<Row>(columns: readonly Column<Row>[], rows: readonly Row[]): string {
  const cells = [columns.map((c) => c.header), ...rows.map((row) => columns.map((c) => show(c.cell(row))))];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => line[i]!.length)));
  return (
    cells
      .map((line) =>
        line
          .map((cell, i) => (i === line.length - 1 ? cell : cell.padEnd(widths[i]!)))
          .join("  ")
          .trimEnd(),
      )
      .join("\n") + "\n"
  );
}

function show(cell: Cell): string {
  if (cell === undefined || cell === null || cell === "") return "-";
  return String(cell);
}

/** JSON or YAML of any value; tables are the caller's (they need columns). */
export function serialize(value: unknown, format: Exclude<OutputFormat, "table">): string {
  return format === "json" ? `${JSON.stringify(value, null, 2)}\n` : stringify(value);
}

/** Rows as a table, or as a JSON/YAML list. */
export function render<Row>(format: OutputFormat, columns: readonly Column<Row>[], rows: readonly Row[]): string {
  return format === "table" ? table(columns, rows) : serialize(rows, format);
}

export function mebibytes(bytes: number | undefined): string | undefined {
  return bytes === undefined ? undefined : `${Math.round(bytes / 1024 / 1024)}Mi`;
}

/** kubectl's age format: 45s, 12m, 3h, 5d. */
export function age(since: string | Date | undefined, now: number): string | undefined {
  if (!since) return undefined;
  const seconds = Math.max(0, Math.floor((now - new Date(since).getTime()) / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}
