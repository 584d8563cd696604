// Run by .ci/run in an empty project that installed the packed torchts
// tarball: the public entry point loads, builds a ResNet-18 and takes one
// SGD step whose loss must move.
import * as tt from 'torchts';

tt.manualSeed(0);
const model = tt.resnet18({ numClasses: 10, stem: 'cifar' });
const optimizer = new tt.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
const x = tt.randn([8, 3, 32, 32]);
const y = tt.randint(0, 10, [8]);
model.train();

const lossOf = () => tt.scope(() => tt.F.crossEntropy(model.forward(x), y).item());
const before = lossOf();
tt.scope(() => {
  optimizer.zeroGrad();
  tt.F.crossEntropy(model.forward(x), y).backward();
  optimizer.step();
});
const after = lossOf();

const info = tt.buildInfo();
console.log(`torchts from ${import.meta.resolve('torchts')}`);
console.log(`libtorch ${info.torch} (${info.cudaCompiled ? "CUDA" : "CPU"} build); ResNet-18 with ${model.parameterCount().toLocaleString('en-US')} parameters`);
console.log(`one SGD step on a batch of 8: loss ${before.toFixed(4)} -> ${after.toFixed(4)}`);
if (!(Number.isFinite(after) && after !== before)) {
  console.error('the training step did not change the loss');
  process.exit(1);
}
