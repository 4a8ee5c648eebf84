// Deploys (or upgrades) the program and creates a market and its reserves from a config file,
// idempotently: a second run with the same config changes nothing, and a changed risk config
// is applied with update_reserve_config, or, where the market's timelock holds it back
// (`ChangeNeedsTimelock`), queued with queue_change and executed by a later run once due.
// Under a timelock a new reserve is listed at LTV 0 and outside e-mode (`ListingNeedsZeroLtv`)
// and its configured LTV and e-mode groups are queued the same way.
//
//   cd app && npm run deploy -- ../migrations/localnet.json [--rpc http://127.0.0.1:8899] [--upgrade]
//   (migrations/deploy.ts runs `main` below; `anchor run deploy -- <args>` runs that, see Anchor.toml)
//
// The chain is behind `DeployChain`: `RpcDeployChain` below (JSON-RPC; the program itself is
// deployed with the Solana CLI), and a LiteSVM chain in app/ts/test/deploy.test.ts, which runs
// the same steps against the built .so.
import {
  address,
  createKeyPairSignerFromBytes,
  createSolanaRpc,
  type Address,
  type Instruction,
  type KeyPairSigner,
  type TransactionSigner,
} from '@solana/kit';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  CHANGE_GRACE_SECS,
  NO_GUARDIAN,
  POLICY_RECOMMENDED,
  PROGRAM_ID,
  SOLVENT_ERROR__CHANGE_NEEDS_TIMELOCK,
  SOLVENT_ERROR__CHANGE_STALE,
  collateralMintAddress,
  customErrorCode,
  feeVaultAddress,
  getCancelChangeInstruction,
  getExecuteChangeInstruction,
  getInitLendingMarketInstruction,
  getInitReserveInstruction,
  getLendingMarketDecoder,
  getPendingChangeEncoder,
  getQueueChangeInstruction,
  getQueuedChangeDecoder,
  getReserveConfigEncoder,
  getReserveDecoder,
  getSetLiquidationLimitsInstruction,
  getSetMarketPolicyInstruction,
  getUpdateReserveConfigInstruction,
  isValidMarketPolicy,
  liquidityVaultAddress,
  marketAuthorityAddress,
  marketPolicyOf,
  queuedChangeAddress,
  reserveAddress,
  type MarketPolicy,
  type PendingChangeArgs,
  type QueuedChange,
  type ReserveConfigArgs,
} from './index.ts';
import { sendOverRpc } from './rpc-chain.ts';

export type ReserveSpec = {
  symbol: string;
  mint: string;
  oracle: string;
  /** 0: Pyth legacy price account; 1: Pyth pull-oracle PriceUpdateV2. */
  oracleSource: number;
  /** 64 hex characters (PriceUpdateV2 only). */
  priceFeedId?: string;
  config: ReserveConfigArgs;
};

export type DeployConfig = {
  /** Keypair file of the market account: its address is the market's, so reruns find it. */
  marketKeypair: string;
  quoteCurrency: string;
  /** Program that must own the market's legacy Pyth accounts. */
  oracleProgram: string;
  liquidationLimits?: { capValue: number; dustValue: number; protocolShareBps: number };
  /** The market's crisis-control policy, set when the market is created (`POLICY_RECOMMENDED`
   *  when absent: a 2-day timelock, 1-day guardian pauses, caps ramped in over 7 days, risk
   *  steps of 5 points). Not reconciled on an existing market: loosening it takes the timelock
   *  (set_market_policy / a queued `Policy` change). */
  policy?: { timelockSecs: number; guardianPauseSecs: number; listingRampSecs: number; maxRiskStepBps: number };
  /** Base58 key of the market's guardian, set at creation (none when absent). */
  guardian?: string;
  reserves: ReserveSpec[];
};

export interface DeployChain {
  payer: KeyPairSigner;
  /** Account data, or null when the account does not exist. */
  account(address: Address): Promise<Uint8Array | null>;
  isExecutable(address: Address): Promise<boolean>;
  deployProgram(soPath: string, programKeypairPath: string): Promise<void>;
  send(instructions: Instruction[], signers?: TransactionSigner[]): Promise<void>;
}

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

async function signerFromFile(path: string): Promise<KeyPairSigner> {
  const bytes = new Uint8Array(JSON.parse(readFileSync(path.replace(/^~/, homedir()), 'utf8')));
  return createKeyPairSignerFromBytes(bytes);
}

const hex = (text: string | undefined) => {
  const bytes = new Uint8Array(32);
  if (text) for (let i = 0; i < 32; i++) bytes[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return bytes;
};
const equalBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/** JSON holds the u64 limits as strings; the margin-tier fields (risk flags, borrow weight,
 *  e-mode groups, value caps) and the outflow limit default to none. */
function normalized(config: ReserveConfigArgs): ReserveConfigArgs {
  return {
    ...config,
    riskFlags: config.riskFlags ?? 0,
    borrowWeightBps: config.borrowWeightBps ?? 0,
    depositLimit: BigInt(config.depositLimit),
    borrowLimit: BigInt(config.borrowLimit),
    depositLimitValue: BigInt(config.depositLimitValue ?? 0),
    borrowLimitValue: BigInt(config.borrowLimitValue ?? 0),
    isolationDebtCeilingValue: BigInt(config.isolationDebtCeilingValue ?? 0),
    insuranceShareBps: config.insuranceShareBps ?? 0,
    outflowLimitBps: config.outflowLimitBps ?? 0,
    outflowWindowSecs: config.outflowWindowSecs ?? 0,
    outflowFloor: BigInt(config.outflowFloor ?? 0),
    emodeGroups: config.emodeGroups ?? 0,
    configPadding: config.configPadding ?? 0,
  };
}

/** Runs every step; returns what it did (empty when everything already matched). */
export async function deploy(chain: DeployChain, config: DeployConfig, options: { upgrade?: boolean; configDir?: string } = {}): Promise<string[]> {
  const done: string[] = [];
  config = { ...config, reserves: config.reserves.map((spec) => ({ ...spec, config: normalized(spec.config) })) };
  const resolve = (path: string) => (path.startsWith('/') || path.startsWith('~') ? path : `${options.configDir ?? ROOT}/${path}`);

  // Checked before anything is sent: the market's policy, and the reserves still to list.
  const market = await signerFromFile(resolve(config.marketKeypair));
  const authority = await marketAuthorityAddress(market.address);
  const existing = await chain.account(market.address);
  const policy: MarketPolicy = existing
    ? marketPolicyOf(getLendingMarketDecoder().decode(existing))
    : config.policy
      ? { ...config.policy, padding: new Uint8Array(2) }
      : POLICY_RECOMMENDED;
  const guardian = config.guardian ? address(config.guardian) : NO_GUARDIAN;
  if (existing === null && !isValidMarketPolicy(policy, guardian !== NO_GUARDIAN)) {
    throw new Error(
      `policy ${JSON.stringify(config.policy)} is out of bounds (timelock <= 30 days, guardian pause <= 7 days and above 0 with a guardian, ramp <= 90 days, step <= 10000 bps)`,
    );
  }
  if (existing !== null) {
    const state = getLendingMarketDecoder().decode(existing);
    if (state.owner !== chain.payer.address) throw new Error(`market ${market.address} is owned by ${state.owner}, not by this wallet`);
  }
  // Under a listing ramp init_reserve refuses a reserve without finite value caps
  // (`ListingNeedsValueCaps`): a base-unit cap ramped from 0 bounds nothing in value.
  if (policy.listingRampSecs > 0) {
    const uncapped: string[] = [];
    for (const spec of config.reserves) {
      const listed = (await chain.account(await reserveAddress(market.address, address(spec.mint)))) !== null;
      if (!listed && !hasListingValueCaps(spec.config)) uncapped.push(spec.symbol);
    }
    if (uncapped.length > 0) {
      throw new Error(
        `${uncapped.join(', ')}: the market's listing ramp (${policy.listingRampSecs} s) needs a new reserve to have value caps (ListingNeedsValueCaps): ` +
          'set depositLimitValue, and borrowLimitValue unless borrowLimit is 0 (whole quote units)',
      );
    }
  }

  // 1. The program.
  if (!(await chain.isExecutable(PROGRAM_ID)) || options.upgrade) {
    await chain.deployProgram(`${ROOT}/target/deploy/solvent.so`, `${ROOT}/keys/solvent-keypair.json`);
    done.push(`deployed the program ${PROGRAM_ID}`);
  }

  // 2. The market, at the address of its keypair.
  const limits = config.liquidationLimits && {
    liquidationCapValue: BigInt(config.liquidationLimits.capValue),
    dustValue: BigInt(config.liquidationLimits.dustValue),
    protocolShareBps: config.liquidationLimits.protocolShareBps,
  };
  if (existing === null) {
    const quote = new Uint8Array(32);
    quote.set(new TextEncoder().encode(config.quoteCurrency));
    // Under a timelock even the first liquidation limits wait it (they move value between
    // borrowers and liquidators): one transaction creates the market without the timelock,
    // sets the limits, and then sets the policy (a tightening, so at once), before any reserve
    // is listed (a reserve takes the listing ramp in force when it is listed, and under the
    // timelock is listed at LTV 0: step 3).
    const init = (policy: MarketPolicy) =>
      getInitLendingMarketInstruction({
        owner: chain.payer,
        lendingMarket: market,
        marketAuthority: authority,
        quoteCurrency: quote,
        oracleProgram: address(config.oracleProgram),
        policy,
        guardian,
      });
    if (limits && policy.timelockSecs !== 0) {
      await chain.send(
        [
          init({ ...policy, timelockSecs: 0 }),
          getSetLiquidationLimitsInstruction({ lendingMarket: market.address, owner: chain.payer, ...limits }),
          getSetMarketPolicyInstruction({ lendingMarket: market.address, owner: chain.payer, policy }),
        ],
        [market],
      );
    } else {
      await chain.send([init(policy)], [market]);
    }
    done.push(`created market ${market.address}`);
  }

  // Changes the market's timelock holds back (`ChangeNeedsTimelock`) wait in its queue. Its
  // queued changes are read once (an account per id below `nextChangeId`; executed and
  // cancelled ones are closed), so a rerun finds the change it queued instead of queueing it
  // again, and once the change is due executes it (anyone may). Another change of the same kind
  // for the same target (from an older version of the file, or expired, or queued by a former
  // owner, which can never run) is cancelled: executed after this one, it would undo it. A due
  // change the program refuses as stale (`ChangeStale`: the reserve's settings changed since it
  // was queued) is cancelled and queued again.
  let queue: { address: Address; change: QueuedChange }[] | undefined;
  // `queuedAs` words the line for a change newly queued (given "<label>: executable by anyone
  // after <time>").
  const timelocked = async (label: (id: bigint) => string, change: PendingChangeArgs, reserve?: Address, queuedAs = (what: string) => `queued ${what}`) => {
    queue ??= await queuedChanges(chain, market.address);
    const now = await clock(chain);
    // `QueuedChange::due_at`: later than its eta if the timelock was lengthened since.
    const timelockSecs = BigInt(marketPolicyOf(getLendingMarketDecoder().decode((await chain.account(market.address))!)).timelockSecs);
    const dueAt = (q: QueuedChange) => (q.eta > q.queuedAt + timelockSecs ? q.eta : q.queuedAt + timelockSecs);
    const target = reserve ?? market.address;
    const bytes = (change: PendingChangeArgs) => new Uint8Array(getPendingChangeEncoder().encode(change));
    const cancel = async (stale: { address: Address; change: QueuedChange }) => {
      await chain.send([getCancelChangeInstruction({ lendingMarket: market.address, owner: chain.payer, queuedChange: stale.address, queuedBy: stale.change.queuedBy })]);
      queue = queue!.filter((q) => q !== stale);
    };
    const queueNew = async () => {
      const id = getLendingMarketDecoder().decode((await chain.account(market.address))!).nextChangeId;
      const queuedChange = await queuedChangeAddress(market.address, id);
      await chain.send([getQueueChangeInstruction({ lendingMarket: market.address, owner: chain.payer, queuedChange, reserve, change })]);
      const queued = getQueuedChangeDecoder().decode((await chain.account(queuedChange))!);
      queue!.push({ address: queuedChange, change: queued });
      return `${label(id)}: executable by anyone after ${isoTime(dueAt(queued))}`;
    };
    const same = queue.filter((q) => q.change.target === target && q.change.change.__kind === change.__kind);
    const live = same.find(
      (q) =>
        equalBytes(bytes(q.change.change), bytes(change)) &&
        q.change.queuedBy === chain.payer.address &&
        (now === undefined || now <= dueAt(q.change) + BigInt(CHANGE_GRACE_SECS)),
    );
    for (const stale of same.filter((q) => q !== live)) {
      await cancel(stale);
      const why = stale.change.queuedBy !== chain.payer.address ? 'it was queued by a former owner' : "it is not the config file's";
      done.push(`cancelled queued ${label(stale.change.id)} (${why})`);
    }
    if (live && now !== undefined && now >= dueAt(live.change)) {
      try {
        await chain.send([getExecuteChangeInstruction({ lendingMarket: market.address, queuedChange: live.address, queuedBy: live.change.queuedBy, reserve, executor: chain.payer })]);
      } catch (error) {
        if (customErrorCode(error instanceof Error ? error.message : error) !== SOLVENT_ERROR__CHANGE_STALE) throw error;
        await cancel(live);
        done.push(`cancelled queued ${label(live.change.id)} (ChangeStale: the settings it was queued against changed since); queued it again as ${await queueNew()}`);
        return;
      }
      queue = queue.filter((q) => q !== live);
      done.push(`executed queued ${label(live.change.id)}`);
    } else if (live) {
      done.push(`${label(live.change.id)} is already queued: executable by anyone after ${isoTime(dueAt(live.change))}`);
    } else {
      done.push(queuedAs(await queueNew()));
    }
  };
  /** Sends `instruction`; false when the program refused it with `ChangeNeedsTimelock`. */
  const sendUnlessTimelocked = async (instruction: Instruction) => {
    try {
      await chain.send([instruction]);
      return true;
    } catch (error) {
      if (customErrorCode(error instanceof Error ? error.message : error) !== SOLVENT_ERROR__CHANGE_NEEDS_TIMELOCK) throw error;
      return false;
    }
  };

  if (limits) {
    const state = getLendingMarketDecoder().decode((await chain.account(market.address))!);
    if (existing === null) {
      done.push('set the liquidation limits');
    } else if (state.liquidationCapValue !== limits.liquidationCapValue || state.dustValue !== limits.dustValue || state.liquidationProtocolShareBps !== limits.protocolShareBps) {
      if (await sendUnlessTimelocked(getSetLiquidationLimitsInstruction({ lendingMarket: market.address, owner: chain.payer, ...limits }))) {
        done.push('set the liquidation limits');
      } else {
        await timelocked((id) => `liquidation limits change #${id}`, { __kind: 'LiquidationLimits', ...limits });
      }
    }
  }

  // 3. The reserves: listed once (the oracle is pinned), their risk config kept in line. Under
  // a timelock init_reserve lists a reserve only at LTV 0 and outside e-mode
  // (`ListingNeedsZeroLtv`: borrowing power against a new asset waits the timelock, public): it
  // is listed so, and its configured values then take the path of any loosening change (the
  // update refused with `ChangeNeedsTimelock`, queued, executed by a later run once due; the
  // risk step does not bound a move from LTV 0).
  for (const spec of config.reserves) {
    const mint = address(spec.mint);
    const reserve = await reserveAddress(market.address, mint);
    let data = await chain.account(reserve);
    let listedAs: ((what: string) => string) | undefined;
    if (data === null) {
      const zeroLtv = policy.timelockSecs !== 0 && (spec.config.loanToValueBps !== 0 || spec.config.emodeGroups !== 0);
      const listing = zeroLtv ? { ...spec.config, loanToValueBps: 0, emodeGroups: 0 } : spec.config;
      await chain.send([
        getInitReserveInstruction({
          lendingMarket: market.address,
          owner: chain.payer,
          reserve,
          liquidityMint: mint,
          liquidityVault: await liquidityVaultAddress(reserve),
          feeVault: await feeVaultAddress(reserve),
          collateralMint: await collateralMintAddress(reserve),
          marketAuthority: authority,
          oracle: address(spec.oracle),
          config: listing,
          oracleSource: spec.oracleSource,
          priceFeedId: hex(spec.priceFeedId),
        }),
      ]);
      if (!zeroLtv) {
        done.push(`listed ${spec.symbol} (reserve ${reserve})`);
        continue;
      }
      listedAs = (what) => `listed ${spec.symbol} (reserve ${reserve}) at LTV 0 and outside e-mode (the market's timelock): its config is queued as ${what}`;
      data = (await chain.account(reserve))!;
    }
    const state = getReserveDecoder().decode(data);
    if (state.oracle !== spec.oracle || state.oracleSource !== spec.oracleSource || !equalBytes(new Uint8Array(state.priceFeedId), hex(spec.priceFeedId))) {
      throw new Error(`${spec.symbol}: the reserve's oracle is pinned to ${state.oracle}; list the asset in a new market to change it`);
    }
    const wanted = getReserveConfigEncoder().encode(spec.config);
    const onChain = getReserveConfigEncoder().encode(state.config);
    if (equalBytes(new Uint8Array(wanted), new Uint8Array(onChain))) continue;
    // At once when it only tightens or the market has no timelock; else through the queue.
    if (await sendUnlessTimelocked(getUpdateReserveConfigInstruction({ lendingMarket: market.address, authority: chain.payer, reserve, config: spec.config }))) {
      done.push(listedAs ? `listed ${spec.symbol} (reserve ${reserve}) at LTV 0 and outside e-mode, then updated its config` : `updated ${spec.symbol}'s config`);
    } else {
      await timelocked((id) => `config change #${id} for ${spec.symbol}`, { __kind: 'ReserveConfig', config: spec.config }, reserve, listedAs);
    }
  }
  return done;
}

const isoTime = (unix: bigint) => new Date(Number(unix) * 1000).toISOString();

/** What init_reserve asks of a reserve listed under a listing ramp (else `ListingNeedsValueCaps`):
 *  a deposit value cap, and a borrow value cap unless it cannot be borrowed at all. */
export function hasListingValueCaps(config: Pick<ReserveConfigArgs, 'depositLimitValue' | 'borrowLimit' | 'borrowLimitValue'>): boolean {
  return BigInt(config.depositLimitValue) !== 0n && (BigInt(config.borrowLimit) === 0n || BigInt(config.borrowLimitValue) !== 0n);
}

/** The market's queued changes (not yet executed or cancelled), read by id. */
async function queuedChanges(chain: DeployChain, market: Address): Promise<{ address: Address; change: QueuedChange }[]> {
  const next = getLendingMarketDecoder().decode((await chain.account(market))!).nextChangeId;
  const found = await Promise.all(
    Array.from({ length: Number(next) }, async (_, i) => {
      const address = await queuedChangeAddress(market, i);
      const data = await chain.account(address);
      return data === null ? [] : [{ address, change: getQueuedChangeDecoder().decode(data) }];
    }),
  );
  return found.flat();
}

const CLOCK_SYSVAR = address('SysvarC1ock11111111111111111111111111111111');

/** The cluster's unix time (the Clock sysvar's `unix_timestamp`), or undefined if unreadable. */
async function clock(chain: DeployChain): Promise<bigint | undefined> {
  const data = await chain.account(CLOCK_SYSVAR);
  return data && data.length >= 40 ? new DataView(data.buffer, data.byteOffset, data.byteLength).getBigInt64(32, true) : undefined;
}

/** A JSON-RPC cluster. The program is deployed with the Solana CLI (`solana program deploy`). */
export class RpcDeployChain implements DeployChain {
  constructor(
    readonly url: string,
    readonly payer: KeyPairSigner,
    readonly payerPath: string,
    private rpc = createSolanaRpc(url),
  ) {}

  async account(address: Address) {
    const { value } = await this.rpc.getAccountInfo(address, { encoding: 'base64' }).send();
    return value ? new Uint8Array(Buffer.from(value.data[0], 'base64')) : null;
  }

  async isExecutable(address: Address) {
    const { value } = await this.rpc.getAccountInfo(address, { encoding: 'base64' }).send();
    return value?.executable ?? false;
  }

  async deployProgram(soPath: string, programKeypairPath: string) {
    try {
      execFileSync('solana', ['program', 'deploy', soPath, '--program-id', programKeypairPath, '--keypair', this.payerPath, '--url', this.url], { stdio: 'inherit' });
    } catch (error) {
      throw new Error(`solana program deploy failed (is the Solana CLI on PATH?): ${error}`);
    }
  }

  async send(instructions: Instruction[], signers: TransactionSigner[] = []) {
    const sent = await sendOverRpc(this.rpc, this.payer, instructions, signers);
    if (!sent.ok) throw new Error(`transaction failed: ${sent.error} ${sent.name ?? ''}\n${sent.logs.join('\n')}`);
  }
}

const USAGE = `usage: deploy.ts <config.json> [--rpc URL] [--wallet PATH] [--upgrade]
  (cd app && npm run deploy -- <config.json> ...)

Deploys the program (with the Solana CLI, unless it is already there; --upgrade redeploys it)
and creates or reconciles the market and reserves of <config.json>, idempotently.
  --rpc URL      the cluster's JSON-RPC endpoint (default http://127.0.0.1:8899)
  --wallet PATH  the paying keypair file (default $SOLANA_WALLET, else ~/.config/solana/id.json)
  --upgrade      redeploy the program even if it is already deployed
  --help         print this and exit`;

/** The command line (migrations/deploy.ts runs this): exits 2 on a usage error; any other
 *  failure (the RPC unreachable, a refused transaction) is thrown for the entry to report. */
export async function main(args = process.argv.slice(2)) {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(USAGE);
    return;
  }
  // The one argument that is neither a flag nor a flag's value.
  const configPath = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--rpc' && args[i - 1] !== '--wallet');
  if (!configPath) {
    console.error(USAGE);
    process.exit(2);
  }
  const flag = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const url = flag('--rpc') ?? 'http://127.0.0.1:8899';
  const walletPath = (flag('--wallet') ?? process.env.SOLANA_WALLET ?? '~/.config/solana/id.json').replace(/^~/, homedir());
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as DeployConfig;
  const chain = new RpcDeployChain(url, await signerFromFile(walletPath), walletPath);
  // One cheap call first, so an endpoint where nothing answers is named as such (rather than as
  // the "fetch failed" of the first account read).
  try {
    await createSolanaRpc(url).getVersion().send();
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
    throw new Error(`cannot reach the RPC at ${url} (${error instanceof Error ? error.message : String(error)}${cause}); is the validator running?`);
  }
  const done = await deploy(chain, config, { upgrade: args.includes('--upgrade'), configDir: fileURLToPath(new URL('.', `file://${configPath.startsWith('/') ? configPath : `${process.cwd()}/${configPath}`}`)) });
  console.log(done.length === 0 ? 'everything already matches the config' : done.map((line) => `- ${line}`).join('\n'));
}
