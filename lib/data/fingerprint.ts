/**
 * A cheap fingerprint of a Kaggle-layout folder: the CSV's content hash plus the names, sizes and
 * modification times of the images. Re-hashing 61,578 JPEGs on every run is what makes data
 * pipelines slow to start; the derived packed files are hashed instead.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { hashFile } from "../../pipeline/hash.ts";

export interface FolderFingerprint {
  csv: string;
  images: string;
  imageCount: number;
}

/** Hashes name, size and mtime of every file in `dir` (stat calls run a few hundred at a time). */
export async function fingerprintFiles(
  dir: string,
): Promise<{ hash: string; count: number }> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile) names.push(entry.name);
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return { hash: "missing", count: 0 };
    }
    throw error;
  }
  names.sort();
  const hash = createHash("sha256");
  const chunk = 512;
  for (let i = 0; i < names.length; i += chunk) {
    const stats = await Promise.all(
      names.slice(i, i + chunk).map((name) => Deno.stat(join(dir, name))),
    );
    stats.forEach((stat, j) =>
      hash.update(
        `${names[i + j]}\0${stat.size}\0${stat.mtime?.getTime() ?? 0}\n`,
      )
    );
  }
  return { hash: hash.digest("hex"), count: names.length };
}

/** Fingerprint of a CSV (content) and an image folder (listing). */
export async function fingerprintFolder(
  csvPath: string,
  imageDir: string,
): Promise<FolderFingerprint> {
  const images = await fingerprintFiles(imageDir);
  return {
    csv: await hashFile(csvPath),
    images: images.hash,
    imageCount: images.count,
  };
}
