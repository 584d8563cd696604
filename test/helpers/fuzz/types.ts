// What a fuzz target is, and what one input and one outcome look like.

/** One file of a fuzz input, written under the input's folder before the parser runs. */
export interface FuzzFile {
  name: string;
  data: Buffer;
}

/** Parser-specific choices made with the mutation (entry point, options). */
export type FuzzParams = Record<string, string | number | boolean | null | number[]>;

export interface FuzzCase {
  files: FuzzFile[];
  params: FuzzParams;
  /** The mutations applied, for reports and minimising by hand. */
  log: string[];
}

/** Seed files by name (the target's valid inputs, written by the project's own writers). */
export type SeedCorpus = ReadonlyMap<string, Buffer>;

export interface MutateContext {
  /** Also generate hostile inputs that hit known, not yet fixed bugs (see KNOWN_BUGS in the target). */
  knownBugs: boolean;
  /** Absolute paths that tar entries may aim at; nothing may ever appear there. */
  canaryDir: string;
}

export interface FuzzTarget {
  name: string;
  /** `code`s a rejection may carry; an Error with another code is reported as unexpected. */
  expectedCodes: readonly string[];
  /** Inputs one child process runs before it is replaced (memory, leaks). */
  batchSize: number;
  /** Writes valid seed inputs into `dir` (runs in the parent, once per run). */
  makeSeeds(dir: string): Promise<void>;
  /** A mutant of the seeds: a pure function of `rng` and `seeds`. */
  mutate(rng: import('./prng').Prng, seeds: SeedCorpus, context: MutateContext): FuzzCase;
  /** Feeds one input (already written to `caseDir`) to the real parser; throws what the parser throws. */
  run(caseDir: string, input: FuzzCase): Promise<void>;
}

/** How one input ended, as the parent classifies it. */
export type OutcomeKind = 'ok' | 'js-error' | 'unexpected-error' | 'non-error' | 'crash' | 'hang';
