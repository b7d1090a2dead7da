/**
 * Content hashing for cache keys: bytes, canonical JSON, files, and a module's source together
 * with every local module it imports (so editing a helper reruns the stages that use it).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Hex SHA-256 of bytes or a string. */
export function sha256(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * JSON with object keys sorted at every level, so equal values always serialise the same way.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { canonicalJson } from "./hash.ts";
 * assert.equal(canonicalJson({ b: 1, a: [2, { d: 3, c: 4 }] }), '{"a":[2,{"c":4,"d":3}],"b":1}');
 * ```
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => {
    if (v && typeof v === "object" && !Array.isArray(v)) {
      return Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]));
    }
    return v;
  });
}

/** Hex SHA-256 of a value's canonical JSON. */
export function hashJson(value: unknown): string {
  return sha256(canonicalJson(value));
}

/** Streams a file through SHA-256 without holding it in memory. */
export async function hashFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path, { read: true });
  const buffer = new Uint8Array(1 << 20);
  while (true) {
    const n = await file.read(buffer);
    if (n === null) break;
    hash.update(buffer.subarray(0, n));
  }
  return hash.digest("hex");
}

// Static `import ... from "./x.ts"`, `export ... from "../y.ts"`, bare `import "./z.ts"` and
// literal dynamic `import("./w.ts")`. Only relative specifiers: npm packages are pinned by the
// lock file and their result-changing versions enter keys explicitly.
const LOCAL_IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.{1,2}\/[^"']+)["']/g;

/**
 * The local modules a module imports, transitively, as absolute paths (itself included), not
 * descending into folders in `exclude`.
 */
export async function localModuleGraph(entry: string, exclude: readonly string[] = []): Promise<string[]> {
  const seen = new Set<string>();
  const pending = [
    entry.startsWith("file:") ? fileURLToPath(entry) : resolve(entry),
  ];
  while (pending.length > 0) {
    const path = pending.pop()!;
    if (seen.has(path) || exclude.some((folder) => path.startsWith(folder))) continue;
    seen.add(path);
    // Comments go first: doc examples and prose mention imports that are not edges of the graph.
    const source = (await Deno.readTextFile(path)).replace(/\/\*[\s\S]*?\*\/|(^|[^:"'`])\/\/.*$/gm, "$1");
    for (const match of source.matchAll(LOCAL_IMPORT)) {
      pending.push(join(dirname(path), match[1]));
    }
  }
  return [...seen].sort();
}

/**
 * Hash of a module's source and every local module it imports. Paths enter the hash relative to
 * `root`, so a checkout moved to another folder keeps its keys. The runner's own code
 * (`root/pipeline/`) is left out: it is not any stage's code, and a stage's params already carry
 * the config it uses, so editing the flag parser must not rerun the synthetic data generation.
 */
export async function hashModuleSources(
  entry: string,
  root: string,
): Promise<string> {
  const files = await localModuleGraph(entry, [join(root, "pipeline") + "/"]);
  const parts: [string, string][] = [];
  for (const file of files) {
    parts.push([relative(root, file), sha256(await Deno.readFile(file))]);
  }
  return hashJson(parts);
}
