// The on-disk layout of a fuzz run's work folder, shared by the parent
// (which writes seeds and checks for escapes) and the children (which read
// seeds and write one input at a time).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FuzzCase, SeedCorpus } from './types';

export const seedDirOf = (workDir: string, target: string): string => path.join(workDir, 'seeds', target);
/** Nothing may ever be written here (tar entries aim at it). */
export const canaryDirOf = (workDir: string): string => path.join(workDir, 'canary');
/** The children's working directory, a few levels deep so that '../' escapes stay inside the work folder. */
export const jailDirOf = (workDir: string): string => path.join(workDir, 'jail', 'a', 'b', 'c');
export const casesDirOf = (workDir: string): string => path.join(workDir, 'cases');

/** Seed files by name, sorted so that every process sees the same order. */
export function loadCorpus(dir: string): SeedCorpus {
  const names = fs.readdirSync(dir).sort();
  return new Map(names.map((name) => [name, fs.readFileSync(path.join(dir, name))]));
}

/** Writes an input's files into a fresh `dir`. */
export function writeCase(dir: string, input: FuzzCase): void {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const file of input.files) {
    const target = path.join(dir, file.name);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, file.data);
  }
}
