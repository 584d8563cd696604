// Encoded images: decodeImages (the entry point predict() and image folders
// use), fed a mutant among valid images so that both the batched
// JPEG-in-TIFF path and the per-image path run, with and without a target
// size. Seeds are written by sharp in every format it reads that matters
// here (baseline/4:4:4/progressive/grey JPEG, PNG variants, WebP, GIF, TIFF).
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { decodeImages } from '../../../../lib/data/decode';
import { mutateImage } from '../image-formats';
import { Prng } from '../prng';
import type { FuzzCase, FuzzTarget, SeedCorpus } from '../types';

const SIDE = 16;

/** Smooth-ish deterministic RGB pixels (gradients plus noise) so encoders produce ordinary streams. */
function pixels(height: number, width: number, channels: number, seed: number): Buffer {
  const rng = new Prng(seed);
  const out = Buffer.alloc(height * width * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) out[(y * width + x) * channels + c] = (x * 13 + y * 7 * (c + 1) + rng.int(24)) & 0xff;
    }
  }
  return out;
}

async function makeSeeds(dir: string): Promise<void> {
  const rgb = (seed = 1, height = SIDE, width = SIDE) => sharp(pixels(height, width, 3, seed), { raw: { width, height, channels: 3 } });
  const rgba = sharp(pixels(SIDE, SIDE, 4, 2), { raw: { width: SIDE, height: SIDE, channels: 4 } });
  const seeds: [string, Promise<Buffer>][] = [
    ['baseline.jpg', rgb().jpeg({ quality: 90 }).toBuffer()],
    ['baseline-b.jpg', rgb(3).jpeg({ quality: 75 }).toBuffer()],
    ['full-chroma.jpg', rgb().jpeg({ quality: 90, chromaSubsampling: '4:4:4' }).toBuffer()],
    ['progressive.jpg', rgb().jpeg({ quality: 90, progressive: true }).toBuffer()],
    ['grey.jpg', rgb().greyscale().jpeg().toBuffer()],
    ['wide.jpg', rgb(4, 8, 12).jpeg().toBuffer()],
    ['rgb.png', rgb().png().toBuffer()],
    ['rgba.png', rgba.png().toBuffer()],
    ['grey.png', rgb().greyscale().png().toBuffer()],
    ['palette.png', rgb().png({ palette: true, colours: 16 }).toBuffer()],
    ['interlaced.png', rgb().png({ progressive: true }).toBuffer()],
    ['deep.png', rgb().toColourspace('rgb16').png().toBuffer()],
    ['lossy.webp', rgb().webp({ quality: 80 }).toBuffer()],
    ['lossless.webp', rgb().webp({ lossless: true }).toBuffer()],
    ['anim.gif', rgb().gif().toBuffer()],
    ['image.tiff', rgb().tiff().toBuffer()],
  ];
  for (const [name, data] of seeds) fs.writeFileSync(path.join(dir, name), await data);
}

const TARGET_SIZES: ([number, number] | null)[] = [null, null, [SIDE, SIDE], [7, 5]];

/** The image list for one input: the mutant among 0-3 valid same-size images (so batches form). */
function mutate(rng: Prng, seeds: SeedCorpus): FuzzCase {
  const names = [...seeds.keys()];
  const seedName = rng.pick(names);
  const seed = seeds.get(seedName)!;
  const mutated = mutateImage(rng, seed, [...seeds.values()]);
  const companions = rng.pick([0, 1, 2, 3]);
  const files = Array.from({ length: companions }, (_, k) => {
    const name = rng.chance(0.7) ? rng.pick(['baseline.jpg', 'baseline-b.jpg']) : rng.pick(names);
    return { name: `valid-${k}-${name}`, data: seeds.get(name)! };
  });
  const position = rng.int(files.length + 1);
  files.splice(position, 0, { name: `mutant-${seedName}`, data: mutated.data });
  return { files, params: { targetSize: rng.pick(TARGET_SIZES) }, log: [`seed ${seedName} at ${position} of ${files.length}`, ...mutated.log] };
}

async function run(caseDir: string, input: FuzzCase): Promise<void> {
  const targetSize = input.params.targetSize;
  const files = input.files.map((file) => path.join(caseDir, file.name));
  await decodeImages(files, Array.isArray(targetSize) ? { targetSize: [targetSize[0]!, targetSize[1]!] } : {});
}

export const imagesTarget: FuzzTarget = {
  name: 'images',
  expectedCodes: ['ERR_TORCHTS_DATA'],
  batchSize: 1000,
  makeSeeds,
  mutate,
  run,
};
