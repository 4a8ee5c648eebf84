// scripts/localnet.sh as a user runs it, on the real local network this machine can run: the
// solvent-localnet binary (localnet/: Surfpool's Surfnet, a full JSON-RPC and WebSocket
// endpoint, embedded offline) with the built .so deployed and the mints and price accounts of
// migrations/localnet.json written. The deploy entry twice (the second run sends nothing new),
// the whole TypeScript scenario over JSON-RPC (the price move by surfnet_setAccount and the
// liquidation included) and one keeper pass, all against the Surfnet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Keypair } from '@solana/web3.js';
import { cargoBinary } from './helpers.ts';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const LOCALNET = cargoBinary('solvent-localnet');

test('scripts/localnet.sh on a Surfnet: deploy twice, the scenario over RPC, a keeper pass', { skip: existsSync(LOCALNET) ? false : `${LOCALNET} not built (scripts/test.sh builds it)`, timeout: 600_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'solvent-localnet-'));
  const wallet = join(dir, 'wallet.json');
  writeFileSync(wallet, JSON.stringify([...Keypair.generate().secretKey]));
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn('bash', ['scripts/localnet.sh'], { cwd: ROOT, env: { ...process.env, LOCALNET_STOP: '1', LOCALNET_SURFNET: '1', SOLANA_WALLET: wallet } });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('close', (code) => resolve({ code, output }));
  });
  assert.equal(code, 0, output);
  assert.match(output, /== surfnet at http:\/\/127\.0\.0\.1:\d+ ==/, output);
  const [, first, second] = output.split(/== deploy \((?:first run|second run: must change nothing)\) ==/);
  assert.match(first, /- created market \w+/, output);
  assert.match(first, /- listed SOL .* at LTV 0 .*queued as config change #0 for SOL/, output);
  assert.match(first, /- listed USDC .* at LTV 0 .*queued as config change #1 for USDC/, output);
  const secondRun = second.split('market ')[0].trim().split('\n');
  assert.deepEqual(
    secondRun.map((line) => line.replace(/after .*/, 'after …')),
    ['- config change #0 for SOL is already queued: executable by anyone after …', '- config change #1 for USDC is already queued: executable by anyone after …'],
    output,
  );
  // The price move and the liquidation run over RPC too: the Surfnet rewrites the price account.
  assert.match(output, /scenario: SOL \$150 -> \$120; liquidated: 500 USDC repaid for 4\.375 SOL/, output);
  assert.match(output, /scenario: passed over JSON-RPC/, output);
  assert.match(output, /== one keeper pass over RPC \(nothing to liquidate\) ==[\s\S]*0 liquidatable/, output);
});
