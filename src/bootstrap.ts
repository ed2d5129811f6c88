import 'reflect-metadata';
import { type INestApplication, Logger, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { HealthImplementation } from 'grpc-health-check';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import { AppModule } from './app.module';
import type { LedgerConfig } from './config/config';
import { type GrpcServerRef, grpcServerOptions, serverCredentials } from './infrastructure/grpc/grpc-server';
import { GrpcTelemetryInterceptor } from './infrastructure/observability/grpc-telemetry.interceptor';
import type { ObservabilityOptions } from './infrastructure/observability/observability-options';
import { dispatchDirectly } from './ledger/grpc/direct-dispatch';
import { LedgerController } from './ledger/grpc/ledger.controller';

export interface LedgerApp {
  app: INestApplication;
  /** the gRPC paths grpc-js hands straight to the controller (dispatchDirectly) */
  directlyDispatched: string[];
  close(): Promise<void>;
}

/**
 * One process, two ports: gRPC for the ledger (with health and reflection) and HTTP for
 * /metrics and /health/*. The microservice inherits the app's global filters and interceptors.
 * Logs are pino JSON lines (stdout unless `observability.logDestination`); `logger: false`
 * silences them, a LoggerService replaces the Nest logger only.
 */
export async function createLedgerApp(
  config: LedgerConfig,
  logger?: LoggerService | false,
  observability: ObservabilityOptions = {},
): Promise<LedgerApp> {
  const health = new HealthImplementation({ '': 'NOT_SERVING', 'ledger.v1.LedgerService': 'NOT_SERVING' });
  const grpcServer: GrpcServerRef = { server: undefined };
  const app = await NestFactory.create(
    AppModule.forRoot(config, health, grpcServer, { quiet: logger === false, ...observability }),
    { logger: logger ?? undefined, bufferLogs: logger === undefined },
  );
  if (logger === undefined) app.useLogger(app.get(PinoNestLogger));
  const credentials = await serverCredentials(config.grpc.tls);
  app.connectMicroservice(grpcServerOptions(config, health, grpcServer, credentials), { inheritAppConfig: true });
  app.enableShutdownHooks();
  let directlyDispatched: string[];
  try {
    // Lifecycle hooks first (command and query handlers registered, Redis connected), then the
    // ports: a restarted service under load otherwise accepted calls that found no handler yet
    // (INTERNAL "No handler found for the command", seen by the fault suite).
    await app.init();
    await app.startAllMicroservices();
    directlyDispatched = dispatchDirectly(
      grpcServer.server,
      app.get(LedgerController),
      app.get(GrpcTelemetryInterceptor),
    );
    if (directlyDispatched.length === 0) {
      new Logger('Bootstrap').warn(
        "the gRPC server's handlers are not where expected: calls take Nest's slower dispatch",
      );
    }
    await app.listen(config.http.port, config.http.host);
  } catch (error) {
    // A start refused half-way (e.g. a configuration check) leaves no connection or port open.
    await app.close().catch(() => undefined);
    throw error;
  }
  return { app, directlyDispatched, close: () => app.close() };
}
