/**
 * The steps every command goes through, timed and traced one by one (the seed asks to see where
 * a slow call spends its time: validation, money parsing, key formatting, the repository call,
 * the reply). Handlers run each step through `run`; the gRPC controller runs the whole command
 * (handler and reply mapping) through `command`. The observability layer provides the
 * implementation that records a span per command and per step and a histogram sample per step.
 */
export type StepName = 'validate' | 'parse-money' | 'repository' | 'to-response';

export abstract class CommandSteps {
  abstract run<T>(command: string, step: StepName, work: () => T): T;
  abstract command<T>(command: string, work: () => Promise<T>): Promise<T>;
}

/** No recording at all: for unit tests and tools that build handlers without telemetry. */
export class UntimedSteps extends CommandSteps {
  run<T>(_command: string, _step: StepName, work: () => T): T {
    return work();
  }

  command<T>(_command: string, work: () => Promise<T>): Promise<T> {
    return work();
  }
}
