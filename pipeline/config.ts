/**
 * The resolved configuration of a run: typed defaults in one place, then an optional JSON file
 * (`--config`), then command-line flags. Unknown keys and bad values are errors that name the
 * culprit before any work starts.
 *
 * @module
 */

import { EXPERIMENT_NAMES } from "../lib/experiments.ts";

/** Experiments Step 6 can run (the course CNN itself is Step 4). */
const STEP6_EXPERIMENTS: readonly string[] = EXPERIMENT_NAMES.filter((n) => n !== "cnn");

/** Backends a user may ask for; `auto` picks the fastest that loads. */
export const BACKENDS = [
  "auto",
  "tensorflow",
  "webgpu",
  "wasm",
  "cpu",
] as const;
export type BackendRequest = typeof BACKENDS[number];

/** Everything a run depends on. Stages receive only the slice they declare in their params. */
export interface Config {
  data: string;
  config: string | null;
  out: string;
  cache: string;
  /** Report templates folder; null means the project's `templates/`. */
  templates: string | null;
  seed: number;
  epochs: number;
  limit: number | null;
  backend: BackendRequest;
  pdf: boolean;
  force: string[];
  skipBad: boolean;
  crop: number;
  imageSize: number;
  testFraction: number;
  batchSize: number;
  learningRate: number;
  syntheticCount: number;
  /** Step-6 experiments, or `auto` (those affordable on the chosen backend). */
  experiments: string[] | "auto";
  /** Data-parallel training workers on the wasm and cpu backends, or `auto` (one per core, at most 4). */
  workers: number | "auto";
  help: boolean;
}

/** The course's settings: crop 212, 64x64, 80/20 split, batch 64, Adam lr 0.003, 6 epochs. */
export const DEFAULTS: Config = {
  data: "data",
  config: null,
  out: "out",
  cache: "cache",
  templates: null,
  seed: 42,
  epochs: 6,
  limit: null,
  backend: "auto",
  pdf: false,
  force: [],
  skipBad: false,
  crop: 212,
  imageSize: 64,
  testFraction: 0.2,
  batchSize: 64,
  learningRate: 0.003,
  syntheticCount: 2500,
  experiments: "auto",
  workers: "auto",
  help: false,
};

/** A mistake in the command line or config file; main.ts prints it without a stack trace. */
export class UsageError extends Error {
  override name = "UsageError";
}

type Kind = "path" | "int" | "number" | "boolean" | "choice" | "stages" | "experiments" | "workers";

interface OptionSpec {
  key: keyof Config;
  kind: Kind;
  help: string;
  /** Returns a complaint about a parsed value, or undefined when it is fine. */
  check?: (value: never) => string | undefined;
  choices?: readonly string[];
  /** Only on the command line, not in a config file. */
  cliOnly?: boolean;
}

const positive = (v: number) => v >= 1 ? undefined : "must be at least 1";
const nonNegative = (v: number) => v >= 0 ? undefined : "must not be negative";

/** Flag name (kebab-case, also the config-file key) to its spec, in the order --help shows. */
const OPTIONS: Record<string, OptionSpec> = {
  data: {
    key: "data",
    kind: "path",
    help:
      "Kaggle-layout folder (training_solutions_rev1.csv, images_training_rev1/); with no CSV in it, a synthetic Galaxy Zoo is generated",
  },
  config: {
    key: "config",
    kind: "path",
    help: "JSON file with the same keys as these flags",
    cliOnly: true,
  },
  out: {
    key: "out",
    kind: "path",
    help: "where report.html, report.pdf and results.json go",
  },
  cache: {
    key: "cache",
    kind: "path",
    help: "where stage outputs are memoized",
  },
  templates: {
    key: "templates",
    kind: "path",
    help: "folder of report templates (default: the project's templates/)",
  },
  seed: {
    key: "seed",
    kind: "int",
    help:
      "seed for the split, shuffling and initialisation (the synthetic data set keeps its own fixed seed)",
    check: nonNegative,
  },
  epochs: {
    key: "epochs",
    kind: "int",
    help: "training epochs for every model",
    check: positive,
  },
  limit: {
    key: "limit",
    kind: "int",
    help: "use only the first N galaxies of the CSV (quick runs)",
    check: positive,
  },
  backend: {
    key: "backend",
    kind: "choice",
    choices: BACKENDS,
    help: "TensorFlow.js backend",
  },
  pdf: {
    key: "pdf",
    kind: "boolean",
    help: "also print out/report.pdf with a headless Chromium",
  },
  force: {
    key: "force",
    kind: "stages",
    help: "rerun this stage and everything downstream (repeatable or comma-separated; 'all')",
    cliOnly: true,
  },
  "skip-bad": {
    key: "skipBad",
    kind: "boolean",
    help: "exclude malformed rows and unreadable images (listed in the report) instead of stopping",
  },
  crop: {
    key: "crop",
    kind: "int",
    help: "centre crop of the 424x424 images, in pixels",
    check: positive,
  },
  "image-size": {
    key: "imageSize",
    kind: "int",
    help: "side of the resized square images fed to the models",
    check: positive,
  },
  "test-fraction": {
    key: "testFraction",
    kind: "number",
    help: "share of galaxies held out for testing",
    check: (v: number) => v > 0 && v < 1 ? undefined : "must be between 0 and 1 (exclusive)",
  },
  "batch-size": {
    key: "batchSize",
    kind: "int",
    help: "mini-batch size",
    check: positive,
  },
  "learning-rate": {
    key: "learningRate",
    kind: "number",
    help: "Adam learning rate",
    check: (v: number) => v > 0 ? undefined : "must be positive",
  },
  "synthetic-count": {
    key: "syntheticCount",
    kind: "int",
    help: "galaxies in the generated synthetic data set (used only when --data holds no Kaggle data)",
    check: (v: number) => v >= 10 ? undefined : "must be at least 10",
  },
  experiments: {
    key: "experiments",
    kind: "experiments",
    help: `Step-6 models, comma-separated from ${
      STEP6_EXPERIMENTS.join(", ")
    }; 'all'; or 'auto': the ones affordable on the chosen backend`,
  },
  workers: {
    key: "workers",
    kind: "workers",
    help:
      "training workers on the wasm and cpu backends (data parallel, one core each), or 'auto': one per core, at most 4",
  },
  help: { key: "help", kind: "boolean", help: "show this help", cliOnly: true },
};

/** The flag names, as --help and error messages list them. */
export const FLAG_NAMES: readonly string[] = Object.keys(OPTIONS);

function parseValue(
  flag: string,
  spec: OptionSpec,
  raw: unknown,
  stageNames: readonly string[],
): unknown {
  const where = `--${flag}`;
  switch (spec.kind) {
    case "path":
      if (typeof raw !== "string" || raw === "") {
        throw new UsageError(`${where} needs a path`);
      }
      return raw;
    case "int":
    case "number": {
      const n = typeof raw === "number"
        ? raw
        : typeof raw === "string" && raw.trim() !== ""
        ? Number(raw)
        : NaN;
      if (
        !Number.isFinite(n) || (spec.kind === "int" && !Number.isInteger(n))
      ) {
        throw new UsageError(
          `${where} must be ${spec.kind === "int" ? "an integer" : "a number"}, got '${raw}'`,
        );
      }
      const complaint = spec.check?.(n as never);
      if (complaint) throw new UsageError(`${where} ${complaint}, got ${n}`);
      return n;
    }
    case "boolean":
      if (typeof raw === "boolean") return raw;
      if (raw === "true" || raw === "false") return raw === "true";
      throw new UsageError(`${where} is true or false, got '${raw}'`);
    case "choice":
      if (typeof raw !== "string" || !spec.choices!.includes(raw)) {
        throw new UsageError(
          `${where} must be one of ${spec.choices!.join(", ")}, got '${raw}'`,
        );
      }
      return raw;
    case "workers": {
      if (raw === "auto") return "auto";
      const n = typeof raw === "number" ? raw : Number(raw);
      if (!Number.isInteger(n) || n < 1 || n > 16) {
        throw new UsageError(`${where} must be 'auto' or an integer from 1 to 16, got '${raw}'`);
      }
      return n;
    }
    case "experiments": {
      const items = (Array.isArray(raw) ? raw : [raw]).flatMap((item) => String(item).split(","))
        .map((s) => s.trim()).filter(Boolean);
      if (items.length === 1 && items[0] === "auto") return "auto";
      if (items.length === 1 && items[0] === "all") return [...STEP6_EXPERIMENTS];
      for (const item of items) {
        if (!STEP6_EXPERIMENTS.includes(item)) {
          throw new UsageError(
            `${where}: unknown experiment '${item}'; choose from ${
              STEP6_EXPERIMENTS.join(", ")
            }, all or auto`,
          );
        }
      }
      return items;
    }
    case "stages": {
      const items = (Array.isArray(raw) ? raw : [raw]).flatMap((item) => String(item).split(","))
        .map((s) => s.trim()).filter(Boolean);
      for (const item of items) {
        if (item !== "all" && !stageNames.includes(item)) {
          throw new UsageError(
            `${where}: unknown stage '${item}'; stages are ${stageNames.join(", ")} (or all)`,
          );
        }
      }
      return items;
    }
  }
}

function unknownKey(what: string, name: string): UsageError {
  return new UsageError(
    `Unknown ${what} '${name}'. Valid ${what}s: ${
      FLAG_NAMES.map((f) => what === "flag" ? `--${f}` : f).join(", ")
    }`,
  );
}

/** Splits argv into flag/value pairs; `--flag value`, `--flag=value` and bare booleans. */
function tokenize(args: readonly string[]): [string, unknown][] {
  const pairs: [string, unknown][] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "-h") {
      pairs.push(["help", true]);
      continue;
    }
    if (!arg.startsWith("--")) {
      throw new UsageError(
        `Unexpected argument '${arg}': options are flags such as --epochs 3 (see --help)`,
      );
    }
    const eq = arg.indexOf("=");
    const flag = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    const spec = OPTIONS[flag];
    if (!spec) throw unknownKey("flag", arg);
    if (eq >= 0) pairs.push([flag, arg.slice(eq + 1)]);
    else if (spec.kind === "boolean") pairs.push([flag, true]);
    else if (i + 1 < args.length && !args[i + 1].startsWith("--")) {
      pairs.push([flag, args[++i]]);
    } else throw new UsageError(`--${flag} needs a value`);
  }
  return pairs;
}

/** Reads a `--config` JSON file into flag/value pairs, naming the file in every complaint. */
function readConfigFile(path: string): [string, unknown][] {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    throw new UsageError(
      `Cannot read config file '${path}': ${(error as Error).message}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(
      `Config file '${path}' is not valid JSON: ${(error as Error).message}`,
    );
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new UsageError(
      `Config file '${path}' must hold a JSON object of flag names to values`,
    );
  }
  return Object.entries(parsed).map(([key, value]) => {
    const spec = OPTIONS[key];
    if (!spec) {
      throw new UsageError(
        `${unknownKey("config key", key).message} (in '${path}')`,
      );
    }
    if (spec.cliOnly) {
      throw new UsageError(
        `Config key '${key}' is only accepted on the command line (in '${path}')`,
      );
    }
    return [key, value];
  });
}

/**
 * Resolves defaults, then `--config FILE`, then flags. Checks values and that the data folder
 * exists, so a bad run fails before any work.
 */
export function parseConfig(
  args: readonly string[],
  stageNames: readonly string[],
): Config {
  const cliPairs = tokenize(args);
  const configPath = cliPairs.findLast(([flag]) => flag === "config")?.[1] as
    | string
    | undefined;
  const pairs = [
    ...(configPath ? readConfigFile(configPath) : []),
    ...cliPairs,
  ];
  const config: Record<string, unknown> = { ...DEFAULTS, force: [] };
  for (const [flag, raw] of pairs) {
    const spec = OPTIONS[flag];
    const value = parseValue(flag, spec, raw, stageNames);
    config[spec.key] = spec.kind === "stages"
      ? [...(config.force as string[]), ...(value as string[])]
      : value;
  }
  const resolved = config as unknown as Config;
  if (!resolved.help) checkFolders(resolved);
  return resolved;
}

function checkFolders(config: Config): void {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(config.data);
  } catch {
    throw new UsageError(`--data: folder '${config.data}' does not exist`);
  }
  if (!info.isDirectory) {
    throw new UsageError(`--data: '${config.data}' is not a folder`);
  }
  if (config.crop > 424) {
    throw new UsageError(
      `--crop must be at most 424 (the Kaggle images are 424x424), got ${config.crop}`,
    );
  }
  if (config.imageSize > config.crop) {
    throw new UsageError(
      `--image-size (${config.imageSize}) must not exceed --crop (${config.crop})`,
    );
  }
}

/** The --help text, generated from the option specs so it never drifts from the parser. */
export function helpText(
  command: string,
  stageNames: readonly string[],
): string {
  const lines = Object.entries(OPTIONS).map(([flag, spec]) => {
    const value = spec.kind === "boolean"
      ? ""
      : spec.kind === "choice"
      ? ` <${spec.choices!.join("|")}>`
      : spec.kind === "path"
      ? " <path>"
      : spec.kind === "stages"
      ? " <stage>"
      : " <n>";
    const def = DEFAULTS[spec.key];
    const shown = def === null || def === false || (Array.isArray(def) && def.length === 0)
      ? ""
      : ` (default ${def})`;
    return `  --${flag}${value}\n      ${spec.help}${shown}`;
  });
  return [
    `Usage: deno task ${command} [flags]`,
    "",
    "Runs the memoized Galaxy Zoo pipeline and renders the report.",
    `Stages: ${stageNames.join(" -> ")}`,
    "",
    "Flags:",
    ...lines,
  ].join("\n");
}
