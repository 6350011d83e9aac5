/** The AdminStore conformance suite against the memory adapter, in Node. */
import { adminStoreConformance, memoryAdminHarness } from '../../integration/support/admin-store-conformance.js';

adminStoreConformance('memory (node)', memoryAdminHarness);
