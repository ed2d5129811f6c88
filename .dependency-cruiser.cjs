// The dependency rule: domain code is plain TypeScript. It may import only other domain files
// and Node built-ins; never Nest, Redis, TypeORM, Kafka, gRPC or the infrastructure layer.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      severity: 'error',
      comment: 'src/ledger/domain must not depend on frameworks, drivers or other layers',
      // Its tests beside it may use test libraries (fast-check); the code they test may not.
      from: { path: '^src/ledger/domain/', pathNot: '\\.spec\\.ts$' },
      to: { pathNot: ['^src/ledger/domain/', '^node:', '^(crypto|util)$'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'domain-no-framework-types',
      severity: 'error',
      comment: 'not even type imports of frameworks in the domain',
      from: { path: '^src/ledger/domain/', pathNot: '\\.spec\\.ts$' },
      to: { path: 'node_modules' },
    },
    {
      name: 'handlers-use-ports-not-adapters',
      severity: 'error',
      comment: 'commands and queries talk to ports (src/ledger/ports), never to infrastructure',
      from: { path: '^src/ledger/(commands|queries)/' },
      to: { path: '^src/infrastructure/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^src/generated/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
