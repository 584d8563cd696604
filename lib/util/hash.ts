import { createHash } from 'node:crypto';
import * as fs from 'node:fs';

/** Hex digest of a file's content, read in 1 MiB chunks. */
export async function digestOfFile(file: string, algorithm: 'md5' | 'sha256'): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
