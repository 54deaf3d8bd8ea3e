/** Internal users (name, password hash, roles) on PostgreSQL. */
import type { StoredUser } from '../store.js';
import type { PgDb } from './postgres-connection.js';
import type { UserRow } from '../rows/user-rows.js';
import { USER_COLS, toUser } from '../rows/user-rows.js';

export class PgUsers {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  async getUser(name: string): Promise<StoredUser | undefined> {
    const row = (await this.#db.query<UserRow>(`SELECT ${USER_COLS} FROM users WHERE name = $1`, [name])).rows[0];
    return row ? toUser(row) : undefined;
  }

  async putUser(u: StoredUser): Promise<void> {
    await this.#db.query(
      `INSERT INTO users (name, password_hash, backend_roles, roles, attributes) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (name) DO UPDATE SET password_hash = EXCLUDED.password_hash, backend_roles = EXCLUDED.backend_roles,
         roles = EXCLUDED.roles, attributes = EXCLUDED.attributes`,
      [u.name, u.passwordHash, JSON.stringify(u.backendRoles), JSON.stringify(u.roles), JSON.stringify(u.attributes)],
    );
  }

  async deleteUser(name: string): Promise<boolean> {
    return ((await this.#db.query('DELETE FROM users WHERE name = $1', [name])).rowCount ?? 0) > 0;
  }

  async listUsers(): Promise<StoredUser[]> {
    return (await this.#db.query<UserRow>(`SELECT ${USER_COLS} FROM users ORDER BY name`)).rows.map(toUser);
  }
}
