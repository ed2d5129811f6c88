import { Controller, Get, HttpCode, HttpException, HttpStatus } from '@nestjs/common';
import { Readiness, type ReadinessStatus } from './readiness';

/**
 * Liveness: the process answers. Readiness: Redis connected, Postgres answering in durable mode,
 * not shutting down (see Readiness; grpc.health.v1 says the same).
 */
@Controller('health')
export class HealthController {
  constructor(private readonly readiness: Readiness) {}

  @Get('live')
  @HttpCode(200)
  live(): { status: string } {
    return { status: 'ok' };
  }

  @Get('ready')
  ready(): { status: string } & Omit<ReadinessStatus, 'ready'> {
    const { ready, ...detail } = this.readiness.status();
    if (!ready) throw new HttpException({ status: 'not ready', ...detail }, HttpStatus.SERVICE_UNAVAILABLE);
    return { status: 'ready', ...detail };
  }
}
