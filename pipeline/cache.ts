/**
 * Cache entries: a folder per stage and key holding the outputs and a `manifest.json` written
 * last. Work happens in a `.partial-<key>` folder renamed into place when complete, so a run
 * killed at any moment never leaves an entry that reads as complete.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { join, relative } from "node:path";
import { hashFile } from "./hash.ts";

/** One output file as recorded in a manifest. */
export interface FileRecord {
  path: string;
  size: number;
  /** Full SHA-256 for files up to {@link FULL_HASH_LIMIT}; head+tail hash (`quick:`) above. */
  sha256: string;
}

/** What sits next to a stage's outputs. */
export interface Manifest {
  format: 1;
  stage: string;
  key: string;
  /** The ingredients of the key, so a later run can say why a key changed. */
  keyParts: KeyParts;
  params: unknown;
  versions: Record<string, string>;
  inputs: Record<string, string>;
  files: FileRecord[];
  result: unknown;
  createdAt: string;
  runId: string;
  seconds: number;
}

/** The ingredients of a stage key. */
export interface KeyParts {
  source: string;
  params: unknown;
  upstream: Record<string, string>;
  fingerprint: unknown;
  versions: Record<string, string>;
}

export const MANIFEST = "manifest.json";
const FORMAT = 1;
/** Files larger than this are verified by size and a hash of their first and last MiB. */
export const FULL_HASH_LIMIT = 16 << 20;
/** Entries with more files than this verify sizes on an evenly spread sample. */
const SAMPLE_LIMIT = 2000;

/** Folder name of a key: a prefix is plenty to tell entries of one stage apart. */
export function entryName(key: string): string {
  return key.slice(0, 16);
}

export function entryDir(cacheDir: string, stage: string, key: string): string {
  return join(cacheDir, stage, entryName(key));
}

export function partialDir(
  cacheDir: string,
  stage: string,
  key: string,
): string {
  return join(cacheDir, stage, `.partial-${entryName(key)}`);
}

async function quickHash(path: string, size: number): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path, { read: true });
  const chunk = new Uint8Array(1 << 20);
  for (const offset of [0, Math.max(0, size - chunk.length)]) {
    await file.seek(offset, Deno.SeekMode.Start);
    let filled = 0;
    while (filled < chunk.length) {
      const n = await file.read(chunk.subarray(filled));
      if (n === null) break;
      filled += n;
    }
    hash.update(chunk.subarray(0, filled));
  }
  hash.update(String(size));
  return "quick:" + hash.digest("hex");
}

/** Hash as recorded in manifests: full below the limit, quick above. */
export async function recordHash(path: string, size: number): Promise<string> {
  return size <= FULL_HASH_LIMIT ? await hashFile(path) : await quickHash(path, size);
}

async function listFiles(dir: string, base = dir): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) files.push(...await listFiles(path, base));
    else if (entry.isFile && !(path === join(base, MANIFEST))) {
      files.push(relative(base, path));
    }
  }
  return files.sort();
}

/** Records every file under `dir` (except the manifest) with its size and hash. */
export async function recordFiles(dir: string): Promise<FileRecord[]> {
  const records: FileRecord[] = [];
  for (const path of await listFiles(dir)) {
    const { size } = await Deno.stat(join(dir, path));
    records.push({
      path,
      size,
      sha256: await recordHash(join(dir, path), size),
    });
  }
  return records;
}

/**
 * Reads and checks a committed entry. Returns the manifest, or a reason it can't be trusted
 * (missing, unparsable, another key, files missing or changed).
 */
export async function readEntry(
  dir: string,
  stage: string,
  key: string,
): Promise<Manifest | { problem: string }> {
  let text: string;
  try {
    text = await Deno.readTextFile(join(dir, MANIFEST));
  } catch (error) {
    return {
      problem: error instanceof Deno.errors.NotFound
        ? "missing"
        : `unreadable manifest (${(error as Error).message})`,
    };
  }
  let manifest: Manifest;
  try {
    manifest = JSON.parse(text);
  } catch {
    return { problem: `${join(dir, MANIFEST)} does not parse` };
  }
  if (
    manifest?.format !== FORMAT || manifest.stage !== stage ||
    manifest.key !== key || !Array.isArray(manifest.files)
  ) {
    return {
      problem: `${join(dir, MANIFEST)} belongs to another stage, key or format`,
    };
  }
  const files = manifest.files;
  const step = files.length > SAMPLE_LIMIT ? files.length / SAMPLE_LIMIT : 1;
  let hashedBytes = 0;
  for (let i = 0; i < files.length; i += step) {
    const record = files[Math.floor(i)];
    const path = join(dir, record.path);
    let size: number;
    try {
      size = (await Deno.stat(path)).size;
    } catch {
      return { problem: `output file ${record.path} is missing` };
    }
    if (size !== record.size) {
      return {
        problem: `output file ${record.path} has ${size} bytes, the manifest says ${record.size}`,
      };
    }
    // Content hashes of small entries are cheap; big entries (tens of thousands of images) are
    // trusted on sizes plus the hashes of their large packed files.
    if (files.length <= SAMPLE_LIMIT || record.size > FULL_HASH_LIMIT) {
      if (record.size <= FULL_HASH_LIMIT) hashedBytes += record.size;
      if (hashedBytes <= 64 << 20 || record.size > FULL_HASH_LIMIT) {
        if (await recordHash(path, size) !== record.sha256) {
          return {
            problem: `output file ${record.path} changed since it was written`,
          };
        }
      }
    }
  }
  return manifest;
}

/** Writes the manifest into `partial` (last, atomically) and renames the folder into place. */
export async function commitEntry(
  partial: string,
  final: string,
  manifest: Manifest,
): Promise<void> {
  const tmp = join(partial, MANIFEST + ".tmp");
  await Deno.writeTextFile(tmp, JSON.stringify(manifest, null, 1));
  await Deno.rename(tmp, join(partial, MANIFEST));
  await Deno.remove(final, { recursive: true }).catch(() => {});
  await Deno.rename(partial, final);
}
