// ATen operator schemas, as libtorch prints them, parsed into what a trace
// needs: which positional arguments are tensors, their defaults, and which
// argument an in-place op writes.
//
//   aten::add_.Tensor(Tensor(a!) self, Tensor other, *, Scalar alpha=1) -> Tensor(a!)

export type ArgumentKind = 'tensor' | 'tensors' | 'value';

export interface SchemaArgument {
  name: string;
  type: string;
  kind: ArgumentKind;
  /** The schema's default, as a JS value (undefined: none). */
  defaultValue: unknown;
  /** Written in place (`Tensor(a!)`). */
  mutated: boolean;
}

export interface OpSchema {
  /** 'aten::add_.Tensor' (the overload after the dot, when there is one). */
  qualifiedName: string;
  arguments: SchemaArgument[];
  /** Index of the argument an in-place op writes and returns, or -1. */
  mutatedArgument: number;
  returns: string[];
}

/** Splits at commas outside brackets, parentheses and quotes. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    else if (quoted) continue;
    else if (c === '[' || c === '(') depth += 1;
    else if (c === ']' || c === ')') depth -= 1;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  const last = text.slice(start).trim();
  if (last !== '') parts.push(last);
  return parts;
}

function parseDefault(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  if (text === 'None') return null;
  if (text === 'True') return true;
  if (text === 'False') return false;
  if (text.startsWith('"') || text.startsWith("'")) return text.slice(1, -1);
  if (text.startsWith('[')) return splitTopLevel(text.slice(1, -1)).map(parseDefault);
  const number = Number(text);
  return Number.isNaN(number) ? text : number;
}

function kindOf(type: string): ArgumentKind {
  if (/^Tensor(\([^)]*\))?\??$/.test(type)) return 'tensor';
  if (/^Tensor(\([^)]*\))?\??\[\]/.test(type)) return 'tensors';
  return 'value';
}

function parseArgument(text: string): SchemaArgument {
  const space = text.indexOf(' ');
  const type = text.slice(0, space);
  const rest = text.slice(space + 1);
  const equals = rest.indexOf('=');
  const name = equals < 0 ? rest : rest.slice(0, equals);
  return {
    name,
    type,
    kind: kindOf(type),
    defaultValue: parseDefault(equals < 0 ? undefined : rest.slice(equals + 1)),
    mutated: type.includes('!'),
  };
}

export function parseSchema(schema: string): OpSchema {
  const open = schema.indexOf('(');
  const arrow = schema.lastIndexOf(' -> ');
  const close = schema.lastIndexOf(')', arrow);
  const argumentsText = schema.slice(open + 1, close);
  const args = splitTopLevel(argumentsText)
    .filter((part) => part !== '*')
    .map(parseArgument);
  const returnsText = schema.slice(arrow + 4).trim();
  const returns = returnsText.startsWith('(') ? splitTopLevel(returnsText.slice(1, -1)) : [returnsText];
  return {
    qualifiedName: schema.slice(0, open),
    arguments: args,
    mutatedArgument: args.findIndex((arg) => arg.mutated && arg.kind === 'tensor'),
    returns,
  };
}
