/** What every part of a run shares. */
import type { Knex } from 'knex';
import type { CryptoPool } from './crypto.ts';
import type { Bank } from './fixtures.ts';
import type { BenchOptions } from './options.ts';
import type { Child } from './processes.ts';
import type { FloorEntry, PathEntry, ServerRss } from './report.ts';

export interface BenchContext {
  options: BenchOptions;
  pool: CryptoPool;
  bank: Bank;
  configFile: string;
  apiKey: string;
  adminPassword: string;
  floors: FloorEntry[];
  paths: PathEntry[];
  serverRss: ServerRss[];
  children: Set<Child>;
  log: (line: string) => void;
}

export interface Database {
  kind: 'sqlite' | 'mariadb';
  url: string;
  /** The bench's own connection (core's openDb), for fixtures, floors and drains. */
  db: Knex;
  /** mariadbd, when this run owns it: its CPU is part of a request's cost. */
  dbPid: number | null;
}

