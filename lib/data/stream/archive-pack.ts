// Streaming from an archive. A .tar.gz cannot be read at an offset, so its
// images are copied once, still encoded, into one pack file in the cache
// folder (about the archive's size on disk, a fraction of the decoded size),
// next to an index of where each entry lies; the decode workers then read
// any image by offset, in any order. Nothing is extracted: entry paths never
// become file paths (the archive reader's rule). An index without a pack
// (the archive listed, not copied) is enough to decide whether to stream.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeAll, writeFileAtomicAsync, writeTextAtomic } from '../../io/atomic';
import { DataError, describeFsError } from '../errors';
import { readImageHeader } from '../image-header';
import { readArchive, type ArchiveListing } from '../sources/archive';
import { BINARY_TRAIN_FILES } from '../sources/binary';
import { IMAGE_FILE_PATTERN } from '../sources/folders';
import type { ProgressListener } from '../types';

const INDEX_FORMAT = 'torchts-archive-index-1';

/** Where an image's encoded bytes lie in the pack. */
export interface PackedEntry {
  offset: number;
  length: number;
}

export interface ArchiveIndex extends ArchiveListing {
  archive: string;
  /** Image entries by path. */
  files: ReadonlyMap<string, PackedEntry>;
  folders: ReadonlySet<string>;
  /** The archive holds cifar-10-batches-bin: decoded in memory (32x32, 184 MB), never streamed. */
  binary: boolean;
  /** [height, width] of the archive's first image, from its header; null when the header does not say. */
  firstImageSize: [number, number] | null;
  /** The pack file; null when the archive was only listed. */
  pack: string | null;
}

interface StoredIndex {
  format: string;
  archive: string;
  size: number;
  mtimeMs: number;
  binary: boolean;
  firstImageSize: [number, number] | null;
  packed: boolean;
  folders: string[];
  /** [entry path, offset, length], in archive order. */
  entries: [string, number, number][];
}

export interface IndexArchiveOptions {
  /** Copy the images into the pack too (else list only). */
  pack: boolean;
  onProgress?: ProgressListener;
}

/**
 * The archive's index, from the cache folder when it is there for this
 * archive (same path, size and mtime) and holds what is asked; otherwise the
 * archive is read once to make it.
 */
export async function indexArchive(archive: string, cacheDir: string, options: IndexArchiveOptions): Promise<ArchiveIndex> {
  const stat = statArchive(archive);
  const files = cacheFilesFor(cacheDir, archive, stat);
  const stored = readStoredIndex(files.index, archive, stat, options.pack ? files.pack : null);
  if (stored !== undefined) return toIndex(stored, files.pack);
  fs.mkdirSync(path.dirname(files.index), { recursive: true });
  let scanned: Omit<StoredIndex, 'format' | 'archive' | 'size' | 'mtimeMs' | 'packed'>;
  if (options.pack) {
    options.onProgress?.({ phase: 'read', done: 0, file: archive, message: `copying the images of ${archive} into ${files.pack} for streaming (once; later runs read the pack)` });
    await writeFileAtomicAsync(files.pack, async (fd) => {
      scanned = await scanArchive(archive, (data) => writeAll(fd, data), options.onProgress);
    });
  } else {
    scanned = await scanArchive(archive, () => {}, options.onProgress);
  }
  const index: StoredIndex = { format: INDEX_FORMAT, archive, size: stat.size, mtimeMs: Math.round(stat.mtimeMs), packed: options.pack, ...scanned! };
  // Written after the pack: an index that says 'packed' always has its pack.
  writeTextAtomic(files.index, JSON.stringify(index));
  return toIndex(index, files.pack);
}

function statArchive(archive: string): fs.Stats {
  try {
    return fs.statSync(archive);
  } catch (error) {
    throw new DataError(archive, `cannot read archive (${describeFsError(error)})`, { cause: error });
  }
}

function cacheFilesFor(cacheDir: string, archive: string, stat: fs.Stats): { index: string; pack: string } {
  const key = createHash('sha256').update(JSON.stringify([INDEX_FORMAT, archive, stat.size, Math.round(stat.mtimeMs)])).digest('hex').slice(0, 16);
  const slug = path.basename(archive).replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 60) || 'archive';
  const base = path.join(cacheDir, 'stream', `${slug}-${key}`);
  return { index: `${base}.index.json`, pack: `${base}.pack` };
}

/** Reads every image entry once, handing its bytes to `write`; lists folders and spots CIFAR binaries. */
async function scanArchive(archive: string, write: (data: Buffer) => void, onProgress: ProgressListener | undefined): Promise<Omit<StoredIndex, 'format' | 'archive' | 'size' | 'mtimeMs' | 'packed'>> {
  const entries: [string, number, number][] = [];
  let offset = 0;
  let binary = false;
  let firstImageSize: [number, number] | null = null;
  const contents = await readArchive(archive, {
    keep: (entry) => {
      if (path.posix.basename(entry) === BINARY_TRAIN_FILES[0]) binary = true;
      return IMAGE_FILE_PATTERN.test(entry);
    },
    onFile: (entry, data) => {
      if (entries.length === 0) {
        const header = readImageHeader(data);
        if (header.width !== undefined && header.height !== undefined) firstImageSize = [header.height, header.width];
      }
      write(data);
      entries.push([entry, offset, data.length]);
      offset += data.length;
    },
    onProgress,
  });
  return { binary, firstImageSize, folders: [...contents.folders], entries };
}

/** The stored index when it belongs to this archive as it is now (and its pack, when one is needed, is whole). */
function readStoredIndex(file: string, archive: string, stat: fs.Stats, pack: string | null): StoredIndex | undefined {
  let stored: StoredIndex;
  try {
    stored = JSON.parse(fs.readFileSync(file, 'utf8')) as StoredIndex;
  } catch {
    return undefined; // none yet, or unreadable: made again
  }
  if (stored.format !== INDEX_FORMAT || stored.archive !== archive || stored.size !== stat.size || stored.mtimeMs !== Math.round(stat.mtimeMs)) return undefined;
  if (pack === null) return stored;
  if (!stored.packed) return undefined;
  const last = stored.entries.at(-1);
  const expected = last === undefined ? 0 : last[1] + last[2];
  try {
    return fs.statSync(pack).size === expected ? stored : undefined;
  } catch {
    return undefined;
  }
}

function toIndex(stored: StoredIndex, pack: string): ArchiveIndex {
  return {
    archive: stored.archive,
    files: new Map(stored.entries.map(([entry, offset, length]) => [entry, { offset, length }])),
    folders: new Set(stored.folders),
    binary: stored.binary,
    firstImageSize: stored.firstImageSize,
    pack: stored.packed ? pack : null,
  };
}

/** Reads one image's bytes from a pack (for the few images decoded outside the workers). */
export function readPacked(pack: string, entry: PackedEntry): Buffer {
  const fd = fs.openSync(pack, 'r');
  try {
    const bytes = Buffer.alloc(entry.length);
    let done = 0;
    while (done < entry.length) {
      const read = fs.readSync(fd, bytes, done, entry.length - done, entry.offset + done);
      if (read === 0) throw new DataError(pack, `ends before the ${entry.length} bytes at offset ${entry.offset}: the pack is damaged; delete it to have it made again`);
      done += read;
    }
    return bytes;
  } finally {
    fs.closeSync(fd);
  }
}
