import { type ErrorReason, LedgerError, isErrorReason } from '../../ledger/domain/errors';
import type { AccountResult, ReservationResult } from '../../ledger/ports/ledger-store';
import { type AccountView, type ReservationView, toAccount, toReservation } from './hash-codec';

/** The JSON the Lua scripts reply with (lua/lib/prelude.lua: reply_json, account_view, reservation_view). */
export interface ScriptReply {
  account: AccountView;
  reservation?: ReservationView;
  to?: AccountView;
  /** ids of the events the call appended (or, for a replay of current state, the account's last) */
  ev?: string[];
}

export interface AppliedReply {
  body: ScriptReply;
  replayed: boolean;
}

/**
 * Turns a script's {status, body} reply into the applied result, or throws the business reject
 * as a LedgerError. `renderMoney` turns the {m:N:CUR} placeholders of a detail into decimals.
 */
export function interpretReply(raw: unknown, renderMoney: (minor: bigint, currency: string) => string): AppliedReply {
  if (!Array.isArray(raw) || raw.length !== 2 || typeof raw[0] !== 'string' || typeof raw[1] !== 'string') {
    throw new Error(`malformed script reply: ${JSON.stringify(raw)}`);
  }
  const [status, body] = raw as [string, string];
  if (status === 'OK' || status === 'REPLAY') {
    return { body: JSON.parse(body) as ScriptReply, replayed: status === 'REPLAY' };
  }
  if (!isErrorReason(status)) throw new Error(`unknown script status ${status}`);
  const names = AMOUNT_FACTS[status] ?? [];
  const facts: Record<string, string> = {};
  let index = 0;
  const detail = body.replace(/\{m:(-?[0-9]+):([A-Z0-9]+)\}/g, (_, minor: string, currency: string) => {
    const rendered = renderMoney(BigInt(minor), currency);
    // "650.00 USD" -> "650.00"; anything else (a currency this process does not know) as rendered
    const decimal = /^(-?[0-9]+(?:\.[0-9]+)?) [A-Z0-9]+$/.exec(rendered)?.[1];
    facts[names[index] ?? `amount_${index + 1}`] = decimal ?? rendered;
    facts['currency'] = currency;
    index++;
    return rendered;
  });
  throw new LedgerError(status, detail, facts);
}

/** The events a durable acknowledgement of this reply waits for (see DurabilityWaiter). */
export function pendingEvents(reply: AppliedReply): string[] {
  return Array.isArray(reply.body.ev) ? reply.body.ev : [];
}

export function accountResultOf(reply: AppliedReply): AccountResult {
  return { account: toAccount(reply.body.account), replayed: reply.replayed, events: pendingEvents(reply) };
}

export function reservationResultOf(reply: AppliedReply): ReservationResult {
  if (!reply.body.reservation) throw new Error('script reply without reservation');
  return {
    reservation: toReservation(reply.body.reservation),
    account: toAccount(reply.body.account),
    replayed: reply.replayed,
    events: pendingEvents(reply),
  };
}

/**
 * What the amounts of a reject's detail are, in the order the scripts write them (lua/*.lua:
 * e.g. reserve.lua's 'available {m} < {m}'), so that the caller gets them by name in the
 * ErrorInfo metadata, with the currency.
 */
const AMOUNT_FACTS: Partial<Record<ErrorReason, readonly string[]>> = {
  INSUFFICIENT_FUNDS: ['available', 'requested'],
  AMEND_BELOW_COMMITTED: ['new_amount', 'committed'],
  COMMIT_EXCEEDS_RESERVATION: ['requested', 'remaining'],
  ACCOUNT_NOT_EMPTY: ['balance', 'held'],
  AMOUNT_OUT_OF_RANGE: ['limit'],
};
