import { type DynamicModule, Module, type OnApplicationShutdown } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import type { HealthImplementation } from 'grpc-health-check';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { LoggerModule, PinoLogger } from 'nestjs-pino';
import { OpenTelemetryModule, TraceService } from 'nestjs-otel';
import type { LedgerConfig } from '../../config/config';
import { CommandSteps, UntimedSteps } from '../../ledger/commands/shared/command-steps';
import { grpcServerOptions } from '../grpc/grpc-server';
import { grpcMethodTypes } from './grpc-method-types';
import { GrpcTelemetryInterceptor } from './grpc-telemetry.interceptor';
import { LedgerMetrics } from './ledger-metrics';
import { createRootLogger, loggerParams } from './logging';
import { MetricsController } from './metrics.controller';
import { type ObservabilityOptions, telemetryFromEnv } from './observability-options';
import { OutboxTelemetry, PostgresTelemetry } from './persistence-telemetry';
import { RedisTelemetry } from './redis-telemetry';
import { TimedSteps } from './timed-steps';
import { flushTraces, Tracing, tracingRegistered } from './tracing';

/**
 * Metrics (prom-client through @willsoto/nestjs-prometheus, GET /metrics), traces (the OTel SDK
 * preloaded by src/instrumentation.ts, used through nestjs-otel) and logs (pino through
 * nestjs-pino) for the whole app. Global: the Redis module, the event store, the relay and the
 * publisher inject RedisTelemetry, PostgresTelemetry and OutboxTelemetry from here; handlers get
 * the CommandSteps that time and trace their steps.
 */
/** grpcServerOptions is read here for its proto path and loader options only. */
const NO_HEALTH = undefined as unknown as HealthImplementation;

@Module({})
export class ObservabilityModule implements OnApplicationShutdown {
  static forRoot(config: LedgerConfig, options: ObservabilityOptions = {}): DynamicModule {
    const perCall = (options.telemetry ?? telemetryFromEnv()) === 'on';
    const level = options.quiet && !options.logDestination ? 'silent' : config.log.level;
    const rootLogger = createRootLogger(level, options.logDestination);
    return {
      module: ObservabilityModule,
      global: true,
      imports: [
        LoggerModule.forRoot(loggerParams(rootLogger)),
        PrometheusModule.register({ controller: MetricsController, defaultMetrics: { enabled: false } }),
        OpenTelemetryModule.forRoot(),
      ],
      providers: [
        { provide: LedgerMetrics, useFactory: () => new LedgerMetrics() },
        {
          provide: Tracing,
          inject: [TraceService],
          useFactory: (traces: TraceService) => new Tracing(traces.getTracer(), perCall && tracingRegistered()),
        },
        {
          provide: CommandSteps,
          inject: [LedgerMetrics, Tracing],
          useFactory: (metrics: LedgerMetrics, tracing: Tracing) =>
            perCall ? new TimedSteps(metrics, tracing) : new UntimedSteps(),
        },
        {
          provide: RedisTelemetry,
          inject: [LedgerMetrics, Tracing],
          useFactory: (metrics: LedgerMetrics, tracing: Tracing) => new RedisTelemetry(metrics, tracing, perCall),
        },
        {
          provide: PostgresTelemetry,
          inject: [LedgerMetrics],
          useFactory: (metrics: LedgerMetrics) => new PostgresTelemetry(metrics),
        },
        {
          provide: OutboxTelemetry,
          inject: [LedgerMetrics, Tracing],
          useFactory: (metrics: LedgerMetrics, tracing: Tracing) => new OutboxTelemetry(metrics, tracing),
        },
        {
          provide: GrpcTelemetryInterceptor,
          inject: [LedgerMetrics, Tracing, PinoLogger],
          useFactory: (metrics: LedgerMetrics, tracing: Tracing, logger: PinoLogger) => {
            logger.setContext('grpc');
            const { protoPath, loader } = grpcServerOptions(config, NO_HEALTH).options;
            const types = grpcMethodTypes(String(protoPath), loader ?? {});
            return new GrpcTelemetryInterceptor(metrics, tracing, logger, perCall, types);
          },
        },
        // Nest's pipeline and the direct dispatch (dispatchDirectly) share the one instance.
        { provide: APP_INTERCEPTOR, useExisting: GrpcTelemetryInterceptor },
      ],
      exports: [
        LedgerMetrics,
        Tracing,
        CommandSteps,
        RedisTelemetry,
        PostgresTelemetry,
        OutboxTelemetry,
        GrpcTelemetryInterceptor,
      ],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    // Spans still queued in the batch processor leave before the process does.
    await flushTraces();
  }
}
