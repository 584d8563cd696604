// Downloads the official CIFAR-10 binary archive into the cache folder.
//
// The bytes are held in memory while they arrive (170 MB) and hashed on the
// way; only a download that is complete and has the published MD5 is
// written, atomically, to its final name. So a partial, interrupted or
// wrong download never lands where a later run would use it.
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import { writeAll, writeFileAtomic } from '../../io/atomic';
import { DataError } from '../errors';
import type { ProgressListener } from '../types';

/** The CIFAR-10 binary version, as published on https://www.cs.toronto.edu/~kriz/cifar.html. */
export const CIFAR10_BINARY_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';
export const CIFAR10_BINARY_MD5 = 'c32a1d4ab5d03f1284b67883e8d87530';
export const CIFAR10_ARCHIVE_NAME = 'cifar-10-binary.tar.gz';
/** Overrides the download URL (a mirror, or a local server in tests). */
export const CIFAR10_URL_ENV = 'TORCHTS_CIFAR10_URL';

export interface DownloadOptions {
  /** Where to fetch from (default: $TORCHTS_CIFAR10_URL, else the official URL). */
  url?: string;
  /** Expected MD5 of the file, hex (default: the published one). */
  md5?: string;
  /** Socket inactivity limit, connecting included (default 30 s). */
  timeoutMs?: number;
  onProgress?: ProgressListener;
}

const MAX_REDIRECTS = 5;

export function cifar10Url(options: DownloadOptions = {}): string {
  return options.url ?? process.env[CIFAR10_URL_ENV] ?? CIFAR10_BINARY_URL;
}

function offlineAdvice(url: string, target: string): string {
  return (
    `If this machine is offline, fetch ${url} elsewhere and pass it with --data <path> ` +
    `(loadDataset({ data })): the .tar.gz itself, its extracted cifar-10-batches-bin folder, or an image folder with train/<class>/ and test/<class>/; ` +
    `or copy the .tar.gz to ${target}.`
  );
}

/** GETs `url`, following redirects, resolving with a 200 response. */
function request(url: string, timeoutMs: number, redirectsLeft: number): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      reject(new Error(`not a valid URL`));
      return;
    }
    const client = parsed.protocol === 'https:' ? https : parsed.protocol === 'http:' ? http : undefined;
    if (client === undefined) {
      reject(new Error(`unsupported protocol ${parsed.protocol} (use http: or https:)`));
      return;
    }
    const req = client.get(parsed, { timeout: timeoutMs }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location !== undefined) {
        res.resume();
        if (redirectsLeft <= 0) {
          reject(new Error(`too many redirects`));
          return;
        }
        request(new URL(res.headers.location, parsed).toString(), timeoutMs, redirectsLeft - 1).then(resolve, reject);
        return;
      }
      if (status !== 200) {
        res.resume();
        reject(new Error(`the server answered HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}`));
        return;
      }
      resolve(res);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer for ${Math.round(timeoutMs / 1000)} s`)));
    req.on('error', reject);
  });
}

/** Reads a response body whole, hashing it; rejects when the connection ends early. */
function readBody(res: http.IncomingMessage, url: string, onProgress: ProgressListener | undefined): Promise<{ chunks: Buffer[]; md5: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const expected = Number(res.headers['content-length'] ?? NaN);
    const total = Number.isFinite(expected) ? expected : undefined;
    const hash = createHash('md5');
    const chunks: Buffer[] = [];
    let bytes = 0;
    let lastReport = 0;
    res.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      hash.update(chunk);
      bytes += chunk.length;
      const now = Date.now();
      if (onProgress !== undefined && now - lastReport >= 100) {
        lastReport = now;
        onProgress({ phase: 'download', done: bytes, total, file: url });
      }
    });
    // The server or the network cutting the transfer shows as 'error' (aborted) or as 'close' before the end.
    const interrupted = (): void => reject(new Error(`the connection closed after ${bytes}${total === undefined ? '' : ` of ${total}`} bytes`));
    res.on('error', interrupted);
    res.on('close', () => {
      if (!res.complete) interrupted();
    });
    res.on('end', () => {
      if (!res.complete) return; // 'close' reports it
      if (total !== undefined && bytes !== total) {
        reject(new Error(`received ${bytes} of ${total} bytes`));
        return;
      }
      onProgress?.({ phase: 'download', done: bytes, total: bytes, file: url });
      resolve({ chunks, md5: hash.digest('hex'), bytes });
    });
  });
}

/**
 * Downloads `url` to `target` if its MD5 matches, atomically. On any failure
 * nothing is left at `target` (or beside it) and a DataError explains what
 * happened and how to proceed without a network.
 */
export async function downloadVerified(target: string, options: DownloadOptions = {}): Promise<void> {
  const url = cifar10Url(options);
  const md5 = (options.md5 ?? CIFAR10_BINARY_MD5).toLowerCase();
  const timeoutMs = options.timeoutMs ?? 30_000;
  options.onProgress?.({ phase: 'download', done: 0, file: url, message: `downloading ${url}` });
  let body: { chunks: Buffer[]; md5: string; bytes: number };
  try {
    const res = await request(url, timeoutMs, MAX_REDIRECTS);
    body = await readBody(res, url, options.onProgress);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? '';
    const message = (error as Error).message;
    throw new DataError(url, `download failed (${reason && !message.includes(reason) ? `${reason}: ` : ''}${message}); nothing was saved. ${offlineAdvice(url, target)}`, {
      cause: error,
    });
  }
  if (body.md5 !== md5) {
    throw new DataError(
      url,
      `downloaded ${body.bytes} bytes with MD5 ${body.md5}, but the expected MD5 is ${md5}: the file is damaged or not the CIFAR-10 binary archive; nothing was saved`,
    );
  }
  writeFileAtomic(target, (fd) => {
    for (const chunk of body.chunks) writeAll(fd, chunk);
  });
}
