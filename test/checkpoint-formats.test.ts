// PyTorch .pt interchange both ways, and clear errors for files that are not
// state dicts or are corrupt.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import * as tt from '../lib';
import { loadPt, savePt } from '../lib/io/pytorch';
import * as nn from '../lib/nn';
import { compareTensors } from './helpers/compare';
import { buildLayer, type LayerSpec } from './helpers/nn-spec';
import { runReference } from './helpers/python';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'torchts-pt-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

const SPEC: LayerSpec[] = [
  { kind: 'conv2d', inChannels: 3, outChannels: 4, kernelSize: 3, padding: 1, bias: false },
  { kind: 'batchnorm2d', numFeatures: 4 },
  { kind: 'relu' },
  { kind: 'adaptiveavgpool2d', outputSize: [1, 1] },
  { kind: 'flatten' },
  { kind: 'linear', inFeatures: 4, outFeatures: 3 },
];
const build = () => new nn.Sequential(...SPEC.map(buildLayer));
const files = {
  oursPath: path.join(dir, 'ours.pt'),
  pythonPath: path.join(dir, 'python.pt'),
  nestedPath: path.join(dir, 'nested.pt'),
  listPath: path.join(dir, 'list.pt'),
  tensorPath: path.join(dir, 'tensor.pt'),
};

t.test('state dicts cross between torch.save/torch.load and torchts', (t) => {
  tt.manualSeed(11);
  const ours = build();
  tt.noGrad(() => ours.buffers()[0]!.copy_(tt.randn([4]))); // non-trivial running mean
  const ourState = ours.stateDict();
  savePt(files.oursPath, ourState);
  const x = tt.randn([2, 3, 6, 6]);
  const expected = runReference('pt_interop.py', { x }, { spec: SPEC, ...files });

  for (const [name, tensor] of ourState) {
    const result = compareTensors(expected.get(`ours.${name}`)!, tensor, { rtol: 0, atol: 0 });
    t.ok(result.ok, `plain torch.load reads our ${name} exactly (${result.message})`);
  }

  const fromPython = loadPt(files.pythonPath);
  t.same([...fromPython.keys()], [...ourState.keys()], 'same names and order as our state dict');
  t.equal(fromPython.get('1.num_batches_tracked')!.item(), 2);
  const model = build();
  model.loadStateDict(fromPython);
  model.eval();
  const output = tt.noGrad(() => model.forward(x));
  const result = compareTensors(output, expected.get('eval_out')!, { rtol: 1e-5, atol: 1e-6 });
  t.ok(result.ok, `Python's torch.save(model.state_dict()) loads and gives PyTorch's eval output (${result.message})`);

  const nested = loadPt(files.nestedPath, { key: 'model' });
  t.equal(nested.size, fromPython.size, 'a nested checkpoint entry is read with { key }');
  t.end();
});

t.test('files that are not state dicts, or are corrupt, are clear errors', (t) => {
  t.throws(() => loadPt(files.nestedPath), /'model' in the file is a dict, not a tensor \(a nested checkpoint\? pass \{ key: 'model' \}\)/);
  t.throws(() => loadPt(files.nestedPath, { key: 'optimizer' }), /no entry 'optimizer' \(entries: model, epoch\)/);
  t.throws(() => loadPt(files.listPath), /the file holds a list, not a state dict/);
  t.throws(() => loadPt(files.tensorPath), /holds a tensor, not a state dict/);
  t.throws(() => loadPt(path.join(dir, 'missing.pt')), /no such file/);
  const notZip = path.join(dir, 'garbage.pt');
  fs.writeFileSync(notZip, 'this is not a checkpoint at all');
  t.throws(() => loadPt(notZip), { code: 'ERR_TORCHTS_PT', message: /garbage\.pt: not a PyTorch zip checkpoint/ });
  const bytes = fs.readFileSync(files.pythonPath);
  const truncated = path.join(dir, 'truncated.pt');
  fs.writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
  t.throws(() => loadPt(truncated), { code: 'ERR_TORCHTS_PT', message: /truncated\.pt/ });
  const live = tt.memory().liveTensors;
  t.throws(() => loadPt(files.nestedPath));
  t.equal(tt.memory().liveTensors, live, 'a failed load frees the tensors it read');
  t.equal(tt.ones([1]).item(), 1, 'still working');
  t.end();
});
