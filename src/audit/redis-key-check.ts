import { setTimeout as sleep } from 'node:timers/promises';
import type { AuditOptions, AuditSources } from './audit-options';
import type { ReportDifferences } from './differences';

/** The reverse pass: accounts and reservations Redis holds that the store does not know. */
export async function checkRedisKeys(
  sources: AuditSources,
  options: AuditOptions,
  report: ReportDifferences,
): Promise<void> {
  const { postgres, redis } = sources;
  for await (const batch of redis.scan(1000)) {
    const accounts = batch.filter((k) => k.kind === 'account');
    const reservations = batch.filter((k) => k.kind === 'reservation');
    const [known, owners] = await Promise.all([
      postgres.knownAccounts(accounts.map((k) => k.id)),
      postgres.reservationAccounts(reservations.map((k) => k.id)),
    ]);
    const unknownAccounts = accounts.filter((k) => !known.has(k.id));
    const reservationFields = await redis.fields(
      reservations.map((k) => k.key),
      ['acct'],
    );
    const strays = reservations.filter((k, i) => owners.get(k.id) !== reservationFields[i]?.[0]);
    if (unknownAccounts.length === 0 && strays.length === 0) continue;
    // Opened or reserved a moment ago, not stored yet: look again after the relay's round.
    await sleep(options.recheckDelayMs);
    const knownNow = await postgres.knownAccounts(unknownAccounts.map((k) => k.id));
    const ownersNow = await postgres.reservationAccounts(strays.map((k) => k.id));
    for (const k of unknownAccounts) {
      if (knownNow.has(k.id)) continue;
      report([{ account: k.id, field: 'redis.account', detail: `${k.key} is in redis, postgres has no event of it` }]);
    }
    const strayFields = await redis.fields(
      strays.map((k) => k.key),
      ['acct'],
    );
    strays.forEach((k, i) => {
      const inRedis = strayFields[i]?.[0] ?? '(none)';
      const inStore = ownersNow.get(k.id);
      if (inStore === inRedis) return;
      report([
        {
          account: inRedis,
          field: `reservations[${k.id}]`,
          detail: inStore
            ? `redis has it on ${inRedis}, postgres on ${inStore}`
            : `in redis (${k.key}), never reserved in postgres`,
        },
      ]);
    });
  }
}
