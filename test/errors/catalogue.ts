// Bad inputs and the JS errors they must produce, across the tensor API,
// modules and optimizers, checkpoint formats, data sources, the trainer and
// the CLI. Run in a child process by test/errors.test.ts, so a crash (abort,
// segfault) fails the test instead of killing the runner. Each case names
// the problem its message must mention.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import * as tar from 'tar';
import * as tt from '../../lib';
import { main as cli } from '../../lib/cli';
import { loadDataset } from '../../lib/data';
import { readSafetensorsFile, writeSafetensorsFile } from '../../lib/io/safetensors';
import { loadPt } from '../../lib/io/pytorch';
import * as nn from '../../lib/nn';
import { loadCheckpoint } from '../../lib/train/checkpoint';
import { train, type TrainOptions } from '../../lib/train/trainer';
import { missingCudaDevice } from '../helpers/cuda';
import { colourSet } from '../helpers/synthetic';

export interface ErrorCase {
  area: 'tensor' | 'module' | 'optimizer' | 'checkpoint' | 'data' | 'trainer' | 'cli';
  name: string;
  run: () => unknown;
  /** What the error message must say: the argument, file or value at fault. */
  message: RegExp;
  /** The error's `code` property, which programs branch on. */
  code: string;
  /** The error's class (constructor name), which `instanceof` checks see. */
  errorClass: string;
}

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'torchts-errors-'));
process.on('exit', () => fs.rmSync(scratch, { recursive: true, force: true }));
let counter = 0;
const fresh = (name: string): string => path.join(scratch, `${counter++}-${name}`);

/** A model whose forward uses an op ONNX export has no mapping for. */
class CumsumModel extends nn.Module {
  forward(x: tt.Tensor): tt.Tensor {
    return tt.cumsum(x, 1);
  }
}

/** A non-zero CLI exit, as an error: code EXIT_<status>, message its stderr. */
class CliExitError extends Error {
  readonly code: string;
  constructor(status: number, stderr: string) {
    super(`exit ${status}: ${stderr}`);
    this.code = `EXIT_${status}`;
  }
}

/** Runs the CLI in-process; a non-zero exit becomes a CliExitError carrying its stderr. */
async function runCli(...args: string[]): Promise<void> {
  const write = process.stderr.write.bind(process.stderr);
  let captured = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    captured += chunk.toString();
    return true;
  }) as typeof process.stderr.write;
  let code: number;
  try {
    code = await cli(args);
  } finally {
    process.stderr.write = write;
  }
  if (code !== 0) throw new CliExitError(code, captured.trim());
}

const absentCuda = missingCudaDevice();

const tinyData = { train: colourSet(32), test: colourSet(8), classNames: ['red', 'green', 'blue'] };
const trainQuietly = (options: Partial<TrainOptions>) =>
  train({ dataset: tinyData, runDir: fresh('run'), progress: false, plots: false, handleSigint: false, device: 'cpu', valFraction: 0, ...options });

function writeSafetensorsHeader(file: string, header: string, length: bigint, data = Buffer.alloc(0)): string {
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(length);
  fs.writeFileSync(file, Buffer.concat([prefix, Buffer.from(header), data]));
  return file;
}

async function folderWith(files: Record<string, Buffer | 'dir'>): Promise<string> {
  const root = fresh('folder');
  for (const [relative, content] of Object.entries(files)) {
    const target = path.join(root, relative);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    if (content === 'dir') fs.mkdirSync(target, { recursive: true });
    else fs.writeFileSync(target, content);
  }
  return root;
}

const png = (): Promise<Buffer> => sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 10, g: 20, b: 30 } } }).png().toBuffer();

export const CASES: ErrorCase[] = [
  // ---- tensors ---------------------------------------------------------------
  { area: 'tensor', name: 'mismatched shapes in add', code: 'ERR_TORCH', errorClass: 'Error', run: () => tt.ones([2, 3]).add(tt.ones([4])), message: /size of tensor a \(3\) must match the size of tensor b \(4\)/ },
  { area: 'tensor', name: 'matmul with incompatible shapes', code: 'ERR_TORCH', errorClass: 'Error', run: () => tt.ones([2, 3]).matmul(tt.ones([2, 3])), message: /shapes cannot be multiplied \(2x3 and 2x3\)/ },
  { area: 'tensor', name: 'view with the wrong element count', code: 'ERR_TORCH', errorClass: 'Error', run: () => tt.ones([2, 3]).view([5]), message: /shape '\[5\]' is invalid for input of size 6/ },
  { area: 'tensor', name: 'dim out of range', code: 'ERR_TORCH_INDEX', errorClass: 'RangeError', run: () => tt.ones([2, 3]).sum(7), message: /Dimension out of range/ },
  { area: 'tensor', name: 'index out of range', code: 'ERR_TORCH_INDEX', errorClass: 'RangeError', run: () => tt.ones([2, 3]).select(0, 5), message: /index 5 out of range/ },
  { area: 'tensor', name: 'wrong dtype for an index', code: 'ERR_TORCH', errorClass: 'Error', run: () => tt.ones([4]).indexSelect(0, tt.ones([2])), message: /index_select\(\): Expected dtype int32 or int64 for index/ },
  { area: 'tensor', name: 'unknown dtype name', code: 'ERR_TORCHTS_ARG', errorClass: 'ArgumentTypeError', run: () => tt.zeros([2], { dtype: 'complex32' as tt.DType }), message: /unknown dtype 'complex32'/ },
  { area: 'tensor', name: 'negative size', code: 'ERR_TORCHTS_ARG', errorClass: 'ArgumentTypeError', run: () => tt.zeros([2, -1]), message: /non-negative integers/ },
  { area: 'tensor', name: 'non-integer size', code: 'ERR_TORCHTS_ARG', errorClass: 'ArgumentTypeError', run: () => tt.zeros([2.5]), message: /non-negative integers/ },
  { area: 'tensor', name: 'data length does not match the shape', code: 'ERR_TORCHTS_ARG', errorClass: 'TypeError', run: () => tt.tensor(new Float32Array(3), [2, 2]), message: /holds 12 bytes but shape \[2, 2\]/ },
  { area: 'tensor', name: 'ragged nested arrays', code: 'ERR_TORCHTS_ARG', errorClass: 'ArgumentTypeError', run: () => tt.tensor([[1], [2, 3]]), message: /ragged/ },
  { area: 'tensor', name: 'a string where a tensor is expected', code: 'ERR_TORCHTS_ARG', errorClass: 'ArgumentTypeError', run: () => tt.ones([2]).add('1' as unknown as number), message: /add\(other\) must be a Tensor or a number, got string/ },
  { area: 'tensor', name: 'null where a tensor is expected', code: 'ERR_TORCHTS_ARG', errorClass: 'ArgumentTypeError', run: () => tt.cat([tt.ones([1]), null as unknown as tt.Tensor]), message: /cat\(tensors\)\[1\] must be a Tensor, got null/ },
  { area: 'tensor', name: 'a disposed tensor', code: 'ERR_TORCHTS_DISPOSED', errorClass: 'TensorDisposedError', run: () => { const a = tt.ones([1]); a.dispose(); return a.add(1); }, message: /Tensor was disposed/ },
  { area: 'tensor', name: 'non-integer where an int is expected', code: 'ERR_TORCHTS_ARG', errorClass: 'TypeError', run: () => tt.ones([2, 3]).sum(0.5), message: /argument 'dim' must be an integer, got 0.5/ },
  { area: 'tensor', name: 'a CUDA device that is not there', code: 'ERR_TORCHTS_NO_CUDA', errorClass: 'DeviceUnavailableError', run: () => tt.ones([1], { device: absentCuda.device }), message: absentCuda.reason },
  { area: 'tensor', name: 'an invalid device string', code: 'ERR_TORCHTS_ARG', errorClass: 'ArgumentTypeError', run: () => tt.ones([1]).to('tpu' as tt.Device), message: /must be 'cpu', 'cuda' or 'cuda:N', got "tpu"/ },
  { area: 'tensor', name: 'item() of a multi-element tensor', code: 'ERR_TORCH', errorClass: 'Error', run: () => tt.ones([3]).item(), message: /a Tensor with 3 elements cannot be converted to Scalar/ },
  { area: 'tensor', name: 'backward of a non-scalar without a gradient', code: 'ERR_TORCH', errorClass: 'Error', run: () => tt.ones([2], { requiresGrad: true }).mul(2).backward(), message: /grad can be implicitly created only for scalar outputs/ },
  { area: 'tensor', name: 'backward through a tensor that does not require grad', code: 'ERR_TORCH', errorClass: 'Error', run: () => tt.ones([2]).sum().backward(), message: /does not require grad/ },
  { area: 'tensor', name: 'cross-entropy target out of range', code: 'ERR_TORCH_INDEX', errorClass: 'RangeError', run: () => tt.F.crossEntropy(tt.ones([2, 3]), tt.tensor([0, 5], { dtype: 'int64' })), message: /Target 5 is out of bounds/ },
  { area: 'tensor', name: 'conv2d channel mismatch', code: 'ERR_TORCH', errorClass: 'Error', run: () => tt.F.conv2d(tt.ones([1, 3, 4, 4]), tt.ones([2, 4, 3, 3])), message: /expected input\[1, 3, 4, 4\] to have 4 channels, but got 3 channels/ },
  { area: 'tensor', name: 'an unknown ATen operator', code: 'ERR_TORCHTS_UNKNOWN_OP', errorClass: 'Error', run: () => tt.callByName('aten::definitely_not_an_op'), message: /unknown operator aten::definitely_not_an_op/ },
  { area: 'tensor', name: 'too many arguments to an operator', code: 'ERR_TORCHTS_ARG', errorClass: 'TypeError', run: () => tt.callByName('aten::neg', tt.ones([1]), 1, 2), message: /aten::neg takes 1 arguments but 3 were given/ },
  { area: 'tensor', name: 'NaN probability for dropout', code: 'ERR_TORCHTS_ARG', errorClass: 'ArgumentRangeError', run: () => tt.F.dropout(tt.ones([2]), NaN), message: /p must be in \[0, 1\], got NaN/ },
  { area: 'tensor', name: 'strings in tensor()', code: 'ERR_TORCHTS_ARG', errorClass: 'ArgumentTypeError', run: () => tt.tensor(['a', 'b'] as never), message: /tensor\(\): element \[0\] is a string \("a"\); elements must be numbers, booleans or bigints/ },
  { area: 'tensor', name: 'an object and null in tensor()', code: 'ERR_TORCHTS_ARG', errorClass: 'ArgumentTypeError', run: () => tt.tensor([1, {}] as never), message: /tensor\(\): element \[1\] is an object \(Object\); elements must be numbers/ },
  { area: 'tensor', name: 'null deep inside nested data', code: 'ERR_TORCHTS_ARG', errorClass: 'ArgumentTypeError', run: () => tt.tensor([[1, 2], [3, null]] as never), message: /tensor\(\): element \[1\]\[1\] is null/ },
  // eslint-disable-next-line no-sparse-arrays
  { area: 'tensor', name: 'a hole in an array', code: 'ERR_TORCHTS_ARG', errorClass: 'ArgumentTypeError', run: () => tt.tensor([1, , 3] as never), message: /tensor\(\): element \[1\] is undefined \(a hole or a missing element\)/ },
  { area: 'tensor', name: 'a value outside int8', code: 'ERR_TORCHTS_ARG', errorClass: 'ArgumentRangeError', run: () => tt.tensor([1, 300], { dtype: 'int8' }), message: /tensor\(\): element \[1\] is 300, outside int8's range \[-128, 127\]/ },
  { area: 'tensor', name: 'a number beyond 2^53 into int64', code: 'ERR_TORCHTS_ARG', errorClass: 'ArgumentRangeError', run: () => tt.tensor([2 ** 60], { dtype: 'int64' }), message: /tensor\(\): element \[0\] is 1152921504606847000, beyond 2\^53: a number cannot hold it exactly; pass a bigint \(e\.g\. 1152921504606846976n\)/ },
  { area: 'tensor', name: 'NaN into int32', code: 'ERR_TORCHTS_ARG', errorClass: 'ArgumentRangeError', run: () => tt.tensor([[0, NaN]], { dtype: 'int32' }), message: /tensor\(\): element \[0\]\[1\] is NaN, which int32 cannot hold \(not an integer\)/ },
  { area: 'tensor', name: 'bigints mixed with numbers', code: 'ERR_TORCHTS_ARG', errorClass: 'ArgumentTypeError', run: () => tt.tensor([1n, 2] as never), message: /the data mixes bigints with numbers or booleans: pass \{ dtype \}/ },
  { area: 'tensor', name: 'an infinite arange end', code: 'ERR_TORCHTS_ARG', errorClass: 'ArgumentRangeError', run: () => tt.arange(0, Infinity), message: /arange\(\): end must be finite, got Infinity/ },
  { area: 'tensor', name: 'a NaN int64 fill', code: 'ERR_TORCHTS_ARG', errorClass: 'ArgumentRangeError', run: () => tt.full([2], NaN, { dtype: 'int64' }), message: /full\(\): value NaN cannot be held exactly by int64 \(not an integer\)/ },
  { area: 'tensor', name: 'a string as raw bytes', code: 'ERR_TORCHTS_ARG', errorClass: 'ArgumentTypeError', run: () => tt.fromBytesAs('abc' as never, undefined, 'float32'), message: /fromBytesAs\(data\) must be an ArrayBuffer, Buffer or TypedArray, got string/ },
  { area: 'tensor', name: 'an operator without its overload name', code: 'ERR_TORCHTS_UNKNOWN_OP', errorClass: 'Error', run: () => tt.callByName('aten::add', 5, 'x'), message: /aten::add has no overload without a name; its overloads are: .*Tensor.* \(call e\.g\. 'aten::add\./ },
  { area: 'tensor', name: 'an async function in scope()', code: 'ERR_TORCHTS_ARG', errorClass: 'ArgumentTypeError', run: () => tt.scope((async () => 1) as unknown as () => number), message: /scope\(\) needs a synchronous function/ },

  // ---- modules and optimizers --------------------------------------------------
  { area: 'module', name: 'a tensor from a disposed module', code: 'ERR_TORCHTS_DISPOSED', errorClass: 'TensorDisposedError', run: () => { const m = new nn.Linear(2, 2); const w = m.weight; m.dispose(); return w.add(1); }, message: /Tensor was disposed/ },
  { area: 'module', name: 'forward of a disposed module', code: 'ERR_TORCHTS_DISPOSED', errorClass: 'ModuleDisposedError', run: () => { const m = new nn.Conv2d(3, 4, 3); m.dispose(); return m.forward(tt.ones([1, 3, 8, 8])); }, message: /this Conv2d was disposed/ },
  { area: 'module', name: 'a Linear input of the wrong width', code: 'ERR_TORCH', errorClass: 'Error', run: () => new nn.Linear(4, 2).forward(tt.ones([3, 5])), message: /mat1 and mat2 shapes cannot be multiplied \(3x5 and 4x2\)/ },
  { area: 'module', name: 'BatchNorm2d on a 3-D input', code: 'ERR_TORCH', errorClass: 'Error', run: () => new nn.BatchNorm2d(3).forward(tt.ones([3, 4, 4])), message: /expected 4D input \(got 3D input\)/ },
  { area: 'module', name: 'an invalid layer size', code: 'ERR_TORCHTS_ARG', errorClass: 'RangeError', run: () => new nn.Conv2d(3, 0, 3), message: /outChannels' must be >= 1, got 0/ },
  { area: 'module', name: 'missing and unexpected state-dict keys', code: 'ERR_TORCHTS_STATE_DICT', errorClass: 'StateDictError', run: () => new nn.Linear(2, 2).loadStateDict({ weight: tt.ones([2, 2]), extra: tt.ones([1]) }), message: /Missing key\(s\) in state_dict: "bias".*Unexpected key\(s\) in state_dict: "extra"/s },
  { area: 'module', name: 'a state dict with the wrong shapes', code: 'ERR_TORCHTS_STATE_DICT', errorClass: 'StateDictError', run: () => new nn.Linear(2, 2).loadStateDict({ weight: tt.ones([3, 2]), bias: tt.ones([2]) }), message: /size mismatch for weight: copying a param with shape torch.Size\(\[3, 2\]\)/ },
  { area: 'module', name: 'a checkpoint for a different number of classes', code: 'ERR_TORCHTS_STATE_DICT', errorClass: 'StateDictError', run: () => tt.resnet18({ numClasses: 100 }).loadStateDict(tt.resnet18({ numClasses: 10 }).stateDict()), message: /size mismatch for fc.weight: copying a param with shape torch.Size\(\[10, 512\]\) from checkpoint, the shape in current model is torch.Size\(\[100, 512\]\)/ },
  { area: 'optimizer', name: 'an optimizer over a non-leaf tensor', code: 'ERR_TORCHTS_ARG', errorClass: 'TypeError', run: () => new tt.SGD([tt.ones([2], { requiresGrad: true }).mul(2)], { lr: 0.1 }), message: /is not a leaf tensor/ },
  { area: 'optimizer', name: 'a NaN learning rate', code: 'ERR_TORCHTS_ARG', errorClass: 'ArgumentRangeError', run: () => new tt.SGD([tt.ones([2], { requiresGrad: true })], { lr: NaN }), message: /lr must be a finite number, got NaN/ },
  { area: 'optimizer', name: 'an unknown optimizer option', code: 'ERR_TORCHTS_ARG', errorClass: 'TypeError', run: () => new tt.Adam([tt.ones([2], { requiresGrad: true })], { lrr: 1 } as never), message: /Adam: unknown option 'lrr'/ },
  { area: 'optimizer', name: 'state from another kind of optimizer', code: 'ERR_TORCHTS_ARG', errorClass: 'ArgumentTypeError', run: () => { const p = [tt.ones([2], { requiresGrad: true })]; return new tt.Adam(p).loadStateDict(new tt.SGD(p, { lr: 1 }).stateDict()); }, message: /optimizer state is for sgd, this optimizer is adam/ },

  // ---- checkpoint formats --------------------------------------------------------
  { area: 'checkpoint', name: 'a safetensors header that runs past the file', code: 'ERR_TORCHTS_SAFETENSORS', errorClass: 'SafetensorsError', run: () => readSafetensorsFile(writeSafetensorsHeader(fresh('t.safetensors'), '{}', 4096n)), message: /header length 4096 runs past the end of the \d+-byte file/ },
  { area: 'checkpoint', name: 'an oversized safetensors header length', code: 'ERR_TORCHTS_SAFETENSORS', errorClass: 'SafetensorsError', run: () => readSafetensorsFile(writeSafetensorsHeader(fresh('o.safetensors'), '{}', 1n << 50n)), message: /exceeds the 104857600-byte limit/ },
  {
    area: 'checkpoint',
    name: 'a safetensors dtype torchts does not know', code: 'ERR_TORCHTS_SAFETENSORS', errorClass: 'SafetensorsError',
    run: () => {
      const header = '{"x":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}';
      return readSafetensorsFile(writeSafetensorsHeader(fresh('d.safetensors'), header, BigInt(header.length), Buffer.alloc(8)));
    },
    message: /unsupported dtype "C64"/,
  },
  // torch.save(torch.ones(3)), written by PyTorch in test/errors.test.ts.
  { area: 'checkpoint', name: 'a .pt file that is not a state dict', code: 'ERR_TORCHTS_PT', errorClass: 'PtFormatError', run: () => loadPt(process.env.TORCHTS_PT_TENSOR_FILE ?? 'missing.pt'), message: /holds a tensor, not a state dict/ },
  { area: 'checkpoint', name: 'tt.load of a safetensors file', code: 'ERR_TORCHTS_ARG', errorClass: 'ArgumentTypeError', run: () => { const f = fresh('w.safetensors'); tt.saveSafetensors({ w: tt.ones([1]) }, f); return tt.load(f); }, message: /w\.safetensors is a safetensors file; read it with loadSafetensors\(file\)/ },
  { area: 'checkpoint', name: 'tt.save of something that is not a state dict', code: 'ERR_TORCHTS_ARG', errorClass: 'ArgumentTypeError', run: () => tt.save([tt.ones([1])] as never, fresh('a.pt')), message: /save: expected a state dict \(Map or object of name -> Tensor\) or a Module, got object/ },
  { area: 'module', name: 'ONNX export of an op with no mapping', code: 'ERR_TORCHTS_ONNX', errorClass: 'OnnxExportError', run: () => tt.onnx.export(new CumsumModel(), tt.ones([2, 3]), fresh('m.onnx')), message: /cannot export aten::cumsum: torchts has no ONNX mapping for it/ },
  { area: 'module', name: 'ONNX export into a missing folder', code: 'ERR_TORCHTS_ONNX', errorClass: 'OnnxExportError', run: () => tt.onnx.export(new nn.Linear(3, 2), tt.ones([2, 3]), path.join(scratch, 'no-such-dir', 'm.onnx')), message: /cannot write .*m\.onnx: the folder .*no-such-dir does not exist/ },
  { area: 'module', name: 'ONNX export of a disposed module', code: 'ERR_TORCHTS_ONNX', errorClass: 'OnnxExportError', run: () => { const m = new nn.Linear(3, 2); m.dispose(); return tt.onnx.export(m, tt.ones([2, 3]), fresh('m.onnx')); }, message: /cannot export Linear: it was disposed/ },
  { area: 'checkpoint', name: 'a .pt file that is not a zip at all', code: 'ERR_TORCHTS_PT', errorClass: 'PtFormatError', run: () => { const f = fresh('g.pt'); fs.writeFileSync(f, 'junk'); return loadPt(f); }, message: /not a PyTorch zip checkpoint/ },
  { area: 'checkpoint', name: 'a safetensors file without torchts metadata as a checkpoint', code: 'ERR_TORCHTS_CHECKPOINT', errorClass: 'CheckpointError', run: () => { const f = fresh('w.safetensors'); writeSafetensorsFile(f, { 'model.w': tt.ones([1]) }); return loadCheckpoint(f); }, message: /not a torchts checkpoint \(no 'torchts' metadata\)/ },
  {
    area: 'checkpoint',
    name: 'a full disk while saving (simulated ENOSPC); the old file survives', code: 'ERR_TORCHTS_WRITE', errorClass: 'FileWriteError',
    run: () => {
      const f = fresh('full.safetensors');
      writeSafetensorsFile(f, { a: tt.ones([4]) });
      const before = fs.readFileSync(f);
      // The module object itself (lib/ code reads fs.writeSync through it at call time).
      const realFs = require('node:fs') as { writeSync: typeof fs.writeSync };
      const writeSync = realFs.writeSync;
      realFs.writeSync = () => {
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      };
      try {
        writeSafetensorsFile(f, { a: tt.zeros([4]) });
      } finally {
        realFs.writeSync = writeSync;
        if (!fs.readFileSync(f).equals(before)) throw new Error('the previous file was damaged');
        if (fs.readdirSync(path.dirname(f)).some((n) => n.includes('.tmp-'))) throw new Error('a temp file was left behind');
      }
    },
    message: /could not write .*full\.safetensors: the disk is full \(the previous file, if any, is unchanged\)/,
  },

  // ---- data sources ----------------------------------------------------------------
  { area: 'data', name: 'a missing data folder', code: 'ERR_TORCHTS_DATA', errorClass: 'DataError', run: () => loadDataset({ data: path.join(scratch, 'no-such-folder'), cacheDir: fresh('cache'), showProgress: false }), message: /no-such-folder: cannot open data source/ },
  { area: 'data', name: 'an empty class folder', code: 'ERR_TORCHTS_DATA', errorClass: 'DataError', run: async () => loadDataset({ data: await folderWith({ 'train/cat/a.png': await png(), 'train/dog': 'dir', 'test/cat/b.png': await png(), 'test/dog/c.png': await png() }), cacheDir: fresh('cache'), showProgress: false }), message: /train\/dog: empty class folder/ },
  { area: 'data', name: 'a folder with no images at all', code: 'ERR_TORCHTS_DATA', errorClass: 'DataError', run: async () => loadDataset({ data: await folderWith({ 'train/cat/readme.txt': Buffer.from('x'), 'test/cat/notes.txt': Buffer.from('y') }), cacheDir: fresh('cache'), showProgress: false }), message: /empty class folder: no \.jpg/ },
  { area: 'data', name: 'a non-image file named .jpg', code: 'ERR_TORCHTS_DATA', errorClass: 'DataError', run: async () => loadDataset({ data: await folderWith({ 'train/cat/a.png': await png(), 'train/cat/fake.jpg': Buffer.from('this is text, not a JPEG'), 'test/cat/b.png': await png() }), cacheDir: fresh('cache'), showProgress: false }), message: /fake\.jpg: cannot decode image/ },
  {
    area: 'data',
    name: 'an unreadable image (a dangling link)', code: 'ERR_TORCHTS_DATA', errorClass: 'DataError',
    run: async () => {
      const root = await folderWith({ 'train/cat/a.png': await png(), 'test/cat/b.png': await png() });
      fs.symlinkSync(path.join(root, 'gone.png'), path.join(root, 'train', 'cat', 'odd.png'));
      return loadDataset({ data: root, cacheDir: fresh('cache'), showProgress: false });
    },
    message: /odd\.png: cannot read/,
  },
  {
    area: 'data',
    name: 'a truncated CIFAR .bin file', code: 'ERR_TORCHTS_DATA', errorClass: 'DataError',
    run: () => {
      const dir = path.join(fresh('bin'), 'cifar-10-batches-bin');
      fs.mkdirSync(dir, { recursive: true });
      for (const name of ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin']) fs.writeFileSync(path.join(dir, name), Buffer.alloc(3073));
      fs.writeFileSync(path.join(dir, 'data_batch_3.bin'), Buffer.alloc(3073 + 100));
      return loadDataset({ data: dir, cacheDir: fresh('cache'), showProgress: false });
    },
    message: /data_batch_3\.bin: truncated or not a CIFAR-10 batch/,
  },
  {
    area: 'data',
    name: 'a tarball with a path escaping its root', code: 'ERR_TORCHTS_DATA', errorClass: 'DataError',
    run: async () => {
      const staging = fresh('tar');
      fs.mkdirSync(path.join(staging, 'x', 'train', 'cat'), { recursive: true });
      fs.writeFileSync(path.join(staging, 'x', 'train', 'cat', 'a.png'), await png());
      const archive = path.join(scratch, `${counter++}-escape.tar.gz`);
      await tar.create({ gzip: true, file: archive, cwd: staging, portable: true, preservePaths: true, onWriteEntry: (entry: { path: string }) => (entry.path = entry.path.replace('x/train', '../../escaped')) } as never, ['x']);
      return loadDataset({ data: archive, cacheDir: fresh('cache'), showProgress: false });
    },
    message: /entry '\.\.\/\.\.\/escaped\/' points outside the archive's root folder/,
  },
  {
    area: 'data',
    name: 'a download with the wrong MD5 (local server)', code: 'ERR_TORCHTS_DATA', errorClass: 'DataError',
    run: async () => {
      const server = http.createServer((_, res) => res.end(Buffer.from('not the CIFAR archive')));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as { port: number };
      try {
        return await loadDataset({ cacheDir: fresh('cache'), showProgress: false, download: { url: `http://127.0.0.1:${port}/cifar.tar.gz` } });
      } finally {
        server.close();
      }
    },
    message: /downloaded 21 bytes with MD5 [0-9a-f]{32}, but the expected MD5 is c32a1d4ab5d03f1284b67883e8d87530.*nothing was saved/s,
  },

  // ---- trainer -------------------------------------------------------------------------
  { area: 'trainer', name: 'zero epochs', code: 'ERR_TORCHTS_CONFIG', errorClass: 'ConfigError', run: () => trainQuietly({ epochs: 0 }), message: /epochs must be a positive integer, got 0/ },
  { area: 'trainer', name: 'a batch size of zero', code: 'ERR_TORCHTS_CONFIG', errorClass: 'ConfigError', run: () => trainQuietly({ batchSize: 0 }), message: /batchSize must be a positive integer, got 0/ },
  { area: 'trainer', name: 'an unknown training option', code: 'ERR_TORCHTS_CONFIG', errorClass: 'ConfigError', run: () => trainQuietly({ learningRate: 0.1 } as never), message: /unknown training option 'learningRate'/ },
  { area: 'trainer', name: 'a NaN hyperparameter', code: 'ERR_TORCHTS_CONFIG', errorClass: 'ConfigError', run: () => trainQuietly({ labelSmoothing: NaN }), message: /labelSmoothing must be a number in \[0, 1\], got NaN/ },
  { area: 'trainer', name: 'training on a CUDA device that is not there', code: 'ERR_TORCHTS_CONFIG', errorClass: 'ConfigError', run: () => trainQuietly({ device: absentCuda.device }), message: new RegExp(`${absentCuda.reason.source}.*; use another --device, or auto`) },
  { area: 'trainer', name: 'different fills for rotation and shift', code: 'ERR_TORCHTS_CONFIG', errorClass: 'ConfigError', run: () => trainQuietly({ augment: { rotate: { degrees: 10, fill: 'zeros' }, translate: { fraction: 0.1, fill: 'reflection' } } }), message: /augment\.rotate\.fill \("zeros"\) and augment\.translate\.fill \("reflection"\) differ: rotation and shift are applied as one transform/ },
  { area: 'trainer', name: 'resuming a run that does not exist', code: 'ERR_TORCHTS_CONFIG', errorClass: 'ConfigError', run: () => train({ resume: path.join(scratch, 'no-run'), progress: false }), message: /cannot resume: .*no-run.* does not exist/ },
  { area: 'trainer', name: 'early stopping without a validation split', code: 'ERR_TORCHTS_CONFIG', errorClass: 'ConfigError', run: () => trainQuietly({ earlyStopping: { monitor: 'valLoss', patience: 2, minDelta: 0, restoreBest: true } }), message: /earlyStopping on valLoss needs a validation split \(valFraction > 0\)/ },

  // ---- CLI -------------------------------------------------------------------------------
  { area: 'cli', name: 'an unknown command', code: 'EXIT_1', errorClass: 'CliExitError', run: () => runCli('fly'), message: /exit 1: torchts fly: unknown command 'fly'/ },
  { area: 'cli', name: 'an unknown flag', code: 'EXIT_1', errorClass: 'CliExitError', run: () => runCli('train', '--warp-speed'), message: /Unknown option '--warp-speed'/ },
  { area: 'cli', name: '--epochs 0', code: 'EXIT_1', errorClass: 'CliExitError', run: () => runCli('train', '--epochs', '0', '--data', scratch), message: /epochs must be a positive integer, got 0/ },
  { area: 'cli', name: '--batch-size 0', code: 'EXIT_1', errorClass: 'CliExitError', run: () => runCli('train', '--batch-size', '0', '--data', scratch), message: /batchSize must be a positive integer, got 0/ },
  { area: 'cli', name: 'a non-numeric learning rate', code: 'EXIT_1', errorClass: 'CliExitError', run: () => runCli('train', '--lr', 'fast'), message: /--lr must be a number, got 'fast'/ },
  { area: 'cli', name: 'predict with a missing checkpoint', code: 'EXIT_1', errorClass: 'CliExitError', run: () => runCli('predict', path.join(scratch, 'no-run'), 'x.jpg'), message: /checkpoint .*no-run does not exist/ },
];

