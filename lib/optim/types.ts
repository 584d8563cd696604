// What LR schedules need from an optimizer: its parameter groups' options.
// lib/optim/optimizer.ts implements it; schedules depend only on this.

/** Options of one parameter group, as the optimizer reports them. */
export interface GroupOptions {
  lr: number;
  /** SGD and RMSprop. */
  momentum?: number;
  /** Adam and AdamW: [beta1, beta2]. */
  betas?: [number, number];
  weightDecay?: number;
  [option: string]: unknown;
}

export interface SchedulableOptimizer {
  /** Number of parameter groups. */
  readonly groupCount: number;
  /** A copy of a group's current options. */
  getGroupOptions(group: number): GroupOptions;
  /** Sets some options of a group (e.g. { lr }, { momentum }, { betas }). */
  setGroupOptions(group: number, options: Partial<GroupOptions>): void;
}
