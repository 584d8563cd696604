// Prints tensors the way PyTorch does (torch/_tensor_str.py): the same
// number formats (fixed, integer "1.", scientific), column widths, line
// wrapping at 80 characters, summarisation with "..." above 1000 elements,
// and the dtype/device/grad suffixes.
import { isFloating, type DType } from './dtype';

const PRECISION = 4;
const THRESHOLD = 1000;
const EDGE_ITEMS = 3;
const LINE_WIDTH = 80;

export interface PrintableTensor {
  shape: number[];
  dtype: DType;
  device: string;
  values: ArrayLike<number | bigint>;
  requiresGrad: boolean;
  gradFn: string | null;
}

function exponential(value: number, precision: number): string {
  // JS writes 1.2346e+5; Python writes 1.2346e+05.
  const text = value.toExponential(precision);
  return text.replace(/e([+-])(\d)$/, 'e$10$2');
}

class Formatter {
  private intMode = true;
  private sciMode = false;
  maxWidth = 1;

  constructor(
    private readonly floating: boolean,
    private readonly isBool: boolean,
    values: (number | bigint)[],
  ) {
    if (!floating) {
      for (const value of values) this.maxWidth = Math.max(this.maxWidth, this.plain(value).length);
      return;
    }
    const finite = (values as number[]).filter((v) => Number.isFinite(v) && v !== 0);
    if (finite.length === 0) return;
    const abs = finite.map(Math.abs);
    const min = Math.min(...abs);
    const max = Math.max(...abs);
    this.intMode = finite.every((v) => Math.ceil(v) === v);
    if (this.intMode) {
      if (max / min > 1000 || max > 1e8) {
        this.sciMode = true;
        for (const v of finite) this.maxWidth = Math.max(this.maxWidth, exponential(v, PRECISION).length);
      } else {
        for (const v of finite) this.maxWidth = Math.max(this.maxWidth, v.toFixed(0).length + 1);
      }
    } else if (max / min > 1000 || max > 1e8 || min < 1e-4) {
      this.sciMode = true;
      for (const v of finite) this.maxWidth = Math.max(this.maxWidth, exponential(v, PRECISION).length);
    } else {
      for (const v of finite) this.maxWidth = Math.max(this.maxWidth, v.toFixed(PRECISION).length);
    }
  }

  private plain(value: number | bigint): string {
    if (this.isBool) return value ? 'True' : 'False';
    return String(value);
  }

  format(value: number | bigint): string {
    let text: string;
    if (!this.floating) {
      text = this.plain(value);
    } else {
      const v = value as number;
      if (Number.isNaN(v)) text = 'nan';
      else if (v === Infinity) text = 'inf';
      else if (v === -Infinity) text = '-inf';
      else if (this.sciMode) text = exponential(v, PRECISION);
      else if (this.intMode) text = `${v.toFixed(0)}.`;
      else text = v.toFixed(PRECISION);
      if (Object.is(v, -0) && !this.sciMode) text = `-${text}`;
    }
    return text.padStart(this.maxWidth, ' ');
  }
}

interface Layout {
  shape: number[];
  strides: number[];
  values: ArrayLike<number | bigint>;
  summarize: boolean;
}

function shown(size: number, summarize: boolean): number[] {
  if (summarize && size > 2 * EDGE_ITEMS) {
    return [...Array(EDGE_ITEMS).keys(), ...Array.from({ length: EDGE_ITEMS }, (_, i) => size - EDGE_ITEMS + i)];
  }
  return [...Array(size).keys()];
}

function collect(layout: Layout, dim: number, offset: number, out: (number | bigint)[]): void {
  if (dim === layout.shape.length) {
    out.push(layout.values[offset]!);
    return;
  }
  for (const i of shown(layout.shape[dim]!, layout.summarize)) collect(layout, dim + 1, offset + i * layout.strides[dim]!, out);
}

function vectorString(layout: Layout, offset: number, indent: number, formatter: Formatter): string {
  const size = layout.shape[layout.shape.length - 1]!;
  const stride = layout.strides[layout.strides.length - 1]!;
  const elementLength = formatter.maxWidth + 2;
  const perLine = Math.max(1, Math.floor((LINE_WIDTH - indent) / elementLength));
  const data: string[] = [];
  if (layout.summarize && size > 2 * EDGE_ITEMS) {
    for (let i = 0; i < EDGE_ITEMS; i++) data.push(formatter.format(layout.values[offset + i * stride]!));
    data.push(' ...');
    for (let i = size - EDGE_ITEMS; i < size; i++) data.push(formatter.format(layout.values[offset + i * stride]!));
  } else {
    for (let i = 0; i < size; i++) data.push(formatter.format(layout.values[offset + i * stride]!));
  }
  const lines: string[] = [];
  for (let i = 0; i < data.length; i += perLine) lines.push(data.slice(i, i + perLine).join(', '));
  return `[${lines.join(`,\n${' '.repeat(indent + 1)}`)}]`;
}

function tensorString(layout: Layout, dim: number, offset: number, indent: number, formatter: Formatter): string {
  const remaining = layout.shape.length - dim;
  if (remaining === 0) return formatter.format(layout.values[offset]!);
  if (remaining === 1) return vectorString(layout, offset, indent, formatter);
  const size = layout.shape[dim]!;
  const slices: string[] = [];
  const summarizeHere = layout.summarize && size > 2 * EDGE_ITEMS;
  for (const i of shown(size, layout.summarize)) {
    if (summarizeHere && i === size - EDGE_ITEMS) slices.push('...');
    slices.push(tensorString(layout, dim + 1, offset + i * layout.strides[dim]!, indent + 1, formatter));
  }
  return `[${slices.join(`,${'\n'.repeat(remaining - 1)}${' '.repeat(indent + 1)}`)}]`;
}

function addSuffixes(text: string, suffixes: string[], indent: number): string {
  const parts = [text];
  let lastLineLength = text.length - text.lastIndexOf('\n') + 1;
  for (const suffix of suffixes) {
    if (lastLineLength + suffix.length + 2 > LINE_WIDTH) {
      parts.push(`,\n${' '.repeat(indent)}${suffix}`);
      lastLineLength = indent + suffix.length;
    } else {
      parts.push(`, ${suffix}`);
      lastLineLength += suffix.length + 2;
    }
  }
  parts.push(')');
  return parts.join('');
}

const TORCH_DTYPE_NAMES: Record<DType, string> = {
  float32: 'torch.float32',
  float64: 'torch.float64',
  float16: 'torch.float16',
  bfloat16: 'torch.bfloat16',
  int64: 'torch.int64',
  int32: 'torch.int32',
  int16: 'torch.int16',
  int8: 'torch.int8',
  uint8: 'torch.uint8',
  bool: 'torch.bool',
};

/** PyTorch's repr of a tensor, e.g. `tensor([1.0000, 2.5000], requires_grad=True)`. */
export function formatTensor(tensor: PrintableTensor): string {
  const prefix = 'tensor(';
  const indent = prefix.length;
  const suffixes: string[] = [];
  if (tensor.device !== 'cpu') suffixes.push(`device='${tensor.device}'`);
  const numel = tensor.shape.reduce((a, b) => a * b, 1);
  let body: string;
  if (numel === 0) {
    if (tensor.shape.length !== 1) suffixes.push(`size=(${tensor.shape.join(', ')}${tensor.shape.length === 1 ? ',' : ''})`);
    body = '[]';
  } else {
    const strides = new Array<number>(tensor.shape.length);
    let stride = 1;
    for (let i = tensor.shape.length - 1; i >= 0; i--) {
      strides[i] = stride;
      stride *= tensor.shape[i]!;
    }
    const layout: Layout = { shape: tensor.shape, strides, values: tensor.values, summarize: numel > THRESHOLD };
    const displayed: (number | bigint)[] = [];
    collect(layout, 0, 0, displayed);
    const formatter = new Formatter(isFloating(tensor.dtype), tensor.dtype === 'bool', displayed);
    body = tensorString(layout, 0, 0, indent, formatter);
  }
  const hasDefaultDtype = tensor.dtype === 'float32' || tensor.dtype === 'int64' || tensor.dtype === 'bool';
  if (!hasDefaultDtype) suffixes.push(`dtype=${TORCH_DTYPE_NAMES[tensor.dtype]}`);
  if (tensor.gradFn !== null) suffixes.push(`grad_fn=<${tensor.gradFn.split('::').pop()}>`);
  else if (tensor.requiresGrad) suffixes.push('requires_grad=True');
  return addSuffixes(prefix + body, suffixes, indent);
}
