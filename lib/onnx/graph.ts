// An ONNX graph under construction: nodes, initializers, fresh value names,
// and its encoding as a ModelProto (protobuf via onnx-proto).
import { onnx } from 'onnx-proto';
import type { DType } from '../dtype';
import { packageVersion } from '../native';

const ELEMENT_TYPES: Record<DType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float64: onnx.TensorProto.DataType.DOUBLE,
  float16: onnx.TensorProto.DataType.FLOAT16,
  bfloat16: onnx.TensorProto.DataType.BFLOAT16,
  int64: onnx.TensorProto.DataType.INT64,
  int32: onnx.TensorProto.DataType.INT32,
  int16: onnx.TensorProto.DataType.INT16,
  int8: onnx.TensorProto.DataType.INT8,
  uint8: onnx.TensorProto.DataType.UINT8,
  bool: onnx.TensorProto.DataType.BOOL,
};

export type AttributeValue = number | number[] | string | { float: number } | { floats: number[] };

export interface Initializer {
  name: string;
  dtype: DType;
  dims: number[];
  bytes: Uint8Array;
}

/** A graph input or output: name, element type, and dims (a string names a symbolic dim). */
export interface GraphValue {
  name: string;
  dtype: DType;
  dims: (number | string)[];
}

function attribute(name: string, value: AttributeValue): onnx.IAttributeProto {
  const Type = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return { name, type: Type.STRING, s: Buffer.from(value, 'utf8') };
  if (typeof value === 'number') return { name, type: Type.INT, i: value };
  if (Array.isArray(value)) return { name, type: Type.INTS, ints: value };
  if ('float' in value) return { name, type: Type.FLOAT, f: value.float };
  return { name, type: Type.FLOATS, floats: value.floats };
}

function valueInfo(value: GraphValue): onnx.IValueInfoProto {
  return {
    name: value.name,
    type: {
      tensorType: {
        elemType: ELEMENT_TYPES[value.dtype],
        shape: { dim: value.dims.map((dim) => (typeof dim === 'string' ? { dimParam: dim } : { dimValue: dim })) },
      },
    },
  };
}

export class GraphBuilder {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly initializers: Initializer[] = [];
  private readonly used = new Set<string>();
  private readonly counts = new Map<string, number>();
  /** Values computed from the graph input (the others are constants). */
  private readonly fromInput = new Set<string>();

  /** Marks the graph input, from which batch-dependent values derive. */
  markInput(name: string): void {
    this.fromInput.add(name);
  }

  /** Whether a value depends on the graph input (not only on initializers). */
  dependsOnInput(name: string): boolean {
    return this.fromInput.has(name);
  }

  /** A value name not used yet, from `base` ('Conv' -> 'Conv_0'; names given by the caller are kept when free). */
  fresh(base: string, exact = false): string {
    if (exact && !this.used.has(base)) {
      this.used.add(base);
      return base;
    }
    let count = this.counts.get(base) ?? 0;
    let name = `${base}_${count}`;
    while (this.used.has(name)) name = `${base}_${(count += 1)}`;
    this.counts.set(base, count + 1);
    this.used.add(name);
    return name;
  }

  /** Appends a node; returns its output names. */
  node(opType: string, inputs: string[], attributes: Record<string, AttributeValue | undefined> = {}, outputCount = 1): string[] {
    const outputs = Array.from({ length: outputCount }, () => this.fresh(opType));
    if (inputs.some((input) => this.fromInput.has(input))) outputs.forEach((output) => this.fromInput.add(output));
    const attrs = Object.entries(attributes)
      .filter((entry): entry is [string, AttributeValue] => entry[1] !== undefined)
      .map(([name, value]) => attribute(name, value));
    this.nodes.push({ opType, name: this.fresh(`${opType}_node`), input: inputs, output: outputs, attribute: attrs });
    return outputs;
  }

  /** One-output node. */
  op(opType: string, inputs: string[], attributes: Record<string, AttributeValue | undefined> = {}): string {
    return this.node(opType, inputs, attributes, 1)[0]!;
  }

  initializer(base: string, dtype: DType, dims: number[], bytes: Uint8Array, exact = false): string {
    const name = this.fresh(base, exact);
    this.initializers.push({ name, dtype, dims, bytes });
    return name;
  }

  int64s(values: readonly number[], base = 'const'): string {
    const data = new BigInt64Array(values.map((value) => BigInt(value)));
    return this.initializer(base, 'int64', [values.length], new Uint8Array(data.buffer));
  }

  /** A scalar (rank 0) constant of a float or integer dtype. */
  scalar(value: number, dtype: DType, base = 'const'): string {
    const bytes = scalarBytes(value, dtype);
    return this.initializer(base, dtype, [], bytes);
  }

  /**
   * Makes `value` available under `name` (the graph output's name): renames
   * a node output in place, or adds an Identity for a graph input or an
   * initializer. Returns the name used.
   */
  exposeAs(value: string, name: string): string {
    if (this.used.has(name) && name !== value) throw new OnnxExportError(`output name '${name}' is already a value of the graph (an input or a parameter)`);
    const producer = this.nodes.find((node) => node.output?.includes(value));
    if (producer === undefined) {
      this.used.add(name);
      this.nodes.push({ opType: 'Identity', name: this.fresh('Identity_node'), input: [value], output: [name] });
      return name;
    }
    this.used.add(name);
    for (const node of this.nodes) {
      node.output = node.output?.map((output) => (output === value ? name : output));
      node.input = node.input?.map((input) => (input === value ? name : input));
    }
    return name;
  }

  get nodeCount(): number {
    return this.nodes.length;
  }

  opTypes(): string[] {
    return this.nodes.map((node) => node.opType ?? '');
  }

  encode(options: { inputs: GraphValue[]; outputs: GraphValue[]; opset: number; irVersion: number; graphName: string; metadata: Record<string, string> }): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: options.irVersion,
      producerName: 'torchts',
      producerVersion: packageVersion(),
      opsetImport: [{ domain: '', version: options.opset }],
      metadataProps: Object.entries(options.metadata).map(([key, value]) => ({ key, value })),
      graph: {
        name: options.graphName,
        node: this.nodes,
        input: options.inputs.map(valueInfo),
        output: options.outputs.map(valueInfo),
        initializer: this.initializers.map((init) => ({ name: init.name, dataType: ELEMENT_TYPES[init.dtype], dims: init.dims, rawData: init.bytes })),
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function scalarBytes(value: number, dtype: DType): Uint8Array {
  switch (dtype) {
    case 'float32':
      return new Uint8Array(new Float32Array([value]).buffer);
    case 'float64':
      return new Uint8Array(new Float64Array([value]).buffer);
    case 'int64':
      return new Uint8Array(new BigInt64Array([BigInt(Math.trunc(value))]).buffer);
    case 'int32':
      return new Uint8Array(new Int32Array([value]).buffer);
    default:
      throw new OnnxExportError(`a constant of dtype ${dtype} is not supported in export (float32, float64, int32 and int64 are)`);
  }
}

export class OnnxExportError extends Error {
  readonly code = 'ERR_TORCHTS_ONNX';
  constructor(message: string) {
    super(message);
    this.name = 'OnnxExportError';
  }
}
