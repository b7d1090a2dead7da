/**
 * `deno task predict`: Kaggle-format predictions for a folder of 424x424 JPEGs named by
 * GalaxyID, with a model trained by the pipeline (read from the cache).
 *
 * @module
 */
export async function predictCommand(_args: string[], log: (line: string) => void): Promise<number> {
  log("predict: not implemented yet");
  return await Promise.resolve(1);
}
