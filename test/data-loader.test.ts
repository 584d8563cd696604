// DeviceLoader: evaluation order, shuffling and determinism, normalisation,
// and each augmentation checked against its definition on known pixels.
import t from 'tap';
import { DeviceLoader, makeImageSet, type Batch, type ImageSet } from '../lib/data';
import { affine, writeAffine } from '../lib/data/augment';
import { dispose, memory, scope } from '../lib/memory';
import { tensor } from '../lib/ops/creation';
import { cuda } from '../lib/runtime';
import { imageOf, randomImageSet } from './helpers/data-fixtures';

const H = 6;
const W = 8;
const N = 37;
// One class per image, so a label identifies the image it came from.
const classes = Array.from({ length: N }, (_, i) => `c${i}`);
const base = randomImageSet(N, H, W, classes, 71);
// No zero pixels, so zeros in a batch can only come from padding or cutout.
const set: ImageSet = makeImageSet(base.images.map((v) => Math.max(1, v)), base.labels, H, W, classes);

interface HostBatch {
  images: Float32Array;
  labels: number[];
  shape: number[];
}

function toHost(batch: Batch): HostBatch {
  const host = { images: batch.images.dataSync() as Float32Array, labels: Array.from(batch.labels.dataSync() as BigInt64Array, Number), shape: batch.images.shape };
  if (batch.labels.dtype !== 'int64') throw new Error(`labels are ${batch.labels.dtype}`);
  if (batch.images.dtype !== 'float32') throw new Error(`images are ${batch.images.dtype}`);
  batch.images.dispose();
  batch.labels.dispose();
  return host;
}

function epoch(loader: DeviceLoader, index = 0): HostBatch[] {
  return [...loader.batches(index)].map(toHost);
}

/** Pixel (y, x, c) of image k of a host batch (NCHW), scaled back to 0..255. */
function pixel(batch: HostBatch, k: number, c: number, y: number, x: number): number {
  return Math.round(batch.images[((k * 3 + c) * H + y) * W + x]! * 255);
}

t.test('evaluation: every image once, in order, normalised; the last partial batch kept', (t) => {
  const mean = [0.4, 0.5, 0.6];
  const std = [0.2, 0.25, 0.3];
  using loader = new DeviceLoader(set, { batchSize: 10, mean, std });
  t.equal(loader.numBatches, 4);
  const batches = epoch(loader);
  t.same(batches.map((b) => b.shape), [[10, 3, H, W], [10, 3, H, W], [10, 3, H, W], [7, 3, H, W]]);
  t.same(batches.flatMap((b) => b.labels), Array.from({ length: N }, (_, i) => i), 'each image once, in order');
  let worst = 0;
  batches.forEach((batch, b) => {
    for (let k = 0; k < batch.labels.length; k++) {
      const source = imageOf(set, b * 10 + k);
      for (let c = 0; c < 3; c++)
        for (let y = 0; y < H; y++)
          for (let x = 0; x < W; x++) {
            const expected = (source[(y * W + x) * 3 + c]! / 255 - mean[c]!) / std[c]!;
            worst = Math.max(worst, Math.abs(batch.images[((k * 3 + c) * H + y) * W + x]! - expected));
          }
    }
  });
  t.ok(worst < 1e-5, `(x / 255 - mean) / std, NCHW (max error ${worst.toExponential(2)})`);
  using dropping = new DeviceLoader(set, { batchSize: 10, dropLast: true });
  t.equal(dropping.numBatches, 3);
  t.same(epoch(dropping).map((b) => b.labels.length), [10, 10, 10], 'dropLast leaves out the partial batch');
  t.end();
});

t.test('shuffling: a permutation per epoch; same seed and epoch, same batches', (t) => {
  const options = { batchSize: 8, shuffle: true, seed: 5, augment: { crop: { padding: 2 }, flip: true, cutout: { size: 3 }, rotate: { degrees: 10 }, translate: { fraction: 0.1 } } };
  using a = new DeviceLoader(set, options);
  using b = new DeviceLoader(set, options);
  const first = epoch(a, 0);
  const labels = first.flatMap((batch) => batch.labels);
  t.same([...labels].sort((x, y) => x - y), Array.from({ length: N }, (_, i) => i), 'every image once per epoch');
  t.not(labels.join(), Array.from({ length: N }, (_, i) => i).join(), 'not in the original order');
  const again = epoch(b, 0);
  t.ok(
    first.every((batch, i) => batch.labels.join() === again[i]!.labels.join() && Buffer.compare(Buffer.from(batch.images.buffer), Buffer.from(again[i]!.images.buffer)) === 0),
    'another loader with the same seed gives bit-identical batches',
  );
  const direct = toHost(a.batch(0, 2));
  t.ok(Buffer.compare(Buffer.from(direct.images.buffer), Buffer.from(first[2]!.images.buffer)) === 0, 'batch(epoch, i) is what the generator yields');
  t.not(epoch(a, 1).flatMap((batch) => batch.labels).join(), labels.join(), 'the next epoch has another order');
  using c = new DeviceLoader(set, { ...options, seed: 6 });
  t.not(epoch(c, 0).flatMap((batch) => batch.labels).join(), labels.join(), 'another seed, another order');
  t.end();
});

t.test('flip: each image is the original or its columns reversed; order unchanged by augmentation', (t) => {
  using plain = new DeviceLoader(set, { batchSize: 16, shuffle: true, seed: 9 });
  using flipping = new DeviceLoader(set, { batchSize: 16, shuffle: true, seed: 9, augment: { flip: true } });
  const reference = epoch(plain);
  const flipped = epoch(flipping);
  let same = 0;
  let mirrored = 0;
  flipped.forEach((batch, b) => {
    t.same(batch.labels, reference[b]!.labels, `batch ${b}: augmentation does not change the order`);
    for (let k = 0; k < batch.labels.length; k++) {
      let isSame = true;
      let isMirrored = true;
      for (let c = 0; c < 3; c++)
        for (let y = 0; y < H; y++)
          for (let x = 0; x < W; x++) {
            const value = pixel(batch, k, c, y, x);
            if (value !== pixel(reference[b]!, k, c, y, x)) isSame = false;
            if (value !== pixel(reference[b]!, k, c, y, W - 1 - x)) isMirrored = false;
          }
      if (isSame) same++;
      else if (isMirrored) mirrored++;
      else t.fail(`image ${batch.labels[k]} is neither the original nor its mirror`);
    }
  });
  t.equal(same + mirrored, N);
  t.ok(same > 5 && mirrored > 5, `both happen (${same} kept, ${mirrored} mirrored)`);
  t.end();
});

/** The image padded by p per side: zeros, or reflected (numpy/PyTorch 'reflect': the edge is not repeated). */
function padded(source: Uint8Array, p: number, mode: 'zeros' | 'reflect'): (c: number, y: number, x: number) => number {
  const reflect = (i: number, size: number): number => (i < 0 ? -i : i >= size ? 2 * (size - 1) - i : i);
  return (c, y, x) => {
    const sy = y - p;
    const sx = x - p;
    if (mode === 'zeros' && (sy < 0 || sy >= H || sx < 0 || sx >= W)) return 0;
    return source[(reflect(sy, H) * W + reflect(sx, W)) * 3 + c]!;
  };
}

for (const mode of ['zeros', 'reflect'] as const) {
  t.test(`crop (${mode} padding): each image is a window of the padded image, at varied offsets`, (t) => {
    const p = 2;
    using loader = new DeviceLoader(set, { batchSize: 16, shuffle: true, seed: 3, augment: { crop: { padding: p, mode } } });
    const offsets = new Set<string>();
    for (const batch of epoch(loader)) {
      for (let k = 0; k < batch.labels.length; k++) {
        const source = padded(imageOf(set, batch.labels[k]!), p, mode);
        let found: string | undefined;
        for (let dy = 0; dy <= 2 * p && found === undefined; dy++)
          for (let dx = 0; dx <= 2 * p && found === undefined; dx++) {
            let match = true;
            for (let c = 0; c < 3 && match; c++)
              for (let y = 0; y < H && match; y++) for (let x = 0; x < W && match; x++) if (pixel(batch, k, c, y, x) !== source(c, y + dy, x + dx)) match = false;
            if (match) found = `${dy},${dx}`;
          }
        if (found === undefined) t.fail(`image ${batch.labels[k]} is no window of its padded original`);
        else offsets.add(found);
      }
    }
    t.ok(offsets.size >= 10, `windows at ${offsets.size} of the ${(2 * p + 1) ** 2} offsets`);
    t.end();
  });
}

t.test('cutout: one square of zeros per image (clipped at the edges), in every channel', (t) => {
  const size = 3;
  using plain = new DeviceLoader(set, { batchSize: 16, shuffle: true, seed: 4 });
  using cut = new DeviceLoader(set, { batchSize: 16, shuffle: true, seed: 4, augment: { cutout: { size } } });
  const reference = epoch(plain);
  let clipped = 0;
  epoch(cut).forEach((batch, b) => {
    for (let k = 0; k < batch.labels.length; k++) {
      const zeros: [number, number][] = [];
      for (let y = 0; y < H; y++)
        for (let x = 0; x < W; x++) {
          const values = [0, 1, 2].map((c) => pixel(batch, k, c, y, x));
          if (values.every((v) => v === 0)) zeros.push([y, x]);
          else if (values.some((v) => v === 0)) t.fail('a pixel zeroed in some channels only');
          else if (values.some((v, c) => v !== pixel(reference[b]!, k, c, y, x))) t.fail('a pixel outside the square changed');
        }
      if (zeros.length === 0) t.fail(`image ${batch.labels[k]} has no cutout square (its centre is always inside the image)`);
      const ys = zeros.map(([y]) => y);
      const xs = zeros.map(([, x]) => x);
      const height = Math.max(...ys) - Math.min(...ys) + 1;
      const width = Math.max(...xs) - Math.min(...xs) + 1;
      if (height * width !== zeros.length || height > size || width > size) t.fail(`zeros of image ${batch.labels[k]} are not one square`);
      if (height < size || width < size) clipped++;
    }
  });
  t.pass('every image has one rectangle of zeros, at most size x size');
  t.ok(clipped > 0, `squares near an edge are clipped (${clipped})`);
  t.end();
});

t.test('rotation by 0 and shift by 0 are the identity; by 90 degrees, a rotation of the pixels', (t) => {
  using plain = new DeviceLoader(set, { batchSize: 16, shuffle: true, seed: 8 });
  using still = new DeviceLoader(set, { batchSize: 16, shuffle: true, seed: 8, augment: { rotate: { degrees: 0 }, translate: { fraction: 0 } } });
  const reference = epoch(plain);
  let worst = 0;
  epoch(still).forEach((batch, b) => batch.images.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - reference[b]!.images[i]!)))));
  t.ok(worst < 1e-5, `identity through affine grid + grid sample (max error ${worst.toExponential(2)})`);

  scope(() => {
    const side = 5;
    const pixels = Float32Array.from({ length: 2 * side * side }, (_, i) => i);
    const images = tensor(pixels, [2, 1, side, side]);
    const theta = new Float32Array(12);
    writeAffine(theta, 0, Math.PI / 2, 0, 0, side, side);
    writeAffine(theta, 1, 0, 0.4, 0, side, side); // shift by one pixel (0.4 of the half-width 2.5)
    const out = affine(images, tensor(theta, [2, 2, 3]), 'zeros').dataSync() as Float32Array;
    let rotationError = 0;
    for (let y = 0; y < side; y++) for (let x = 0; x < side; x++) rotationError = Math.max(rotationError, Math.abs(out[y * side + x]! - pixels[x * side + (side - 1 - y)]!));
    t.ok(rotationError < 1e-4, `90 degrees moves every pixel to its rotated place (max error ${rotationError.toExponential(2)})`);
    let shiftError = 0;
    for (let y = 0; y < side; y++)
      for (let x = 0; x < side; x++) {
        const expected = x + 1 < side ? pixels[side * side + y * side + x + 1]! : 0;
        shiftError = Math.max(shiftError, Math.abs(out[side * side + y * side + x]! - expected));
      }
    t.ok(shiftError < 1e-4, `a shift moves pixels by whole columns, filling with zeros (max error ${shiftError.toExponential(2)})`);
  });
  t.end();
});

t.test('channelsLast gives the same values in NHWC memory', (t) => {
  const options = { batchSize: 16, shuffle: true, seed: 2, augment: { crop: { padding: 1 }, flip: true, cutout: { size: 2 } } };
  using contiguous = new DeviceLoader(set, options);
  using channelsLast = new DeviceLoader(set, { ...options, memoryFormat: 'channelsLast' });
  const batch = channelsLast.batch(0, 0);
  t.ok(batch.images.isContiguous('channelsLast'), 'channels-last layout');
  t.same(toHost(batch).images, toHost(contiguous.batch(0, 0)).images, 'same values');
  t.end();
});

t.test('an epoch leaves the live-tensor count flat; dispose() frees the device copy', (t) => {
  const before = memory().liveTensors;
  const loader = new DeviceLoader(set, { batchSize: 8, shuffle: true, seed: 1, augment: { crop: { padding: 2, mode: 'reflect' }, flip: true, cutout: { size: 3 }, rotate: { degrees: 15 }, translate: { fraction: 0.1 } } });
  const held = memory().liveTensors;
  for (let e = 0; e < 2; e++) {
    for (const batch of loader.batches(e)) {
      scope(() => {
        batch.images.add(batch.labels.unsqueeze(1).unsqueeze(2).unsqueeze(3)).sum();
      });
      dispose(batch); // the caller owns each batch
    }
    t.equal(memory().liveTensors, held, `after epoch ${e}: only the loader's own tensors remain`);
  }
  // Requesting batches inside a scope: the scope owns (and frees) them.
  scope(() => {
    for (const batch of loader.batches(2)) batch.images.mean();
  });
  t.equal(memory().liveTensors, held, 'batches requested inside a scope are freed with it');
  loader.dispose();
  loader.dispose();
  t.equal(memory().liveTensors, before, 'dispose() frees everything');
  t.throws(() => loader.batch(0, 0), /after dispose/);
  t.end();
});

t.test('bad options are TypeErrors/RangeErrors that name the option', (t) => {
  t.throws(() => new DeviceLoader(set, { batchSize: 0 }), /batchSize must be a positive integer/);
  t.throws(() => new DeviceLoader(set, { batchSize: 4, std: [1, 0, 1] }), /std must be 3 positive numbers/);
  t.throws(() => new DeviceLoader(set, { batchSize: 4, augment: { crop: { padding: 6, mode: 'reflect' } } }), /reflect padding \(6\) must be smaller than the image/);
  t.throws(() => new DeviceLoader(set, { batchSize: 4, augment: { translate: { fraction: 1.5 } } }), /translate\.fraction must be in \[0, 1\)/);
  t.throws(() => new DeviceLoader(set, { batchSize: 4, device: 'gpu' as never }), /device must be 'cpu', 'cuda' or 'cuda:N'/);
  using loader = new DeviceLoader(set, { batchSize: 4 });
  t.throws(() => loader.batch(0, 10), /batch 10 is out of range \(10 batches per epoch\)/);
  t.end();
});

t.test('CUDA: the same batches as on the CPU', { skip: cuda.isAvailable() ? false : 'no CUDA device here' }, (t) => {
  const options = { batchSize: 16, shuffle: true, seed: 12, augment: { crop: { padding: 2 }, flip: true, cutout: { size: 3 } } };
  using onCpu = new DeviceLoader(set, options);
  using onGpu = new DeviceLoader(set, { ...options, device: 'cuda' });
  const gpuBatch = onGpu.batch(0, 1);
  t.equal(gpuBatch.images.device, 'cuda:0');
  const a = toHost(onCpu.batch(0, 1));
  const b = toHost(gpuBatch);
  t.same(b.labels, a.labels);
  let worst = 0;
  a.images.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - b.images[i]!))));
  t.ok(worst < 1e-5, `max difference ${worst}`);
  t.end();
});
