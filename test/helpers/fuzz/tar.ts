// Raw ustar archives, block by block, so that the fuzzer controls every
// header field (paths with '..', absolute paths, links, huge sizes, pax and
// GNU long-name records) and can keep header checksums valid after editing.

export const BLOCK = 512;

export interface TarEntry {
  path: string;
  /** Typeflag: '0' file, '1' hard link, '2' symlink, '5' directory, 'x' pax, 'L' GNU long name, ... */
  type: string;
  data?: Buffer;
  linkpath?: string;
  /** Declared size when it should differ from the data's length. */
  size?: number;
}

/** Header field offsets and widths (POSIX ustar). */
export const FIELDS = {
  name: [0, 100],
  mode: [100, 8],
  uid: [108, 8],
  gid: [116, 8],
  size: [124, 12],
  mtime: [136, 12],
  checksum: [148, 8],
  type: [156, 1],
  linkname: [157, 100],
  magic: [257, 6],
  version: [263, 2],
  uname: [265, 32],
  gname: [297, 32],
  prefix: [345, 155],
} as const satisfies Record<string, readonly [number, number]>;

export type FieldName = keyof typeof FIELDS;

/** Writes `value` (bytes, or text as latin1/utf8 bytes) into a header field, NUL-padded and cut to the field's width. */
export function setField(block: Buffer, field: FieldName, value: Buffer | string): void {
  const [offset, width] = FIELDS[field];
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  block.fill(0, offset, offset + width);
  bytes.copy(block, offset, 0, Math.min(width, bytes.length));
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

/** A size field: octal, or GNU base-256 (high bit set) when it does not fit 11 octal digits. */
export function sizeField(size: number | bigint): Buffer {
  const value = BigInt(size);
  if (value >= 0n && value < 8n ** 11n) return Buffer.from(octal(Number(value), 12), 'latin1');
  const out = Buffer.alloc(12);
  let v = BigInt.asUintN(88, value);
  for (let i = 11; i >= 1; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  out[0] = value < 0n ? 0xff : 0x80;
  return out;
}

/** Recomputes the header checksum (the checksum field counts as spaces). */
export function fixChecksum(block: Buffer, offset = 0): void {
  block.fill(0x20, offset + 148, offset + 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += block[offset + i]!;
  block.write(sum.toString(8).padStart(6, '0') + '\0 ', offset + 148, 'latin1');
}

export function headerBlock(entry: TarEntry): Buffer {
  const block = Buffer.alloc(BLOCK);
  const name = Buffer.from(entry.path, 'utf8');
  if (name.length > 100) {
    // Split at a '/' into prefix and name, as ustar does; cut when impossible.
    const cut = entry.path.lastIndexOf('/', 155);
    if (cut > 0 && Buffer.byteLength(entry.path.slice(cut + 1)) <= 100) {
      setField(block, 'prefix', entry.path.slice(0, cut));
      setField(block, 'name', entry.path.slice(cut + 1));
    } else setField(block, 'name', name);
  } else setField(block, 'name', name);
  setField(block, 'mode', octal(entry.type === '5' ? 0o755 : 0o644, 8));
  setField(block, 'uid', octal(0, 8));
  setField(block, 'gid', octal(0, 8));
  setField(block, 'size', sizeField(entry.size ?? entry.data?.length ?? 0));
  setField(block, 'mtime', octal(0, 12));
  setField(block, 'type', entry.type);
  if (entry.linkpath !== undefined) setField(block, 'linkname', entry.linkpath);
  setField(block, 'magic', Buffer.from('ustar\0', 'latin1'));
  setField(block, 'version', '00');
  fixChecksum(block);
  return block;
}

function padding(length: number): Buffer {
  return Buffer.alloc((BLOCK - (length % BLOCK)) % BLOCK);
}

/** Header and padded data of one entry. */
export function entryBlocks(entry: TarEntry): Buffer {
  const data = entry.data ?? Buffer.alloc(0);
  return Buffer.concat([headerBlock(entry), data, padding(data.length)]);
}

/** A pax extended header ('x') carrying `records` for the entry after it. */
export function paxEntry(records: Record<string, string>): TarEntry {
  const lines = Object.entries(records).map(([key, value]) => {
    const body = ` ${key}=${value}\n`;
    let length = Buffer.byteLength(body) + 1;
    while (String(length).length + Buffer.byteLength(body) !== length) length = String(length).length + Buffer.byteLength(body);
    return `${length}${body}`;
  });
  return { path: 'PaxHeader/x', type: 'x', data: Buffer.from(lines.join(''), 'utf8') };
}

export function buildTar(entries: readonly TarEntry[]): Buffer {
  return Buffer.concat([...entries.map(entryBlocks), Buffer.alloc(2 * BLOCK)]);
}

export interface HeaderLocation {
  /** Offset of the header block. */
  offset: number;
  path: string;
  type: string;
  /** Offset and length of the data that follows. */
  dataOffset: number;
  size: number;
}

/** The headers of an archive built by buildTar (stops at the first block that is not a header). */
export function listHeaders(tar: Buffer): HeaderLocation[] {
  const out: HeaderLocation[] = [];
  let offset = 0;
  while (offset + BLOCK <= tar.length) {
    const block = tar.subarray(offset, offset + BLOCK);
    if (block.every((b) => b === 0)) break;
    const sizeText = block.toString('latin1', 124, 136).replace(/\0.*$/s, '').trim();
    const size = /^[0-7]+$/.test(sizeText) ? parseInt(sizeText, 8) : 0;
    const name = block.toString('utf8', 0, 100).replace(/\0.*$/s, '');
    const prefix = block.toString('utf8', 345, 500).replace(/\0.*$/s, '');
    out.push({ offset, path: prefix ? `${prefix}/${name}` : name, type: String.fromCharCode(block[156]!), dataOffset: offset + BLOCK, size });
    offset += BLOCK + size + padding(size).length;
  }
  return out;
}
