import { Controller, Get, HttpCode, HttpException, HttpStatus, Inject } from '@nestjs/common';
import type Redis from 'ioredis';
import { REDIS_CLIENT } from '../infrastructure/redis/redis.module';

/** Liveness: the process answers. Readiness: its hot-path dependency (Redis) is connected. */
@Controller('health')
export class HealthController {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: Redis) {}

  @Get('live')
  @HttpCode(200)
  live(): { status: string } {
    return { status: 'ok' };
  }

  @Get('ready')
  ready(): { status: string; redis: string } {
    if (this.redis.status !== 'ready') {
      throw new HttpException({ status: 'not ready', redis: this.redis.status }, HttpStatus.SERVICE_UNAVAILABLE);
    }
    return { status: 'ready', redis: this.redis.status };
  }
}
