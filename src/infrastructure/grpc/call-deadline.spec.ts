import { status } from '@grpc/grpc-js';
import type { CallHandler, ExecutionContext } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { firstValueFrom, of, defer } from 'rxjs';
import { type CallLike, callerDeadlineMs, callerGaveUp, RefuseAbandonedCalls } from './call-deadline';

const NOW = 1_800_000_000_000;
const call = (deadline: Date | number, cancelled = false): CallLike => ({ cancelled, getDeadline: () => deadline });

describe('callerGaveUp', () => {
  it('is DEADLINE_EXCEEDED once the deadline passed, CANCELLED when the caller cancelled, else undefined', () => {
    expect(callerGaveUp(call(new Date(NOW - 1)), NOW)).toBe(status.DEADLINE_EXCEEDED);
    expect(callerGaveUp(call(NOW), NOW)).toBe(status.DEADLINE_EXCEEDED);
    expect(callerGaveUp(call(NOW + 1000, true), NOW)).toBe(status.CANCELLED);
    expect(callerGaveUp(call(new Date(NOW + 1000)), NOW)).toBeUndefined();
    expect(callerGaveUp(call(Number.POSITIVE_INFINITY), NOW)).toBeUndefined();
    expect(callerGaveUp(undefined, NOW)).toBeUndefined();
  });
});

describe('RefuseAbandonedCalls', () => {
  function run(c: CallLike): { handled: boolean; error: unknown } {
    let handled = false;
    const next: CallHandler = { handle: () => ((handled = true), of('reply')) };
    const ctx = { getArgByIndex: (i: number) => (i === 2 ? c : undefined) } as unknown as ExecutionContext;
    try {
      new RefuseAbandonedCalls().intercept(ctx, next).subscribe();
      return { handled, error: undefined };
    } catch (error) {
      return { handled, error };
    }
  }

  it('does no work for a call whose deadline already passed', () => {
    const { handled, error } = run(call(Date.now() - 5));
    expect(handled).toBe(false);
    expect(error).toBeInstanceOf(RpcException);
    expect((error as RpcException).getError()).toMatchObject({ code: status.DEADLINE_EXCEEDED });
  });

  it('does no work for a cancelled call', () => {
    const { handled, error } = run(call(Number.POSITIVE_INFINITY, true));
    expect(handled).toBe(false);
    expect((error as RpcException).getError()).toMatchObject({ code: status.CANCELLED });
  });

  it('lets a call with time left through', () => {
    expect(run(call(Date.now() + 10_000))).toEqual({ handled: true, error: undefined });
  });

  it('runs the handler with the caller deadline at hand, and nothing outside a call', async () => {
    const deadline = Date.now() + 10_000;
    const ctx = { getArgByIndex: (i: number) => (i === 2 ? call(deadline) : undefined) } as unknown as ExecutionContext;
    const next: CallHandler = { handle: () => defer(async () => callerDeadlineMs()) };
    expect(await firstValueFrom(new RefuseAbandonedCalls().intercept(ctx, next))).toBe(deadline);
    expect(callerDeadlineMs()).toBe(Number.POSITIVE_INFINITY);
  });
});
