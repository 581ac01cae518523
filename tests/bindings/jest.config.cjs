// The shared preset, with decorators on for the NestJS recipe's test (Nest's own decorators and metadata).
const preset = require('../../jest.preset.cjs');

module.exports = {
  ...preset,
  transform: {
    '^.+\\.(t|j)sx?$': [
      '@swc/jest',
      {
        jsc: { target: 'es2022', parser: { syntax: 'typescript', decorators: true }, transform: { legacyDecorator: true, decoratorMetadata: true } },
        module: { type: 'commonjs' },
      },
    ],
  },
};
