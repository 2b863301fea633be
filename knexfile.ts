// Lets the knex CLI work on the same database the service uses, e.g.
//   npx knex --knexfile knexfile.ts migrate:list
import { knexConfig } from './core/db.ts';

export default knexConfig(process.env.DATABASE_URL ?? 'sqlite:./data/paygate.sqlite');
