import { AsyncLocalStorage } from 'node:async_hooks';
import { status } from '@grpc/grpc-js';
import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { Observable } from 'rxjs';

const deadlines = new AsyncLocalStorage<number>();

/**
 * Epoch ms of the current gRPC call's deadline (Infinity outside a call or without one), for
 * waits inside the call to stop when the caller stops waiting (e.g. the durable acknowledgement).
 */
export function callerDeadlineMs(): number {
  return deadlines.getStore() ?? Number.POSITIVE_INFINITY;
}

/** What the interceptors read of a grpc-js server call. */
export interface CallLike {
  cancelled?: boolean;
  getDeadline?: () => Date | number;
}

/** Epoch ms of the caller's deadline (Infinity: none). */
export function deadlineMs(call: CallLike | undefined): number {
  const deadline = call?.getDeadline?.();
  if (deadline === undefined) return Number.POSITIVE_INFINITY;
  return deadline instanceof Date ? deadline.getTime() : deadline;
}

/**
 * How the caller saw the call end, if it went away before our answer: DEADLINE_EXCEEDED when its
 * deadline passed, CANCELLED when it gave up itself; undefined while it still waits.
 */
export function callerGaveUp(call: CallLike | undefined, nowMs: number = Date.now()): status | undefined {
  if (deadlineMs(call) <= nowMs) return status.DEADLINE_EXCEEDED;
  if (call?.cancelled === true) return status.CANCELLED;
  return undefined;
}

/**
 * A call whose caller already gave up (its deadline passed while it queued, or it cancelled)
 * does no work at all, so it cannot apply a change nobody will see answered. (The change of a
 * call whose deadline passes later is still applied: retrying with the same id is the contract.)
 */
export function refuseIfAbandoned(call: CallLike | undefined): void {
  const code = callerGaveUp(call);
  if (code !== undefined) {
    const message = `${status[code]}: the caller gave up before the call started; nothing was done`;
    throw new RpcException({ code, message, details: message });
  }
}

/** Runs `work` with the call's deadline at hand (callerDeadlineMs). */
export function withCallerDeadline<T>(call: CallLike | undefined, work: () => T): T {
  const deadline = deadlineMs(call);
  return deadline === Number.POSITIVE_INFINITY ? work() : deadlines.run(deadline, work);
}

/**
 * The controller's first interceptor: refuseIfAbandoned, then the handler runs with its deadline
 * in callerDeadlineMs().
 */
@Injectable()
export class RefuseAbandonedCalls implements NestInterceptor {
  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    const call = ctx.getArgByIndex<CallLike | undefined>(2);
    refuseIfAbandoned(call);
    return new Observable((subscriber) => withCallerDeadline(call, () => next.handle().subscribe(subscriber)));
  }
}
