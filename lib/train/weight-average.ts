// An exponential moving average of a model's weights, kept in a second
// model of the same architecture and evaluated instead of the raw one.
import { noGrad } from '../autograd';
import { scope } from '../memory';
import type { Module } from '../nn/module';

export class WeightAverage {
  #updates = 0;

  constructor(
    readonly model: Module,
    private readonly source: Module,
    private readonly decay: number,
    private readonly warmupSteps: number,
  ) {
    this.copyAll();
  }

  copyAll(): void {
    noGrad(() =>
      scope(() => {
        const source = this.source.stateDict();
        this.model.stateDict().forEach((t, name) => t.copy_(source.get(name)!));
      }),
    );
  }

  update(): void {
    this.#updates += 1;
    // Early on the average would be dominated by the random init: ramp the decay up.
    const decay = Math.min(this.decay, (1 + this.#updates) / (this.warmupSteps / 10 + this.#updates + 1));
    noGrad(() =>
      scope(() => {
        const target = this.model.namedParameters();
        const source = new Map(this.source.namedParameters());
        for (const [name, t] of target) t.mul_(decay).add_(source.get(name)!, 1 - decay);
        const sourceBuffers = new Map(this.source.namedBuffers());
        for (const [name, b] of this.model.namedBuffers()) b.copy_(sourceBuffers.get(name)!);
      }),
    );
  }

  get updates(): number {
    return this.#updates;
  }

  set updates(value: number) {
    this.#updates = value;
  }
}
