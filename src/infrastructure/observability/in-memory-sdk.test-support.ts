import { startNodeSdk } from '@opentelemetry/sdk-node';
import { type InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';

/**
 * For unit tests: registers the OTel Node SDK with spans going straight to `exporter` and no
 * metric, log or resource work (no servers). Not part of the build (tsconfig.build.json).
 */
export function startInMemorySdk(exporter: InMemorySpanExporter): void {
  startNodeSdk({
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
    metricReaders: [],
    logRecordProcessors: [],
    resourceDetectors: [],
  });
}
