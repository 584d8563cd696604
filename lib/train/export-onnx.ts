// A trained run as an ONNX file another runtime can use alone: by default
// the graph takes the same raw RGB pixels torchts decodes (uint8, NHWC, the
// run's image size) and does the run's scaling and normalisation itself, so
// a deployment needs only an image decoder and ONNX Runtime. The class
// names and the expected input are stored in the model's metadata_props.
import { Module } from '../nn/module';
import { tensor } from '../ops/creation';
import type { Tensor } from '../tensor';
import { exportModel, DEFAULT_OPSET, type ExportResult } from '../onnx';
import { loadTrainedModel, pixelsToInput, type InferenceOptions } from './predict';

export interface ExportCheckpointOptions {
  opset?: number;
  /** The graph takes normalised float32 NCHW input instead of uint8 NHWC pixels. */
  raw?: boolean;
  /** Fix the batch size in the graph (default: any batch size). */
  batchSize?: number;
  model?: InferenceOptions['model'];
}

export interface ExportedCheckpoint extends ExportResult {
  checkpoint: string;
  input: string;
  classNames: string[];
}

/** pixels (uint8 NHWC) -> the model's normalised float NCHW input (as predict makes it) -> the model. */
class FromPixels extends Module {
  readonly #model: Module;

  constructor(
    model: Module,
    private readonly mean: readonly number[],
    private readonly std: readonly number[],
  ) {
    super();
    this.#model = this.registerModule('model', model);
  }

  forward(pixels: Tensor): Tensor {
    const images = pixelsToInput(pixels, this.mean, this.std);
    const logits = this.#model.forward(images);
    images.dispose();
    return logits;
  }
}

export function exportCheckpoint(location: string, file: string, options: ExportCheckpointOptions = {}): ExportedCheckpoint {
  const loaded = loadTrainedModel(location, { device: 'cpu', amp: 'off', model: options.model });
  const { classNames, height, width, mean, std } = loaded.meta.data;
  const batch = options.batchSize ?? 1;
  const wrapped = options.raw ? loaded.model : new FromPixels(loaded.model, mean, std);
  const example = options.raw ? tensor(new Float32Array(batch * 3 * height * width), [batch, 3, height, width]) : tensor(new Uint8Array(batch * height * width * 3), [batch, height, width, 3], { dtype: 'uint8' });
  const input = options.raw
    ? `float32 [batch, 3, ${height}, ${width}], RGB scaled to [0, 1] then normalised with mean ${JSON.stringify(mean)} and std ${JSON.stringify(std)}`
    : `uint8 [batch, ${height}, ${width}, 3], RGB pixels resized to ${width}x${height} (sharp, fit 'fill')`;
  try {
    const result = exportModel(wrapped, example, file, {
      opset: options.opset ?? DEFAULT_OPSET,
      dynamicBatch: options.batchSize === undefined,
      inputNames: [options.raw ? 'input' : 'pixels'],
      outputNames: ['logits'],
      metadata: { 'torchts.classes': JSON.stringify(classNames), 'torchts.input': input, 'torchts.checkpoint': loaded.file },
    });
    return { ...result, checkpoint: loaded.file, input, classNames };
  } finally {
    example.dispose();
    wrapped.dispose();
  }
}
