// A streaming decode worker: receives jobs (epoch, batch index, slot),
// decodes that batch's files into the slot's shared pixels and labels, and
// marks the slot ready (or failed, with the error) for the loader.
import * as fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import sharp from 'sharp';
import { rankedRng, shardOrder } from '../../distributed/sampler';
import { Rng, RNG_STREAM } from '../rng';
import { MESSAGE_BYTES, SLOT, SLOT_FIELDS, STATE, type Job, type WorkerSetup } from './protocol';
import { decodeImage } from './transforms';

const setup = workerData as WorkerSetup;
// One libvips thread per worker: the loader runs one worker per core it may use.
sharp.concurrency(1);
sharp.cache(false);

const control = new Int32Array(setup.control);
const frameBytes = setup.height * setup.width * 3;
const pixels = new Uint8Array(setup.pixels);
const labels = new Int32Array(setup.slotLabels);
const messages = new Uint8Array(setup.messages);
const encoder = new TextEncoder();
/** Images decoded at once per worker. */
const IN_FLIGHT = 4;
// Tells the loader this worker is up (the counter after the slots' fields).
Atomics.add(control, setup.slots * SLOT_FIELDS, 1);
let order: { epoch: number; indices: Int32Array } | undefined;
// Opened once: every image of a pack is read from it at its offset.
const packHandle = setup.pack === null ? null : fs.promises.open(setup.pack.file, 'r');
// A pack that cannot be opened fails each read (named per image), not the worker.
void packHandle?.catch(() => undefined);

async function readItem(item: number): Promise<Buffer> {
  const { pack } = setup;
  if (pack === null) return fs.promises.readFile(setup.files[item]!);
  const length = pack.lengths[item]!;
  const bytes = Buffer.alloc(length);
  const { bytesRead } = await (await packHandle!).read(bytes, 0, length, pack.offsets[item]!);
  if (bytesRead !== length) throw new Error(`the pack ${pack.file} ends early (damaged: delete it to have it made again)`);
  return bytes;
}

function orderOf(epoch: number): Int32Array {
  if (order?.epoch !== epoch) {
    const count = setup.files.length;
    const all = setup.shuffle ? new Rng(setup.seed, RNG_STREAM.order, epoch).permutation(count) : Int32Array.from({ length: count }, (_, i) => i);
    order = { epoch, indices: setup.shard === null ? all : shardOrder(all, setup.shard) };
  }
  return order.indices;
}

function writeMessage(slot: number, text: string): void {
  const bytes = encoder.encode(text).subarray(0, MESSAGE_BYTES);
  messages.set(bytes, slot * MESSAGE_BYTES);
  control[slot * SLOT_FIELDS + SLOT.messageBytes] = bytes.length;
}

function finish(slot: number, state: number): void {
  Atomics.store(control, slot * SLOT_FIELDS + SLOT.state, state);
  Atomics.notify(control, slot * SLOT_FIELDS + SLOT.state);
}

async function decodeBatch({ epoch, index, slot }: Job): Promise<void> {
  const indices = orderOf(epoch);
  const start = index * setup.batchSize;
  const picked = indices.subarray(start, Math.min(indices.length, start + setup.batchSize));
  // A few images in flight per worker: each sharp call waits on file reads and libuv's pool.
  const decoded = new Array<Buffer | { file: string; reason: string }>(picked.length);
  let next = 0;
  const decodeNext = async (): Promise<void> => {
    while (next < picked.length) {
      const k = next++;
      const item = picked[k]!;
      const file = setup.files[item]!;
      try {
        decoded[k] = await decodeImage(await readItem(item), setup, rankedRng(setup.seed, RNG_STREAM.crop, setup.shard, epoch, start + k));
      } catch (error) {
        decoded[k] = { file, reason: String((error as Error)?.message ?? error).split('\n')[0]! };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, picked.length) }, decodeNext));
  const skipped: string[] = [];
  let count = 0;
  decoded.forEach((pixelsOrError, k) => {
    if (!Buffer.isBuffer(pixelsOrError)) {
      const { file, reason } = pixelsOrError;
      if (!setup.skipCorrupt) throw new Error(`${file}: cannot decode image: ${reason}`);
      skipped.push(`${file}: ${reason}`);
      return;
    }
    const at = slot * setup.batchSize + count;
    pixels.set(pixelsOrError, at * frameBytes);
    labels[at] = setup.labels[picked[k]!]!;
    count++;
  });
  const base = slot * SLOT_FIELDS;
  control[base + SLOT.epoch] = epoch;
  control[base + SLOT.index] = index;
  control[base + SLOT.count] = count;
  control[base + SLOT.skipped] = skipped.length;
  writeMessage(slot, skipped.join('\n'));
}

// Jobs run one at a time, in the order they were sent.
let queue = Promise.resolve();
parentPort!.on('message', (job: Job | 'close') => {
  if (job === 'close') {
    void queue.then(() => parentPort!.close());
    return;
  }
  queue = queue.then(async () => {
    try {
      await decodeBatch(job);
      finish(job.slot, STATE.ready);
    } catch (error) {
      writeMessage(job.slot, String((error as Error)?.message ?? error));
      finish(job.slot, STATE.failed);
    }
  });
});
