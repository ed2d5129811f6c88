import 'reflect-metadata';
import type { INestApplication, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { HealthImplementation } from 'grpc-health-check';
import { AppModule } from './app.module';
import type { LedgerConfig } from './config/config';
import { grpcServerOptions } from './infrastructure/grpc/grpc-server';

export interface LedgerApp {
  app: INestApplication;
  close(): Promise<void>;
}

/**
 * One process, two ports: gRPC for the ledger (with health and reflection) and HTTP for
 * /metrics and /health/*. The microservice inherits the app's global filters and interceptors.
 */
export async function createLedgerApp(config: LedgerConfig, logger?: LoggerService | false): Promise<LedgerApp> {
  const health = new HealthImplementation({ '': 'NOT_SERVING', 'ledger.v1.LedgerService': 'NOT_SERVING' });
  const app = await NestFactory.create(AppModule.forRoot(config, health), {
    logger: logger ?? undefined,
    bufferLogs: logger === undefined,
  });
  app.connectMicroservice(grpcServerOptions(config, health), { inheritAppConfig: true });
  app.enableShutdownHooks();
  await app.startAllMicroservices();
  await app.listen(config.http.port, config.http.host);
  return { app, close: () => app.close() };
}
