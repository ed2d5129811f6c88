import {
  type AccountState,
  type ReservationState,
  applyEvent,
  available,
  cloneAccountState,
  foldEvents,
  remaining,
} from './account';
import type { EventDetails, EventType, LedgerEvent } from './events';

const ACCT = 'acct-1';

/** One hand-written event; balanceAfter/heldAfter are spelled out by each test. */
function ev(
  version: number,
  type: EventType,
  amount: bigint,
  balanceAfter: bigint,
  heldAfter: bigint,
  extra: Partial<LedgerEvent> & { details?: EventDetails } = {},
): LedgerEvent {
  return {
    eventId: `evt-${version}`,
    accountId: ACCT,
    version,
    type,
    occurredAtMs: 1_700_000_000_000 + version,
    currency: 'USD',
    amount,
    balanceAfter,
    heldAfter,
    referenceId: `ref-${version}`,
    reservationId: '',
    counterpartyAccountId: '',
    metadata: {},
    details: {},
    traceparent: '',
    idempotencyKey: `k:${version}`,
    ...extra,
  };
}

const open = (details: EventDetails = {}, metadata: Record<string, string> = {}): LedgerEvent =>
  ev(1, 'ACCOUNT_OPENED', 0n, 0n, 0n, { details, metadata });

function fold(events: LedgerEvent[], from?: AccountState): AccountState {
  const s = foldEvents(events, from);
  if (s === undefined) throw new Error('no state');
  return s;
}

function reservation(s: AccountState, id: string): ReservationState {
  const r = s.reservations.get(id);
  if (r === undefined) throw new Error(`no reservation ${id}`);
  return r;
}

/** Folding one event at a time with applyEvent must give the same result as foldEvents. */
function foldStepwise(events: LedgerEvent[]): AccountState | undefined {
  let s: AccountState | undefined;
  for (const e of events) s = applyEvent(s, e);
  return s;
}

describe('ACCOUNT_OPENED', () => {
  it('starts an OPEN account with zero balance and the event facts', () => {
    const s = fold([open({ overdraftLimit: 5000n }, { owner: 'alice' })]);
    expect(s).toEqual<AccountState>({
      accountId: ACCT,
      currency: 'USD',
      status: 'OPEN',
      balance: 0n,
      held: 0n,
      overdraftLimit: 5000n,
      version: 1,
      openedAtMs: 1_700_000_000_001,
      metadata: { owner: 'alice' },
      reservations: new Map(),
    });
  });

  it('defaults the overdraft limit to 0', () => {
    expect(fold([open()]).overdraftLimit).toBe(0n);
  });

  it('copies the metadata instead of aliasing the event', () => {
    const e = open({}, { a: '1' });
    const s = fold([e]);
    e.metadata['a'] = 'changed';
    expect(s.metadata).toEqual({ a: '1' });
  });

  it('is refused twice', () => {
    expect(() => fold([open(), ev(2, 'ACCOUNT_OPENED', 0n, 0n, 0n)])).toThrow(/already open/);
  });
});

describe('cash movements', () => {
  it('deposits, withdrawals and transfers move the balance', () => {
    const s = fold([
      open(),
      ev(2, 'FUNDS_DEPOSITED', 10_000n, 10_000n, 0n),
      ev(3, 'FUNDS_WITHDRAWN', 2_500n, 7_500n, 0n),
      ev(4, 'TRANSFER_DEBITED', 1_000n, 6_500n, 0n, { counterpartyAccountId: 'acct-2' }),
      ev(5, 'TRANSFER_CREDITED', 300n, 6_800n, 0n, { counterpartyAccountId: 'acct-3' }),
    ]);
    expect(s.balance).toBe(6_800n);
    expect(s.held).toBe(0n);
    expect(available(s)).toBe(6_800n);
    expect(s.version).toBe(5);
  });

  it('may go negative under an overdraft (the fold replays what the scripts decided)', () => {
    const s = fold([open({ overdraftLimit: 1_000n }), ev(2, 'FUNDS_WITHDRAWN', 700n, -700n, 0n)]);
    expect(s.balance).toBe(-700n);
    expect(available(s)).toBe(-700n);
  });

  it.each<[EventType, bigint]>([
    ['FUNDS_DEPOSITED', 0n],
    ['FUNDS_WITHDRAWN', 0n],
    ['TRANSFER_CREDITED', -5n],
    ['TRANSFER_DEBITED', 0n],
  ])('refuses %s with amount %s', (type, amount) => {
    expect(() => fold([open(), ev(2, type, amount, amount, 0n)])).toThrow(/must be positive/);
  });
});

describe('reservations', () => {
  it('reserve, partial commits, final commit with a release of the rest', () => {
    const events = [
      open(),
      ev(2, 'FUNDS_DEPOSITED', 10_000n, 10_000n, 0n),
      ev(3, 'FUNDS_RESERVED', 4_000n, 10_000n, 4_000n, {
        reservationId: 'r1',
        details: { orderId: 'ord-9', expiresAtMs: 1_700_000_060_000 },
      }),
    ];
    let s = fold(events);
    expect(reservation(s, 'r1')).toEqual<ReservationState>({
      reservationId: 'r1',
      accountId: ACCT,
      currency: 'USD',
      amount: 4_000n,
      committed: 0n,
      status: 'ACTIVE',
      orderId: 'ord-9',
      expiresAtMs: 1_700_000_060_000,
      accountVersion: 3,
    });
    expect(available(s)).toBe(6_000n);
    expect(remaining(reservation(s, 'r1'))).toBe(4_000n);

    events.push(ev(4, 'RESERVATION_COMMITTED', 1_000n, 9_000n, 3_000n, { reservationId: 'r1' }));
    events.push(ev(5, 'RESERVATION_COMMITTED', 1_500n, 7_500n, 1_500n, { reservationId: 'r1' }));
    s = fold(events);
    expect(reservation(s, 'r1')).toMatchObject({ committed: 2_500n, status: 'ACTIVE', accountVersion: 5 });
    expect(remaining(reservation(s, 'r1'))).toBe(1_500n);
    expect(available(s)).toBe(6_000n);

    events.push(
      ev(6, 'RESERVATION_COMMITTED', 500n, 7_000n, 1_000n, { reservationId: 'r1', details: { final: true } }),
    );
    events.push(ev(7, 'RESERVATION_RELEASED', 1_000n, 7_000n, 0n, { reservationId: 'r1' }));
    s = fold(events);
    expect(reservation(s, 'r1')).toMatchObject({
      amount: 4_000n,
      committed: 3_000n,
      status: 'RELEASED',
      accountVersion: 7,
    });
    expect(remaining(reservation(s, 'r1'))).toBe(0n);
    expect(s).toMatchObject({ balance: 7_000n, held: 0n, version: 7 });
    expect(foldStepwise(events)).toEqual(s);
  });

  it('a commit of the whole remainder marks the reservation COMMITTED', () => {
    const s = fold([
      open(),
      ev(2, 'FUNDS_DEPOSITED', 500n, 500n, 0n),
      ev(3, 'FUNDS_RESERVED', 300n, 500n, 300n, { reservationId: 'r1' }),
      ev(4, 'RESERVATION_COMMITTED', 100n, 400n, 200n, { reservationId: 'r1' }),
      ev(5, 'RESERVATION_COMMITTED', 200n, 200n, 0n, { reservationId: 'r1' }),
    ]);
    expect(reservation(s, 'r1')).toMatchObject({ committed: 300n, status: 'COMMITTED', accountVersion: 5 });
    expect(remaining(reservation(s, 'r1'))).toBe(0n);
    expect(s.held).toBe(0n);
  });

  it('defaults orderId to "" and expiresAtMs to 0 (never)', () => {
    const s = fold([
      open(),
      ev(2, 'FUNDS_DEPOSITED', 10n, 10n, 0n),
      ev(3, 'FUNDS_RESERVED', 5n, 10n, 5n, { reservationId: 'r' }),
    ]);
    expect(reservation(s, 'r')).toMatchObject({ orderId: '', expiresAtMs: 0 });
  });

  it('expiry gives back the remainder with status EXPIRED', () => {
    const s = fold([
      open(),
      ev(2, 'FUNDS_DEPOSITED', 1_000n, 1_000n, 0n),
      ev(3, 'FUNDS_RESERVED', 600n, 1_000n, 600n, { reservationId: 'r1', details: { expiresAtMs: 5 } }),
      ev(4, 'RESERVATION_COMMITTED', 100n, 900n, 500n, { reservationId: 'r1' }),
      ev(5, 'RESERVATION_EXPIRED', 500n, 900n, 0n, { reservationId: 'r1' }),
    ]);
    expect(reservation(s, 'r1')).toMatchObject({ status: 'EXPIRED', committed: 100n, accountVersion: 5 });
    expect(s.held).toBe(0n);
    expect(available(s)).toBe(900n);
  });

  it('amends up and down; held follows the new size', () => {
    const events = [
      open(),
      ev(2, 'FUNDS_DEPOSITED', 1_000n, 1_000n, 0n),
      ev(3, 'FUNDS_RESERVED', 400n, 1_000n, 400n, { reservationId: 'r1' }),
      ev(4, 'RESERVATION_AMENDED', 700n, 1_000n, 700n, { reservationId: 'r1', details: { newAmount: 700n } }),
      ev(5, 'RESERVATION_COMMITTED', 200n, 800n, 500n, { reservationId: 'r1' }),
      ev(6, 'RESERVATION_AMENDED', 250n, 800n, 50n, { reservationId: 'r1', details: { newAmount: 250n } }),
    ];
    const s = fold(events);
    expect(reservation(s, 'r1')).toMatchObject({ amount: 250n, committed: 200n, status: 'ACTIVE', accountVersion: 6 });
    expect(remaining(reservation(s, 'r1'))).toBe(50n);
    expect(s.held).toBe(50n);
    expect(available(s)).toBe(750n);
    // amend without details.newAmount is fine too
    const s2 = fold([...events, ev(7, 'RESERVATION_AMENDED', 300n, 800n, 100n, { reservationId: 'r1' })]);
    expect(reservation(s2, 'r1').amount).toBe(300n);
  });

  it('amending down to exactly the committed amount leaves nothing held and completes the hold', () => {
    const history = [
      open(),
      ev(2, 'FUNDS_DEPOSITED', 1_000n, 1_000n, 0n),
      ev(3, 'FUNDS_RESERVED', 400n, 1_000n, 400n, { reservationId: 'r1' }),
      ev(4, 'RESERVATION_COMMITTED', 100n, 900n, 300n, { reservationId: 'r1' }),
      ev(5, 'RESERVATION_AMENDED', 100n, 900n, 0n, { reservationId: 'r1' }),
    ];
    const s = fold(history);
    expect(reservation(s, 'r1')).toMatchObject({ amount: 100n, committed: 100n, status: 'COMMITTED' });
    expect(s.held).toBe(0n);
    expect(() => fold([...history, ev(6, 'RESERVATION_RELEASED', 0n, 900n, 0n, { reservationId: 'r1' })])).toThrow();
  });

  it('keeps several reservations apart', () => {
    const s = fold([
      open(),
      ev(2, 'FUNDS_DEPOSITED', 1_000n, 1_000n, 0n),
      ev(3, 'FUNDS_RESERVED', 100n, 1_000n, 100n, { reservationId: 'a' }),
      ev(4, 'FUNDS_RESERVED', 200n, 1_000n, 300n, { reservationId: 'b' }),
      ev(5, 'RESERVATION_RELEASED', 100n, 1_000n, 200n, { reservationId: 'a' }),
      ev(6, 'RESERVATION_COMMITTED', 50n, 950n, 150n, { reservationId: 'b' }),
    ]);
    expect(reservation(s, 'a')).toMatchObject({ status: 'RELEASED', accountVersion: 5 });
    expect(reservation(s, 'b')).toMatchObject({ status: 'ACTIVE', committed: 50n, accountVersion: 6 });
    expect(s.held).toBe(150n);
  });

  const base = (): LedgerEvent[] => [
    open(),
    ev(2, 'FUNDS_DEPOSITED', 1_000n, 1_000n, 0n),
    ev(3, 'FUNDS_RESERVED', 400n, 1_000n, 400n, { reservationId: 'r1' }),
    ev(4, 'RESERVATION_COMMITTED', 100n, 900n, 300n, { reservationId: 'r1' }),
  ];

  it.each<[string, LedgerEvent[], RegExp]>([
    [
      'reserve with an existing id',
      [ev(5, 'FUNDS_RESERVED', 10n, 900n, 310n, { reservationId: 'r1' })],
      /already exists/,
    ],
    ['reserve with an empty id', [ev(5, 'FUNDS_RESERVED', 10n, 900n, 310n)], /reservationId is empty/],
    ['reserve of zero', [ev(5, 'FUNDS_RESERVED', 0n, 900n, 300n, { reservationId: 'r2' })], /must be positive/],
    [
      'commit on a missing reservation',
      [ev(5, 'RESERVATION_COMMITTED', 10n, 890n, 290n, { reservationId: 'nope' })],
      /does not exist/,
    ],
    [
      'commit above the remainder',
      [ev(5, 'RESERVATION_COMMITTED', 301n, 599n, -1n, { reservationId: 'r1' })],
      /exceeds the remaining 300/,
    ],
    ['commit of zero', [ev(5, 'RESERVATION_COMMITTED', 0n, 900n, 300n, { reservationId: 'r1' })], /must be positive/],
    [
      'release of less than the remainder',
      [ev(5, 'RESERVATION_RELEASED', 200n, 900n, 100n, { reservationId: 'r1' })],
      /gives back 200 but reservation r1 has 300 remaining/,
    ],
    [
      'release of more than the remainder',
      [ev(5, 'RESERVATION_RELEASED', 400n, 900n, 0n, { reservationId: 'r1' })],
      /has 300 remaining/,
    ],
    [
      'expiry of less than the remainder',
      [ev(5, 'RESERVATION_EXPIRED', 1n, 900n, 299n, { reservationId: 'r1' })],
      /has 300 remaining/,
    ],
    [
      'amend below committed',
      [ev(5, 'RESERVATION_AMENDED', 99n, 900n, -1n, { reservationId: 'r1' })],
      /below the 100 already committed/,
    ],
    [
      'amend with a disagreeing newAmount',
      [ev(5, 'RESERVATION_AMENDED', 500n, 900n, 400n, { reservationId: 'r1', details: { newAmount: 501n } })],
      /differs from amount/,
    ],
    [
      'commit after release',
      [
        ev(5, 'RESERVATION_RELEASED', 300n, 900n, 0n, { reservationId: 'r1' }),
        ev(6, 'RESERVATION_COMMITTED', 10n, 890n, -10n, { reservationId: 'r1' }),
      ],
      /r1 is RELEASED, not ACTIVE/,
    ],
    [
      'release after expiry',
      [
        ev(5, 'RESERVATION_EXPIRED', 300n, 900n, 0n, { reservationId: 'r1' }),
        ev(6, 'RESERVATION_RELEASED', 0n, 900n, 0n, { reservationId: 'r1' }),
      ],
      /r1 is EXPIRED, not ACTIVE/,
    ],
  ])('refuses %s', (_name, tail, message) => {
    expect(() => fold([...base(), ...tail])).toThrow(message);
  });
});

describe('status events', () => {
  it('freeze, unfreeze, close', () => {
    const events = [open(), ev(2, 'ACCOUNT_FROZEN', 0n, 0n, 0n, { details: { reason: 'kyc' } })];
    expect(fold(events).status).toBe('FROZEN');
    events.push(ev(3, 'FUNDS_DEPOSITED', 5n, 5n, 0n));
    expect(fold(events)).toMatchObject({ status: 'FROZEN', balance: 5n });
    events.push(ev(4, 'ACCOUNT_UNFROZEN', 0n, 5n, 0n));
    expect(fold(events).status).toBe('OPEN');
    events.push(ev(5, 'FUNDS_WITHDRAWN', 5n, 0n, 0n));
    events.push(ev(6, 'ACCOUNT_CLOSED', 0n, 0n, 0n));
    expect(fold(events)).toMatchObject({ status: 'CLOSED', version: 6 });
  });

  it('refuses any event after ACCOUNT_CLOSED', () => {
    expect(() => fold([open(), ev(2, 'ACCOUNT_CLOSED', 0n, 0n, 0n), ev(3, 'FUNDS_DEPOSITED', 5n, 5n, 0n)])).toThrow(
      /closed \(terminal\)/,
    );
  });

  it('refuses a status event carrying an amount', () => {
    expect(() => fold([open(), ev(2, 'ACCOUNT_FROZEN', 1n, 0n, 0n)])).toThrow(/must be 0 for a status event/);
  });
});

describe('version and consistency checks', () => {
  it.each<[string, LedgerEvent[]]>([
    ['a first event other than ACCOUNT_OPENED', [ev(1, 'FUNDS_DEPOSITED', 5n, 5n, 0n)]],
    ['ACCOUNT_OPENED with version 2', [ev(2, 'ACCOUNT_OPENED', 0n, 0n, 0n)]],
    ['ACCOUNT_OPENED with version 0', [ev(0, 'ACCOUNT_OPENED', 0n, 0n, 0n)]],
    ['a skipped version', [open(), ev(3, 'FUNDS_DEPOSITED', 5n, 5n, 0n)]],
    ['a repeated version', [open(), ev(2, 'FUNDS_DEPOSITED', 5n, 5n, 0n), ev(2, 'FUNDS_DEPOSITED', 5n, 10n, 0n)]],
    ['a version going back', [open(), ev(2, 'FUNDS_DEPOSITED', 5n, 5n, 0n), ev(1, 'FUNDS_DEPOSITED', 5n, 10n, 0n)]],
  ])('detects a version gap: %s', (_name, events) => {
    expect(() => fold(events)).toThrow(/^version gap/);
    expect(() => foldStepwise(events)).toThrow(/^version gap/);
  });

  it('detects a gap against a snapshot', () => {
    const snapshot = fold([open(), ev(2, 'FUNDS_DEPOSITED', 5n, 5n, 0n)]);
    expect(() => fold([ev(4, 'FUNDS_DEPOSITED', 5n, 10n, 0n)], snapshot)).toThrow(
      /version gap: .* after version 2; expected version 3/,
    );
  });

  it.each<[string, LedgerEvent]>([
    ['balanceAfter', ev(2, 'FUNDS_DEPOSITED', 5n, 6n, 0n)],
    ['heldAfter', ev(2, 'FUNDS_DEPOSITED', 5n, 5n, 1n)],
    ['balanceAfter of a withdrawal', ev(2, 'FUNDS_WITHDRAWN', 5n, 5n, 0n)],
  ])('detects a %s mismatch', (_name, e) => {
    expect(() => fold([open(), e])).toThrow(/balanceAfter\/heldAfter .* disagree .*corrupt/);
  });

  it('detects a mismatch on ACCOUNT_OPENED itself', () => {
    expect(() => fold([ev(1, 'ACCOUNT_OPENED', 0n, 1n, 0n)])).toThrow(/disagree/);
  });

  it('detects a mismatch on a reservation event', () => {
    expect(() =>
      fold([
        open(),
        ev(2, 'FUNDS_DEPOSITED', 10n, 10n, 0n),
        ev(3, 'FUNDS_RESERVED', 4n, 10n, 5n, { reservationId: 'r' }),
      ]),
    ).toThrow(/balanceAfter\/heldAfter 10\/5 disagree with the folded 10\/4/);
  });

  it('refuses an event of another account or currency', () => {
    expect(() => fold([open(), ev(2, 'FUNDS_DEPOSITED', 5n, 5n, 0n, { accountId: 'acct-2' })])).toThrow(
      /applied to account acct-1/,
    );
    expect(() => fold([open(), ev(2, 'FUNDS_DEPOSITED', 5n, 5n, 0n, { currency: 'EUR' })])).toThrow(
      /currency EUR differs from the account's USD/,
    );
  });

  it('refuses a negative overdraft limit', () => {
    expect(() => fold([open({ overdraftLimit: -1n })])).toThrow(/negative/);
  });
});

describe('foldEvents', () => {
  it('returns undefined for no events and no snapshot', () => {
    expect(foldEvents([])).toBeUndefined();
  });

  it('continues from a snapshot and equals the full fold', () => {
    const events = [
      open({ overdraftLimit: 100n }),
      ev(2, 'FUNDS_DEPOSITED', 1_000n, 1_000n, 0n),
      ev(3, 'FUNDS_RESERVED', 400n, 1_000n, 400n, { reservationId: 'r1' }),
      ev(4, 'RESERVATION_COMMITTED', 100n, 900n, 300n, { reservationId: 'r1' }),
      ev(5, 'FUNDS_RESERVED', 50n, 900n, 350n, { reservationId: 'r2' }),
      ev(6, 'RESERVATION_RELEASED', 300n, 900n, 50n, { reservationId: 'r1' }),
    ];
    const full = fold(events);
    for (let cut = 1; cut < events.length; cut++) {
      const snapshot = fold(events.slice(0, cut));
      expect(fold(events.slice(cut), snapshot)).toEqual(full);
    }
    expect(foldStepwise(events)).toEqual(full);
  });

  it('accepts any iterable', () => {
    function* gen(): Generator<LedgerEvent> {
      yield open();
      yield ev(2, 'FUNDS_DEPOSITED', 7n, 7n, 0n);
    }
    expect(fold([...gen()])).toEqual(foldEvents(gen()));
  });

  it('returns a copy of the snapshot when there are no events', () => {
    const snapshot = fold([open()]);
    const s = fold([], snapshot);
    expect(s).toEqual(snapshot);
    expect(s).not.toBe(snapshot);
    expect(s.reservations).not.toBe(snapshot.reservations);
  });

  it('folds a long history (40k events, 20k reservations) without copying the map per event', () => {
    const events: LedgerEvent[] = [open(), ev(2, 'FUNDS_DEPOSITED', 10n ** 12n, 10n ** 12n, 0n)];
    let v = 2;
    for (let i = 0; i < 20_000; i++) {
      events.push(ev(++v, 'FUNDS_RESERVED', 10n, 10n ** 12n, 10n, { reservationId: `r${i}` }));
      events.push(ev(++v, 'RESERVATION_RELEASED', 10n, 10n ** 12n, 0n, { reservationId: `r${i}` }));
    }
    const s = fold(events);
    expect(s.reservations.size).toBe(20_000);
    expect(s.version).toBe(v);
  });
});

describe('immutability', () => {
  function deepSnapshot(s: AccountState): unknown {
    return {
      ...s,
      metadata: { ...s.metadata },
      reservations: [...s.reservations.entries()].map(([k, r]) => [k, { ...r }]),
    };
  }

  const history = [
    open({}, { tier: 'gold' }),
    ev(2, 'FUNDS_DEPOSITED', 1_000n, 1_000n, 0n),
    ev(3, 'FUNDS_RESERVED', 400n, 1_000n, 400n, { reservationId: 'r1' }),
  ];

  it.each<[string, LedgerEvent]>([
    ['deposit', ev(4, 'FUNDS_DEPOSITED', 5n, 1_005n, 400n)],
    ['reserve', ev(4, 'FUNDS_RESERVED', 5n, 1_000n, 405n, { reservationId: 'r2' })],
    ['amend', ev(4, 'RESERVATION_AMENDED', 500n, 1_000n, 500n, { reservationId: 'r1' })],
    ['commit', ev(4, 'RESERVATION_COMMITTED', 100n, 900n, 300n, { reservationId: 'r1' })],
    ['release', ev(4, 'RESERVATION_RELEASED', 400n, 1_000n, 0n, { reservationId: 'r1' })],
    ['expiry', ev(4, 'RESERVATION_EXPIRED', 400n, 1_000n, 0n, { reservationId: 'r1' })],
    ['freeze', ev(4, 'ACCOUNT_FROZEN', 0n, 1_000n, 400n)],
  ])('applyEvent(%s) leaves the input state untouched', (_name, e) => {
    const before = fold(history);
    const reservationsBefore = before.reservations;
    const r1Before = reservation(before, 'r1');
    const snap = deepSnapshot(before);
    const after = applyEvent(before, e);
    expect(after).not.toBe(before);
    expect(deepSnapshot(before)).toEqual(snap);
    expect(before.reservations).toBe(reservationsBefore);
    expect(reservation(before, 'r1')).toBe(r1Before);
    expect(after.version).toBe(4);
    if (e.reservationId !== '') expect(after.reservations).not.toBe(before.reservations);
  });

  it('applyEvent leaves the input untouched when it throws', () => {
    const before = fold(history);
    const snap = deepSnapshot(before);
    expect(() => applyEvent(before, ev(4, 'RESERVATION_COMMITTED', 100n, 1n, 1n, { reservationId: 'r1' }))).toThrow();
    expect(deepSnapshot(before)).toEqual(snap);
  });

  it('foldEvents leaves the snapshot untouched', () => {
    const snapshot = fold(history);
    const snap = deepSnapshot(snapshot);
    const after = fold(
      [
        ev(4, 'RESERVATION_COMMITTED', 100n, 900n, 300n, { reservationId: 'r1' }),
        ev(5, 'RESERVATION_RELEASED', 300n, 900n, 0n, { reservationId: 'r1' }),
        ev(6, 'FUNDS_RESERVED', 5n, 900n, 5n, { reservationId: 'r2' }),
      ],
      snapshot,
    );
    expect(deepSnapshot(snapshot)).toEqual(snap);
    expect(reservation(after, 'r1').status).toBe('RELEASED');
    expect(snapshot.reservations.has('r2')).toBe(false);
  });

  it('cloneAccountState copies map and metadata', () => {
    const s = fold(history);
    const c = cloneAccountState(s);
    expect(c).toEqual(s);
    c.reservations.delete('r1');
    c.metadata['tier'] = 'x';
    expect(s.reservations.has('r1')).toBe(true);
    expect(s.metadata['tier']).toBe('gold');
  });
});

describe('available / remaining', () => {
  const r = (status: ReservationState['status'], amount: bigint, committed: bigint): ReservationState => ({
    reservationId: 'r',
    accountId: ACCT,
    currency: 'USD',
    amount,
    committed,
    status,
    orderId: '',
    expiresAtMs: 0,
    accountVersion: 1,
  });

  it.each<[ReservationState['status'], bigint, bigint, bigint]>([
    ['ACTIVE', 100n, 0n, 100n],
    ['ACTIVE', 100n, 40n, 60n],
    ['COMMITTED', 100n, 100n, 0n],
    ['RELEASED', 100n, 40n, 0n],
    ['EXPIRED', 100n, 0n, 0n],
  ])('remaining of %s %s committed %s is %s', (status, amount, committed, expected) => {
    expect(remaining(r(status, amount, committed))).toBe(expected);
  });

  it('available is balance - held', () => {
    const s = fold([open({ overdraftLimit: 50n })]);
    expect(available({ ...s, balance: 10n, held: 30n })).toBe(-20n);
  });
});
