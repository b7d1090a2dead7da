/**
 * Saving and loading TF.js LayersModels as `model.json` + `weights.bin` in a directory, with Deno
 * file APIs (tfjs-node's `file://` handler is not available). The format is the one
 * `tfjs.converters` and `tf.loadLayersModel` use, so other TF.js tools can read the files.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { join } from "node:path";
// Registers the custom layer so models containing it deserialise.
import "./decision_tree_output.ts";
import { writeFileAtomic } from "../files.ts";

/** JSON-ready values stored as `userDefinedMetadata` in model.json (TF.js's own type). */
export type ModelMetadata = NonNullable<tf.io.ModelJSON["userDefinedMetadata"]>;

const MODEL_JSON = "model.json";
const WEIGHTS_BIN = "weights.bin";

/** Concatenates TF.js weight data, which may come as one buffer or several. */
function weightBytes(data: tf.io.WeightData): Uint8Array {
  return new Uint8Array(tf.io.CompositeArrayBuffer.join(data));
}

/**
 * A TF.js IOHandler that saves to and loads from `dir` (created if missing). `metadata` goes into
 * model.json's `userDefinedMetadata` (e.g. the training config).
 */
export function fileHandler(
  dir: string,
  metadata?: ModelMetadata,
): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new Error(
          "fileHandler saves LayersModels only (got a binary graph topology)",
        );
      }
      await Deno.mkdir(dir, { recursive: true });
      const weights = artifacts.weightData ? weightBytes(artifacts.weightData) : new Uint8Array();
      const modelJson: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology!,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        weightsManifest: [{
          paths: [WEIGHTS_BIN],
          weights: artifacts.weightSpecs ?? [],
        }],
        ...(metadata ? { userDefinedMetadata: metadata } : {}),
      };
      // Weights first: model.json is the commit point that names them.
      await writeFileAtomic(join(dir, WEIGHTS_BIN), weights);
      await writeFileAtomic(join(dir, MODEL_JSON), JSON.stringify(modelJson));
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(0), // not recorded: saved files stay byte-identical across runs
          modelTopologyType: "JSON",
          weightDataBytes: weights.byteLength,
        },
      };
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      const path = join(dir, MODEL_JSON);
      let modelJson: tf.io.ModelJSON;
      try {
        modelJson = JSON.parse(await Deno.readTextFile(path));
      } catch (error) {
        throw new Error(
          `Cannot read model ${path}: ${(error as Error).message}`,
        );
      }
      return tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
        const specs = manifest.flatMap((group) => group.weights);
        const parts = await Promise.all(
          manifest.flatMap((group) => group.paths).map((p) => Deno.readFile(join(dir, p))),
        );
        const buffers = parts.map((p) => p.buffer.slice(p.byteOffset, p.byteOffset + p.byteLength));
        return [
          specs,
          tf.io.CompositeArrayBuffer.join(buffers as ArrayBuffer[]),
        ];
      });
    },
  };
}

/** Saves `model` as `dir/model.json` + `dir/weights.bin`. */
export async function saveModel(
  model: tfl.LayersModel,
  dir: string,
  metadata?: ModelMetadata,
): Promise<void> {
  await model.save(fileHandler(dir, metadata));
}

/** Loads a model saved by {@link saveModel} (custom decision-tree layer included). */
export async function loadModel(dir: string): Promise<tfl.LayersModel> {
  return await tfl.loadLayersModel(fileHandler(dir));
}
