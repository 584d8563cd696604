// Reads the few header fields the decoder plans with (format, size, and
// whether a JPEG can take the batched fast path), from the bytes, without
// decoding. Anything unusual is reported as 'other' and left to sharp.

export interface JpegHeader {
  format: 'jpeg';
  width: number;
  height: number;
  /**
   * True for an 8-bit baseline (Huffman, sequential) JPEG with three YCbCr
   * components and 1x1-sampled chroma, ending in an EOI marker: the streams
   * that libtiff's JPEG codec decodes exactly like libvips' JPEG loader.
   */
  batchable: boolean;
  /** Luma sampling factors (the chroma subsampling), for the TIFF tag. */
  lumaSampling: [number, number];
}

export interface OtherHeader {
  format: 'png' | 'other';
  /** Known for PNG; undefined when the format is not recognised here. */
  width?: number;
  height?: number;
}

export type ImageHeader = JpegHeader | OtherHeader;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function readImageHeader(data: Uint8Array): ImageHeader {
  if (data.length >= 24 && PNG_SIGNATURE.every((byte, i) => data[i] === byte)) {
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    return { format: 'png', width: view.getUint32(16), height: view.getUint32(20) };
  }
  if (data.length >= 4 && data[0] === 0xff && data[1] === 0xd8) return readJpegHeader(data) ?? { format: 'other' };
  return { format: 'other' };
}

function readJpegHeader(data: Uint8Array): JpegHeader | undefined {
  const u16 = (at: number): number => (data[at]! << 8) | data[at + 1]!;
  let adobeTransform: number | undefined;
  let pos = 2;
  while (pos + 4 <= data.length) {
    if (data[pos] !== 0xff) return undefined; // not at a marker: malformed
    const marker = data[pos + 1]!;
    if (marker === 0xff) {
      pos++; // fill byte
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      pos += 2; // markers without a length
      continue;
    }
    const length = u16(pos + 2);
    if (length < 2 || pos + 2 + length > data.length) return undefined;
    const body = pos + 4;
    if (marker === 0xee && length >= 14 && String.fromCharCode(...data.subarray(body, body + 5)) === 'Adobe') {
      adobeTransform = data[body + 11];
    }
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame) {
      const precision = data[body]!;
      const height = u16(body + 1);
      const width = u16(body + 3);
      const components = data[body + 5]!;
      if (length < 8 + 3 * components) return undefined;
      const sampling: [number, number][] = [];
      for (let c = 0; c < components; c++) {
        const factors = data[body + 6 + 3 * c + 1]!;
        sampling.push([factors >> 4, factors & 15]);
      }
      const [luma] = sampling;
      const sequentialHuffman = marker === 0xc0 || marker === 0xc1;
      const chromaFull = sampling.slice(1).every(([h, v]) => h === 1 && v === 1);
      const lumaOk = luma !== undefined && [1, 2, 4].includes(luma[0]) && [1, 2, 4].includes(luma[1]);
      const endsWithEoi = data[data.length - 2] === 0xff && data[data.length - 1] === 0xd9;
      const batchable =
        sequentialHuffman && precision === 8 && components === 3 && chromaFull && lumaOk && adobeTransform !== 0 && endsWithEoi && width > 0 && height > 0;
      return { format: 'jpeg', width, height, batchable, lumaSampling: luma === undefined ? [1, 1] : [luma[0], luma[1]] };
    }
    if (marker === 0xda || marker === 0xd9) return undefined; // scan or end before any frame header
    pos += 2 + length;
  }
  return undefined;
}
