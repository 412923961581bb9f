/**
 * /v1/backup: export a bundle as a download (backup-export.ts), and import one,
 * preview then apply (backup-import.ts). Registered together as one plugin, so
 * the binary body parser the import routes add stays inside it.
 */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../server-context.js';
import { exportRoute } from './backup-export.js';
import { importRoutes } from './backup-import.js';

export function backupRoutes(app: FastifyInstance, context: ServerContext): void {
  exportRoute(app, context);
  importRoutes(app, context);
}
