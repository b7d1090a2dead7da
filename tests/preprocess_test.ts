import assert from "node:assert/strict";
import { join } from "node:path";
import sharp from "sharp";
import { generateSyntheticGalaxyZoo } from "../lib/synthetic/mod.ts";
import {
  centerCropResize,
  createPreprocessor,
  defaultPreprocessor,
  type ImageJob,
  ImageTooSmallError,
  imageVersions,
  openPreprocessor,
  type Preprocessor,
  preprocessToPacked,
  TURBOJPEG_PATHS,
} from "../lib/images/preprocess.ts";
import { jpegSize } from "../lib/images/_jpeg_size.ts";
import { LanczosResampler } from "../lib/images/_lanczos.ts";

const COURSE = { crop: 212, size: 64 };
const SHARP = openPreprocessor({ kind: "sharp" });
/** libjpeg-turbo where libturbojpeg0 is installed (CI installs it); its tests are skipped elsewhere. */
const TURBO: Preprocessor | null = (() => {
  const p = createPreprocessor();
  return p.spec.kind === "libjpeg-turbo" ? p : null;
})();
const NO_TURBO = TURBO === null;
const BACKENDS = [SHARP, ...(TURBO ? [TURBO] : [])];

/** A few synthetic 424x424 galaxies, generated once for this file. */
const work = await Deno.makeTempDir({ prefix: "preprocess_test_" });
await generateSyntheticGalaxyZoo({ dir: work, count: 6, seed: 3 });
const imageDir = join(work, "images_training_rev1");
const files = [...Deno.readDirSync(imageDir)].map((e) => join(imageDir, e.name)).sort();
globalThis.addEventListener("unload", () => Deno.removeSync(work, { recursive: true }));

/** The straightforward reading of the course text: crop the centre, then resize it. */
async function reference(file: string, crop: number, size: number): Promise<Uint8Array> {
  const { width = 0, height = 0 } = await sharp(file).metadata();
  const left = Math.floor((width - crop) / 2), top = Math.floor((height - crop) / 2);
  return new Uint8Array(
    await sharp(file).extract({ left, top, width: crop, height: crop })
      .resize(size, size, { kernel: "lanczos3" }).removeAlpha().raw().toBuffer(),
  );
}

function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  assert.equal(a.length, b.length);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}

Deno.test("centerCropResize gives 64x64 RGB within a fraction of a level of crop-then-resize", async () => {
  for (const p of BACKENDS) {
    for (const file of files) {
      const { rgb, width, height } = await centerCropResize(file, COURSE, p);
      assert.deepEqual([width, height, rgb.length], [64, 64, 64 * 64 * 3]);
      const diff = meanAbsDiff(rgb, await reference(file, 212, 64));
      assert.ok(diff < 2, `${p.decoder}, ${file}: mean |difference| ${diff.toFixed(2)} levels`);
      // Same pixels from a path or from the file's bytes.
      assert.deepEqual((await centerCropResize(await Deno.readFile(file), COURSE, p)).rgb, rgb);
    }
  }
});

Deno.test("sharp: a crop that doesn't scale to whole pixels falls back to exactly crop-then-resize", async () => {
  // 424 * 64 / 200 is not a whole number, so there is no shrink-on-load shortcut.
  const { rgb } = await centerCropResize(files[0], { crop: 200, size: 64 }, SHARP);
  assert.deepEqual(rgb, await reference(files[0], 200, 64));
});

Deno.test({
  name: "libjpeg-turbo: within a level of sharp, for the course geometry and others, and the default here",
  ignore: NO_TURBO,
  async fn() {
    assert.equal(defaultPreprocessor().spec.kind, "libjpeg-turbo");
    assert.match(imageVersions().decoder, /^libjpeg-turbo \d+\.\d+\.\d+/);
    for (
      const geometry of [COURSE, { crop: 200, size: 64 }, { crop: 424, size: 48 }, { crop: 100, size: 128 }]
    ) {
      let total = 0;
      for (const file of files) {
        const ours = await centerCropResize(file, geometry, TURBO!);
        assert.deepEqual([ours.width, ours.height], [geometry.size, geometry.size]);
        total += meanAbsDiff(ours.rgb, (await centerCropResize(file, geometry, SHARP)).rgb);
      }
      const diff = total / files.length;
      assert.ok(
        diff < 2,
        `${JSON.stringify(geometry)}: mean |difference| from sharp ${diff.toFixed(2)} levels`,
      );
    }
  },
});

Deno.test("Lanczos resampling keeps a flat image flat and an unscaled box unchanged", () => {
  const flat = new Uint8Array(212 * 212 * 3).fill(77);
  const box = { left: 53, top: 53, right: 159, bottom: 159 };
  assert.ok(new LanczosResampler(212, 212, box, 64, 64).resample(flat).every((v) => v === 77));
  const noise = Uint8Array.from({ length: 20 * 10 * 3 }, (_, i) => (i * 7919) % 256);
  const same = new LanczosResampler(20, 10, { left: 0, top: 0, right: 20, bottom: 10 }, 20, 10);
  assert.deepEqual(same.resample(noise), noise);
});

Deno.test("a truncated JPEG, a non-image, a PNG and a too-small image are errors that say what is wrong", async () => {
  const bytes = await Deno.readFile(files[0]);
  const png = new Uint8Array(
    await sharp({ create: { width: 300, height: 300, channels: 3, background: "#123" } }).png().toBuffer(),
  );
  const small = await sharp({ create: { width: 100, height: 80, channels: 3, background: "#123" } }).jpeg()
    .toBuffer();
  for (const p of BACKENDS) {
    // Never grey pixels for the missing half: libjpeg's warning stops the decode.
    await assert.rejects(
      centerCropResize(bytes.subarray(0, bytes.length >> 1), COURSE, p),
      /premature end of JPEG/i,
    );
    await assert.rejects(
      centerCropResize(new TextEncoder().encode("not an image"), COURSE, p),
      /unsupported image format/,
    );
    await assert.rejects(
      centerCropResize(new Uint8Array(small), COURSE, p),
      (e) => e instanceof ImageTooSmallError && /100x80, smaller than the 212x212 crop/.test(e.message),
    );
  }
  if (TURBO) {
    await assert.rejects(
      centerCropResize(bytes.subarray(0, bytes.length >> 1), COURSE, TURBO),
      /truncated or corrupt JPEG: Premature end of JPEG file/,
    );
    await assert.rejects(centerCropResize(png, COURSE, TURBO), /a PNG image, not a JPEG/);
    await assert.rejects(centerCropResize(new Uint8Array(0), COURSE, TURBO), /the file is empty/);
  }
});

Deno.test("without libturbojpeg (a missing path) the preprocessor falls back to sharp and says why", async () => {
  const missing = "/nonexistent/libturbojpeg.so.0";
  const p = createPreprocessor({ turbojpegPaths: [missing] });
  assert.equal(p.spec.kind, "sharp");
  assert.equal(p.sync, undefined);
  assert.match(p.decoder, /^sharp \S+ \(libvips /);
  assert.match(
    p.fallbackReason!,
    /libturbojpeg not loaded \(\/nonexistent\/libturbojpeg\.so\.0: not found\)/,
  );
  assert.deepEqual(
    (await centerCropResize(files[0], COURSE, p)).rgb,
    (await centerCropResize(files[0], COURSE, SHARP)).rgb,
  );
  // A worker asked for a library that isn't there fails loudly rather than switching backends.
  assert.throws(() => openPreprocessor({ kind: "libjpeg-turbo", path: missing }), Deno.errors.NotFound);
  if (TURBO) {
    assert.equal(
      createPreprocessor({ turbojpegPaths: [missing, ...TURBOJPEG_PATHS] }).spec.kind,
      "libjpeg-turbo",
    );
  }
});

Deno.test("jpegSize reads the frame header and declines what isn't a JPEG", async () => {
  assert.deepEqual(jpegSize(await Deno.readFile(files[0])), { width: 424, height: 424 });
  const progressive = await sharp({ create: { width: 30, height: 20, channels: 3, background: "#fff" } })
    .jpeg({ progressive: true }).toBuffer();
  assert.deepEqual(jpegSize(new Uint8Array(progressive)), { width: 30, height: 20 });
  const png = await sharp({ create: { width: 5, height: 5, channels: 3, background: "#fff" } }).png()
    .toBuffer();
  assert.equal(jpegSize(new Uint8Array(png)), null);
  assert.equal(jpegSize(new Uint8Array([0xff, 0xd8, 0xff])), null);
});

for (const p of BACKENDS) {
  Deno.test({
    name:
      `preprocessToPacked (${p.spec.kind}): workers give the same bytes as one thread; bad files are named, in order`,
    // Workers that finish are closed; sharp's native addon keeps nothing the test must wait for.
    sanitizeResources: false,
    async fn() {
      const bad = join(work, "bad");
      await Deno.mkdir(bad, { recursive: true });
      await Deno.writeTextFile(join(bad, "notes.jpg"), "not a jpeg");
      const jobsFor = (out: string): ImageJob[] =>
        [...files.slice(0, 3), join(bad, "notes.jpg"), ...files.slice(3)].map((input, i) => ({
          input,
          output: join(out, `${i}.jpg`),
        }));
      const results = [];
      for (const [workers, inFlight] of [[0, 1], [0, 8], [2, 3]]) {
        const out = join(work, `out-${p.spec.kind}-${workers}-${inFlight}`);
        await Deno.mkdir(out, { recursive: true });
        const seen: number[] = [];
        const outcome = await preprocessToPacked(
          jobsFor(out),
          join(out, "images.u8"),
          { ...COURSE, jpegQuality: 90, workers, inFlight, preprocessor: p },
          (done) => seen.push(done),
        );
        assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7]);
        assert.deepEqual(outcome.kept, [0, 1, 2, 4, 5, 6]);
        assert.equal(outcome.failed.length, 1);
        assert.equal(outcome.failed[0].index, 3);
        assert.match(outcome.failed[0].error, /unsupported image format/);
        const packed = await Deno.readFile(join(out, "images.u8"));
        const jpegs = await Promise.all(outcome.kept.map((i) => Deno.readFile(join(out, `${i}.jpg`))));
        results.push({ packed, jpegs });
      }
      const single = results[0];
      assert.equal(single.packed.length, 6 * 64 * 64 * 3);
      // Row r of the packed file is the r-th kept image.
      assert.deepEqual(
        single.packed.subarray(0, 64 * 64 * 3),
        (await centerCropResize(files[0], COURSE, p)).rgb,
      );
      assert.deepEqual(
        single.packed.subarray(3 * 64 * 64 * 3, 4 * 64 * 64 * 3),
        (await centerCropResize(files[3], COURSE, p)).rgb,
      );
      for (const other of results.slice(1)) {
        assert.deepEqual(other.packed, single.packed);
        assert.deepEqual(other.jpegs, single.jpegs);
      }
    },
  });
}
