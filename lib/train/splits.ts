// The run's train / validation / test rows, drawn the same way for every
// kind of data: testFraction first (on its own RNG stream), then valFraction
// of the rest, each class-stratified.
import { stratifiedIndices } from '../data';
import { ConfigError, type TrainConfig } from './config';

/** The test split's held-out part is drawn on its own RNG stream, independent of the validation split. */
export const TEST_SPLIT_STREAM = 1;

/**
 * Rows of `labels` for each split. `ownTest` names the data's own test split
 * when it has one (then testFraction must be 0).
 */
export function splitRows(labels: Int32Array, config: TrainConfig, ownTest: string | null): { train: number[]; val: number[]; test: number[] } {
  if (ownTest !== null && config.testFraction > 0) throw new ConfigError(`testFraction ${config.testFraction}: ${ownTest} is given; set testFraction to 0`);
  const test = config.testFraction > 0 ? stratifiedIndices(labels, config.testFraction, config.seed, TEST_SPLIT_STREAM) : { kept: [...labels.keys()], heldOut: [] };
  const { kept, heldOut } = stratifiedIndices(test.kept.map((i) => labels[i]!), config.valFraction, config.seed);
  return { train: kept.map((i) => test.kept[i]!), val: heldOut.map((i) => test.kept[i]!), test: test.heldOut };
}
