export * from './dist/jest.js';
