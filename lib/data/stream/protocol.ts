// What the streaming loader and its decode workers share: the setup each
// worker gets once, the jobs it is sent, and the layout of the shared memory
// where it leaves decoded batches.
//
// The loader's batch() is synchronous (the trainer's contract for every
// loader), so the hand-over is shared memory, not messages: a worker writes a
// batch into its slot and flips the slot's state with Atomics; the loader
// waits on that state with Atomics.wait. Messages (loader -> worker) only
// carry jobs, which workers receive while the loader is busy training.

import type { ShardOptions } from '../../distributed/sampler';

/** How each image is brought to the target size. */
export type StreamTransform =
  /** Resized to the target size, aspect ratio not kept (Keras' target_size; what the in-memory path does). */
  | 'resize'
  /** The shorter side resized to `resizeShorter`, then the centre cropped to the target size (ImageNet evaluation). */
  | 'center-crop'
  /** A random area and aspect ratio cropped, then resized to the target size (torchvision's RandomResizedCrop). */
  | 'random-resized-crop';

export interface RandomResizedCropOptions {
  /** Range of the crop's area as a fraction of the image's (default [0.08, 1]). */
  scale: [number, number];
  /** Range of the crop's aspect ratio, width / height (default [3/4, 4/3]). */
  ratio: [number, number];
}

/** Images kept inside one pack file (an archive's, lib/data/stream/archive-pack.ts), by item. */
export interface PackedItems {
  file: string;
  offsets: Float64Array;
  lengths: Int32Array;
}

export interface WorkerSetup {
  /** What errors name for each item: its path, or archive:entry for a packed one. */
  files: string[];
  /** Where the items' bytes are when they are not files of their own; null: read `files`. */
  pack: PackedItems | null;
  labels: Int32Array;
  batchSize: number;
  height: number;
  width: number;
  shuffle: boolean;
  /** This rank's shard of each epoch's order; null: all of it. */
  shard: Required<ShardOptions> | null;
  seed: number;
  transform: StreamTransform;
  resizeShorter: number;
  crop: RandomResizedCropOptions;
  skipCorrupt: boolean;
  slots: number;
  control: SharedArrayBuffer;
  pixels: SharedArrayBuffer;
  slotLabels: SharedArrayBuffer;
  messages: SharedArrayBuffer;
}

/** One batch to decode into one slot. */
export interface Job {
  epoch: number;
  index: number;
  slot: number;
}

/** Int32 fields per slot in the control array. */
export const SLOT = { state: 0, epoch: 1, index: 2, count: 3, skipped: 4, messageBytes: 5 } as const;
export const SLOT_FIELDS = 6;

/** A slot's life: free -> decoding (a job was sent) -> ready or failed -> free (the loader took it). */
export const STATE = { free: 0, decoding: 1, ready: 2, failed: 3 } as const;

/** Bytes per slot for its message: the error of a failed batch, or the skipped files of a ready one. */
export const MESSAGE_BYTES = 16 * 1024;
