import type { Command } from '@commander-js/extra-typings';
import { ConflictError, NotFoundError } from '../core/errors.js';
import type { TokenRecord } from '../store/index.js';
import { act, type CliContext } from './context.js';
import { emit } from './output.js';
import { withStore } from './store.js';

/** A token as shown to users: never its hash (and the secret only once, at creation). */
function shown(t: TokenRecord) {
  return {
    id: t.id,
    name: t.name,
    createdAt: t.createdAt,
    lastUsedAt: t.lastUsedAt,
    revokedAt: t.revokedAt,
  };
}

const time = (ms: number | null) =>
  ms === null ? '-' : new Date(ms).toISOString().slice(0, 19).replace('T', ' ');

export async function register(program: Command, ctx: CliContext): Promise<void> {
  const token = program
    .command('token')
    .description('bearer tokens of the API (berth serve): create, list, revoke');

  token
    .command('create')
    .description('create a token and print its secret (shown only this once)')
    .argument('<name>', 'a label for who uses it (ci, laptop, cluster-a)')
    .action(
      act(ctx, async (flags, name) => {
        const { validateName } = await import('../core/names.js');
        const { createToken, hashToken, listTokens, newTokenSecret } = await import(
          '../store/index.js'
        );
        validateName('token', name);
        const secret = newTokenSecret();
        const created = await withStore(ctx, async (store) => {
          if ((await listTokens(store.db)).some((t) => t.name === name)) {
            throw new ConflictError(`a live token named ${JSON.stringify(name)} exists`, {
              hint: `choose another name, or revoke it first: berth token revoke ${name}`,
            });
          }
          return createToken(store.db, { name, hash: hashToken(secret) });
        });
        emit(ctx.io, flags, { ...shown(created), secret }, (t) =>
          [
            `created token ${t.name} (id ${t.id})`,
            `secret: ${t.secret}`,
            'This secret is shown only once and cannot be recovered. Give it to clients as',
            `BERTH_API_TOKEN; revoke it with: berth token revoke ${t.name}`,
          ].join('\n'),
        );
        return 0;
      }),
    );

  token
    .command('list')
    .description('list tokens (never their secrets)')
    .option('--all', 'include revoked tokens')
    .action(
      act(ctx, async (flags, opts) => {
        const { listTokens } = await import('../store/index.js');
        const { renderTable } = await import('./table.js');
        const list = await withStore(ctx, (store) =>
          listTokens(store.db, { includeRevoked: opts.all === true }),
        );
        emit(ctx.io, flags, list.map(shown), (rows) =>
          rows.length === 0
            ? 'no tokens; create one with: berth token create NAME'
            : renderTable(
                ['ID', 'NAME', 'CREATED', 'LAST USED', ...(opts.all ? ['REVOKED'] : [])],
                rows.map((t) => [
                  t.id,
                  t.name,
                  time(t.createdAt),
                  time(t.lastUsedAt),
                  ...(opts.all ? [time(t.revokedAt)] : []),
                ]),
              ),
        );
        return 0;
      }),
    );

  token
    .command('revoke')
    .description('revoke a token by name or id (a running server refuses it within seconds)')
    .argument('<name-or-id>', 'the token name or id')
    .action(
      act(ctx, async (flags, idOrName) => {
        const { revokeToken } = await import('../store/index.js');
        const revoked = await withStore(ctx, (store) => revokeToken(store.db, idOrName));
        if (revoked === 0) {
          throw new NotFoundError(`no live token named or with id ${JSON.stringify(idOrName)}`, {
            hint: 'berth token list shows the live tokens',
          });
        }
        emit(ctx.io, flags, { revoked }, (r) => `revoked ${r.revoked} token(s)`);
        return 0;
      }),
    );
}
