// Bad input: each problem is a DataError (code ERR_TORCHTS_DATA) whose
// message names the file at fault; nothing crashes and nothing is written
// outside the cache folder (and no cache entry for a failed source).
import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { loadDataset } from '../lib/data';
import { encodeImage, listTree, randomImageSet, tempDir, writeBinaryFolder, writeImageFolder, writeRawTarGz, writeTarGz } from './helpers/data-fixtures';

const dir = tempDir('data-errors');
const cacheDir = path.join(dir, 'cache');
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

const CLASSES = ['cat', 'dog'];

/** Loads `data`, expecting a DataError whose message matches; checks that nothing was written. */
async function expectDataError(t: Test, data: string, message: RegExp, what: string): Promise<void> {
  const before = listTree(dir).filter((name) => !name.startsWith('cache'));
  const cacheBefore = listTree(cacheDir);
  await t.rejects(loadDataset({ data, cacheDir, showProgress: false }), { name: 'DataError', code: 'ERR_TORCHTS_DATA', message }, what);
  t.same(
    listTree(dir).filter((name) => !name.startsWith('cache')),
    before,
    `${what}: nothing written outside the cache`,
  );
  t.same(listTree(cacheDir), cacheBefore, `${what}: nothing written in the cache either`);
}

t.test('missing and unrecognised sources', async (t) => {
  const missing = path.join(dir, 'no-such-folder');
  await expectDataError(t, missing, new RegExp(`^${missing}: cannot open data source \\(no such file or folder\\)`), 'missing folder');
  const empty = path.join(dir, 'empty');
  fs.mkdirSync(empty);
  await expectDataError(t, empty, /empty: not a data source: expected a cifar-10-batches-bin folder .* or an image folder/, 'a folder of neither layout');
  const zip = path.join(dir, 'data.zip');
  fs.writeFileSync(zip, 'PK');
  await expectDataError(t, zip, /data\.zip: not a data source: expected a \.tar\.gz/, 'not an archive');
});

t.test('image folders: empty class folder, missing split, size mismatch', async (t) => {
  const train = randomImageSet(4, 4, 4, CLASSES, 1);
  const test = randomImageSet(2, 4, 4, CLASSES, 2);
  const root = path.join(dir, 'tree-empty-class');
  await writeImageFolder(root, { train, test }, () => 'png');
  fs.mkdirSync(path.join(root, 'train', 'emu'));
  fs.writeFileSync(path.join(root, 'train', 'emu', 'notes.txt'), 'not an image');
  await expectDataError(t, root, /tree-empty-class\/train\/emu: empty class folder/, 'empty class folder');

  const noTrain = path.join(dir, 'tree-no-train');
  await writeImageFolder(noTrain, { train, test }, () => 'png');
  fs.rmSync(path.join(noTrain, 'train'), { recursive: true });
  await expectDataError(t, noTrain, /tree-no-train: not a data source: expected a cifar-10-batches-bin folder .* or an image folder with train\/<class>\/\*\.jpg \(and optionally test\/<class>\/\*\.jpg\)/, 'no train split');

  const unknownClass = path.join(dir, 'tree-unknown-class');
  await writeImageFolder(unknownClass, { train, test }, () => 'png');
  fs.mkdirSync(path.join(unknownClass, 'test', 'yak'));
  fs.copyFileSync(path.join(unknownClass, 'test', 'cat', '0000.png'), path.join(unknownClass, 'test', 'yak', '0000.png'));
  await expectDataError(t, unknownClass, /test\/yak: class 'yak' has no folder in train\//, 'a test class unknown to train');

  const mixed = path.join(dir, 'tree-mixed-size');
  await writeImageFolder(mixed, { train, test }, () => 'png');
  const odd = randomImageSet(1, 5, 4, CLASSES, 3);
  fs.writeFileSync(path.join(mixed, 'train', 'dog', '0003.png'), await encodeImage(odd.images, 5, 4, 'png'));
  await expectDataError(t, mixed, /train\/dog\/0003\.png: image is 4x5 but the first image is 4x4; pass targetSize/, 'images of another size');

  // In an archive, the same rule names the archive and the entry.
  const archive = writeTarGz(path.join(dir, 'empty-class.tar.gz'), root, ['train', 'test']);
  await expectDataError(t, archive, /empty-class\.tar\.gz:train\/emu: empty class folder/, 'empty class folder in an archive');
});

t.test('a corrupt JPEG is named, whether it sits among batched JPEGs or alone', async (t) => {
  const train = randomImageSet(12, 8, 8, CLASSES, 4);
  const test = randomImageSet(4, 8, 8, CLASSES, 5);
  const root = path.join(dir, 'tree-corrupt');
  const files = await writeImageFolder(root, { train, test }, () => 'jpeg');
  const victim = files.train[5]!;
  const bytes = fs.readFileSync(victim);
  fs.writeFileSync(victim, bytes.subarray(0, bytes.length >> 1)); // truncated mid-scan
  await expectDataError(t, root, new RegExp(`${path.basename(victim)}: cannot decode image`), 'truncated JPEG');

  fs.writeFileSync(victim, Buffer.concat([bytes.subarray(0, 200), Buffer.alloc(bytes.length - 200, 0x55)])); // garbage scan data
  await expectDataError(t, root, new RegExp(`${path.basename(victim)}: cannot decode image`), 'JPEG with garbage data');

  fs.writeFileSync(victim, 'this is not a JPEG at all');
  await expectDataError(t, root, new RegExp(`${path.basename(victim)}: cannot decode image`), 'not a JPEG');

  const archive = writeTarGz(path.join(dir, 'corrupt.tar.gz'), root, ['train', 'test']);
  const entry = path.relative(root, victim);
  await expectDataError(t, archive, new RegExp(`corrupt\\.tar\\.gz:${entry}: cannot decode image`), 'corrupt JPEG inside an archive');
});

t.test('binary batches: truncated, missing, bad label', async (t) => {
  const names = ['a', 'b', 'c'];
  const train = randomImageSet(10, 32, 32, names, 6);
  const test = randomImageSet(3, 32, 32, names, 7);
  const parent = path.join(dir, 'bin-truncated');
  const binDir = writeBinaryFolder(parent, train, test);
  const third = path.join(binDir, 'data_batch_3.bin');
  const whole = fs.readFileSync(third);
  fs.writeFileSync(third, whole.subarray(0, whole.length - 1000));
  await expectDataError(t, binDir, /data_batch_3\.bin: truncated or not a CIFAR-10 batch: 5146 bytes is not a whole number of 3073-byte records \(the last record has 2073 bytes\)/, 'truncated .bin');
  const archive = writeTarGz(path.join(dir, 'bin-truncated.tar.gz'), parent, ['cifar-10-batches-bin']);
  await expectDataError(t, archive, /bin-truncated\.tar\.gz:cifar-10-batches-bin\/data_batch_3\.bin: truncated/, 'truncated .bin in an archive');

  fs.writeFileSync(third, whole);
  fs.rmSync(path.join(binDir, 'data_batch_2.bin'));
  await expectDataError(t, binDir, /data_batch_2\.bin: missing: a CIFAR-10 binary folder needs/, 'missing batch file');
  const missingInArchive = writeTarGz(path.join(dir, 'bin-missing.tar.gz'), parent, ['cifar-10-batches-bin']);
  await expectDataError(t, missingInArchive, /bin-missing\.tar\.gz:cifar-10-batches-bin\/data_batch_2\.bin: missing from the archive/, 'missing batch in an archive');

  const badLabel = writeBinaryFolder(path.join(dir, 'bin-label'), train, test);
  const first = fs.readFileSync(path.join(badLabel, 'data_batch_1.bin'));
  first[3073] = 7; // the second record's label
  fs.writeFileSync(path.join(badLabel, 'data_batch_1.bin'), first);
  await expectDataError(t, badLabel, /data_batch_1\.bin: record 1 has label 7, but there are only 3 classes/, 'label out of range');
});

t.test('archives: escaping paths, truncation, garbage', async (t) => {
  const png = await encodeImage(randomImageSet(1, 4, 4, CLASSES, 8).images, 4, 4, 'png');
  const good = [
    { path: 'data/train/cat/0.png', data: png },
    { path: 'data/test/cat/0.png', data: png },
  ];
  const escaping = writeRawTarGz(path.join(dir, 'escape.tar.gz'), [...good, { path: 'data/train/../../../evil.png', data: png }]);
  await expectDataError(t, escaping, /escape\.tar\.gz: entry 'data\/train\/\.\.\/\.\.\/\.\.\/evil\.png' points outside the archive's root folder/, 'entry escaping the root');
  const absolute = writeRawTarGz(path.join(dir, 'absolute.tar.gz'), [{ path: '/tmp/evil.png', data: png }, ...good]);
  await expectDataError(t, absolute, /absolute\.tar\.gz: entry '\/tmp\/evil\.png' points outside/, 'absolute entry path');
  t.notOk(fs.existsSync(path.join(path.dirname(dir), 'evil.png')), 'nothing extracted next to the archive');

  const fine = writeRawTarGz(path.join(dir, 'fine.tar.gz'), good);
  const loaded = await loadDataset({ data: fine, cacheDir, showProgress: false, useCache: false });
  t.equal(loaded.train.count, 1, 'the same archive without the bad entry loads');

  const whole = fs.readFileSync(fine);
  const truncated = path.join(dir, 'truncated.tar.gz');
  fs.writeFileSync(truncated, whole.subarray(0, whole.length >> 1));
  await expectDataError(t, truncated, /truncated\.tar\.gz: not a readable \.tar\.gz archive \(zlib: unexpected end of file\)/, 'truncated archive');
  const garbage = path.join(dir, 'garbage.tgz');
  fs.writeFileSync(garbage, Buffer.alloc(4096, 7));
  await expectDataError(t, garbage, /garbage\.tgz: not a readable \.tar\.gz archive/, 'garbage archive');
  const neither = writeRawTarGz(path.join(dir, 'neither.tar.gz'), [{ path: 'readme.txt', data: Buffer.from('hi') }]);
  await expectDataError(t, neither, /neither\.tar\.gz: not a data source: the archive holds neither/, 'archive of something else');
});
