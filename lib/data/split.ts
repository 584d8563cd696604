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
 * Which items go to the held-out part: from each class, `round(fraction *
 * count)` items chosen at random with `seed` (and `streams`, to draw an
 * independent split from the same seed). Both parts keep the original
 * order. Same seed, same split.
 */
export function stratifiedIndices(labels: ArrayLike<number>, fraction: number, seed: number, ...streams: number[]): { kept: number[]; heldOut: number[] } {
  if (!(fraction >= 0 && fraction < 1)) throw new ArgumentRangeError(`stratifiedSplit(): fraction must be in [0, 1), got ${fraction}`);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i]!;
    let members = byClass.get(label);
    if (members === undefined) byClass.set(label, (members = []));
    members.push(i);
  }
  const rng = new Rng(seed, RNG_STREAM.split, ...streams);
  const held = new Uint8Array(labels.length);
  // Classes in label order, so the draw does not depend on the data's order of classes.
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    const members = Int32Array.from(byClass.get(label)!);
    rng.shuffle(members);
    const take = Math.round(fraction * members.length);
    for (let k = 0; k < take; k++) held[members[k]!] = 1;
  }
  const kept: number[] = [];
  const heldOut: number[] = [];
  for (let i = 0; i < labels.length; i++) (held[i] ? heldOut : kept).push(i);
  return { kept, heldOut };
}

/**
 * Splits off a validation set: from each class, `round(fraction * count)`
 * images chosen at random with `seed` (the seed used 10%). Both parts keep
 * the original order of their images. Same seed, same split; `streams`
 * draw an independent split (the test split uses one).
 */
export function stratifiedSplit(set: ImageSet, fraction: number, seed: number, ...streams: number[]): { train: ImageSet; val: ImageSet } {
  const { kept, heldOut } = stratifiedIndices(set.labels, fraction, seed, ...streams);
  return { train: subset(set, kept), val: subset(set, heldOut) };
}

/** Images per class: `counts[label]`. */
export function classCounts(set: ImageSet): number[] {
  const counts = new Array<number>(set.classNames.length).fill(0);
  for (let i = 0; i < set.count; i++) counts[set.labels[i]!] = (counts[set.labels[i]!] ?? 0) + 1;
  return counts;
}
