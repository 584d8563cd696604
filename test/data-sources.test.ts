// Data sources: CIFAR-10 binary batches, image folders (PNG, JPEG) and
// .tar.gz archives of both, written here from random pixels with known
// labels, must come back exactly; the decode cache must be used and keyed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import t from 'tap';
import { decodeEncodedImages, decodeImages, loadDataset, type ImageSet, type ProgressEvent } from '../lib/data';
import {
  firstDifference,
  imageOf,
  randomImageSet,
  tempDir,
  writeBinaryFolder,
  writeImageFolder,
  writeTarGz,
  type ImageFormat,
} from './helpers/data-fixtures';

const dir = tempDir('data-sources');
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

// Created in this order on purpose: the loaded class order must be the sorted one.
const CLASSES = ['zebra', 'apple', 'mango'];
const SORTED = [...CLASSES].sort();

/** The images of `set` in image-folder order (class by sorted name, then file name), with sorted-class labels. */
function folderOrder(set: ImageSet): { order: number[]; labels: number[] } {
  const order: number[] = [];
  for (const name of SORTED) for (let i = 0; i < set.count; i++) if (set.classNames[set.labels[i]!] === name) order.push(i);
  return { order, labels: order.map((i) => SORTED.indexOf(set.classNames[set.labels[i]!]!)) };
}

function pixelsInOrder(set: ImageSet, order: number[]): Uint8Array {
  const frame = set.height * set.width * 3;
  const out = new Uint8Array(order.length * frame);
  order.forEach((source, k) => out.set(imageOf(set, source), k * frame));
  return out;
}

t.test('CIFAR-10 binary batches round-trip exactly: folder, its parent, and .tar.gz', async (t) => {
  const names = ['airplane', 'automobile', 'bird', 'cat'];
  const train = randomImageSet(23, 32, 32, names, 11);
  const test = randomImageSet(7, 32, 32, names, 12);
  const root = path.join(dir, 'binary');
  const binDir = writeBinaryFolder(root, train, test);
  const archive = writeTarGz(path.join(dir, 'cifar-10-binary.tar.gz'), root, ['cifar-10-batches-bin']);
  for (const data of [binDir, root, archive]) {
    const loaded = await loadDataset({ data, cacheDir: path.join(dir, 'cache-binary'), showProgress: false, useCache: false });
    t.same(loaded.classNames, names, `${path.basename(data)}: class names from batches.meta.txt`);
    t.equal(loaded.train.count, 23);
    t.equal(loaded.test.count, 7);
    t.equal(loaded.train.height, 32);
    t.equal(firstDifference(loaded.train.images, train.images), undefined, `${path.basename(data)}: every train pixel`);
    t.equal(firstDifference(loaded.test.images, test.images), undefined, `${path.basename(data)}: every test pixel`);
    t.same([...loaded.train.labels], [...train.labels], 'train labels');
    t.same([...loaded.test.labels], [...test.labels], 'test labels');
  }
});

t.test('PNG image folders round-trip exactly, classes in sorted order', async (t) => {
  const train = randomImageSet(12, 6, 8, CLASSES, 21); // non-square: catches height/width mix-ups
  const test = randomImageSet(6, 6, 8, CLASSES, 22);
  const root = path.join(dir, 'png-tree');
  await writeImageFolder(root, { train, test }, () => 'png');
  const loaded = await loadDataset({ data: root, cacheDir: path.join(dir, 'cache-png'), showProgress: false });
  t.same(loaded.classNames, SORTED);
  t.same(loaded.train.classNames, SORTED);
  t.equal(loaded.train.height, 6);
  t.equal(loaded.train.width, 8);
  for (const [name, original, got] of [
    ['train', train, loaded.train],
    ['test', test, loaded.test],
  ] as const) {
    const { order, labels } = folderOrder(original);
    t.equal(firstDifference(got.images, pixelsInOrder(original, order)), undefined, `${name}: every pixel`);
    t.same([...got.labels], labels, `${name}: labels follow the sorted class order`);
  }
});

t.test('JPEG folders decode exactly as sharp decodes each file, batched or not', async (t) => {
  const train = randomImageSet(30, 6, 8, CLASSES, 31);
  const test = randomImageSet(9, 6, 8, CLASSES, 32);
  const formats: ImageFormat[] = ['jpeg', 'jpeg', 'jpeg-444', 'jpeg-progressive', 'png'];
  const root = path.join(dir, 'jpeg-tree');
  const files = await writeImageFolder(root, { train, test }, (_split, i) => formats[i % formats.length]!);
  const loaded = await loadDataset({ data: root, cacheDir: path.join(dir, 'cache-jpeg'), showProgress: false });
  for (const split of ['train', 'test'] as const) {
    const original = split === 'train' ? train : test;
    const { order } = folderOrder(original);
    const frame = 6 * 8 * 3;
    for (let k = 0; k < order.length; k++) {
      const file = files[split][order[k]!]!;
      const reference = await sharp(file).raw().toBuffer();
      const got = loaded[split].images.subarray(k * frame, (k + 1) * frame);
      if (firstDifference(got, reference) !== undefined) t.fail(`${split} ${path.basename(file)}: ${firstDifference(got, reference)}`);
    }
  }
  t.pass('every image equals sharp(file).raw()');
  const direct = await decodeEncodedImages(files.train.map((file) => ({ name: file, path: file })));
  t.ok(direct.batchedCount >= 12, `baseline JPEGs took the batched path (${direct.batchedCount} of ${direct.count})`);
  t.ok(direct.batchedCount < direct.count, 'progressive JPEGs and PNGs were decoded one by one');
});

t.test('an image tree inside a .tar.gz (with or without a top folder) equals the folder', async (t) => {
  const train = randomImageSet(9, 5, 7, CLASSES, 41);
  const test = randomImageSet(6, 5, 7, CLASSES, 42);
  const parent = path.join(dir, 'tree-parent');
  const root = path.join(parent, 'mydata');
  await writeImageFolder(root, { train, test }, (_s, i) => (i % 2 ? 'png' : 'jpeg'));
  const fromFolder = await loadDataset({ data: root, cacheDir: path.join(dir, 'cache-tar'), showProgress: false });
  const withTop = writeTarGz(path.join(dir, 'with-top.tar.gz'), parent, ['mydata']);
  const flat = writeTarGz(path.join(dir, 'flat.tgz'), root, ['train', 'test']);
  for (const archive of [withTop, flat]) {
    const fromArchive = await loadDataset({ data: archive, cacheDir: path.join(dir, 'cache-tar'), showProgress: false });
    t.same(fromArchive.classNames, SORTED);
    t.equal(firstDifference(fromArchive.train.images, fromFolder.train.images), undefined, `${path.basename(archive)}: train pixels`);
    t.equal(firstDifference(fromArchive.test.images, fromFolder.test.images), undefined, `${path.basename(archive)}: test pixels`);
    t.same([...fromArchive.train.labels], [...fromFolder.train.labels]);
    t.same([...fromArchive.test.labels], [...fromFolder.test.labels]);
  }
  // The folder given as the parent of the tree works too.
  const fromParent = await loadDataset({ data: parent, cacheDir: path.join(dir, 'cache-tar'), showProgress: false });
  t.equal(fromParent.source, root);
});

t.test('the decode cache: a second run skips decoding; changes to the source or target size miss', async (t) => {
  const train = randomImageSet(8, 4, 4, CLASSES, 51);
  const test = randomImageSet(3, 4, 4, CLASSES, 52);
  const root = path.join(dir, 'cache-tree');
  const files = await writeImageFolder(root, { train, test }, () => 'png');
  const cacheDir = path.join(dir, 'cache-cache');
  const events: ProgressEvent[] = [];
  const first = await loadDataset({ data: root, cacheDir, showProgress: false, onProgress: (e) => events.push(e) });
  t.equal(first.fromCache, false);
  t.ok(fs.existsSync(first.cacheFile), 'the cache file exists');
  t.ok(first.cacheFile.startsWith(path.join(cacheDir, 'decoded')), 'inside the cache folder');
  t.ok(events.some((e) => e.phase === 'decode' && e.done === 11 && e.total === 11), 'decode progress reached 11/11');

  events.length = 0;
  const second = await loadDataset({ data: root, cacheDir, showProgress: false, onProgress: (e) => events.push(e) });
  t.equal(second.fromCache, true);
  t.notOk(events.some((e) => e.phase === 'decode'), 'no decoding the second time');
  t.equal(firstDifference(second.train.images, first.train.images), undefined);
  t.equal(firstDifference(second.test.images, first.test.images), undefined);
  t.same([...second.train.labels], [...first.train.labels]);
  t.same(second.classNames, first.classNames);

  const resized = await loadDataset({ data: root, cacheDir, showProgress: false, targetSize: [3, 5] });
  t.equal(resized.fromCache, false, 'another target size is another cache entry');
  t.not(resized.cacheFile, first.cacheFile);
  t.equal(resized.train.height, 3);
  t.equal(resized.train.width, 5);
  t.equal(resized.train.images.length, 8 * 3 * 5 * 3);

  const later = new Date(Date.now() + 5000);
  fs.utimesSync(files.train[0]!, later, later);
  const touched = await loadDataset({ data: root, cacheDir, showProgress: false });
  t.equal(touched.fromCache, false, 'a changed mtime is a cache miss');
  t.equal((await loadDataset({ data: root, cacheDir, showProgress: false })).fromCache, true, 'then cached again');

  // A damaged cache file is decoded again, not trusted.
  fs.truncateSync(touched.cacheFile, 100);
  const repaired = await loadDataset({ data: root, cacheDir, showProgress: false });
  t.equal(repaired.fromCache, false);
  t.equal(firstDifference(repaired.train.images, first.train.images), undefined);
  t.same(
    fs.readdirSync(path.join(cacheDir, 'decoded')).filter((name) => name.includes('.tmp-')),
    [],
    'no temp files left in the cache',
  );
});

t.test('the decode cache of an archive is keyed by its content, and a new version replaces the old entry', async (t) => {
  const root = path.join(dir, 'keyed-tree');
  await writeImageFolder(root, { train: randomImageSet(6, 4, 4, CLASSES, 51), test: randomImageSet(3, 4, 4, CLASSES, 52) }, () => 'png');
  const archive = writeTarGz(path.join(dir, 'keyed.tar.gz'), root, ['train', 'test']);
  const cacheDir = path.join(dir, 'keyed-cache');
  const load = (targetSize?: [number, number]) => loadDataset({ data: archive, cacheDir, showProgress: false, targetSize });
  const entries = () => fs.readdirSync(path.join(cacheDir, 'decoded')).sort();

  const first = await load();
  const small = await load([2, 2]);
  t.equal(first.fromCache, false);
  t.equal(small.fromCache, false);

  // The same bytes put in place again (a fresh copy: new mtime) still hit.
  const copy = `${archive}.copy`;
  fs.copyFileSync(archive, copy);
  const later = new Date(Date.now() + 5000);
  fs.utimesSync(copy, later, later);
  fs.renameSync(copy, archive);
  t.equal((await load()).fromCache, true, 'a re-placed identical archive is a cache hit');

  // Other content misses, and its entry replaces the old one.
  fs.rmSync(root, { recursive: true });
  await writeImageFolder(root, { train: randomImageSet(6, 4, 4, CLASSES, 53), test: randomImageSet(3, 4, 4, CLASSES, 54) }, () => 'png');
  writeTarGz(archive, root, ['train', 'test']);
  const changed = await load();
  t.equal(changed.fromCache, false, 'a changed archive is a cache miss');
  t.not(changed.cacheFile, first.cacheFile);
  t.notOk(fs.existsSync(first.cacheFile), 'the entry for the old archive at this size is gone');
  t.ok(fs.existsSync(small.cacheFile), 'the entry at another target size is kept');
  t.same(entries(), [path.basename(changed.cacheFile), path.basename(small.cacheFile)].sort(), 'nothing else left behind');
  t.not(firstDifference(changed.train.images, first.train.images), undefined, 'the new pixels were decoded');
});

t.test('target size, grayscale and alpha: every image comes out RGB at the target size', async (t) => {
  const root = path.join(dir, 'odd');
  const gray = new Uint8Array(4 * 6).map((_, i) => i * 10);
  const rgba = new Uint8Array(4 * 6 * 4).map((_, i) => (i * 7) % 256);
  const grayFile = path.join(root, 'gray.png');
  const rgbaFile = path.join(root, 'rgba.png');
  const bigFile = path.join(root, 'big.jpg');
  fs.mkdirSync(root, { recursive: true });
  await sharp(Buffer.from(gray), { raw: { width: 6, height: 4, channels: 1 } }).png().toFile(grayFile);
  await sharp(Buffer.from(rgba), { raw: { width: 6, height: 4, channels: 4 } }).png().toFile(rgbaFile);
  await sharp({ create: { width: 20, height: 10, channels: 3, background: { r: 200, g: 30, b: 90 } } }).jpeg().toFile(bigFile);

  const same = await decodeImages([grayFile, rgbaFile]);
  t.equal(same.length, 2 * 4 * 6 * 3, 'NHWC, 3 channels, the images own size');
  for (let p = 0; p < 24; p++) {
    if (same[3 * p] !== gray[p] || same[3 * p + 1] !== gray[p] || same[3 * p + 2] !== gray[p]) t.fail(`gray pixel ${p}`);
    for (let c = 0; c < 3; c++) if (same[72 + 3 * p + c] !== rgba[4 * p + c]) t.fail(`rgba pixel ${p} channel ${c}: alpha is dropped, colour kept`);
  }
  t.same(await decodeImages([grayFile, rgbaFile], { targetSize: [4, 6] }), same, 'a target size equal to the image size changes nothing');
  const resized = await decodeImages([grayFile, rgbaFile, bigFile], { targetSize: [4, 6] });
  t.equal(resized.length, 3 * 4 * 6 * 3);
  const solid = resized.subarray(2 * 72, 3 * 72);
  t.ok(Math.abs(solid[0]! - 200) <= 3 && Math.abs(solid[1]! - 30) <= 3 && Math.abs(solid[2]! - 90) <= 3, `resized solid colour kept (${[...solid.subarray(0, 3)]})`);
  await t.rejects(decodeImages([grayFile, bigFile]), { code: 'ERR_TORCHTS_DATA', message: /big\.jpg: image is 20x10 but the first image is 6x4; pass targetSize/ });
});
