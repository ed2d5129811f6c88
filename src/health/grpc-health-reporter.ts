import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { HealthImplementation } from 'grpc-health-check';
import type Redis from 'ioredis';
import { REDIS_CLIENT } from '../infrastructure/redis/redis.module';

export const GRPC_HEALTH = Symbol('GRPC_HEALTH');
export const LEDGER_SERVICE = 'ledger.v1.LedgerService';

/** grpc.health.v1: SERVING while Redis is connected, NOT_SERVING otherwise. */
@Injectable()
export class GrpcHealthReporter implements OnApplicationBootstrap {
  constructor(
    @Inject(GRPC_HEALTH) private readonly health: HealthImplementation,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
  ) {}

  onApplicationBootstrap(): void {
    const report = (): void => {
      const status = this.redis.status === 'ready' ? 'SERVING' : 'NOT_SERVING';
      this.health.setStatus('', status);
      this.health.setStatus(LEDGER_SERVICE, status);
    };
    this.redis.on('ready', report);
    this.redis.on('close', report);
    this.redis.on('end', report);
    report();
  }
}
