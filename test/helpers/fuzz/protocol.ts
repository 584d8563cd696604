// The lines a fuzz child prints on stdout (one JSON object each), and the
// spec it is started with. Written with fs.writeSync so that a line printed
// before a native crash is never lost in a buffer.

export interface ChildJob {
  target: string;
  /** Input indices [from, to). */
  from: number;
  to: number;
}

export interface ChildSpec {
  workDir: string;
  seed: number;
  knownBugs: boolean;
  jobs: ChildJob[];
}

export type ChildLine =
  | { t: 'ready' }
  | { t: 'begin'; target: string; i: number }
  | { t: 'end'; target: string; i: number; ms: number; outcome: 'ok' }
  | { t: 'end'; target: string; i: number; ms: number; outcome: 'error'; name: string; code?: string; message: string }
  | { t: 'end'; target: string; i: number; ms: number; outcome: 'non-error'; message: string }
  | { t: 'uncaught'; target?: string; i?: number; message: string }
  | { t: 'fuzzer-error'; target: string; i: number; message: string }
  | { t: 'done' };
