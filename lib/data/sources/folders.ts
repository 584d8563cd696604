// Image folders in the seed's (and Keras flow_from_directory's) layout:
//
//   <root>/train/<class>/*.{jpg,jpeg,png}
//   <root>/test/<class>/*          (optional: without it the test split is
//                                   empty, and train()'s testFraction can
//                                   hold one out of train)
//
// The class index is the position of the class folder in the sorted list of
// train's class folders (for CIFAR-10 that is also the canonical order).
// Files are taken in sorted order. Hidden files (".DS_Store", macOS "._x.jpg"
// shadows) and files with other extensions are ignored. `<root>` may also be
// the only folder inside the given folder or archive (as in cifar10-jpg.tar.gz).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError, describeFsError } from '../errors';
import type { ArchiveListing } from './archive';

export const IMAGE_FILE_PATTERN = /\.(jpe?g|png|webp)$/i;
export const SPLITS = ['train', 'test'] as const;
export type SplitName = (typeof SPLITS)[number];

/** One image of the plan: where its bytes are (a path or an archive entry) and its class. */
export interface PlannedImage {
  key: string;
  label: number;
}

export interface ImageTreePlan {
  classNames: string[];
  train: PlannedImage[];
  test: PlannedImage[];
}

/** Per split, class folder name -> image file keys (sorted). */
type SplitListing = Map<string, string[]>;

const isHidden = (name: string): boolean => name.startsWith('.');
const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Checks a listing against the layout's rules and numbers the classes:
 * train/ present (test/ may be absent), no empty class folder, no test
 * class unknown to train.
 */
function planFromListings(listings: Record<SplitName, SplitListing | undefined>, where: (split: SplitName, className?: string) => string): ImageTreePlan {
  if (listings.train === undefined) throw new DataError(where('train'), 'missing train/ folder: expected train/<class>/*.jpg (and optionally test/<class>/*.jpg)');
  const train = listings.train;
  const test: SplitListing = listings.test ?? new Map();
  const classNames = [...train.keys()].sort(byName);
  if (classNames.length === 0) throw new DataError(where('train'), 'no class folders: expected train/<class>/*.jpg');
  for (const split of SPLITS) {
    for (const [className, files] of listings[split] ?? []) {
      if (files.length === 0) throw new DataError(where(split, className), 'empty class folder: no .jpg, .jpeg, .png or .webp files');
    }
  }
  const index = new Map(classNames.map((name, i) => [name, i]));
  for (const className of test.keys()) {
    if (!index.has(className)) throw new DataError(where('test', className), `class '${className}' has no folder in train/ (train classes: ${classNames.join(', ')})`);
  }
  const plan = (listing: SplitListing): PlannedImage[] =>
    [...listing.keys()].sort(byName).flatMap((className) => listing.get(className)!.map((key) => ({ key, label: index.get(className)! })));
  return { classNames, train: plan(train), test: plan(test) };
}

// ---- folders on disk -------------------------------------------------------

function readFolder(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    throw new DataError(dir, `cannot list folder (${describeFsError(error)})`, { cause: error });
  }
}

function isFolder(entry: fs.Dirent, parent: string): boolean {
  if (entry.isDirectory()) return true;
  if (!entry.isSymbolicLink()) return false;
  try {
    return fs.statSync(path.join(parent, entry.name)).isDirectory();
  } catch {
    return false;
  }
}

/** The folder holding train/ and test/: `dir` itself, or its only subfolder. */
export function findImageTreeRoot(dir: string): string | undefined {
  if (fs.existsSync(path.join(dir, 'train'))) return dir;
  const subfolders = readFolder(dir).filter((entry) => !isHidden(entry.name) && isFolder(entry, dir));
  if (subfolders.length === 1 && fs.existsSync(path.join(dir, subfolders[0]!.name, 'train'))) return path.join(dir, subfolders[0]!.name);
  return undefined;
}

/** Lists an image tree on disk; keys are absolute file paths. */
export function planImageFolder(root: string): ImageTreePlan {
  const listings: Record<SplitName, SplitListing | undefined> = { train: undefined, test: undefined };
  for (const split of SPLITS) {
    const splitDir = path.join(root, split);
    if (!fs.existsSync(splitDir)) continue;
    const listing: SplitListing = new Map();
    for (const classEntry of readFolder(splitDir)) {
      if (isHidden(classEntry.name) || !isFolder(classEntry, splitDir)) continue;
      const classDir = path.join(splitDir, classEntry.name);
      const files = readFolder(classDir)
        .filter((entry) => !isHidden(entry.name) && IMAGE_FILE_PATTERN.test(entry.name) && !isFolder(entry, classDir))
        .map((entry) => entry.name)
        .sort(byName)
        .map((name) => classDir + path.sep + name); // path.join per file costs ~0.1 s per 60,000
      listing.set(classEntry.name, files);
    }
    listings[split] = listing;
  }
  return planFromListings(listings, (split, className) => path.join(root, split, ...(className === undefined ? [] : [className])));
}

// ---- image trees inside an archive -----------------------------------------

/** The path prefix of train/ and test/ inside an archive ('' or 'top/'), or undefined. */
export function findArchiveTreePrefix(contents: ArchiveListing): string | undefined {
  if (contents.folders.has('train')) return '';
  const tops = [...contents.folders].filter((dir) => !dir.includes('/') && !isHidden(dir));
  if (tops.length === 1 && contents.folders.has(`${tops[0]}/train`)) return `${tops[0]}/`;
  return undefined;
}

/** Lists an image tree inside an archive; keys are entry paths. */
export function planArchiveTree(archive: string, contents: ArchiveListing, prefix: string): ImageTreePlan {
  const listings: Record<SplitName, SplitListing | undefined> = { train: undefined, test: undefined };
  for (const split of SPLITS) {
    if (!contents.folders.has(`${prefix}${split}`)) continue;
    const listing: SplitListing = new Map();
    const splitPrefix = `${prefix}${split}/`;
    for (const dir of contents.folders) {
      if (!dir.startsWith(splitPrefix)) continue;
      const className = dir.slice(splitPrefix.length);
      if (className.includes('/') || isHidden(className)) continue;
      listing.set(className, []);
    }
    for (const entryPath of contents.files.keys()) {
      if (!entryPath.startsWith(splitPrefix)) continue;
      const rest = entryPath.slice(splitPrefix.length).split('/');
      if (rest.length !== 2) continue;
      const [className, name] = rest as [string, string];
      if (isHidden(className) || isHidden(name) || !IMAGE_FILE_PATTERN.test(name)) continue;
      listing.get(className)?.push(entryPath);
    }
    for (const files of listing.values()) files.sort(byName);
    listings[split] = listing;
  }
  return planFromListings(listings, (split, className) => `${archive}:${prefix}${split}${className === undefined ? '' : `/${className}`}`);
}
