import { accessSync, constants } from 'node:fs';
import { ConfigError } from './config-error';

/**
 * Readers of one environment variable each (unset or empty gives the default); a value that does
 * not fit throws a ConfigError naming the variable.
 */
export type Env = Readonly<Record<string, string | undefined>>;

export function text(env: Env, name: string, fallback: string): string {
  const value = env[name];
  return value === undefined || value === '' ? fallback : value;
}

export function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^[0-9]+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) {
    throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

export function oneOf(env: Env, name: string, fallback: string, allowed: readonly string[]): string {
  const value = text(env, name, fallback);
  if (!allowed.includes(value)) {
    throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${value}"`);
  }
  return value;
}

export function hostPort(env: Env, name: string, fallback: string): string {
  const value = text(env, name, fallback);
  const match = /^(.+):([0-9]{1,5})$/.exec(value);
  if (!match || Number(match[2]) > 65535) {
    throw new ConfigError(name, `must be host:port, got "${value}"`);
  }
  return value;
}

export function redisUrl(env: Env, name: string, fallback: string): string {
  const value = text(env, name, fallback);
  if (!/^rediss?:\/\/[^\s]+$/.test(value)) {
    throw new ConfigError(name, `must be a redis:// or rediss:// URL`);
  }
  return value;
}

export function brokers(env: Env, name: string, fallback: string): string[] {
  const value = text(env, name, fallback);
  const list = value.split(',').map((b) => b.trim());
  if (list.some((b) => !/^[^\s:]+:[0-9]{1,5}$/.test(b))) {
    throw new ConfigError(name, `must be a comma-separated list of host:port, got "${value}"`);
  }
  return list;
}

export function postgresUrl(env: Env, name: string, fallback: string): string {
  const value = text(env, name, fallback);
  if (!/^postgres(ql)?:\/\/[^\s]+$/.test(value)) throw new ConfigError(name, 'must be a postgres:// URL');
  return value;
}

export function flag(env: Env, name: string, fallback: boolean): boolean {
  const value = text(env, name, fallback ? 'true' : 'false');
  if (value !== 'true' && value !== 'false') throw new ConfigError(name, `must be true or false, got "${value}"`);
  return value === 'true';
}

export function assets(env: Env, name: string): string {
  const value = text(env, name, '');
  if (value !== '' && !/^[A-Z][A-Z0-9]{1,11}:[0-9]{1,2}(,[A-Z][A-Z0-9]{1,11}:[0-9]{1,2})*$/.test(value)) {
    throw new ConfigError(name, `must look like "BTC:8,USDT:6", got "${value}"`);
  }
  for (const part of value === '' ? [] : value.split(',')) {
    if (Number(part.split(':')[1]) > 18) throw new ConfigError(name, `scale of ${part} must be 0..18`);
  }
  return value;
}

/** A file the process must be able to read at start (a certificate, a key). */
export function readableFile(env: Env, name: string): string | undefined {
  const path = text(env, name, '');
  if (path === '') return undefined;
  try {
    accessSync(path, constants.R_OK);
  } catch {
    throw new ConfigError(name, `names a file that cannot be read: ${path}`);
  }
  return path;
}
