/**
 * Writing files so that a reader never sees half of one: a temporary name in the same folder,
 * then a rename, which replaces the old file in one step.
 *
 * @module
 */

/** Writes bytes or text to `path` through a temporary file and a rename; the temporary goes on failure. */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    if (typeof data === "string") await Deno.writeTextFile(tmp, data);
    else await Deno.writeFile(tmp, data);
    await Deno.rename(tmp, path);
  } catch (error) {
    await Deno.remove(tmp).catch(() => {});
    throw error;
  }
}
