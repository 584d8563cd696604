// The `torchts` command line: train, eval, predict, summary, export, run.
// Exit codes: 0 success, 1 error (one clear line on stderr), 130 interrupted.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { summary as modelSummary } from './models/summary';
import { resnet18, resnet34 } from './models/resnet';
import { kerasResNet18, kerasSummary } from './models/keras-resnet';
import type { TrainConfig } from './train/config';
import { formatEvaluation } from './train/evaluate';
import { evaluateCheckpoint, loadTrainedModel, predict } from './train/predict';
import { train, type TrainOptions } from './train/trainer';
import { launch, type LaunchOptions } from './distributed/launcher';

type Options = NonNullable<ParseArgsConfig['options']>;

class UsageError extends Error {}

const COMMON: Options = {
  help: { type: 'boolean', short: 'h' },
  device: { type: 'string' },
};

/** torchrun's flags: `torchts run` and `torchts train --nproc-per-node N`. */
const LAUNCH_OPTIONS: Options = {
  'nproc-per-node': { type: 'string' },
  nnodes: { type: 'string' },
  'node-rank': { type: 'string' },
  'master-addr': { type: 'string' },
  'master-port': { type: 'string' },
};

/** eval and predict: a trained model on a device, in a precision. */
const INFERENCE: Options = { ...COMMON, amp: { type: 'string' } };

function inferenceAmp(values: Record<string, unknown>): 'bf16' | 'off' | undefined {
  const amp = values.amp;
  if (amp === undefined || amp === 'bf16' || amp === 'off') return amp;
  throw new UsageError(`--amp must be bf16 or off, got '${String(amp)}'`);
}

const TRAIN_OPTIONS: Options = {
  ...COMMON,
  data: { type: 'string' },
  preset: { type: 'string' },
  model: { type: 'string' },
  stem: { type: 'string' },
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  lr: { type: 'string' },
  optimizer: { type: 'string' },
  schedule: { type: 'string' },
  momentum: { type: 'string' },
  'weight-decay': { type: 'string' },
  'label-smoothing': { type: 'string' },
  'grad-clip': { type: 'string' },
  'val-fraction': { type: 'string' },
  'test-fraction': { type: 'string' },
  'top-k': { type: 'string' },
  weights: { type: 'string' },
  freeze: { type: 'string' },
  'backbone-lr-scale': { type: 'string' },
  'early-stopping': { type: 'string' },
  ema: { type: 'string' },
  seed: { type: 'string' },
  threads: { type: 'string' },
  amp: { type: 'string' },
  'channels-last': { type: 'boolean' },
  'no-channels-last': { type: 'boolean' },
  nesterov: { type: 'boolean' },
  'no-nesterov': { type: 'boolean' },
  stream: { type: 'boolean' },
  'no-stream': { type: 'boolean' },
  'memory-budget': { type: 'string' },
  'train-transform': { type: 'string' },
  'eval-transform': { type: 'string' },
  'on-corrupt': { type: 'string' },
  tta: { type: 'boolean' },
  'no-tta': { type: 'boolean' },
  'no-plots': { type: 'boolean' },
  'run-dir': { type: 'string' },
  resume: { type: 'string' },
  'cache-dir': { type: 'string' },
  'target-size': { type: 'string' },
  'log-every': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  ...LAUNCH_OPTIONS,
};

const HELP: Record<string, string> = {
  main: `torchts: deep learning from TypeScript on libtorch

Usage: torchts <command> [options]

Commands:
  train     train a ResNet on CIFAR-10 or an image folder (the main job)
  eval      evaluate a checkpoint: accuracy, per-class accuracy, confusion matrix
  predict   classify image files with a checkpoint (top-k classes)
  summary   print a model summary (layers, output shapes, parameters)
  export    write a trained model as an ONNX file (runs in ONNX Runtime alone)
  run       start a script on N processes for distributed training (torchrun's flags)

Run 'torchts <command> --help' for a command's options.`,
  train: `Usage: torchts train [options]

With no options, trains ResNet-18 on CIFAR-10 (downloaded to the cache on
first use) with the recipe for this machine: 'gpu' on CUDA, 'cpu' otherwise.

Data:
  --data <path>            image folder (train/<class>/*.jpg, optional test/), a .tar.gz of
                           one, cifar-10-batches-bin/ or cifar-10-binary.tar.gz
  --cache-dir <dir>        downloads and decoded images (default $TORCHTS_HOME or ~/.cache/torchts)
  --target-size <HxW>      resize images when decoding, e.g. 32x32
  --val-fraction <f>       class-stratified validation split from train (0 = none)
  --test-fraction <f>      hold a test split out of train, for data without test/
  --top-k <k,...>          also report top-k accuracy, e.g. 5
  --stream / --no-stream   stream a folder or archive, batch by batch, in worker threads (default:
                           when the decoded images would exceed --memory-budget)
  --memory-budget <GB>     decoded images kept in memory at most (default: a quarter of RAM)
  --train-transform <t>    streamed training images: resize | random-resized-crop
  --eval-transform <t>     streamed validation/test images: resize | center-crop
  --on-corrupt <what>      a streamed file that does not decode: skip (warned) | error
Fine-tuning:
  --weights <file>         start from a checkpoint, .safetensors or .pt state dict (a head
                           of another class count keeps its new init)
  --freeze <a,b,...>       freeze parameters by name prefix, e.g. conv1,bn1,layer1
  --backbone-lr-scale <x>  lr multiplier for everything but the head (e.g. 0.1)
Recipe:
  --preset <name>          seed | cpu | gpu (options below override it)
  --model <name>           resnet18 | resnet34 | resnet18-keras (the seed's network) (or a
                           name given to registerModel)
  --stem <name>            imagenet (7x7/2 conv + max-pool) | cifar (3x3/1 conv)
  --epochs <n>             --batch-size <n>       --lr <x>
  --optimizer <name>       sgd | adam | adamw     --momentum <x>   --weight-decay <x>
  --nesterov / --no-nesterov  Nesterov momentum for sgd (default on; --momentum 0 turns it off)
  --schedule <name>        onecycle | cosine | step | plateau | constant
  --label-smoothing <x>    --grad-clip <norm>     --seed <n>
  --early-stopping <n>     stop after n epochs without val_loss improvement (restores the best)
  --ema <decay>            evaluate an exponential moving average of the weights
  --tta / --no-tta         test-time augmentation at the end (flip, and the preset's shifts)
Machine:
  --device <d>             auto | cpu | cuda | cuda:N
  --threads <n>            CPU threads (default: all cores)
  --amp <mode>             auto (bf16 on CUDA) | bf16 | off
  --channels-last / --no-channels-last
Distributed (c10d/Gloo; --batch-size is per process, rank 0 writes the run):
  --nproc-per-node <n>     train on n processes here (threads default to cores / n)
  --nnodes <m> --node-rank <r> --master-addr <host> --master-port <port>
                           the same command on each of m machines (see README)
Output:
  --run-dir <dir>          checkpoints, metrics.jsonl, curves.svg/png (default runs/<time>-<preset>)
  --resume <dir|file>      continue a run exactly where it stopped (--epochs may grow for
                           step, plateau and constant schedules)
  --log-every <n>          also log every n steps
  --no-plots               --quiet`,
  eval: `Usage: torchts eval <run-dir|checkpoint> [options]

Evaluates a run's checkpoint on the test split: the weights its test used
(testWeights: last for 'final', best for 'best').
  --data <path>            data to evaluate on (default: what the run trained on)
  --batch-size <n>         --tta / --no-tta       --device <d>
  --amp <mode>             bf16 | off (default: as the run trained, which reproduces
                           the test accuracy it printed)
  --json <file>            also write the results as JSON`,
  predict: `Usage: torchts predict <run-dir|checkpoint> <image> [<image> ...] [options]

Prints the top-k classes with probabilities for each image (resized to the
size the model was trained on).
  --top-k <k>              default 3
  --tta                    average with the mirror image
  --json                   print JSON instead of text
  --device <d>             --amp <mode>  bf16 | off (default: as the run trained)`,
  export: `Usage: torchts export <run-dir|checkpoint> <model.onnx> [options]

Writes the best (else last) checkpoint of a run as ONNX. By default the
graph takes raw RGB pixels, uint8 [batch, height, width, 3] at the run's
image size, and scales and normalises them itself; the class names are in
the model's metadata_props ('torchts.classes').
  --raw                    take the model's own input instead: normalised float32
                           [batch, 3, height, width]
  --batch-size <n>         fix the batch size (default: any)
  --opset <n>              ONNX opset, 13-20 (default 17)`,
  run: `Usage: torchts run [options] <script.js> [script args...]

Starts the script on --nproc-per-node processes with torchrun's environment
(RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT;
OMP_NUM_THREADS = cores / processes), for tt.distributed.initProcessGroup().
If a rank fails, the launcher names it and stops the others; Ctrl-C reaches
every rank once (twice: stop now).
  --nproc-per-node <n>     processes on this machine (default 1)
  --nnodes <m>             machines in the job (default 1)
  --node-rank <r>          this machine's index, 0..m-1 (default 0)
  --master-addr <host>     rank 0's machine (default 127.0.0.1; required with --nnodes > 1)
  --master-port <port>     rank 0's store port (default: a free port on one machine, else 29500)`,
  summary: `Usage: torchts summary [options]

Prints layer names and types, output shapes, parameter counts and a memory estimate.
  --model <name>           resnet18 | resnet34 | resnet18-keras (the seed's network, as
                           Keras prints it)          --stem <name>  imagenet | cifar
  --classes <n>            default 10               --input <CxHxW> default 3x32x32
  --checkpoint <path>      summarise a trained model instead`,
};

function number(values: Record<string, unknown>, key: string, integer = false): number | undefined {
  const raw = values[key];
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (String(raw).trim() === '' || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw new UsageError(`--${key} must be ${integer ? 'an integer' : 'a number'}, got '${String(raw)}'`);
  }
  return value;
}

/** --stream and friends as a partial stream config (resolveConfig fills in the rest); undefined when none is given. */
function streamOptions(values: Record<string, unknown>): Partial<TrainConfig['stream']> | undefined {
  const stream: Partial<TrainConfig['stream']> = {};
  if (values.stream) stream.mode = 'on';
  if (values['no-stream']) stream.mode = 'off';
  const budget = number(values, 'memory-budget');
  if (budget !== undefined) stream.memoryBudget = Math.round(budget * 1e9);
  if (values['train-transform'] !== undefined) stream.trainTransform = values['train-transform'] as never;
  if (values['eval-transform'] !== undefined) stream.evalTransform = values['eval-transform'] as never;
  if (values['on-corrupt'] !== undefined) stream.onCorrupt = values['on-corrupt'] as never;
  return Object.keys(stream).length === 0 ? undefined : stream;
}

function parse(argv: string[], options: Options, command: string) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    const message = (error as Error).message.replace(/\. To specify a positional argument.*$/, '');
    throw new UsageError(`${message} (see 'torchts ${command} --help')`);
  }
}

function trainOptions(values: Record<string, unknown>): TrainOptions {
  const options: TrainOptions & Omit<Partial<TrainConfig>, 'stream'> = {};
  const set = <K extends keyof TrainConfig>(key: K, value: TrainConfig[K] | undefined) => {
    if (value !== undefined) options[key] = value as never;
  };
  if (values.preset !== undefined) options.preset = values.preset as TrainOptions['preset'];
  set('data', values.data as string | undefined);
  set('model', values.model as TrainConfig['model'] | undefined);
  set('stem', values.stem as TrainConfig['stem'] | undefined);
  set('epochs', number(values, 'epochs', true));
  set('batchSize', number(values, 'batch-size', true));
  set('lr', number(values, 'lr'));
  set('optimizer', values.optimizer as TrainConfig['optimizer'] | undefined);
  set('schedule', values.schedule as TrainConfig['schedule'] | undefined);
  set('momentum', number(values, 'momentum'));
  // Plain SGD (Keras' default) is asked for as --momentum 0; Nesterov would then be an error.
  if (options.momentum === 0) options.nesterov = false;
  if (values.nesterov) options.nesterov = true;
  if (values['no-nesterov']) options.nesterov = false;
  set('weightDecay', number(values, 'weight-decay'));
  set('labelSmoothing', number(values, 'label-smoothing'));
  set('gradClip', number(values, 'grad-clip'));
  set('valFraction', number(values, 'val-fraction'));
  set('testFraction', number(values, 'test-fraction'));
  if (values['top-k'] !== undefined) {
    const ks = String(values['top-k']).split(',').map(Number);
    if (!ks.every((k) => Number.isInteger(k) && k >= 1)) throw new UsageError(`--top-k must be positive integers like 5 or 1,5, got '${String(values['top-k'])}'`);
    options.topK = ks;
  }
  set('weights', values.weights as string | undefined);
  if (values.freeze !== undefined) options.freeze = String(values.freeze).split(',').filter((prefix) => prefix !== '');
  set('backboneLrScale', number(values, 'backbone-lr-scale'));
  set('seed', number(values, 'seed', true));
  set('threads', number(values, 'threads', true));
  set('logEverySteps', number(values, 'log-every', true));
  set('device', values.device as TrainConfig['device'] | undefined);
  set('amp', values.amp as TrainConfig['amp'] | undefined);
  set('runDir', values['run-dir'] as string | undefined);
  set('cacheDir', values['cache-dir'] as string | undefined);
  if (values['channels-last']) options.channelsLast = true;
  if (values['no-channels-last']) options.channelsLast = false;
  if (values.tta) options.tta = true;
  // --no-tta means one view, as for eval: no mirror and no shifts.
  if (values['no-tta']) Object.assign(options, { tta: false, ttaShift: 0 });
  if (values['no-plots']) options.plots = false;
  const stream = streamOptions(values);
  if (stream !== undefined) options.stream = stream;
  const patience = number(values, 'early-stopping', true);
  if (patience !== undefined) options.earlyStopping = { monitor: 'valLoss', patience, minDelta: 0, restoreBest: true };
  const decay = number(values, 'ema');
  if (decay !== undefined) options.ema = { decay, warmupSteps: 500 };
  if (values['target-size'] !== undefined) {
    const match = /^(\d+)x(\d+)$/.exec(String(values['target-size']));
    if (match === null) throw new UsageError(`--target-size must look like 32x32, got '${String(values['target-size'])}'`);
    options.targetSize = [Number(match[1]), Number(match[2])];
  }
  if (values.resume !== undefined) options.resume = values.resume as string;
  if (values.quiet) options.progress = false;
  return options;
}

/** The launcher's flags from parsed values; undefined when none was given. */
function launchTopology(values: Record<string, unknown>): Omit<LaunchOptions, 'command'> | undefined {
  const nprocPerNode = number(values, 'nproc-per-node', true);
  const nnodes = number(values, 'nnodes', true);
  const given = [nprocPerNode, nnodes, values['node-rank'], values['master-addr'], values['master-port']].some((v) => v !== undefined);
  if (!given) return undefined;
  const masterPort = number(values, 'master-port', true);
  const nodeRank = number(values, 'node-rank', true);
  return {
    nprocPerNode: nprocPerNode ?? 1,
    ...(nnodes === undefined ? {} : { nnodes }),
    ...(nodeRank === undefined ? {} : { nodeRank }),
    ...(values['master-addr'] === undefined ? {} : { masterAddr: String(values['master-addr']) }),
    ...(masterPort === undefined ? {} : { masterPort }),
  };
}

/** `train --nproc-per-node N ...`: this process launches N ranks of `train ...` (without the launcher's flags). */
async function launchTrain(argv: string[], topology: Omit<LaunchOptions, 'command'>): Promise<number> {
  const launcherFlags = new Set(Object.keys(LAUNCH_OPTIONS).map((name) => `--${name}`));
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const [flag] = argv[i]!.split('=');
    if (launcherFlags.has(flag!)) {
      if (!argv[i]!.includes('=')) i++;
      continue;
    }
    rest.push(argv[i]!);
  }
  // Each rank runs this module's main, required (not run as the main
  // module) so that it also works from source under a loader like ts-node.
  const entry = `require(${JSON.stringify(__filename)}).main(process.argv.slice(1)).then((code) => process.exit(code))`;
  const result = await launch({ ...topology, command: ['-e', entry, '--', 'train', ...rest] });
  return result.exitCode;
}

/** Under a launcher (torchts run, torchrun): torchrun's environment names this process's rank. */
function launchedAsRank(): boolean {
  return process.env.RANK !== undefined && process.env.WORLD_SIZE !== undefined;
}

async function runTrain(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, TRAIN_OPTIONS, 'train');
  if (values.help) return help('train');
  if (positionals.length > 0) throw new UsageError(`train takes no positional arguments, got '${positionals[0]}' (did you mean --data ${positionals[0]}?)`);
  const topology = launchTopology(values);
  if (topology !== undefined && !launchedAsRank()) return launchTrain(argv, topology);
  const options = trainOptions(values);
  if (launchedAsRank()) options.distributed = true;
  if (options.preset === undefined && options.resume === undefined) {
    const { cuda } = await import('./runtime');
    options.preset = cuda.isAvailable() ? 'gpu' : 'cpu';
  }
  const result = await train(options);
  if (result.stopped === 'interrupted') return 130;
  if (result.stopped === 'non-finite-loss') {
    process.stderr.write(`torchts: ${result.message}\n`);
    return 1;
  }
  return 0;
}

async function runEval(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...INFERENCE, data: { type: 'string' }, 'batch-size': { type: 'string' }, tta: { type: 'boolean' }, 'no-tta': { type: 'boolean' }, json: { type: 'string' } }, 'eval');
  if (values.help) return help('eval');
  if (positionals.length !== 1) throw new UsageError(`eval needs one run folder or checkpoint (see 'torchts eval --help')`);
  const tta = values.tta ? true : values['no-tta'] ? false : undefined;
  const { result, loaded } = await evaluateCheckpoint(positionals[0]!, {
    data: values.data as string | undefined,
    tta,
    batchSize: number(values, 'batch-size', true),
    device: values.device as never,
    amp: inferenceAmp(values),
  });
  loaded.model.dispose();
  const precision = loaded.precision.autocastDevice === undefined ? 'float32' : 'bf16 autocast';
  const report = formatEvaluation(result, `Test (${path.basename(loaded.file)}, ${loaded.weights === 'ema' ? 'averaged weights' : 'weights'}, ${precision})`);
  process.stdout.write(`${report}\n`);
  const outDir = path.dirname(loaded.file);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const jsonFile = (values.json as string | undefined) ?? path.join(outDir, `eval-${stamp}.json`);
  fs.writeFileSync(jsonFile, `${JSON.stringify(result, null, 2)}\n`);
  fs.writeFileSync(jsonFile.replace(/\.json$/, '') + '.txt', `${report}\n`);
  process.stdout.write(`Saved ${jsonFile}\n`);
  return 0;
}

async function runPredict(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...INFERENCE, 'top-k': { type: 'string' }, tta: { type: 'boolean' }, json: { type: 'boolean' } }, 'predict');
  if (values.help) return help('predict');
  if (positionals.length < 2) throw new UsageError(`predict needs a run folder or checkpoint and at least one image (see 'torchts predict --help')`);
  const [checkpoint, ...files] = positionals as [string, ...string[]];
  const topK = number(values, 'top-k', true);
  if (topK !== undefined && topK < 1) throw new UsageError(`--top-k must be at least 1, got ${topK}`);
  const predictions = await predict(checkpoint, files, { topK, tta: Boolean(values.tta), device: values.device as never, amp: inferenceAmp(values) });
  if (values.json) {
    process.stdout.write(`${JSON.stringify(predictions, null, 2)}\n`);
  } else {
    for (const p of predictions) {
      process.stdout.write(`${p.file}: ${p.top.map((t) => `${t.className} ${(100 * t.probability).toFixed(1)}%`).join(', ')}\n`);
    }
  }
  return 0;
}

async function runSummary(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { help: { type: 'boolean', short: 'h' }, model: { type: 'string' }, stem: { type: 'string' }, classes: { type: 'string' }, input: { type: 'string' }, checkpoint: { type: 'string' } },
    'summary',
  );
  if (values.help) return help('summary');
  if (positionals.length > 0) throw new UsageError(`summary takes no positional arguments (see 'torchts summary --help')`);
  const input = /^(\d+)x(\d+)x(\d+)$/.exec(String(values.input ?? '3x32x32'));
  if (input === null) throw new UsageError(`--input must look like 3x32x32, got '${String(values.input)}'`);
  let model;
  if (values.checkpoint !== undefined) {
    model = loadTrainedModel(values.checkpoint as string, { device: 'cpu' }).model;
  } else {
    const name = (values.model as string | undefined) ?? 'resnet18';
    if (name === 'resnet18-keras') {
      // The seed's network, summarised as Keras' model.summary() prints it (channels-last shapes).
      const keras = kerasResNet18({ numClasses: number(values, 'classes', true) ?? 10 });
      process.stdout.write(`${kerasSummary(keras, Number(input[2]), Number(input[3])).text}\n`);
      keras.dispose();
      return 0;
    }
    if (name !== 'resnet18' && name !== 'resnet34') throw new UsageError(`--model must be resnet18, resnet34 or resnet18-keras, got '${name}'`);
    const classes = number(values, 'classes', true) ?? 10;
    model = (name === 'resnet34' ? resnet34 : resnet18)({ numClasses: classes, stem: (values.stem as 'imagenet' | 'cifar' | undefined) ?? 'imagenet' });
  }
  try {
    process.stdout.write(`${modelSummary(model, [1, Number(input[1]), Number(input[2]), Number(input[3])]).text}\n`);
  } finally {
    model.dispose();
  }
  return 0;
}

async function runExport(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { help: { type: 'boolean', short: 'h' }, raw: { type: 'boolean' }, 'batch-size': { type: 'string' }, opset: { type: 'string' } },
    'export',
  );
  if (values.help) return help('export');
  if (positionals.length !== 2) throw new UsageError(`export needs a run folder or checkpoint and an output .onnx file (see 'torchts export --help')`);
  const [checkpoint, file] = positionals as [string, string];
  const batchSize = number(values, 'batch-size', true);
  if (batchSize !== undefined && batchSize < 1) throw new UsageError(`--batch-size must be at least 1, got ${batchSize}`);
  const { exportCheckpoint } = await import('./train/export-onnx');
  const result = exportCheckpoint(checkpoint, file, { raw: Boolean(values.raw), batchSize, opset: number(values, 'opset', true) });
  process.stdout.write(
    `Wrote ${result.file}: ONNX opset ${result.opset}, ${result.nodeCount} nodes, ${(result.bytes / 1e6).toFixed(1)} MB, from ${result.checkpoint}\n` +
      `  input: ${result.input}\n  output: logits [batch, ${result.classNames.length}] for ${result.classNames.join(', ')}\n`,
  );
  return 0;
}

/** `torchts run [launcher flags] script.js [args]`: flags up to the script are the launcher's, the rest the script's. */
async function runLaunch(argv: string[]): Promise<number> {
  const scriptAt = argv.findIndex((arg, i) => !arg.startsWith('-') && (i === 0 || !argv[i - 1]!.startsWith('--') || argv[i - 1]!.includes('=') || argv[i - 1] === '--help' || argv[i - 1] === '-h'));
  const own = scriptAt < 0 ? argv : argv.slice(0, scriptAt);
  const { values } = parse(own, { help: { type: 'boolean', short: 'h' }, ...LAUNCH_OPTIONS }, 'run');
  if (values.help) return help('run');
  if (scriptAt < 0) throw new UsageError("run needs a script to start, e.g. 'torchts run --nproc-per-node 2 train.js'");
  const topology = launchTopology(values) ?? { nprocPerNode: 1 };
  const result = await launch({ ...topology, command: argv.slice(scriptAt), nodeArgs: [] });
  return result.exitCode;
}

function help(command: string): number {
  process.stdout.write(`${HELP[command]}\n`);
  return 0;
}

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  train: runTrain,
  eval: runEval,
  predict: runPredict,
  summary: runSummary,
  export: runExport,
  run: runLaunch,
};

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') return help('main');
  const run = COMMANDS[command];
  try {
    if (run === undefined) throw new UsageError(`unknown command '${command}' (commands: ${Object.keys(COMMANDS).join(', ')}; see 'torchts --help')`);
    return await run(rest);
  } catch (error) {
    const message = (error as Error).message ?? String(error);
    process.stderr.write(`torchts ${command}: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
    if (process.env.TORCHTS_DEBUG) process.stderr.write(`${(error as Error).stack}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
