import type { ProtoMapper } from '../ledger/grpc/to-proto';
import { eventOfRow, type EventRow } from '../infrastructure/postgres/event-rows';
import type { AuditOptions, AuditSources } from './audit-options';
import type { ReportDifferences } from './differences';
import { type ExpectedRecord, KafkaAudit } from './kafka-audit';

/**
 * The topic against the store, then every account's stream against its stored version.
 * `storedEvents` is what the forward pass read: a missing topic is a difference only then.
 */
export async function checkKafka(
  sources: AuditSources,
  options: AuditOptions,
  report: ReportDifferences,
  storedEvents: number,
): Promise<{ records: number; duplicates: number }> {
  const { postgres, readTopic } = sources;
  if (!readTopic) throw new Error('a Kafka check was asked for without a topic reader');
  const audit = new KafkaAudit();
  const exists = await readTopic(async (records) => {
    const ids = records.map(KafkaAudit.eventIdOf).filter((id): id is string => id !== undefined);
    const stored = await postgres.eventsById([...new Set(ids)]);
    for (const record of records) {
      const id = KafkaAudit.eventIdOf(record);
      const row = id === undefined ? undefined : stored.get(id);
      let expected: ExpectedRecord | undefined;
      try {
        expected = row && expectedRecord(row, sources.mapper);
      } catch (error) {
        // e.g. a currency this audit's LEDGER_EXTRA_ASSETS does not know
        const detail = `cannot build the expected record: ${error instanceof Error ? error.message : String(error)}`;
        report([{ account: row?.account_id ?? record.key, field: `kafka[v${row?.version}]`, detail }]);
        continue;
      }
      report(audit.accept(record, expected));
    }
  });
  for await (const page of postgres.maxVersions(options.pageSize)) {
    const behind = page.filter((a) => audit.lastVersion(a.accountId) < a.version);
    const queued = await postgres.queued(
      behind.map((a) => ({ accountId: a.accountId, version: audit.lastVersion(a.accountId) + 1 })),
    );
    for (const a of behind) {
      const next = audit.lastVersion(a.accountId) + 1;
      report(audit.completeness(a.accountId, a.version, queued.has(`${a.accountId}|${next}`)));
    }
  }
  if (!exists && storedEvents > 0) {
    report([{ account: '(all)', field: 'kafka.topic', detail: 'the topic does not exist; postgres holds events' }]);
  }
  return { records: audit.records, duplicates: audit.duplicates };
}

function expectedRecord(row: EventRow, mapper: ProtoMapper): ExpectedRecord {
  const event = eventOfRow(row);
  return {
    accountId: event.accountId,
    version: event.version,
    type: event.type,
    traceparent: event.traceparent,
    value: mapper.event(event),
  };
}
