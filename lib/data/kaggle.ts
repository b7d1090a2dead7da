/**
 * Reads and validates the Kaggle layout: `training_solutions_rev1.csv` (GalaxyID then the 37
 * class columns) and `images_training_rev1/<GalaxyID>.jpg`. Problems are collected, not thrown
 * one by one, so a user sees every bad row and missing file of a run at once.
 *
 * @module
 */
import { parse } from "csv-parse/sync";
import { join } from "node:path";
import { CLASS_COLUMNS, CSV_HEADER, NUM_CLASSES, QUESTIONS } from "../classes.ts";

export const LABELS_CSV = "training_solutions_rev1.csv";
export const TRAINING_IMAGES = "images_training_rev1";
export const TEST_IMAGES = "images_test_rev1";

/** Why a galaxy can't be used, naming the row or file. */
export interface Problem {
  /** 1-based line in the CSV (the header is line 1), when the problem is a row. */
  line?: number;
  id?: string;
  file?: string;
  reason: string;
}

/** Galaxies that passed validation, in CSV order. */
export interface LabelTable {
  ids: number[];
  /** `ids.length` x 37, row-major, CSV column order. */
  labels: Float32Array;
  problems: Problem[];
  /** Rows whose answers don't sum to their parent answer, per question (rows are kept). */
  treeViolations: { question: number; count: number; worst: number }[];
  /** Data rows read (before exclusions). */
  rowsRead: number;
}

/** Decision-tree sums may be off by rounding in the published CSV; beyond this counts as a violation. */
export const TREE_TOLERANCE = 0.01;

/** A data set that cannot be used as it is; lists problems (all of them in `problems`). */
export class DataError extends Error {
  override name = "DataError";
  constructor(message: string, readonly problems: Problem[] = []) {
    super(message);
  }
}

/** `line 12 (GalaxyID 100123): value 'abc' in Class1.2 is not a number` */
export function describeProblem(p: Problem): string {
  const where = [
    p.line !== undefined ? `line ${p.line}` : "",
    p.id ? `GalaxyID ${p.id}` : "",
    p.file ?? "",
  ]
    .filter(Boolean).join(", ");
  return where ? `${where}: ${p.reason}` : p.reason;
}

/** Lists the first problems and how many there are, for an error message. */
export function summarizeProblems(
  what: string,
  problems: readonly Problem[],
  shown = 10,
): string {
  const lines = problems.slice(0, shown).map((p) => `  - ${describeProblem(p)}`);
  const more = problems.length > shown ? [`  ... and ${problems.length - shown} more`] : [];
  return [
    `${what}: ${problems.length} problem${problems.length === 1 ? "" : "s"}`,
    ...lines,
    ...more,
  ].join("\n");
}

/**
 * Parses and checks the label CSV text: header, 38 fields per row, integer unique IDs, every
 * value a number in [0, 1]. Tree sums are counted, not enforced (the real data has a few off).
 * Reads only the first `limit` data rows when given.
 */
export function parseLabels(
  text: string,
  csvName: string,
  limit: number | null = null,
): LabelTable {
  let records: string[][];
  try {
    records = parse(text, {
      relax_column_count: true,
      skip_empty_lines: true,
      to: limit === null ? undefined : limit + 1,
    });
  } catch (error) {
    throw new DataError(`Cannot read ${csvName}: ${(error as Error).message}`);
  }
  if (records.length === 0) {
    throw new DataError(`Cannot read ${csvName}: the file is empty`);
  }
  const header = records[0].map((h) => h.trim());
  const badColumn = CSV_HEADER.findIndex((name, i) => header[i] !== name);
  if (badColumn >= 0 || header.length !== CSV_HEADER.length) {
    const detail = badColumn >= 0
      ? `column ${badColumn + 1} is '${header[badColumn] ?? "(missing)"}', expected '${
        CSV_HEADER[badColumn]
      }'`
      : `it has ${header.length} columns, expected ${CSV_HEADER.length}`;
    throw new DataError(
      `Cannot read ${csvName}: the header is not the Kaggle one (GalaxyID, Class1.1 ... Class11.6): ${detail}`,
    );
  }

  const problems: Problem[] = [];
  const ids: number[] = [];
  const values: number[] = [];
  const seen = new Map<string, number>();
  for (let r = 1; r < records.length; r++) {
    const row = records[r];
    const line = r + 1;
    const id = row[0]?.trim() ?? "";
    if (row.length !== CSV_HEADER.length) {
      problems.push({
        line,
        id,
        reason: `has ${row.length} values, expected ${CSV_HEADER.length}`,
      });
      continue;
    }
    if (!/^\d+$/.test(id)) {
      problems.push({
        line,
        id,
        reason: `GalaxyID '${id}' is not a positive integer`,
      });
      continue;
    }
    if (seen.has(id)) {
      problems.push({
        line,
        id,
        reason: `duplicate GalaxyID (first on line ${seen.get(id)})`,
      });
      continue;
    }
    seen.set(id, line);
    const parsed: number[] = [];
    let bad: string | null = null;
    for (let c = 0; c < NUM_CLASSES && bad === null; c++) {
      const raw = row[c + 1].trim();
      const v = raw === "" ? NaN : Number(raw);
      if (!Number.isFinite(v)) {
        bad = `value '${raw}' in ${CLASS_COLUMNS[c]} is not a number`;
      } else if (v < 0 || v > 1) {
        bad = `value ${raw} in ${CLASS_COLUMNS[c]} is outside [0, 1]`;
      } else parsed.push(v);
    }
    if (bad !== null) {
      problems.push({ line, id, reason: bad });
      continue;
    }
    ids.push(Number(id));
    values.push(...parsed);
  }
  const labels = new Float32Array(values);
  return {
    ids,
    labels,
    problems,
    treeViolations: countTreeViolations(labels),
    rowsRead: records.length - 1,
  };
}

/** Counts, per question, rows whose answers don't sum to the parent answer (or 1). */
export function countTreeViolations(
  labels: Float32Array,
  tolerance = TREE_TOLERANCE,
): LabelTable["treeViolations"] {
  const n = labels.length / NUM_CLASSES;
  return QUESTIONS.map((q) => {
    let count = 0;
    let worst = 0;
    for (let i = 0; i < n; i++) {
      const row = i * NUM_CLASSES;
      let sum = 0;
      for (const a of q.answers) sum += labels[row + a];
      const target = q.parent === null ? 1 : labels[row + q.parent];
      const off = Math.abs(sum - target);
      if (off > tolerance) count++;
      worst = Math.max(worst, off);
    }
    return { question: q.number, count, worst };
  });
}

/** Is there a Kaggle label CSV in `dir`? (Otherwise the synthetic default is used.) */
export function hasKaggleData(dir: string): boolean {
  try {
    return Deno.statSync(join(dir, LABELS_CSV)).isFile;
  } catch {
    return false;
  }
}

/** Problems for labelled galaxies without an image file; `names` is the image folder listing. */
export function missingImages(
  ids: readonly number[],
  names: ReadonlySet<string>,
  imageDir: string,
): Problem[] {
  return ids.filter((id) => !names.has(`${id}.jpg`)).map((id) => ({
    id: String(id),
    file: join(imageDir, `${id}.jpg`),
    reason: "image file is missing",
  }));
}

/** File names in a folder (not recursive). */
export async function listNames(dir: string): Promise<Set<string>> {
  const names = new Set<string>();
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile) names.add(entry.name);
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new DataError(`The image folder ${dir} does not exist`);
    }
    throw error;
  }
  return names;
}
