#!/usr/bin/env node
// Classifies images with a model from `npx torchts export`, using ONNX
// Runtime alone (no torchts): sharp decodes and resizes each image as torchts
// does, the graph does the rest. Class names come from the file's
// metadata_props ('torchts.classes').
//
//   node bench/onnx-classify.js model.onnx a.jpg b.jpg ...
'use strict';
const fs = require('node:fs');
const ort = require('onnxruntime-node');
const sharp = require('sharp');
const { onnx } = require('onnx-proto');

/** The class names and the input's [height, width] recorded in the file. */
function describeModel(file) {
  const model = onnx.ModelProto.decode(fs.readFileSync(file));
  const metadata = Object.fromEntries(model.metadataProps.map(({ key, value }) => [key, value]));
  const dims = model.graph.input[0].type.tensorType.shape.dim.map((dim) => Number(dim.dimValue));
  return { classes: JSON.parse(metadata['torchts.classes'] ?? '[]'), height: dims[1], width: dims[2], channels: dims[3] };
}

async function pixelsOf(file, height, width) {
  return sharp(file, { failOn: 'warning' })
    .resize(width, height, { fit: 'fill' })
    .removeAlpha()
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer();
}

async function main() {
  const [modelFile, ...images] = process.argv.slice(2);
  if (modelFile === undefined || images.length === 0) {
    process.stderr.write('usage: node bench/onnx-classify.js model.onnx image [image ...]\n');
    return 2;
  }
  const { classes, height, width, channels } = describeModel(modelFile);
  if (channels !== 3) throw new Error(`${modelFile}: expected a pixels input [batch, height, width, 3] (exported without --raw)`);
  const session = await ort.InferenceSession.create(modelFile);
  const inputName = session.inputNames[0];
  const batch = new Uint8Array(images.length * height * width * 3);
  for (let i = 0; i < images.length; i++) batch.set(await pixelsOf(images[i], height, width), i * height * width * 3);
  const output = await session.run({ [inputName]: new ort.Tensor('uint8', batch, [images.length, height, width, 3]) });
  const logits = output[session.outputNames[0]].data;
  const count = logits.length / images.length;
  images.forEach((file, i) => {
    const row = Array.from(logits.subarray(i * count, (i + 1) * count));
    const max = Math.max(...row);
    const exps = row.map((value) => Math.exp(value - max));
    const total = exps.reduce((a, b) => a + b, 0);
    const best = row.indexOf(max);
    process.stdout.write(`${file}: ${classes[best] ?? best} ${((100 * exps[best]) / total).toFixed(1)}%\n`);
  });
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`onnx-classify: ${error.message}\n`);
    process.exit(1);
  },
);
