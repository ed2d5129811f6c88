import { type FactoryProvider, Logger } from '@nestjs/common';
import { Kafka, logLevel } from 'kafkajs';
import { DataSource } from 'typeorm';
import type { LedgerConfig } from '../../config/config';
import { LEDGER_CONFIG } from '../../config/config.module';
import { CurrencyRegistry } from '../../ledger/domain/currency';
import { ProtoMapper } from '../../ledger/grpc/to-proto';
import { kafkaSecurityOptions } from '../kafka/kafka-client';
import { KafkaPublisher } from '../kafka/kafka-publisher';
import type { OutboxTelemetry } from '../observability/persistence-telemetry';
import { pgPool } from '../postgres/data-source';
import { traceparentsOf } from './batch-traceparents';
import { TELEMETRY } from './outbox-tokens';
import { throttled } from './throttled-log';

/** The Kafka publisher (Postgres to Kafka) with its own producer and admin client. */
export const kafkaPublisherProvider: FactoryProvider = {
  provide: KafkaPublisher,
  inject: [DataSource, CurrencyRegistry, LEDGER_CONFIG, TELEMETRY],
  useFactory: (db: DataSource, currencies: CurrencyRegistry, config: LedgerConfig, telemetry?: OutboxTelemetry) => {
    const logger = new Logger(KafkaPublisher.name);
    const logPublishFailure = throttled(logger, 'kafka publish');
    const kafka = new Kafka({
      clientId: config.kafka.clientId,
      brokers: config.kafka.brokers,
      logLevel: logLevel.NOTHING,
      connectionTimeout: config.kafka.requestTimeoutMs,
      requestTimeout: config.kafka.requestTimeoutMs,
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: config.eventStore.retryBackoffMaxMs },
      ...kafkaSecurityOptions(config.kafka.security),
    });
    return new KafkaPublisher(
      () => pgPool(db),
      kafka.producer({ idempotent: true, maxInFlightRequests: 5, allowAutoTopicCreation: false }),
      kafka.admin(),
      new ProtoMapper(currencies),
      {
        topic: config.kafka.topic,
        partitions: config.kafka.partitions,
        batchMax: config.kafka.batchMax,
        idlePollMs: 50,
        safetyPollMs: 1000,
        retryBackoffMaxMs: config.eventStore.retryBackoffMaxMs,
        handoffMax: config.kafka.batchMax * 8,
        lingerMs: config.kafka.lingerMs,
      },
      {
        produced: (count, seconds) => telemetry?.kafkaProduce(seconds, true, count),
        failure: (error, attempt) => {
          telemetry?.kafkaProduce(0, false);
          logPublishFailure(error, attempt);
        },
        backlog: (pending, oldestAgeSeconds) => {
          telemetry?.setPending('postgres', pending);
          telemetry?.setOldestUnpublishedAge(oldestAgeSeconds);
        },
        traced: (events, batchTraces, send) =>
          telemetry
            ? telemetry.withLinkedSpan(
                `kafka.produce ${config.kafka.topic}`,
                // A child of the (first) relay batch it publishes, so that the batch's trace
                // shows its produce; linked to any further batch and to the calls.
                [...batchTraces.slice(1), ...traceparentsOf(events)],
                () => send(),
                {
                  'messaging.system': 'kafka',
                  'messaging.destination.name': config.kafka.topic,
                  'messaging.batch.message_count': events.length,
                  'ledger.relay_batches': batchTraces.length,
                },
                batchTraces[0],
              )
            : send(),
      },
    );
  },
};
