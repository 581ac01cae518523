// Shared jest settings: TypeScript through @swc/jest (types are checked by `tsc --noEmit` separately),
// and @sess/* resolved to each package's src so tests never run against a stale build.
const path = require('node:path');

module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }],
  },
  transformIgnorePatterns: ['/node_modules/'],
  moduleNameMapper: {
    '^@sess/core$': path.join(__dirname, 'packages/core/src/index.ts'),
    '^@sess/conformance$': path.join(__dirname, 'packages/conformance/src/index.ts'),
    '^@sess/conformance/jest$': path.join(__dirname, 'packages/conformance/src/jest.ts'),
    '^@sess/store-(redis|pg|mysql|mongo|file)$': path.join(__dirname, 'packages/store-$1/src/index.ts'),
    '^@sess/(opentelemetry|cli|fastify|koa|hono)$': path.join(__dirname, 'packages/$1/src/index.ts'),
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testTimeout: 30000,
};
