/**
 * The Galaxy Zoo 2 decision tree as data: the 37 answer columns of the Kaggle CSV, their
 * descriptive names as the course uses them, and the 11 questions with the answer each one hangs
 * from. Every other module derives column orders, names and tree sums from here.
 *
 * @module
 */

/** One question of the decision tree and the answers (CSV columns) that belong to it. */
export interface Question {
  /** 1-based question number, as in the column names (`Class7.2` is question 7). */
  readonly number: number;
  readonly text: string;
  /** Indices into {@link CLASS_COLUMNS} of this question's answers, in order. */
  readonly answers: readonly number[];
  /**
   * Index into {@link CLASS_COLUMNS} of the answer whose vote fraction this question's answers sum
   * to, or `null` when they sum to 1 (questions 1 and 6).
   */
  readonly parent: number | null;
}

/** Answers per question, in question order (3, 2, 2, 2, 4, 2, 3, 7, 3, 3, 6 = 37). */
const ANSWER_COUNTS = [3, 2, 2, 2, 4, 2, 3, 7, 3, 3, 6] as const;

/** The 37 label columns in the Kaggle CSV's order: `Class1.1` ... `Class11.6`. */
export const CLASS_COLUMNS: readonly string[] = ANSWER_COUNTS.flatMap((
  count,
  q,
) => Array.from({ length: count }, (_, a) => `Class${q + 1}.${a + 1}`));

/** The Kaggle CSV header: `GalaxyID` then the 37 class columns. */
export const CSV_HEADER: readonly string[] = ["GalaxyID", ...CLASS_COLUMNS];

/** The course's descriptive name of each class, aligned with {@link CLASS_COLUMNS}. */
export const CLASS_NAMES: readonly string[] = [
  "Smooth",
  "Featured or disc",
  "Star or artifact",
  "Edge on",
  "Not edge on",
  "Bar through center",
  "No bar",
  "Spiral",
  "No Spiral",
  "No bulge",
  "Just noticeable bulge",
  "Obvious bulge",
  "Dominant bulge",
  "Odd Feature",
  "No Odd Feature",
  "Completely round",
  "In between",
  "Cigar shaped",
  "Ring",
  "Lens or arc",
  "Disturbed",
  "Irregular",
  "Other",
  "Merger",
  "Dust lane",
  "Rounded bulge",
  "Boxy bulge",
  "No bulge",
  "Tightly wound arms",
  "Medium wound arms",
  "Loose wound arms",
  "1 Spiral Arm",
  "2 Spiral Arms",
  "3 Spiral Arms",
  "4 Spiral Arms",
  "More than four Spiral Arms",
  "Can't tell how many spiral arms",
];

/** Column index of a class id such as `"Class2.2"`; throws on an unknown id. */
export function classIndex(id: string): number {
  const index = CLASS_COLUMNS.indexOf(id);
  if (index < 0) throw new Error(`Unknown Galaxy Zoo class '${id}'`);
  return index;
}

const QUESTION_TEXTS = [
  "Is the galaxy smooth, featured or a star/artifact?",
  "Could this be an edge-on disk?",
  "Is there a bar through the centre?",
  "Is there a spiral arm pattern?",
  "How prominent is the central bulge?",
  "Is there anything odd?",
  "How round is the smooth galaxy?",
  "What is the odd feature?",
  "Does the edge-on galaxy have a bulge, and of what shape?",
  "How tightly wound are the spiral arms?",
  "How many spiral arms are there?",
];

/** The parent answer of each question (null: sums to 1), from the Kaggle competition's tree. */
const PARENTS: readonly (string | null)[] = [
  null,
  "Class1.2",
  "Class2.2",
  "Class2.2",
  "Class2.2",
  null,
  "Class1.1",
  "Class6.1",
  "Class2.1",
  "Class4.1",
  "Class4.1",
];

/** The 11 questions of the decision tree, in order. */
export const QUESTIONS: readonly Question[] = (() => {
  let offset = 0;
  return ANSWER_COUNTS.map((count, q) => {
    const answers = Array.from({ length: count }, (_, a) => offset + a);
    offset += count;
    const parent = PARENTS[q];
    return {
      number: q + 1,
      text: QUESTION_TEXTS[q],
      answers,
      parent: parent === null ? null : classIndex(parent),
    };
  });
})();

/** Number of label columns (37). */
export const NUM_CLASSES = CLASS_COLUMNS.length;
