/** DI token of the grpc.health.v1 implementation (made in bootstrap.ts, set by Readiness). */
export const GRPC_HEALTH = Symbol('GRPC_HEALTH');
export const LEDGER_SERVICE = 'ledger.v1.LedgerService';
