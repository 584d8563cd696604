// Subsets and the seeded, class-stratified validation split.
import { Rng, RNG_STREAM } from './rng';
import { makeImageSet, type ImageSet } from './types';
import { ArgumentRangeError } from '../errors';

/** A new ImageSet of the images at `indices`, in that order (pixels copied). */
export function subset(set: ImageSet, indices: ArrayLike<number>): ImageSet {
  const frame = set.height * set.width * 3;
  const images = new Uint8Array(indices.length * frame);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const source = indices[i]!;
    if (!Number.isInteger(source) || source < 0 || source >= set.count) throw new ArgumentRangeError(`subset(): index ${source} is out of range for ${set.count} images`);
    images.set(set.images.subarray(source * frame, (source + 1) * frame), i * frame);
    labels[i] = set.labels[source]!;
  }
  return makeImageSet(images, labels, set.height, set.width, set.classNames);
}

/**
 * Splits off a validation set: from each class, `round(fraction * count)`
 * images chosen at random with `seed` (the seed used 10%). Both parts keep
 * the original order of their images. Same seed, same split.
 */
export function stratifiedSplit(set: ImageSet, fraction: number, seed: number): { train: ImageSet; val: ImageSet } {
  if (!(fraction >= 0 && fraction < 1)) throw new ArgumentRangeError(`stratifiedSplit(): fraction must be in [0, 1), got ${fraction}`);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < set.count; i++) {
    const label = set.labels[i]!;
    let members = byClass.get(label);
    if (members === undefined) byClass.set(label, (members = []));
    members.push(i);
  }
  const rng = new Rng(seed, RNG_STREAM.split);
  const isVal = new Uint8Array(set.count);
  // Classes in label order, so the draw does not depend on the data's order of classes.
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    const members = Int32Array.from(byClass.get(label)!);
    rng.shuffle(members);
    const take = Math.round(fraction * members.length);
    for (let k = 0; k < take; k++) isVal[members[k]!] = 1;
  }
  const train: number[] = [];
  const val: number[] = [];
  for (let i = 0; i < set.count; i++) (isVal[i] ? val : train).push(i);
  return { train: subset(set, train), val: subset(set, val) };
}

/** Images per class: `counts[label]`. */
export function classCounts(set: ImageSet): number[] {
  const counts = new Array<number>(set.classNames.length).fill(0);
  for (let i = 0; i < set.count; i++) counts[set.labels[i]!] = (counts[set.labels[i]!] ?? 0) + 1;
  return counts;
}
