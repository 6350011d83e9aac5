// The store conformance suite (test/integration/support/store-conformance.ts) against the
// in-memory adapter, in Node. The D1 adapter runs the same suite inside workerd
// (test/integration/store.test.ts).
import { createMemoryStore } from '../../../src/store/memory.js';
import { storeConformance } from '../../integration/support/store-conformance.js';

storeConformance('memory (node)', async () => createMemoryStore());
