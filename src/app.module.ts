import { type DynamicModule, Global, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import type { HealthImplementation } from 'grpc-health-check';
import type { LedgerConfig } from './config/config';
import { ConfigModule, LEDGER_CONFIG } from './config/config.module';
import { GRPC_SERVER_REF, GracefulShutdown } from './health/graceful-shutdown';
import { GRPC_HEALTH } from './health/grpc-health';
import { HealthController } from './health/health.controller';
import { Readiness } from './health/readiness';
import type { GrpcServerRef } from './infrastructure/grpc/grpc-server';
import { ObservabilityModule } from './infrastructure/observability/observability.module';
import type { ObservabilityOptions } from './infrastructure/observability/observability-options';
import { OutboxModule } from './infrastructure/outbox/outbox.module';
import { PostgresModule } from './infrastructure/postgres/postgres.module';
import { RecoveryModule } from './infrastructure/recovery/recovery.module';
import { RedisModule } from './infrastructure/redis/redis.module';
import { CurrencyRegistry } from './ledger/domain/currency';
import { parseExtraAssets } from './ledger/domain/currency';
import { GrpcExceptionFilter } from './ledger/grpc/grpc-exception.filter';
import { LedgerModule } from './ledger/ledger.module';

/** Things every module may use: the currency table (CommandSteps comes from ObservabilityModule). */
@Global()
@Module({
  providers: [
    {
      provide: CurrencyRegistry,
      inject: [LEDGER_CONFIG],
      useFactory: (config: LedgerConfig) => new CurrencyRegistry(parseExtraAssets(config.ledger.extraAssets)),
    },
  ],
  exports: [CurrencyRegistry],
})
class CoreModule {}

@Module({})
export class AppModule {
  static forRoot(
    config: LedgerConfig,
    health: HealthImplementation,
    grpcServer: GrpcServerRef,
    observability: ObservabilityOptions = {},
  ): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        ObservabilityModule.forRoot(config, observability),
        CoreModule,
        RedisModule,
        PostgresModule,
        RecoveryModule,
        OutboxModule,
        LedgerModule,
      ],
      controllers: [HealthController],
      providers: [
        { provide: APP_FILTER, useClass: GrpcExceptionFilter },
        { provide: GRPC_HEALTH, useValue: health },
        { provide: GRPC_SERVER_REF, useValue: grpcServer },
        Readiness,
        GracefulShutdown,
      ],
    };
  }
}
