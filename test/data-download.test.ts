// The default CIFAR-10 download, against a local HTTP server serving a small
// fake archive: MD5 verification, partial downloads, redirects, the URL
// override, and the offline message. Nothing here touches the internet.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import t from 'tap';
import { CIFAR10_ARCHIVE_NAME, CIFAR10_URL_ENV, createProgressPrinter, loadDataset, type ProgressEvent } from '../lib/data';
import { firstDifference, listTree, randomImageSet, tempDir, writeBinaryFolder, writeTarGz } from './helpers/data-fixtures';

const dir = tempDir('data-download');
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

const names = ['airplane', 'automobile', 'bird'];
const train = randomImageSet(10, 32, 32, names, 61);
const test = randomImageSet(4, 32, 32, names, 62);
const archive = fs.readFileSync(writeTarGz(path.join(dir, 'fake.tar.gz'), path.dirname(writeBinaryFolder(path.join(dir, 'src'), train, test)), ['cifar-10-batches-bin']));
const md5 = createHash('md5').update(archive).digest('hex');

const hits: Record<string, number> = {};
const server = http.createServer((req, res) => {
  const route = req.url ?? '';
  hits[route] = (hits[route] ?? 0) + 1;
  if (route === '/good.tar.gz') {
    res.writeHead(200, { 'content-length': archive.length });
    // In pieces, so progress has something to report.
    for (let at = 0; at < archive.length; at += 1024) res.write(archive.subarray(at, at + 1024));
    res.end();
  } else if (route === '/moved') {
    res.writeHead(302, { location: '/good.tar.gz' });
    res.end();
  } else if (route === '/partial.tar.gz') {
    res.writeHead(200, { 'content-length': archive.length });
    res.write(archive.subarray(0, archive.length >> 1), () => res.socket?.destroy());
  } else if (route === '/other.tar.gz') {
    const other = Buffer.from(archive);
    other[other.length - 1] ^= 0xff;
    res.writeHead(200, { 'content-length': other.length });
    res.end(other);
  } else {
    res.writeHead(404);
    res.end('not here');
  }
});
let base = '';
t.before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
t.teardown(() => server.close());

function freshCache(name: string): string {
  return path.join(dir, name);
}

t.test('downloads, verifies and uses the archive; the next run neither downloads nor decodes', async (t) => {
  const cacheDir = freshCache('cache-good');
  const events: ProgressEvent[] = [];
  const loaded = await loadDataset({ cacheDir, showProgress: false, download: { url: `${base}/good.tar.gz`, md5 }, onProgress: (e) => events.push(e) });
  t.equal(loaded.source, path.join(cacheDir, CIFAR10_ARCHIVE_NAME));
  t.equal(firstDifference(loaded.train.images, train.images), undefined, 'train pixels from the downloaded archive');
  t.same([...loaded.test.labels], [...test.labels]);
  t.same(loaded.classNames, names);
  const downloads = events.filter((e) => e.phase === 'download');
  t.ok(downloads.some((e) => e.done === archive.length && e.total === archive.length), 'download progress reached the full size');
  t.equal(hits['/good.tar.gz'], 1);
  const again = await loadDataset({ cacheDir, showProgress: false, download: { url: `${base}/good.tar.gz`, md5 } });
  t.equal(hits['/good.tar.gz'], 1, 'not downloaded again');
  t.equal(again.fromCache, true);
});

t.test('a wrong MD5 saves nothing', async (t) => {
  const cacheDir = freshCache('cache-md5');
  await t.rejects(loadDataset({ cacheDir, showProgress: false, download: { url: `${base}/other.tar.gz`, md5 } }), {
    code: 'ERR_TORCHTS_DATA',
    message: new RegExp(`^${base}/other\\.tar\\.gz: downloaded ${archive.length} bytes with MD5 [0-9a-f]{32}, but the expected MD5 is ${md5}.*nothing was saved`),
  });
  t.same(listTree(cacheDir), [], 'the cache folder holds no file');
});

t.test('an interrupted download saves nothing, and a later one succeeds', async (t) => {
  const cacheDir = freshCache('cache-partial');
  await t.rejects(loadDataset({ cacheDir, showProgress: false, download: { url: `${base}/partial.tar.gz`, md5 } }), {
    code: 'ERR_TORCHTS_DATA',
    message: /partial\.tar\.gz: download failed \(.*(closed after|received) \d+ of \d+ bytes\); nothing was saved/,
  });
  t.same(listTree(cacheDir), [], 'no partial file in the cache');
  const loaded = await loadDataset({ cacheDir, showProgress: false, download: { url: `${base}/moved`, md5 } });
  t.equal(loaded.train.count, 10, 'a redirect is followed');
  t.same(listTree(cacheDir).filter((name) => !name.startsWith('decoded')), [CIFAR10_ARCHIVE_NAME]);
});

t.test('a damaged archive already in the cache is fetched again before use', async (t) => {
  const cacheDir = freshCache('cache-damaged');
  fs.mkdirSync(cacheDir);
  fs.writeFileSync(path.join(cacheDir, CIFAR10_ARCHIVE_NAME), archive.subarray(0, 1000));
  const before = hits['/good.tar.gz'] ?? 0;
  const loaded = await loadDataset({ cacheDir, showProgress: false, download: { url: `${base}/good.tar.gz`, md5 } });
  t.equal(hits['/good.tar.gz'], before + 1, 'downloaded again');
  t.equal(loaded.train.count, 10);
});

t.test('the URL can be overridden by environment; offline fails fast and says how to pass --data', async (t) => {
  const cacheDir = freshCache('cache-env');
  process.env[CIFAR10_URL_ENV] = `${base}/good.tar.gz`;
  try {
    const loaded = await loadDataset({ cacheDir, showProgress: false, download: { md5 } });
    t.equal(loaded.test.count, 4, `${CIFAR10_URL_ENV} is used`);
  } finally {
    delete process.env[CIFAR10_URL_ENV];
  }

  const closed = http.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const offlineCache = freshCache('cache-offline');
  const started = Date.now();
  await t.rejects(loadDataset({ cacheDir: offlineCache, showProgress: false, download: { url: `http://127.0.0.1:${port}/cifar-10-binary.tar.gz`, md5 } }), {
    code: 'ERR_TORCHTS_DATA',
    message: /download failed \(.*ECONNREFUSED.*\); nothing was saved\. If this machine is offline, .* pass it with --data <path>/,
  });
  t.ok(Date.now() - started < 5000, 'fails fast');
  t.same(listTree(offlineCache), [], 'nothing saved');
  await t.rejects(loadDataset({ cacheDir: offlineCache, showProgress: false, download: { url: `${base}/missing.tar.gz`, md5 } }), {
    message: /missing\.tar\.gz: download failed \(the server answered HTTP 404/,
  });
});

t.test('progress: plain lines when not on a terminal, a cli-progress bar on one', (t) => {
  const fakeStream = (isTTY: boolean): NodeJS.WriteStream & { text: string } => {
    const stream = { isTTY, columns: 100, text: '', write: (chunk: string) => ((stream.text += chunk), true), on: () => stream, removeListener: () => stream };
    return stream as unknown as NodeJS.WriteStream & { text: string };
  };
  const plain = fakeStream(false);
  const lines = createProgressPrinter(plain);
  lines({ phase: 'download', done: 0, file: 'u', message: 'downloading u' });
  for (let done = 0; done <= 1000; done += 10) lines({ phase: 'download', done: done * 1000, total: 1_000_000, file: 'u' });
  const written = plain.text.trim().split('\n');
  t.equal(written[0], 'downloading u');
  t.ok(written.length >= 10 && written.length <= 13, `about one line per 10% (${written.length} lines)`);
  t.equal(written[written.length - 1], 'download: 1.0 MB / 1.0 MB (100%)');

  const terminal = fakeStream(true);
  const bar = createProgressPrinter(terminal);
  for (let done = 0; done <= 100; done += 25) bar({ phase: 'decode', done, total: 100 });
  bar.stop();
  t.match(terminal.text, /decode\s+\[[^\]]*\] 100% \| 100 \/ 100/, 'a bar that ends at 100%');
  t.end();
});
