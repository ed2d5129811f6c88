import { performance } from 'node:perf_hooks';
import { type Span, SpanKind } from '@opentelemetry/api';
import type Redis from 'ioredis';
import { isErrorReason } from '../../ledger/domain/errors';
import { IDEMPOTENT_SCRIPTS, type ScriptCall, type ScriptName, type ScriptObserver } from '../redis/lua-scripts';
import { RedisKeys } from '../redis/redis-keys';
import type { LedgerMetrics } from './ledger-metrics';
import { noteRemoteCallEnd, noteRemoteCallStart } from './timed-steps';
import { recordFailure, type Tracing } from './tracing';

/** ioredis connection states, exported one-hot as ledger_redis_connection_state{state}. */
const CONNECTION_STATES = ['wait', 'connecting', 'connect', 'ready', 'reconnecting', 'close', 'end'] as const;

/** Replies with which a reachable Redis says it cannot serve right now (as in redis-errors.ts). */
const UNAVAILABLE_REPLIES = ['OOM', 'BUSY', 'LOADING', 'MASTERDOWN', 'TRYAGAIN', 'CLUSTERDOWN', 'READONLY'];

/** A bounded reason for a failed Redis call: timeout, connection, unavailable, noscript, script_error, other. */
export function classifyRedisError(error: unknown): string {
  if (!(error instanceof Error)) return 'other';
  const message = error.message;
  if (/timed? ?out/i.test(message)) return 'timeout';
  if (error.name === 'ReplyError') {
    if (message.startsWith('NOSCRIPT')) return 'noscript';
    if (UNAVAILABLE_REPLIES.some((prefix) => message.startsWith(prefix))) return 'unavailable';
    return 'script_error';
  }
  if (/connection|writeable|ECONNREFUSED|ECONNRESET|EPIPE|ENOTFOUND|EHOSTUNREACH|closed/i.test(message)) {
    return 'connection';
  }
  return 'other';
}

/** The business reject a script replied with ({REASON, detail}), or undefined for OK/REPLAY/CHECK_PRIOR. */
export function scriptReject(reply: unknown): string | undefined {
  if (!Array.isArray(reply) || typeof reply[0] !== 'string') return undefined;
  const status = reply[0];
  // CHECK_PRIOR: the id filter asks for an event store lookup first (lua/lib/idempotent.lua).
  if (status === 'OK' || status === 'REPLAY' || status === 'CHECK_PRIOR') return undefined;
  return isErrorReason(status) ? status : 'UNKNOWN';
}

const UNOBSERVED_CALL: ScriptCall = { replied: () => undefined, failed: () => undefined };

interface ScriptInstruments {
  observe(seconds: number): void;
}

interface RedisSnapshot {
  cpuUser: number;
  cpuSys: number;
  activeReservations: number;
  pendingEvents: number;
  oldestPendingMs: number | undefined;
}

/**
 * Everything measured about Redis: the EVALSHA round trip, rejects and faults of each script,
 * NOSCRIPT reloads and a `redis.evalsha <script>` span per call (LuaScripts calls `sent`); the
 * hot-path connection's state, reconnects and queue depth; and, sampled when Prometheus scrapes,
 * the server's CPU (INFO cpu), the reservations with a TTL (ZCARD of the expiry indexes) and the
 * outbox backlog (XLEN and the oldest entry of each bucket's stream).
 */
export class RedisTelemetry implements ScriptObserver {
  private readonly scripts = new Map<ScriptName, ScriptInstruments>();
  private snapshot: { at: number; value: Promise<RedisSnapshot | undefined> } | undefined;

  constructor(
    private readonly metrics: LedgerMetrics,
    private readonly tracing: Tracing,
    /** false: LEDGER_TELEMETRY=off, nothing recorded per call */
    private readonly perCall: boolean,
  ) {
    // Exported at 0 from the start, so that a rate() over it is defined before the first lookup.
    for (const script of IDEMPOTENT_SCRIPTS) this.metrics.idFilterStoreLookups.labels(script);
  }

  private instruments(script: ScriptName): ScriptInstruments {
    let instruments = this.scripts.get(script);
    if (!instruments) {
      const seconds = this.metrics.redisScriptSeconds.labels(script);
      instruments = { observe: (s) => seconds.observe(s) };
      this.scripts.set(script, instruments);
    }
    return instruments;
  }

  sent(script: ScriptName): ScriptCall {
    if (!this.perCall) return UNOBSERVED_CALL;
    const start = performance.now();
    noteRemoteCallStart(start);
    const instruments = this.instruments(script);
    const parent = this.tracing.parentIfRecording();
    const span: Span | undefined = parent
      ? this.tracing.tracer.startSpan(`redis.evalsha ${script}`, {
          kind: SpanKind.CLIENT,
          attributes: {
            'db.system.name': 'redis',
            'db.operation.name': 'EVALSHA',
            'ledger.script': script,
          },
        })
      : undefined;
    const end = (): void => {
      const now = performance.now();
      noteRemoteCallEnd(now);
      instruments.observe((now - start) / 1000);
    };
    return {
      replied: (reply) => {
        end();
        const reject = scriptReject(reply);
        if (Array.isArray(reply) && reply[0] === 'CHECK_PRIOR') this.metrics.idFilterStoreLookups.labels(script).inc();
        if (reject !== undefined) {
          this.metrics.redisScriptFailures.labels(script, 'reject', reject).inc();
          span?.setAttribute('ledger.script.status', reject);
        } else if (span) {
          span.setAttribute('ledger.script.status', Array.isArray(reply) ? String(reply[0]) : 'OK');
        }
        span?.end();
      },
      failed: (error) => {
        end();
        const reason = classifyRedisError(error);
        this.metrics.redisScriptFailures.labels(script, 'error', reason).inc();
        if (span) {
          recordFailure(span, reason, error, true);
          span.end();
        }
      },
    };
  }

  reloaded(script: ScriptName): void {
    this.metrics.redisNoscriptReloads.labels(script).inc();
  }

  expired(count: number): void {
    if (count > 0) this.metrics.expiries.inc(count);
  }

  sweepFailed(): void {
    this.metrics.expirySweepFailures.inc();
  }

  /** Watches the hot-path connection and samples the server at scrape time. */
  observeClient(redis: Redis, buckets: number): void {
    const m = this.metrics;
    redis.on('reconnecting', () => m.redisReconnects.inc());
    m.addSampler(m.redisConnectionState, () => {
      for (const state of CONNECTION_STATES) m.redisConnectionState.set({ state }, redis.status === state ? 1 : 0);
    });
    m.addSampler(m.redisCommandQueueDepth, () => m.redisCommandQueueDepth.set(redis.commandQueue.length));
    const keys = new RedisKeys(buckets);
    const sample = (): Promise<RedisSnapshot | undefined> => {
      // One round of commands serves every metric of one scrape.
      const now = Date.now();
      if (!this.snapshot || now - this.snapshot.at > 500) {
        this.snapshot = { at: now, value: this.sampleServer(redis, keys, buckets) };
      }
      return this.snapshot.value;
    };
    m.addSampler(m.redisServerCpuSeconds, async () => {
      const s = await sample();
      if (!s) return;
      m.redisServerCpuSeconds.reset();
      m.redisServerCpuSeconds.inc({ mode: 'user' }, s.cpuUser);
      m.redisServerCpuSeconds.inc({ mode: 'sys' }, s.cpuSys);
    });
    m.addSampler(m.activeReservations, async () => {
      const s = await sample();
      if (s) m.activeReservations.set(s.activeReservations);
    });
    m.addSampler(m.outboxPending, async () => {
      const s = await sample();
      if (s) m.outboxPending.set({ store: 'redis' }, s.pendingEvents);
    });
    m.addSampler(m.outboxOldestSeconds, async () => {
      const s = await sample();
      if (!s) return;
      const age = s.oldestPendingMs === undefined ? 0 : Math.max(0, Date.now() - s.oldestPendingMs) / 1000;
      m.outboxOldestSeconds.set({ store: 'redis' }, age);
    });
  }

  private async sampleServer(redis: Redis, keys: RedisKeys, buckets: number): Promise<RedisSnapshot | undefined> {
    if (redis.status !== 'ready') return undefined;
    const first = redis.pipeline();
    first.info('cpu');
    for (let b = 0; b < buckets; b++) {
      first.zcard(keys.expiryIndexOfBucket(b));
      first.xlen(keys.outboxOfBucket(b));
    }
    const replies = (await first.exec()) ?? [];
    const failed = replies.find(([error]) => error);
    if (failed) throw failed[0];
    const info = String(replies[0]?.[1] ?? '');
    const field = (name: string): number => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)?.[1] ?? 0);
    let activeReservations = 0;
    let pendingEvents = 0;
    const backlogged: number[] = [];
    for (let b = 0; b < buckets; b++) {
      activeReservations += Number(replies[1 + 2 * b]?.[1] ?? 0);
      const length = Number(replies[2 + 2 * b]?.[1] ?? 0);
      pendingEvents += length;
      if (length > 0) backlogged.push(b);
    }
    let oldestPendingMs: number | undefined;
    if (backlogged.length > 0) {
      const second = redis.pipeline();
      for (const b of backlogged) second.xrange(keys.outboxOfBucket(b), '-', '+', 'COUNT', 1);
      for (const [error, entries] of (await second.exec()) ?? []) {
        if (error) throw error;
        const id = (entries as [string, string[]][])[0]?.[0];
        const ms = id === undefined ? NaN : Number(id.slice(0, id.indexOf('-')));
        if (Number.isFinite(ms) && (oldestPendingMs === undefined || ms < oldestPendingMs)) oldestPendingMs = ms;
      }
    }
    return {
      cpuUser: field('used_cpu_user'),
      cpuSys: field('used_cpu_sys'),
      activeReservations,
      pendingEvents,
      oldestPendingMs,
    };
  }
}
