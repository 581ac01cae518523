'use strict';
// For resolvers without package.json "exports" (TypeScript's node10): the ./jest entry.
module.exports = require('./dist/jest.js');
