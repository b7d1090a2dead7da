/**
 * libjpeg-turbo's TurboJPEG C API (2.x: `tjInitDecompress`, `tjDecompress2`, ...) through Deno's
 * FFI. Decoding with a smaller output size than the image selects libjpeg-turbo's DCT scaling
 * (1/2, 1/4, 1/8 in the inverse DCT itself), which is where the speed of Step 2 comes from.
 * Every call is synchronous and cheap enough (~1 ms for a 424x424 image) to run on a worker.
 *
 * @module
 */

const SYMBOLS = {
  tjInitDecompress: { parameters: [], result: "pointer" },
  tjInitCompress: { parameters: [], result: "pointer" },
  tjDestroy: { parameters: ["pointer"], result: "i32" },
  // handle, jpegBuf, jpegSize, *width, *height, *jpegSubsamp, *jpegColorspace
  tjDecompressHeader3: {
    parameters: ["pointer", "buffer", "u64", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  // handle, jpegBuf, jpegSize, dstBuf, width, pitch, height, pixelFormat, flags
  tjDecompress2: {
    parameters: ["pointer", "buffer", "u64", "buffer", "i32", "i32", "i32", "i32", "i32"],
    result: "i32",
  },
  // handle, srcBuf, width, pitch, height, pixelFormat, **jpegBuf, *jpegSize, subsamp, quality, flags
  tjCompress2: {
    parameters: ["pointer", "buffer", "i32", "i32", "i32", "i32", "buffer", "buffer", "i32", "i32", "i32"],
    result: "i32",
  },
  tjBufSize: { parameters: ["i32", "i32", "i32"], result: "u64" },
  tjFree: { parameters: ["pointer"], result: "void" },
  tjGetErrorStr2: { parameters: ["pointer"], result: "pointer" },
  tjGetErrorCode: { parameters: ["pointer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

const TJPF_RGB = 0;
const TJSAMP_420 = 2;
const TJFLAG_NOREALLOC = 1024;
/** A warning (a truncated file, corrupt data) stops decoding instead of filling in grey. */
const TJFLAG_STOPONWARNING = 8192;
/** Refuses progressive JPEGs with absurdly many scans (a decompression bomb), TurboJPEG >= 2.1. */
const TJFLAG_LIMITSCANS = 16384;
const TJERR_WARNING = 0;

/** Where Debian, Fedora/Arch and Homebrew put the library, tried in order. */
export const TURBOJPEG_PATHS: readonly string[] = [
  "/usr/lib/x86_64-linux-gnu/libturbojpeg.so.0",
  "/usr/lib/aarch64-linux-gnu/libturbojpeg.so.0",
  "/usr/lib64/libturbojpeg.so.0",
  "/usr/lib/libturbojpeg.so.0",
  "/opt/homebrew/lib/libturbojpeg.dylib",
  "/usr/local/lib/libturbojpeg.dylib",
];

/** A JPEG's header: its size in pixels. */
export interface JpegHeader {
  width: number;
  height: number;
}

/** One loaded libturbojpeg with a decompressor and a compressor; not shared between threads. */
export class TurboJpeg {
  readonly #lib: Deno.DynamicLibrary<typeof SYMBOLS>;
  readonly #decoder: Deno.PointerObject;
  readonly #encoder: Deno.PointerObject;
  readonly #header = new Int32Array(4);
  readonly #outPointer = new BigUint64Array(1);
  readonly #outSize = new BigUint64Array(1);
  #outBuffer = new Uint8Array(0);

  /** The file that was loaded and the libjpeg-turbo version string found in it. */
  private constructor(
    lib: Deno.DynamicLibrary<typeof SYMBOLS>,
    readonly path: string,
    readonly version: string,
  ) {
    this.#lib = lib;
    const decoder = lib.symbols.tjInitDecompress();
    const encoder = lib.symbols.tjInitCompress();
    if (decoder === null || encoder === null) {
      lib.close();
      throw new Error(`${path}: tjInitDecompress/tjInitCompress failed`);
    }
    this.#decoder = decoder;
    this.#encoder = encoder;
  }

  /**
   * Loads the library at `path` (an absolute path: no search, so the version read from that file
   * is the code that runs). Throws when it is missing, isn't TurboJPEG, or FFI is not allowed.
   */
  static open(path: string): TurboJpeg {
    const version = libraryVersion(path);
    return new TurboJpeg(Deno.dlopen(path, SYMBOLS), path, version);
  }

  /** Width and height from the header; throws with libjpeg-turbo's message if it is not a JPEG. */
  header(jpeg: Uint8Array): JpegHeader {
    const h = this.#header;
    const rc = this.#lib.symbols.tjDecompressHeader3(
      this.#decoder,
      jpeg,
      BigInt(jpeg.length),
      h.subarray(0, 1),
      h.subarray(1, 2),
      h.subarray(2, 3),
      h.subarray(3, 4),
    );
    if (rc !== 0) throw new Error(`cannot read the JPEG header: ${this.#message(this.#decoder)}`);
    return { width: h[0], height: h[1] };
  }

  /**
   * Decodes to RGB at `width` x `height`, which must be one of the image's DCT-scaled sizes
   * (`scaledSize`). Any warning (truncated or corrupt data) is an error, never grey pixels.
   */
  decode(
    jpeg: Uint8Array,
    width: number,
    height: number,
    out = new Uint8Array(width * height * 3),
  ): Uint8Array {
    const flags = TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS;
    const rc = this.#lib.symbols.tjDecompress2(
      this.#decoder,
      jpeg,
      BigInt(jpeg.length),
      out,
      width,
      width * 3,
      height,
      TJPF_RGB,
      flags,
    );
    if (rc !== 0) {
      // With TJFLAG_STOPONWARNING a warning (TJERR_WARNING) also stops here: the file is cut short
      // or its data is damaged, and libjpeg would otherwise have filled the rest in grey.
      const warning = this.#lib.symbols.tjGetErrorCode(this.#decoder) === TJERR_WARNING;
      const what = warning ? "truncated or corrupt JPEG" : "cannot decode the JPEG";
      throw new Error(`${what}: ${this.#message(this.#decoder)}`);
    }
    return out;
  }

  /** Baseline 4:2:0 JPEG of RGB pixels at `quality` (libjpeg's scale, 1-100). */
  encode(rgb: Uint8Array, width: number, height: number, quality: number): Uint8Array {
    const capacity = Number(this.#lib.symbols.tjBufSize(width, height, TJSAMP_420));
    if (this.#outBuffer.length < capacity) this.#outBuffer = new Uint8Array(capacity);
    // TJFLAG_NOREALLOC: TurboJPEG writes into our buffer (sized by tjBufSize), nothing to tjFree.
    this.#outPointer[0] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(this.#outBuffer)));
    this.#outSize[0] = BigInt(capacity);
    const rc = this.#lib.symbols.tjCompress2(
      this.#encoder,
      rgb,
      width,
      width * 3,
      height,
      TJPF_RGB,
      this.#outPointer,
      this.#outSize,
      TJSAMP_420,
      quality,
      TJFLAG_NOREALLOC,
    );
    if (rc !== 0) throw new Error(`cannot encode a JPEG: ${this.#message(this.#encoder)}`);
    return this.#outBuffer.slice(0, Number(this.#outSize[0]));
  }

  /** Frees the TurboJPEG handles and unloads the library. */
  close(): void {
    this.#lib.symbols.tjDestroy(this.#decoder);
    this.#lib.symbols.tjDestroy(this.#encoder);
    this.#lib.close();
  }

  #message(handle: Deno.PointerObject): string {
    const text = this.#lib.symbols.tjGetErrorStr2(handle);
    return text === null ? "unknown TurboJPEG error" : new Deno.UnsafePointerView(text).getCString();
  }
}

/**
 * The libjpeg-turbo version compiled into the library file ("2.1.5 (build 20230203)", from
 * libjpeg's own version message), or a hash of the file when the string is not there.
 */
function libraryVersion(path: string): string {
  const bytes = Deno.readFileSync(path);
  const needle = new TextEncoder().encode("libjpeg-turbo version ");
  const at = indexOf(bytes, needle);
  if (at >= 0) {
    let end = at + needle.length;
    while (end < bytes.length && bytes[end] !== 0 && end - at < 80) end++;
    return new TextDecoder().decode(bytes.subarray(at + needle.length, end));
  }
  return `unknown (${bytes.length} bytes, FNV-1a ${fnv1a(bytes)})`;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  const first = needle[0];
  outer: for (let i = haystack.indexOf(first); i >= 0; i = haystack.indexOf(first, i + 1)) {
    for (let j = 1; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function fnv1a(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return (h >>> 0).toString(16).padStart(8, "0");
}
