import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const root = path.resolve(__dirname, '..', '..', '..');

export interface Published {
  dir: string;
  name: string;
  pkg: Record<string, any>;
}

/** Every package under packages/ that is published (not private). */
export function publishedPackages(): Published[] {
  return readdirSync(path.join(root, 'packages'))
    .map((d) => path.join(root, 'packages', d))
    .map((dir) => ({ dir, pkg: JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) }))
    .filter(({ pkg }) => !pkg.private)
    .map(({ dir, pkg }) => ({ dir, name: pkg.name as string, pkg }));
}

/** The database driver each store takes as a peer dependency. */
export const DRIVERS: Record<string, string> = {
  '@sess/store-redis': 'ioredis',
  '@sess/store-pg': 'pg',
  '@sess/store-mysql': 'mysql2',
  '@sess/store-mongo': 'mongodb',
};
