// Atomic file replacement: write a temp file beside the target, fsync it,
// rename it over the target, fsync the folder. A crash at any moment leaves
// either the old file or the new one, never a torn one.
import * as fs from 'node:fs';
import * as path from 'node:path';

export class FileWriteError extends Error {
  readonly code = 'ERR_TORCHTS_WRITE';
  constructor(
    message: string,
    readonly file: string,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'FileWriteError';
  }
}

function tempPathFor(target: string): string {
  const dir = path.dirname(path.resolve(target));
  return path.join(dir, `.${path.basename(target)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
}

function failure(target: string, temp: string, error: unknown): FileWriteError {
  fs.rmSync(temp, { force: true });
  if (error instanceof FileWriteError) return error;
  const reason = (error as NodeJS.ErrnoException).code === 'ENOSPC' ? 'the disk is full' : (error as Error).message;
  return new FileWriteError(`could not write ${target}: ${reason} (the previous file, if any, is unchanged)`, target, error);
}

/** Writes through `write(fd)` into a temp file, then atomically renames it to `target`. */
export function writeFileAtomic(target: string, write: (fd: number) => void): void {
  const temp = openTemp(target);
  try {
    write(temp.fd);
  } catch (error) {
    throw abandonTemp(target, temp, error);
  }
  commitTemp(target, temp);
}

/**
 * writeFileAtomic for a writer that takes its time (an archive read as a
 * stream). The writer's own errors (a corrupt source) pass through as they
 * are; file-system errors become a FileWriteError. The temp file goes either way.
 */
export async function writeFileAtomicAsync(target: string, write: (fd: number) => Promise<void>): Promise<void> {
  const temp = openTemp(target);
  try {
    await write(temp.fd);
  } catch (error) {
    const wrapped = abandonTemp(target, temp, error);
    throw typeof (error as NodeJS.ErrnoException)?.code === 'string' && (error as NodeJS.ErrnoException).syscall !== undefined ? wrapped : error;
  }
  commitTemp(target, temp);
}

interface TempFile {
  path: string;
  fd: number;
}

function openTemp(target: string): TempFile {
  const temp = tempPathFor(target);
  try {
    return { path: temp, fd: fs.openSync(temp, 'wx', 0o644) };
  } catch (error) {
    throw failure(target, temp, error);
  }
}

function abandonTemp(target: string, temp: TempFile, error: unknown): FileWriteError {
  try {
    fs.closeSync(temp.fd);
  } catch {
    // already failing; the original error matters
  }
  return failure(target, temp.path, error);
}

function commitTemp(target: string, temp: TempFile): void {
  try {
    fs.fsyncSync(temp.fd);
  } catch (error) {
    throw abandonTemp(target, temp, error);
  }
  try {
    fs.closeSync(temp.fd);
    fs.renameSync(temp.path, target);
  } catch (error) {
    throw failure(target, temp.path, error);
  }
  syncDirectory(path.dirname(path.resolve(target)));
}

/**
 * For writers that need a path (native code): `writeTo(tempPath)` creates the
 * file, which is then fsynced and atomically renamed to `target`.
 */
export function replaceFileAtomic(target: string, writeTo: (tempPath: string) => void): void {
  const temp = tempPathFor(target);
  try {
    writeTo(temp);
    const fd = fs.openSync(temp, 'r+');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, target);
  } catch (error) {
    throw failure(target, temp, error);
  }
  syncDirectory(path.dirname(path.resolve(target)));
}

function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some filesystems cannot fsync a directory; the rename is still atomic.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Replaces a text file atomically. */
export function writeTextAtomic(target: string, text: string): void {
  writeFileAtomic(target, (fd) => writeAll(fd, Buffer.from(text)));
}

/** Writes all of `data` at the fd's position (writeSync may write less than asked). */
export function writeAll(fd: number, data: Uint8Array): void {
  let offset = 0;
  while (offset < data.byteLength) offset += fs.writeSync(fd, data, offset, data.byteLength - offset);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes temp files that writers in `dir` left behind when their process
 * died mid-write (they never replaced a real file). Files of live processes
 * are left alone. Returns the names removed.
 */
export function removeStaleTempFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const removed: string[] = [];
  for (const name of fs.readdirSync(dir)) {
    const match = /^\..+\.tmp-(\d+)-[a-z0-9]+$/.exec(name);
    if (match === null || processAlive(Number(match[1]))) continue;
    fs.rmSync(path.join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}
