import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Redis from 'ioredis';
import { CoalescedWrites } from './coalesced-writes';

export const SCRIPT_NAMES = [
  'claim',
  'open_account',
  'deposit',
  'withdraw',
  'transfer',
  'reserve',
  'amend_reservation',
  'commit_reservation',
  'release_reservation',
  'expire_reservation',
  'change_account_status',
  'restore_account',
] as const;

export type ScriptName = (typeof SCRIPT_NAMES)[number];

/**
 * Scripts keyed by a client id: loaded wrapped in lua/lib/idempotent.lua, which claims the id,
 * checks the id filter and runs the script in one atomic call (see IdempotentCall).
 */
export const IDEMPOTENT_SCRIPTS: ReadonlySet<ScriptName> = new Set<ScriptName>([
  'open_account',
  'deposit',
  'withdraw',
  'transfer',
  'reserve',
  'amend_reservation',
  'commit_reservation',
]);

/**
 * What the scripts tell an observer (metrics and traces, src/infrastructure/observability):
 * `sent` as an EVALSHA goes out, returning the call to settle once with its reply or its error;
 * `reloaded` when Redis answered NOSCRIPT and the script is loaded again.
 */
export interface ScriptCall {
  replied(reply: unknown): void;
  failed(error: unknown): void;
}

export interface ScriptObserver {
  sent(script: ScriptName): ScriptCall;
  reloaded(script: ScriptName): void;
}

const UNOBSERVED_CALL: ScriptCall = { replied: () => undefined, failed: () => undefined };

export const UNOBSERVED_SCRIPTS: ScriptObserver = {
  sent: () => UNOBSERVED_CALL,
  reloaded: () => undefined,
};

interface LoadedScript {
  readonly source: string;
  readonly sha: string;
}

/** lua/ beside package.json, from src/ (ts-jest) or dist/src/ (built) alike. */
export function luaDirectory(): string {
  const candidates = [join(__dirname, '../../../lua'), join(__dirname, '../../../../lua')];
  for (const dir of candidates) {
    try {
      readFileSync(join(dir, 'lib/prelude.lua'));
      return dir;
    } catch {
      // try the next layout
    }
  }
  throw new Error(`lua/ directory not found near ${__dirname}`);
}

/**
 * The Lua scripts under lua/, each prefixed with lua/lib/prelude.lua (and the idempotent ones
 * wrapped in lua/lib/idempotent.lua), read once at start.
 * Calls go by EVALSHA; a NOSCRIPT reply (Redis restarted or flushed its script cache) loads the
 * script again and retries once.
 */
export class LuaScripts {
  private readonly scripts: ReadonlyMap<ScriptName, LoadedScript>;
  private readonly writes: CoalescedWrites;

  constructor(
    private readonly redis: Redis,
    dir: string = luaDirectory(),
    private readonly observer: ScriptObserver = UNOBSERVED_SCRIPTS,
  ) {
    const prelude = readFileSync(join(dir, 'lib/prelude.lua'), 'utf8');
    const idempotent = readFileSync(join(dir, 'lib/idempotent.lua'), 'utf8');
    const scripts = new Map<ScriptName, LoadedScript>();
    for (const name of SCRIPT_NAMES) {
      const body = readFileSync(join(dir, `${name}.lua`), 'utf8');
      // The wrapped script's `return`s return from body(); the wrapper then decides.
      const source = IDEMPOTENT_SCRIPTS.has(name)
        ? `${prelude}\nlocal function body()\n${body}\nend\n${idempotent}`
        : `${prelude}\n${body}`;
      scripts.set(name, { source, sha: createHash('sha1').update(source).digest('hex') });
    }
    this.scripts = scripts;
    this.writes = new CoalescedWrites(redis);
  }

  /** Loads every script into Redis (best effort at start; EVALSHA reloads on NOSCRIPT anyway). */
  async loadAll(): Promise<void> {
    for (const script of this.scripts.values()) {
      await this.redis.script('LOAD', script.source);
    }
  }

  async run(name: ScriptName, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    const script = this.scripts.get(name);
    if (!script) throw new Error(`unknown script ${name}`);
    const call = this.observer.sent(name);
    try {
      const reply = await this.evalsha(name, script, keys, args);
      call.replied(reply);
      return reply;
    } catch (error) {
      call.failed(error);
      throw error;
    }
  }

  private async evalsha(
    name: ScriptName,
    script: LoadedScript,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown> {
    try {
      this.writes.hold();
      return await this.redis.evalsha(script.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      this.observer.reloaded(name);
      await this.redis.script('LOAD', script.source);
      return this.redis.evalsha(script.sha, keys.length, ...keys, ...args);
    }
  }
}
