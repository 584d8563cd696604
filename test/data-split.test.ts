// The seeded Rng, the stratified validation split, and channel statistics.
import t from 'tap';
import { channelStats, classCounts, Rng, stratifiedSplit, subset } from '../lib/data';
import { imageOf, randomImageSet } from './helpers/data-fixtures';

t.test('Rng: same seed and streams repeat, others differ; ranges and permutations are valid', (t) => {
  const draw = (rng: Rng): number[] => Array.from({ length: 8 }, () => rng.nextUint32());
  t.same(draw(new Rng(42, 1, 3)), draw(new Rng(42, 1, 3)), 'same seed and streams, same numbers');
  t.not(draw(new Rng(42, 1, 3)).join(), draw(new Rng(42, 1, 4)).join(), 'another stream differs');
  t.not(draw(new Rng(42)).join(), draw(new Rng(43)).join(), 'another seed differs');
  t.not(draw(new Rng(2 ** 40)).join(), draw(new Rng(0)).join(), 'seeds beyond 32 bits count');
  const rng = new Rng(7);
  const counts = new Array<number>(6).fill(0);
  for (let i = 0; i < 60000; i++) counts[rng.nextInt(6)]!++;
  t.ok(counts.every((c) => Math.abs(c - 10000) < 500), `nextInt(6) is uniform: ${counts}`);
  for (let i = 0; i < 1000; i++) {
    const f = rng.nextFloat();
    if (!(f >= 0 && f < 1)) t.fail(`nextFloat out of [0, 1): ${f}`);
  }
  const perm = new Rng(5).permutation(1000);
  t.same([...perm].sort((a, b) => a - b), Array.from({ length: 1000 }, (_, i) => i), 'a permutation holds every index once');
  t.same([...perm], [...new Rng(5).permutation(1000)], 'and is repeatable');
  t.throws(() => new Rng(-1), /non-negative integers/);
  t.throws(() => rng.nextInt(0), RangeError);
  t.end();
});

t.test('stratifiedSplit: per-class sizes, disjoint and complete, seeded', (t) => {
  const classes = ['a', 'b', 'c', 'd'];
  // Unequal classes: label i % 4 over 103 images gives 26, 26, 26, 25.
  const set = randomImageSet(103, 2, 3, classes, 9);
  const { train, val } = stratifiedSplit(set, 0.1, 123);
  t.same(classCounts(val), [3, 3, 3, 3], 'round(10%) of each class in val');
  t.same(classCounts(train), [23, 23, 23, 22], 'the rest in train');
  t.equal(train.count + val.count, 103);
  t.same(train.classNames, classes);

  // Match images back to the originals by their (random, hence unique) pixels.
  const key = (pixels: Uint8Array): string => Buffer.from(pixels).toString('hex');
  const origin = new Map(Array.from({ length: set.count }, (_, i) => [key(imageOf(set, i)), i]));
  const picked = (part: typeof train): number[] => Array.from({ length: part.count }, (_, i) => origin.get(key(imageOf(part, i)))!);
  const trainIdx = picked(train);
  const valIdx = picked(val);
  t.same([...trainIdx, ...valIdx].sort((a, b) => a - b), Array.from({ length: 103 }, (_, i) => i), 'every image exactly once');
  t.same(trainIdx, [...trainIdx].sort((a, b) => a - b), 'train keeps the original order');
  t.same(valIdx, [...valIdx].sort((a, b) => a - b), 'val keeps the original order');
  t.ok(
    trainIdx.every((source, i) => train.labels[i] === set.labels[source]),
    'labels travel with their images',
  );

  t.same([...stratifiedSplit(set, 0.1, 123).val.labels], [...val.labels], 'same seed, same split');
  t.same(picked(stratifiedSplit(set, 0.1, 123).val), valIdx);
  t.not(picked(stratifiedSplit(set, 0.1, 124).val).join(), valIdx.join(), 'another seed, another split');
  t.equal(stratifiedSplit(set, 0, 1).val.count, 0, 'fraction 0: no validation images');
  t.throws(() => stratifiedSplit(set, 1, 1), RangeError);
  t.same([...subset(set, [5, 0]).labels], [set.labels[5], set.labels[0]]);
  t.end();
});

t.test('channelStats: per-channel mean and population std of values in [0, 1]', (t) => {
  const set = randomImageSet(20, 4, 5, ['x'], 3);
  const { mean, std } = channelStats(set);
  for (let c = 0; c < 3; c++) {
    let sum = 0;
    let squares = 0;
    const n = set.images.length / 3;
    for (let i = c; i < set.images.length; i += 3) sum += set.images[i]! / 255;
    const m = sum / n;
    for (let i = c; i < set.images.length; i += 3) squares += (set.images[i]! / 255 - m) ** 2;
    t.ok(Math.abs(mean[c]! - m) < 1e-12, `mean[${c}] ${mean[c]} vs ${m}`);
    t.ok(Math.abs(std[c]! - Math.sqrt(squares / n)) < 1e-12, `std[${c}]`);
  }
  t.end();
});
