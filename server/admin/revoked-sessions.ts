import { createHash } from 'node:crypto';
import { isUniqueViolation, type Db } from '../../core/db.ts';

/**
 * Sign-out revokes: the session cookie is sealed (server/admin/session.ts) and would otherwise stay
 * good until it expires, so a copy taken before the sign-out would keep working. Its id goes into
 * `admin_revoked_sessions` (shared by every process through the database) until that expiry.
 */
const sidHash = (sid: string): string => createHash('sha256').update(sid, 'utf8').digest('hex');

export async function isRevoked(db: Db, sid: string): Promise<boolean> {
  return (await db('admin_revoked_sessions').where({ sid_hash: sidHash(sid) }).first('sid_hash')) !== undefined;
}

/** Records the sign-out, then drops revocations of sessions that have expired on their own. */
export async function revokeSession(db: Db, session: { sid: string; exp: number }, now: Date): Promise<void> {
  try {
    await db('admin_revoked_sessions').insert({ sid_hash: sidHash(session.sid), expires_at: session.exp, revoked_at: now.getTime() });
  } catch (err) {
    if (!isUniqueViolation(err)) throw err; // signed out twice (two tabs): already revoked
  }
  await db('admin_revoked_sessions').where('expires_at', '<=', now.getTime()).delete();
}
