// Packs JPEG streams of one size into a multi-page TIFF (compression 7,
// "JPEG in TIFF", TIFF Technical Note 2), one stream per page as a single
// strip, so that sharp/libvips decodes a whole batch in one pipeline.
//
// Why: for small images libvips' per-image cost (a loader object, a
// pipeline, thread hand-offs) dwarfs the JPEG decode itself: ~0.5 ms per
// 32x32 image through sharp(jpeg) against ~0.15 ms as a page of this
// container (measured on the 2-core dev machine). libtiff hands each strip
// to the same libjpeg that sharp's JPEG loader uses, with libjpeg's own
// colour conversion, so the pixels are identical (checked in the tests and
// the benchmark). Only streams that readImageHeader() marks `batchable`
// come here; anything a page loader might treat differently goes through
// sharp one image at a time.
import type { JpegHeader } from './image-header';
import { ArgumentRangeError } from '../errors';

const TAG_COUNT = 11;
const IFD_BYTES = 2 + TAG_COUNT * 12 + 4;
const BITS_PER_SAMPLE_BYTES = 6;
const PAGE_META_BYTES = IFD_BYTES + BITS_PER_SAMPLE_BYTES; // even, so IFDs stay word-aligned

const SHORT = 3;
const LONG = 4;

/** A little-endian TIFF holding `streams` as pages; all must share width and height. */
export function packJpegsAsTiff(streams: readonly Uint8Array[], headers: readonly JpegHeader[]): Buffer {
  if (streams.length === 0) throw new ArgumentRangeError('packJpegsAsTiff: no streams');
  const dataStart = 8 + streams.length * PAGE_META_BYTES;
  let total = dataStart;
  const dataOffsets: number[] = [];
  for (const stream of streams) {
    dataOffsets.push(total);
    total += stream.length + (stream.length & 1); // keep offsets even
  }
  const out = Buffer.alloc(total);
  out.write('II', 0, 'latin1');
  out.writeUInt16LE(42, 2);
  out.writeUInt32LE(8, 4);
  for (let page = 0; page < streams.length; page++) {
    const stream = streams[page]!;
    const header = headers[page]!;
    const ifd = 8 + page * PAGE_META_BYTES;
    const bitsPerSample = ifd + IFD_BYTES;
    let at = ifd;
    out.writeUInt16LE(TAG_COUNT, at);
    at += 2;
    const entry = (tag: number, type: number, count: number, write: (valueAt: number) => void): void => {
      out.writeUInt16LE(tag, at);
      out.writeUInt16LE(type, at + 2);
      out.writeUInt32LE(count, at + 4);
      write(at + 8);
      at += 12;
    };
    // Tags in ascending order, as TIFF requires.
    entry(256, LONG, 1, (v) => out.writeUInt32LE(header.width, v)); // ImageWidth
    entry(257, LONG, 1, (v) => out.writeUInt32LE(header.height, v)); // ImageLength
    entry(258, SHORT, 3, (v) => out.writeUInt32LE(bitsPerSample, v)); // BitsPerSample -> 8,8,8
    entry(259, SHORT, 1, (v) => out.writeUInt16LE(7, v)); // Compression: JPEG
    entry(262, SHORT, 1, (v) => out.writeUInt16LE(6, v)); // PhotometricInterpretation: YCbCr
    entry(273, LONG, 1, (v) => out.writeUInt32LE(dataOffsets[page]!, v)); // StripOffsets
    entry(277, SHORT, 1, (v) => out.writeUInt16LE(3, v)); // SamplesPerPixel
    entry(278, LONG, 1, (v) => out.writeUInt32LE(header.height, v)); // RowsPerStrip: one strip
    entry(279, LONG, 1, (v) => out.writeUInt32LE(stream.length, v)); // StripByteCounts
    entry(284, SHORT, 1, (v) => out.writeUInt16LE(1, v)); // PlanarConfiguration: chunky
    entry(530, SHORT, 2, (v) => {
      out.writeUInt16LE(header.lumaSampling[0], v);
      out.writeUInt16LE(header.lumaSampling[1], v + 2);
    }); // YCbCrSubsampling
    out.writeUInt32LE(page + 1 < streams.length ? ifd + PAGE_META_BYTES : 0, at); // next IFD
    for (let i = 0; i < 3; i++) out.writeUInt16LE(8, bitsPerSample + 2 * i);
    out.set(stream, dataOffsets[page]!);
  }
  return out;
}
