/** The admin API (/admin/v1): see app.ts and docs/admin-api.md. */
export { adminRoutes, MAX_BODY_BYTES, type AdminApp } from './app.js';
export { ADMIN_BASE_PATH, adminAudience, isCrossSite } from './auth.js';
