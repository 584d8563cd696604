// Reads a .tar.gz (or .tar) into memory with the `tar` package: nothing is
// extracted to disk, so a hostile archive cannot write anywhere. Entries
// whose path (or link target) would leave the archive's root are refused
// anyway, with an error naming the archive and the entry: such an archive is
// broken or malicious, and silently skipping entries would hide that.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Parser, type ReadEntry } from 'tar';
import { DataError, describeFsError } from '../errors';
import type { ProgressListener } from '../types';

/** What an archive's layout is told from: its file paths and its folders. */
export interface ArchiveListing {
  /** Regular files by normalised POSIX path ('a/b/c.jpg', no './' prefix). */
  files: ReadonlyMap<string, unknown>;
  /** Folders named by entries or implied by file paths. */
  folders: ReadonlySet<string>;
}

export interface ArchiveContents extends ArchiveListing {
  files: Map<string, Buffer>;
  folders: Set<string>;
}

export interface ReadArchiveOptions {
  /** Keep a file's bytes only when this returns true (others are skipped, not buffered). */
  keep?: (entryPath: string) => boolean;
  /**
   * Hands each kept file's bytes here, in archive order, instead of keeping
   * them: `files` then maps the paths to empty buffers. For archives larger
   * than memory (lib/data/stream/archive-pack.ts).
   */
  onFile?: (entryPath: string, data: Buffer) => void;
  onProgress?: ProgressListener;
}

const HANDED_ON = Buffer.alloc(0);

/** True for names the archive reader accepts. */
export function isArchivePath(file: string): boolean {
  return /\.(tar\.gz|tgz|tar)$/i.test(file);
}

/** The normalised entry path, or an error when it escapes the archive's root. */
export function safeEntryPath(archive: string, entryPath: string): string {
  const portable = entryPath.replace(/\\/g, '/');
  const normalised = path.posix.normalize(portable);
  if (path.posix.isAbsolute(portable) || /^[a-zA-Z]:/.test(portable) || normalised === '..' || normalised.startsWith('../')) {
    throw new DataError(archive, `entry '${entryPath}' points outside the archive's root folder; refusing to read this archive`);
  }
  return normalised === '.' ? '' : normalised.replace(/\/$/, '');
}

/** Reads every entry of `archive` (gzip detected by content) into memory. */
export async function readArchive(archive: string, options: ReadArchiveOptions = {}): Promise<ArchiveContents> {
  let size: number;
  try {
    const stat = fs.statSync(archive);
    if (!stat.isFile()) throw Object.assign(new Error('is a folder'), { code: 'EISDIR' });
    size = stat.size;
  } catch (error) {
    throw new DataError(archive, `cannot read archive (${describeFsError(error)})`, { cause: error });
  }
  const files = new Map<string, Buffer>();
  const folders = new Set<string>();
  const addParents = (entryPath: string): void => {
    for (let dir = path.posix.dirname(entryPath); dir !== '.' && !folders.has(dir); dir = path.posix.dirname(dir)) folders.add(dir);
  };

  await new Promise<void>((resolve, reject) => {
    let failed = false;
    const fail = (error: unknown): void => {
      if (failed) return;
      failed = true;
      input.destroy();
      reject(error instanceof DataError ? error : new DataError(archive, `not a readable .tar.gz archive (${(error as Error).message})`, { cause: error }));
    };
    const parser = new Parser({
      strict: true,
      onReadEntry: (entry: ReadEntry) => {
        try {
          const entryPath = safeEntryPath(archive, entry.path);
          if ((entry.type === 'SymbolicLink' || entry.type === 'Link') && entry.linkpath) {
            const target = entry.type === 'Link' ? entry.linkpath : path.posix.join(path.posix.dirname(entryPath), entry.linkpath);
            safeEntryPath(archive, target.startsWith('/') ? target : path.posix.normalize(target));
          }
          if (entry.type === 'Directory') {
            if (entryPath !== '') folders.add(entryPath);
            addParents(entryPath);
            entry.resume();
            return;
          }
          if ((entry.type !== 'File' && entry.type !== 'OldFile' && entry.type !== 'ContiguousFile') || (options.keep !== undefined && !options.keep(entryPath))) {
            addParents(entryPath);
            entry.resume();
            return;
          }
          addParents(entryPath);
          const chunks: Buffer[] = [];
          entry.on('data', (chunk: Buffer) => chunks.push(chunk));
          entry.on('end', () => {
            const data = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
            try {
              if (options.onFile === undefined) files.set(entryPath, data);
              else {
                options.onFile(entryPath, data);
                files.set(entryPath, HANDED_ON);
              }
            } catch (error) {
              fail(error);
            }
          });
        } catch (error) {
          entry.resume();
          fail(error);
        }
      },
    });
    parser.on('error', fail);
    // strict mode turns bad headers into errors; a stream that ends mid-entry is reported as a warning.
    parser.on('warn', (code: string, message: string | Error) => fail(new Error(`${code}: ${typeof message === 'string' ? message : message.message}`)));
    parser.on('end', () => {
      if (!failed) resolve();
    });

    const input = fs.createReadStream(archive, { highWaterMark: 1 << 20 });
    let read = 0;
    let lastReport = 0;
    input.on('data', (chunk) => {
      read += chunk.length;
      const now = Date.now();
      if (options.onProgress !== undefined && (now - lastReport >= 100 || read === size)) {
        lastReport = now;
        options.onProgress({ phase: 'read', done: read, total: size, file: archive });
      }
    });
    input.on('error', (error) => fail(new DataError(archive, `cannot read archive (${describeFsError(error)})`, { cause: error })));
    input.pipe(parser);
  });
  return { files, folders };
}
