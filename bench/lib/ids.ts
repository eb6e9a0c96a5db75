/** Test identities for the benchmarks: the cached fixtures the tests use (RSA-4096 generation costs ~2 s each). */
import { fixtureIdentity } from '../../tests/helpers/identities.js';
import { fingerprint, type PublicIdentity } from '../../relay/protocol/index.js';
import type { IdentitySecret } from '../../electron/core/crypto/types.js';

export { fixtureIdentity };

export async function fixture(n: number): Promise<{ secret: IdentitySecret; public: PublicIdentity; fingerprint: string }> {
  const secret = await fixtureIdentity(n);
  return { secret, public: secret.public, fingerprint: await fingerprint(secret.public) };
}
