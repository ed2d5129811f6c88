import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import { context, type Span, SpanKind, trace } from '@opentelemetry/api';
import { CommandSteps, type StepName } from '../../ledger/commands/shared/command-steps';
import { LedgerError } from '../../ledger/domain/errors';
import type { FastHistogramChild } from './fast-metrics';
import type { LedgerMetrics } from './ledger-metrics';
import { recordFailure, type Tracing } from './tracing';

/**
 * What the repository step has spent so far outside its I/O: the store formats keys, hashes the
 * parameters and builds the argument list before each EVALSHA. The step opens one of these; the
 * Redis and Postgres observers report each call they see leave and return. Time during which no
 * call is in flight, from the step's start to its last call's reply, is recorded as step
 * "format-keys" (concurrent calls, e.g. a Redis claim beside a Postgres lookup, count once).
 */
interface RepositoryTiming {
  /** end of the last known I/O (or the step's start) */
  mark: number;
  preparingMs: number;
  remoteCalls: number;
  inFlight: number;
}

const repositoryTimings = new AsyncLocalStorage<RepositoryTiming>();

/** A Redis or Postgres call leaves: closes the current "preparing" interval of the enclosing repository step. */
export function noteRemoteCallStart(now: number): void {
  const timing = repositoryTimings.getStore();
  if (!timing) return;
  if (timing.inFlight === 0 && now > timing.mark) timing.preparingMs += now - timing.mark;
  timing.inFlight++;
  timing.remoteCalls++;
}

/** Its reply arrived: the next "preparing" interval starts once no call is in flight. */
export function noteRemoteCallEnd(now: number): void {
  const timing = repositoryTimings.getStore();
  if (!timing) return;
  timing.inFlight = Math.max(0, timing.inFlight - 1);
  timing.mark = Math.max(timing.mark, now);
}

/** A call timed by its caller and reported once done: both ends at once. */
export function noteRemoteCall(start: number, end: number): void {
  const timing = repositoryTimings.getStore();
  if (!timing) return;
  if (timing.inFlight === 0 && start > timing.mark) timing.preparingMs += start - timing.mark;
  timing.remoteCalls++;
  timing.mark = Math.max(timing.mark, end);
}

/** A reason code for any error: the contract's ErrorReason, or INTERNAL for a bug. */
export function reasonOf(error: unknown): string {
  return error instanceof LedgerError ? error.reason : 'INTERNAL';
}

/** Reasons that are the system's fault, not the caller's: logged at error, span with the exception. */
export function isFault(error: unknown): boolean {
  if (!(error instanceof LedgerError)) return true;
  return error.reason === 'DEPENDENCY_UNAVAILABLE' || error.reason === 'OVERLOADED';
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

/**
 * The CommandSteps the service runs with: a histogram sample per step
 * (ledger_command_step_seconds{command, step}) and, under a sampled call, a span per command and
 * per step: `ReserveFunds` > `validate`, `parse-money`, [the Redis spans], `to-response`. The
 * repository step has no span of its own (its Redis calls are the command's children) but is
 * timed, and the time it spends before its Redis calls is recorded as step "format-keys".
 */
export class TimedSteps extends CommandSteps {
  /** command -> step -> histogram child, resolved once */
  private readonly children = new Map<string, Map<string, FastHistogramChild>>();

  constructor(
    private readonly metrics: LedgerMetrics,
    private readonly tracing: Tracing,
  ) {
    super();
  }

  private child(command: string, step: string): FastHistogramChild {
    let steps = this.children.get(command);
    if (!steps) {
      steps = new Map();
      this.children.set(command, steps);
    }
    let child = steps.get(step);
    if (!child) {
      child = this.metrics.commandStepSeconds.labels(command, step);
      steps.set(step, child);
    }
    return child;
  }

  command<T>(command: string, work: () => Promise<T>): Promise<T> {
    const parent = this.tracing.parentIfRecording();
    if (!parent) return work();
    const active = context.active();
    const span = this.tracing.tracer.startSpan(
      command,
      { kind: SpanKind.INTERNAL, attributes: { 'ledger.command': command } },
      active,
    );
    return context.with(trace.setSpan(active, span), work).then(
      (result) => {
        span.end();
        return result;
      },
      (error: unknown) => {
        recordFailure(span, reasonOf(error), error, isFault(error));
        span.end();
        throw error;
      },
    );
  }

  run<T>(command: string, step: StepName, work: () => T): T {
    if (step === 'repository') return this.repository(command, work);
    const child = this.child(command, step);
    const span = this.tracing.parentIfRecording() ? this.tracing.tracer.startSpan(step) : undefined;
    const start = performance.now();
    let result: T;
    try {
      result = work();
    } catch (error) {
      endStep(child, start, span, error);
      throw error;
    }
    if (!isPromiseLike(result)) {
      endStep(child, start, span, NO_ERROR);
      return result;
    }
    return result.then(
      (value) => {
        endStep(child, start, span, NO_ERROR);
        return value;
      },
      (error: unknown) => {
        endStep(child, start, span, error);
        throw error;
      },
    ) as T;
  }

  private repository<T>(command: string, work: () => T): T {
    const repository = this.child(command, 'repository');
    const formatKeys = this.child(command, 'format-keys');
    const start = performance.now();
    const timing: RepositoryTiming = { mark: start, preparingMs: 0, remoteCalls: 0, inFlight: 0 };
    let result: T;
    try {
      result = repositoryTimings.run(timing, work);
    } catch (error) {
      endRepository(repository, formatKeys, start, timing);
      throw error;
    }
    if (!isPromiseLike(result)) {
      endRepository(repository, formatKeys, start, timing);
      return result;
    }
    return result.then(
      (value) => {
        endRepository(repository, formatKeys, start, timing);
        return value;
      },
      (error: unknown) => {
        endRepository(repository, formatKeys, start, timing);
        throw error;
      },
    ) as T;
  }
}

const NO_ERROR = Symbol('no error');

function endStep(child: FastHistogramChild, start: number, span: Span | undefined, error: unknown): void {
  child.observe((performance.now() - start) / 1000);
  if (!span) return;
  if (error !== NO_ERROR) recordFailure(span, reasonOf(error), error, isFault(error));
  span.end();
}

function endRepository(
  repository: FastHistogramChild,
  formatKeys: FastHistogramChild,
  start: number,
  timing: RepositoryTiming,
): void {
  repository.observe((performance.now() - start) / 1000);
  if (timing.remoteCalls > 0) formatKeys.observe(timing.preparingMs / 1000);
}
