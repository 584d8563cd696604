// Every fuzz target, by name, in the order runs go through them.
import type { FuzzTarget } from '../types';
import { cifarTarget } from './cifar';
import { imagesTarget } from './images';
import { ptTarget } from './pt';
import { safetensorsTarget } from './safetensors';
import { tarballTarget } from './tarball';

export const TARGETS: readonly FuzzTarget[] = [safetensorsTarget, ptTarget, cifarTarget, imagesTarget, tarballTarget];

export function targetNamed(name: string): FuzzTarget {
  const target = TARGETS.find((t) => t.name === name);
  if (target === undefined) throw new Error(`unknown fuzz target '${name}' (known: ${TARGETS.map((t) => t.name).join(', ')})`);
  return target;
}
