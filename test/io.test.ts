// tt.save / tt.load (and the safetensors pair) at the package root, against
// PyTorch at test time: torchts' files load in torch.load(weights_only=True)
// and give the same logits; PyTorch's files -- torchvision-style weights
// without num_batches_tracked, old _metadata, a pickled whole model -- load
// (or are refused) exactly as PyTorch itself loads or refuses them.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { load, loadSafetensors, save, saveSafetensors, resnet18, type StateDict } from '../lib';
import * as tt from '../lib';
import * as nn from '../lib/nn';
import { loadInitialWeights } from '../lib/train/fine-tune';
import { compareTensors } from './helpers/compare';
import { missingCudaDevice } from './helpers/cuda';
import { runReference } from './helpers/python';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'torchts-io-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const file = (name: string): string => path.join(dir, name);
const TOLERANCE = { rtol: 1e-4, atol: 1e-4 };

tt.manualSeed(21);
const x = tt.randn([2, 3, 64, 64]);

/** A torchts ResNet-18 with trained-looking BatchNorm statistics. */
function trainedLooking(numClasses: number): tt.models.ResNet {
  const model = resnet18({ numClasses });
  tt.noGrad(() => {
    model.train();
    for (let i = 0; i < 2; i++) model.forward(tt.randn([4, 3, 64, 64])).dispose();
  });
  return model.eval();
}

const ours = trainedLooking(7);
save(ours, file('ours.pt'));
const ourLogits = tt.noGrad(() => ours.forward(x));
const reference = runReference('torch_io.py', { x }, { dir, oursPath: file('ours.pt'), oursClasses: 7 });

function evalLogits(state: StateDict, numClasses = 1000): tt.Tensor {
  const model = resnet18({ numClasses });
  model.loadStateDict(state);
  model.eval();
  const logits = tt.noGrad(() => model.forward(x));
  model.dispose();
  return logits;
}

t.test("torchts' save(model) loads in torch.load(weights_only=True) and gives torchts' logits", (t) => {
  const result = compareTensors(reference.get('ours_logits')!, ourLogits, TOLERANCE);
  t.ok(result.ok, `PyTorch's logits from our file (${result.message})`);
  t.end();
});

t.test('a torchvision-style file (no num_batches_tracked, no _metadata) loads as PyTorch loads it', (t) => {
  t.equal(reference.get('strict_ok.torchvision-style')!.item(), 1, 'PyTorch accepts it in a strict load');
  const state = load(file('torchvision-style.pth'));
  t.equal(state.size, 102, '102 tensors: 122 less the 20 num_batches_tracked');
  t.notOk([...state.keys()].some((key) => key.endsWith('num_batches_tracked')), 'none of them num_batches_tracked');
  t.equal(state.versions, undefined, 'no _metadata, no versions');
  const logits = evalLogits(state);
  const result = compareTensors(logits, reference.get('python_logits')!, TOLERANCE);
  t.ok(result.ok, `strict loadStateDict, then PyTorch's eval logits (${result.message})`);

  const model = resnet18({ weights: file('torchvision-style.pth') }).eval();
  const viaOption = tt.noGrad(() => model.forward(x));
  t.ok(compareTensors(viaOption, logits, { rtol: 0, atol: 0 }).ok, 'resnet18({ weights }) gives the same model');
  t.equal(model.bn1.namedBuffers(false).find(([name]) => name === 'num_batches_tracked')![1].item(), 0, 'num_batches_tracked keeps its value (0), as in PyTorch');

  const fineTune = resnet18({ numClasses: 5 });
  const line = loadInitialWeights(fineTune, file('torchvision-style.pth'));
  t.match(line, /^weights: 100 tensors from .*torchvision-style\.pth; new head fc \(fc\.weight \(\[5,512\]; the file has \[1000,512\]\), fc\.bias/, 'fine-tuning takes the backbone and replaces the head');
  [model, fineTune].forEach((m) => m.dispose());
  state.forEach((tensor) => tensor.dispose());
  t.end();
});

t.test('_metadata is honoured: BatchNorm version 1 may lack num_batches_tracked, version 2 may not', (t) => {
  const old = load(file('old-metadata.pth'));
  t.equal(old.versions?.get('bn1'), 1, "the file's BatchNorm version is read");
  t.equal(old.versions?.get('layer1.0.conv1'), 1, 'and every other module version');
  t.equal(reference.get('strict_ok.old-metadata')!.item(), 1, 'PyTorch accepts the version-1 file');
  const result = compareTensors(evalLogits(old), reference.get('python_logits')!, TOLERANCE);
  t.ok(result.ok, `and so does torchts, with PyTorch's logits (${result.message})`);

  const v2 = load(file('v2-missing.pth'));
  t.equal(v2.versions?.get('bn1'), 2);
  t.equal(reference.get('strict_ok.v2-missing')!.item(), 0, 'PyTorch refuses a version-2 file without num_batches_tracked');
  t.throws(() => evalLogits(v2), { name: 'StateDictError', message: /Missing key\(s\) in state_dict: "bn1\.num_batches_tracked", "layer1\.0\.bn1\.num_batches_tracked"/ }, 'torchts refuses it too');
  t.end();
});

t.test('a pickled whole model is refused with what to save instead', (t) => {
  const live = tt.memory().liveTensors;
  t.throws(() => load(file('whole-model.pth')), {
    name: 'PtFormatError',
    code: 'ERR_TORCHTS_PT',
    message: /whole-model\.pth: holds a pickled Python object \(resnet_model\.ResNet\), e\.g\. a whole model saved with torch\.save\(model, path\); torchts reads state dicts: in Python, save torch\.save\(model\.state_dict\(\), path\) instead/,
  });
  t.equal(tt.memory().liveTensors, live, 'nothing leaked');
  t.end();
});

t.test('load options and bad arguments', (t) => {
  const checkpoint = file('nested.pt');
  save(new nn.Linear(3, 2), checkpoint);
  const flat = load(checkpoint);
  t.same([...flat.keys()], ['weight', 'bias'], 'save(module) writes its state dict');
  const { device, reason } = missingCudaDevice();
  t.throws(() => load(checkpoint, { device }), { name: 'DeviceUnavailableError', message: reason }, 'a device that is not there');
  t.throws(() => load(file('missing.pt')), { code: 'ERR_TORCHTS_PT', message: /missing\.pt: no such file/ });
  t.throws(() => load(''), { code: 'ERR_TORCHTS_ARG', message: /load: the file must be a non-empty path string/ });
  t.throws(() => save(42 as never, file('bad.pt')), { code: 'ERR_TORCHTS_ARG', message: /save: expected a state dict \(Map or object of name -> Tensor\) or a Module, got number/ });
  t.notOk(fs.existsSync(file('bad.pt')), 'a refused save writes nothing');
  t.throws(() => save({ w: 'not a tensor' as never }, file('bad.pt')), { code: 'ERR_TORCHTS_ARG', message: /savePt: 'w' must be a Tensor/ });
  t.notOk(fs.existsSync(file('bad.pt')), 'nor does a state dict with a non-tensor');

  const weights = file('weights.safetensors');
  saveSafetensors(flat, weights, { metadata: { source: 'test' } });
  t.throws(() => load(weights), { code: 'ERR_TORCHTS_ARG', message: /weights\.safetensors is a safetensors file; read it with loadSafetensors\(file\)/ });
  const back = loadSafetensors(weights);
  t.same(back.metadata, { source: 'test' }, 'safetensors metadata round trips');
  t.ok(compareTensors(back.get('weight')!, flat.get('weight')!, { rtol: 0, atol: 0 }).ok, 'and the tensors, exactly');
  t.same([...loadSafetensors(weights, { names: ['bias'] }).keys()], ['bias'], 'names reads a subset');
  t.end();
});
