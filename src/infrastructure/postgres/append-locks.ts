/**
 * Advisory lock of appends to ledger_events (exclusive): every batch transaction takes it before
 * it draws a global_seq and holds it until it commits or rolls back. Appends are therefore
 * serialized, and global_seq order is commit order: see CommittedBatch.
 */
export const APPEND_LOCK = 7_320_003;

/** Advisory lock namespace of account histories (shared here, exclusive for a rebuild: withAccountLock). */
export const ACCOUNT_LOCK_SPACE = 7_320_002;
