import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { LedgerConfig } from './config';

/** DI token of the validated LedgerConfig. */
export const LEDGER_CONFIG = Symbol('LEDGER_CONFIG');

@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: LedgerConfig): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: LEDGER_CONFIG, useValue: config }],
      exports: [LEDGER_CONFIG],
    };
  }
}
