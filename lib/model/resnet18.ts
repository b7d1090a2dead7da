/**
 * ResNet-18 (He et al. 2016, torchvision's layout) for 64x64 inputs and 37 sigmoid outputs:
 * a stem, four stages of two BasicBlocks (64, 128, 256, 512 filters, stride 2 from the second
 * stage on, 1x1 stride-2 projection shortcuts), global average pooling and a dense layer.
 * Padding is explicit so every convolution sees the same pixels as PyTorch's symmetric padding
 * (TF's "same" pads stride-2 convolutions asymmetrically).
 *
 * @module
 */
import * as tfl from "@tensorflow/tfjs-layers";
import { NUM_CLASSES } from "../classes.ts";
import { batchNorm, checkPositiveInt, heFanOut, torchBias, torchKernel } from "./_init.ts";

/** Options of {@link resnet18}. */
export interface ResNet18Options {
  /** Side of the square RGB input (default 64). */
  inputSize?: number;
  seed: number;
  /**
   * `"imagenet"` (default): 7x7 stride-2 conv + 3x3 stride-2 max-pool, 64x64 -> 16x16.
   * `"cifar"`: one 3x3 stride-1 conv, no pool, so stage 1 runs at full resolution (16x the FLOPs).
   */
  stem?: "imagenet" | "cifar";
}

type T = tfl.SymbolicTensor;

/** A 3x3 or 1x1 convolution without bias, PyTorch-style explicit padding. */
function conv(
  seed: number,
  name: string,
  x: T,
  filters: number,
  kernel: number,
  stride: number,
): T {
  const pad = (kernel - 1) / 2;
  if (pad > 0 && stride > 1) {
    x = tfl.layers.zeroPadding2d({ name: `${name}_pad`, padding: pad }).apply(
      x,
    ) as T;
  }
  return tfl.layers.conv2d({
    name,
    filters,
    kernelSize: kernel,
    strides: stride,
    padding: pad > 0 && stride === 1 ? "same" : "valid", // odd kernel, stride 1: "same" is symmetric
    useBias: false,
    kernelInitializer: heFanOut(seed, name),
  }).apply(x) as T;
}

/** BasicBlock: conv3x3-BN-ReLU-conv3x3-BN, plus the (projected) input, then ReLU. */
function basicBlock(
  seed: number,
  name: string,
  x: T,
  filters: number,
  stride: number,
): T {
  const inChannels = x.shape[3] as number;
  let y = conv(seed, `${name}_conv1`, x, filters, 3, stride); // [B, H/s, W/s, F]
  y = batchNorm(`${name}_bn1`).apply(y) as T;
  y = tfl.layers.reLU({ name: `${name}_relu1` }).apply(y) as T;
  y = conv(seed, `${name}_conv2`, y, filters, 3, 1);
  y = batchNorm(`${name}_bn2`).apply(y) as T;
  let shortcut = x;
  if (stride !== 1 || inChannels !== filters) {
    shortcut = conv(seed, `${name}_down`, x, filters, 1, stride); // [B, H/s, W/s, F]
    shortcut = batchNorm(`${name}_down_bn`).apply(shortcut) as T;
  }
  const sum = tfl.layers.add({ name: `${name}_add` }).apply([y, shortcut]) as T;
  return tfl.layers.reLU({ name: `${name}_out` }).apply(sum) as T;
}

/**
 * Builds ResNet-18. With the ImageNet stem it has 11,195,493 trainable parameters (torchvision's
 * count with a 37-way head) plus 9,600 BatchNorm moving statistics.
 */
export function resnet18(
  { inputSize = 64, seed, stem = "imagenet" }: ResNet18Options,
): tfl.LayersModel {
  checkPositiveInt("resnet18 inputSize", inputSize, 32);
  if (stem !== "imagenet" && stem !== "cifar") {
    throw new Error(
      `resnet18 stem must be "imagenet" or "cifar", got "${stem}"`,
    );
  }
  const input = tfl.input({ name: "image", shape: [inputSize, inputSize, 3] }); // [B, 64, 64, 3]
  let x: T;
  if (stem === "imagenet") {
    x = tfl.layers.zeroPadding2d({ name: "stem_pad", padding: 3 }).apply(
      input,
    ) as T; // [B, 70, 70, 3]
    x = tfl.layers.conv2d({
      name: "stem_conv",
      filters: 64,
      kernelSize: 7,
      strides: 2,
      useBias: false,
      kernelInitializer: heFanOut(seed, "stem_conv"),
    }).apply(x) as T; // [B, 32, 32, 64]
    x = batchNorm("stem_bn").apply(x) as T;
    x = tfl.layers.reLU({ name: "stem_relu" }).apply(x) as T;
    // Zero padding equals PyTorch's -inf padding here: the inputs are ReLU outputs, >= 0.
    x = tfl.layers.zeroPadding2d({ name: "stem_pool_pad", padding: 1 }).apply(
      x,
    ) as T; // [B, 34, 34, 64]
    x = tfl.layers.maxPooling2d({ name: "stem_pool", poolSize: 3, strides: 2 })
      .apply(x) as T; // [B, 16, 16, 64]
  } else {
    x = conv(seed, "stem_conv", input, 64, 3, 1); // [B, 64, 64, 64]
    x = batchNorm("stem_bn").apply(x) as T;
    x = tfl.layers.reLU({ name: "stem_relu" }).apply(x) as T;
  }
  const stages = [64, 128, 256, 512];
  stages.forEach((filters, s) => {
    x = basicBlock(seed, `layer${s + 1}_0`, x, filters, s === 0 ? 1 : 2);
    x = basicBlock(seed, `layer${s + 1}_1`, x, filters, 1);
  }); // [B, 16, 16, 64] -> [B, 8, 8, 128] -> [B, 4, 4, 256] -> [B, 2, 2, 512]
  x = tfl.layers.globalAveragePooling2d({ name: "avgpool" }).apply(x) as T; // [B, 512]
  const y = tfl.layers.dense({
    name: "fc",
    units: NUM_CLASSES,
    activation: "sigmoid",
    kernelInitializer: torchKernel(seed, "fc"),
    biasInitializer: torchBias(seed, "fc", 512),
  }).apply(x) as T; // [B, 37]
  return tfl.model({ name: `resnet18_${stem}`, inputs: input, outputs: y });
}
