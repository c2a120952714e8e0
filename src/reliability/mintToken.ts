/**
 * `MASKSTREAM_AUTH_SECRET=… npm run --silent token -- --scope publish|session:<uuid> [--ttl-s 3600] [--sub label]`
 *
 * Prints a signed bearer token (src/signaling/auth.ts) for a server started with the same
 * MASKSTREAM_AUTH_SECRET. The secret comes from the environment only (a flag would show in
 * `ps`). An application server does the same with mintToken() or a few lines of HMAC-SHA256.
 */
import { mintToken, TokenMintError } from '../signaling/auth.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

try {
  const secret = process.env.MASKSTREAM_AUTH_SECRET ?? '';
  if (!secret) throw new TokenMintError('set MASKSTREAM_AUTH_SECRET to the server\'s secret');
  const scope = arg('scope');
  if (!scope) throw new TokenMintError('--scope publish or --scope session:<session id> is required');
  const sub = arg('sub');
  process.stdout.write(mintToken(secret, { scope, ttlS: Number(arg('ttl-s') ?? '3600'), ...(sub !== undefined ? { sub } : {}) }) + '\n');
} catch (e) {
  console.error(`maskstream token: ${(e as Error).message}`);
  process.exit(1);
}
