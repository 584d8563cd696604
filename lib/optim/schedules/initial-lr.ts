// PyTorch keeps each group's starting lr in the optimizer, as
// param_group['initial_lr'], set by the first scheduler built on it
// (group.setdefault) and shared by the later ones: that is what SequentialLR
// resets to, and what a second scheduler takes as its base_lrs. Our optimizer
// interface has no such option, so the same record lives here, per optimizer.
import type { SchedulableOptimizer } from '../types';

const initialLrsByOptimizer = new WeakMap<SchedulableOptimizer, number[]>();

function currentLrs(optimizer: SchedulableOptimizer): number[] {
  const lrs: number[] = [];
  for (let group = 0; group < optimizer.groupCount; group++) lrs.push(optimizer.getGroupOptions(group).lr);
  return lrs;
}

/** group.setdefault('initial_lr', group['lr']) for every group; returns the initial lrs (PyTorch's base_lrs). */
export function adoptInitialLrs(optimizer: SchedulableOptimizer): number[] {
  const known = initialLrsByOptimizer.get(optimizer) ?? [];
  const lrs = currentLrs(optimizer).map((lr, group) => known[group] ?? lr);
  initialLrsByOptimizer.set(optimizer, lrs);
  return [...lrs];
}

/** group['initial_lr'] = lr, overwriting (as OneCycleLR does). */
export function setInitialLrs(optimizer: SchedulableOptimizer, lrs: readonly number[]): void {
  initialLrsByOptimizer.set(optimizer, [...lrs]);
}

export function initialLrsOf(optimizer: SchedulableOptimizer): number[] {
  const lrs = initialLrsByOptimizer.get(optimizer);
  if (lrs === undefined) throw new Error('no scheduler has recorded initial learning rates for this optimizer');
  return [...lrs];
}
