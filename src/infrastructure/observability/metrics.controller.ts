import { Controller, Get, Res } from '@nestjs/common';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import { LedgerMetrics } from './ledger-metrics';

interface HeaderSetter {
  header(name: string, value: string): unknown;
}

/**
 * GET /metrics on the HTTP port (the path is set by PrometheusModule.register): this app's own
 * registry, not prom-client's global one, so that several apps can live in one process.
 */
@Controller()
export class MetricsController extends PrometheusController {
  constructor(private readonly metrics: LedgerMetrics) {
    super();
  }

  @Get()
  override async index(@Res({ passthrough: true }) response: HeaderSetter): Promise<string> {
    response.header('Content-Type', this.metrics.registry.contentType);
    return this.metrics.registry.metrics();
  }
}
