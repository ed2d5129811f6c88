// The baseline: the least a gRPC Reserve on this stack can cost. A raw @grpc/grpc-js server whose
// Reserve makes one ioredis EVALSHA of reserve.lua (replay check, funds check, HINCRBY held,
// version bump, reservation HSET, XADD to an outbox stream) and answers a ReservationReply of the
// contract. No framework, no validation beyond the amount, no telemetry, no durability.
//
//   BASELINE_GRPC_ADDRESS=127.0.0.1:26415 BASELINE_REDIS_URL=redis://127.0.0.1:26401/2 node bench/baseline/server.js
//
// Other RPCs answer UNIMPLEMENTED. Accounts come from seed.js. With BASELINE_METRICS_PORT it also
// serves its GC pauses at /metrics (nothing runs per call), for the report beside the service's.
const fs = require('fs');
const http = require('http');
const { PerformanceObserver, constants } = require('perf_hooks');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const Redis = require('ioredis');
const keys = require('./keys');

const root = path.join(__dirname, '..', '..');
const definition = protoLoader.loadSync(path.join(root, 'proto/ledger/v1/ledger.proto'), {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  includeDirs: [path.join(root, 'proto')],
});
const service = grpc.loadPackageDefinition(definition).ledger.v1.LedgerService.service;

const redis = new Redis(process.env.BASELINE_REDIS_URL || 'redis://127.0.0.1:6379/2');
redis.defineCommand('reserve', { numberOfKeys: 3, lua: fs.readFileSync(path.join(__dirname, 'reserve.lua'), 'utf8') });

const SCALE = 2; // USD only
const minor = (decimal) => {
  const [whole, fraction = ''] = String(decimal).split('.');
  if (!/^\d+$/.test(whole) || !/^\d*$/.test(fraction) || fraction.length > SCALE) return NaN;
  return Number(whole) * 10 ** SCALE + Number(fraction.padEnd(SCALE, '0'));
};
const decimal = (n) => {
  const digits = String(n).padStart(SCALE + 1, '0');
  return `${digits.slice(0, -SCALE)}.${digits.slice(-SCALE)}`;
};
const REJECTS = {
  ACCOUNT_NOT_FOUND: grpc.status.NOT_FOUND,
  CURRENCY_MISMATCH: grpc.status.FAILED_PRECONDITION,
  INSUFFICIENT_FUNDS: grpc.status.FAILED_PRECONDITION,
};

function reserve(call, callback) {
  const { reservation_id: id, account_id: accountId, amount, order_id: orderId = '' } = call.request;
  const amt = minor(amount && amount.amount);
  if (!id || !accountId || !(amt > 0) || (amount && amount.currency) !== 'USD') {
    callback({ code: grpc.status.INVALID_ARGUMENT, details: 'INVALID_ARGUMENT: bad request' });
    return;
  }
  redis
    .reserve(keys.account(accountId), keys.reservation(id), keys.outbox, id, amt, 'USD', accountId)
    .then(([status, bal, held, ver]) => {
      if (status !== 'OK' && status !== 'REPLAY') {
        callback({ code: REJECTS[status] || grpc.status.INTERNAL, details: `${status}: rejected` });
        return;
      }
      callback(null, {
        reservation: {
          reservation_id: id,
          account_id: accountId,
          currency: 'USD',
          amount: decimal(amt),
          committed: '0.00',
          remaining: decimal(amt),
          status: 'RESERVATION_STATUS_ACTIVE',
          order_id: orderId,
          account_version: ver,
        },
        account: {
          account_id: accountId,
          currency: 'USD',
          status: 'ACCOUNT_STATUS_OPEN',
          balance: decimal(bal),
          held: decimal(held),
          available: decimal(Number(bal) - Number(held)),
          overdraft_limit: '0',
          version: ver,
        },
        replayed: status === 'REPLAY',
      });
    })
    .catch((error) => callback({ code: grpc.status.UNAVAILABLE, details: `UNAVAILABLE: ${error.message}` }));
}

// GC pauses as prom-client's nodejs_gc_duration_seconds (same family, labels and buckets), so the
// bench reads the baseline's like the service's: a scavenge stops the event loop for its whole pause.
const GC_BUCKETS = [0.001, 0.01, 0.1, 1, 2, 5];
const GC_KINDS = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};
const gc = new Map();
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = GC_KINDS[entry.detail && entry.detail.kind] || 'other';
    const seconds = entry.duration / 1000;
    const h = gc.get(kind) || { count: 0, sum: 0, buckets: GC_BUCKETS.map(() => 0) };
    h.count++;
    h.sum += seconds;
    GC_BUCKETS.forEach((le, i) => {
      if (seconds <= le) h.buckets[i]++;
    });
    gc.set(kind, h);
  }
}).observe({ entryTypes: ['gc'] });
const gcMetrics = () => {
  const lines = ['# TYPE nodejs_gc_duration_seconds histogram'];
  for (const [kind, h] of gc) {
    GC_BUCKETS.forEach((le, i) =>
      lines.push(`nodejs_gc_duration_seconds_bucket{le="${le}",kind="${kind}"} ${h.buckets[i]}`),
    );
    lines.push(`nodejs_gc_duration_seconds_bucket{le="+Inf",kind="${kind}"} ${h.count}`);
    lines.push(`nodejs_gc_duration_seconds_sum{kind="${kind}"} ${h.sum}`);
    lines.push(`nodejs_gc_duration_seconds_count{kind="${kind}"} ${h.count}`);
  }
  return `${lines.join('\n')}\n`;
};
const metricsPort = Number(process.env.BASELINE_METRICS_PORT || 0);
const metrics =
  metricsPort > 0
    ? http
        .createServer((req, res) => res.end(req.url === '/metrics' ? gcMetrics() : ''))
        .listen(metricsPort, '127.0.0.1')
    : undefined;

const server = new grpc.Server();
server.addService(service, { Reserve: reserve });
const address = process.env.BASELINE_GRPC_ADDRESS || '127.0.0.1:50052';
server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error) => {
  if (error) {
    process.stderr.write(`baseline: cannot bind ${address}: ${error.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`baseline: serving ledger.v1.LedgerService/Reserve on ${address}\n`);
});
const stop = () => {
  if (metrics) metrics.close();
  server.tryShutdown(() => redis.quit().finally(() => process.exit(0)));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
