import { AccountEvent } from '../generated/ledger/v1/ledger';
import { CurrencyRegistry } from '../ledger/domain/currency';
import type { LedgerEvent } from '../ledger/domain/events';
import { ProtoMapper } from '../ledger/grpc/to-proto';
import { History } from './audit.test-support';
import { type ExpectedRecord, KafkaAudit, type TopicRecord } from './kafka-audit';

const mapper = new ProtoMapper(new CurrencyRegistry());

function expected(e: LedgerEvent): ExpectedRecord {
  return {
    accountId: e.accountId,
    version: e.version,
    type: e.type,
    traceparent: e.traceparent,
    value: mapper.event(e),
  };
}

/** The record the publisher sends for a stored event (kafka-publisher.ts). */
function published(e: LedgerEvent, offset: number, partition = 0, value = mapper.event(e)): TopicRecord {
  return {
    partition,
    offset: String(offset),
    key: e.accountId,
    headers: { 'event-id': e.eventId, 'event-type': e.type, traceparent: e.traceparent },
    value: Buffer.from(AccountEvent.encode(value).finish()),
  };
}

const events = new History('acct-k').open().deposit('d1', 500n).reserve('r1', 200n).events;

describe('KafkaAudit', () => {
  it('accepts every stored event in order, and at-least-once re-sends as duplicates', () => {
    const audit = new KafkaAudit();
    const records = [...events.map((e, i) => published(e, i)), published(events[1] as LedgerEvent, 3)];
    const differences = records.map((r, i) => audit.accept(r, expected((events[i] ?? events[1]) as LedgerEvent)));
    expect(differences.flat()).toEqual([]);
    expect({ records: audit.records, duplicates: audit.duplicates, last: audit.lastVersion('acct-k') }).toEqual({
      records: 4,
      duplicates: 1,
      last: 3,
    });
    expect(audit.completeness('acct-k', 3, false)).toEqual([]);
  });

  it('names the field of a record that differs from its stored event', () => {
    const audit = new KafkaAudit();
    const e = events[0] as LedgerEvent;
    audit.accept(published(e, 0), expected(e));
    const deposit = events[1] as LedgerEvent;
    const changed = published(deposit, 1, 0, { ...mapper.event(deposit), amount: '9.99' });
    expect(audit.accept(changed, expected(deposit))).toEqual([
      { account: 'acct-k', field: 'kafka[v2].amount', detail: 'kafka "9.99" != postgres "5.00"' },
    ]);
  });

  it('names a gap in an account stream, a stream split over partitions, and a wrong header', () => {
    const audit = new KafkaAudit();
    const [opened, deposited, reserved] = events as [LedgerEvent, LedgerEvent, LedgerEvent];
    audit.accept(published(opened, 0), expected(opened));
    expect(audit.accept(published(reserved, 1), expected(reserved)).map((d) => d.field)).toEqual(['kafka.version']);
    const moved = {
      ...published(deposited, 0, 1),
      headers: { 'event-id': deposited.eventId, 'event-type': 'X', traceparent: '' },
    };
    expect(audit.accept(moved, expected(deposited)).map((d) => d.field)).toEqual([
      'kafka[v2].headers.event-type',
      'kafka.partition',
    ]);
  });

  it('names a record the store does not hold, and one that does not decode', () => {
    const audit = new KafkaAudit();
    expect(audit.accept(published(events[0] as LedgerEvent, 0), undefined)).toEqual([
      { account: 'acct-k', field: 'kafka[0/0].event_id', detail: expect.stringContaining('not in postgres') },
    ]);
    const garbage = { ...published(events[0] as LedgerEvent, 1), value: Buffer.from([0xff, 0xff, 0xff]) };
    expect(KafkaAudit.eventIdOf(garbage)).toBeUndefined();
    expect(audit.accept(garbage, undefined).map((d) => d.field)).toEqual(['kafka[0/1]']);
  });

  it('completeness: a stream short of the stored version is a difference unless the next event is still queued', () => {
    const audit = new KafkaAudit();
    audit.accept(published(events[0] as LedgerEvent, 0), expected(events[0] as LedgerEvent));
    expect(audit.completeness('acct-k', 3, true)).toEqual([]);
    expect(audit.completeness('acct-k', 3, false)).toEqual([
      { account: 'acct-k', field: 'kafka.version', detail: expect.stringContaining('kafka reaches v1, postgres v3') },
    ]);
  });
});
