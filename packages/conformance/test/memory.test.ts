import { MemoryStore } from '@sess/core';
import { describeStore } from '@sess/conformance/jest';

// The reference implementation passes everything it declares; `shared` shows as skipped.
describeStore('MemoryStore', () => new MemoryStore({ checkPeriod: 0 }));
