//! A harness around `solana-program-test` 4.4 that runs the built `target/deploy/solvent.so`
//! (prefer_bpf, so compute units, stack and heap are the real SBF ones) with the real SPL Token
//! program. Used by the integration tests and by the demo in `app/`.
//!
//! Anchor 1.2 builds 3.x instruction and pubkey types while solana-program-test 4.4 takes 4.x
//! ones; the helpers here convert by bytes.
use anchor_lang::{AccountDeserialize, InstructionData, ToAccountMetas};
use pyth_sdk_solana::state::{AccountType, PriceStatus, SolanaPriceAccount, MAGIC, VERSION_2};
use solana_account::{Account, AccountSharedData};
use solana_clock::Clock;
pub use solana_instruction::{AccountMeta, Instruction};
pub use solana_keypair::Keypair;
pub use solana_program_test::{processor, ProgramTest, ProgramTestContext};
pub use solana_pubkey::Pubkey;
pub use solana_signer::Signer;
use solana_transaction::Transaction;
use solvent::math::{Wad, WAD};
use solvent::state::{
    LendingMarket, Obligation, RateCurvePoint, Reserve, ReserveConfig, COLLATERAL_MINT_SEED, FEE_VAULT_SEED,
    LIQUIDITY_VAULT_SEED, MARKET_AUTHORITY_SEED, OBLIGATION_SEED, RESERVE_SEED,
};

pub type AnchorPubkey = anchor_lang::prelude::Pubkey;

pub const TOKEN_PROGRAM_ID: Pubkey = Pubkey::from_str_const("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA");
pub const SYSTEM_PROGRAM_ID: Pubkey = Pubkey::from_str_const("11111111111111111111111111111111");
/// Pyth's legacy oracle program on mainnet; the test market names it as its oracle program.
pub const PYTH_PROGRAM_ID: Pubkey = Pubkey::from_str_const("FsJ3A3u2vn5cTVofAjvy6y5kwABJAqYWpe4975bi9epH");
pub const MINT_SIZE: u64 = 82;
pub const TOKEN_ACCOUNT_SIZE: u64 = 165;
/// Unix time the harness starts its clock at.
pub const START_TIME: i64 = 1_750_000_000;

pub fn program_id() -> Pubkey {
    Pubkey::new_from_array(solvent::ID.to_bytes())
}

pub fn to_anchor(key: &Pubkey) -> AnchorPubkey {
    AnchorPubkey::new_from_array(key.to_bytes())
}

pub fn from_anchor(key: &AnchorPubkey) -> Pubkey {
    Pubkey::new_from_array(key.to_bytes())
}

fn metas(anchor_metas: Vec<anchor_lang::prelude::AccountMeta>) -> Vec<AccountMeta> {
    anchor_metas
        .into_iter()
        .map(|m| AccountMeta { pubkey: from_anchor(&m.pubkey), is_signer: m.is_signer, is_writable: m.is_writable })
        .collect()
}

/// A program instruction from Anchor's generated account and data structs.
pub fn program_ix(accounts: impl ToAccountMetas, data: impl InstructionData) -> Instruction {
    Instruction { program_id: program_id(), accounts: metas(accounts.to_account_metas(None)), data: data.data() }
}

pub fn pda(seeds: &[&[u8]]) -> Pubkey {
    Pubkey::find_program_address(seeds, &program_id()).0
}

pub fn market_authority(market: &Pubkey) -> Pubkey {
    pda(&[MARKET_AUTHORITY_SEED, market.as_ref()])
}

pub fn reserve_address(market: &Pubkey, mint: &Pubkey) -> Pubkey {
    pda(&[RESERVE_SEED, market.as_ref(), mint.as_ref()])
}

pub fn vault_address(reserve: &Pubkey) -> Pubkey {
    pda(&[LIQUIDITY_VAULT_SEED, reserve.as_ref()])
}

pub fn fee_vault_address(reserve: &Pubkey) -> Pubkey {
    pda(&[FEE_VAULT_SEED, reserve.as_ref()])
}

pub fn collateral_mint_address(reserve: &Pubkey) -> Pubkey {
    pda(&[COLLATERAL_MINT_SEED, reserve.as_ref()])
}

pub fn obligation_address(market: &Pubkey, owner: &Pubkey, id: u8) -> Pubkey {
    pda(&[OBLIGATION_SEED, market.as_ref(), owner.as_ref(), &[id]])
}

/// A kinked curve: 0% → `base`, optimal utilization → `optimal`, 100% → `max` (APR bps).
pub fn kinked_curve(base: u32, optimal_utilization_bps: u32, optimal: u32, max: u32) -> [RateCurvePoint; 8] {
    let mut curve = [RateCurvePoint::default(); 8];
    curve[0] = RateCurvePoint { utilization_bps: 0, borrow_rate_bps: base };
    curve[1] = RateCurvePoint { utilization_bps: optimal_utilization_bps, borrow_rate_bps: optimal };
    curve[2] = RateCurvePoint { utilization_bps: 10_000, borrow_rate_bps: max };
    curve
}

/// Sane defaults for a test reserve; tests override fields as needed.
pub fn default_config() -> ReserveConfig {
    ReserveConfig {
        loan_to_value_bps: 7_500,
        liquidation_threshold_bps: 8_000,
        liquidation_bonus_bps: 500,
        close_factor_bps: 5_000,
        protocol_take_rate_bps: 1_000,
        borrow_fee_bps: 0,
        max_confidence_bps: 200,
        max_price_age_secs: 60,
        flash_loan_fee_bps: 9,
        deposit_limit: u64::MAX,
        borrow_limit: u64::MAX,
        rate_curve: kinked_curve(0, 8_000, 1_000, 10_000),
        ..Default::default()
    }
}

/// A Pyth legacy price account, built with pyth-sdk-solana's own type (EMA = spot).
pub fn pyth_price_account(price: i64, conf: u64, expo: i32, publish_time: i64, status: PriceStatus) -> Vec<u8> {
    pyth_price_account_with_ema(price, conf, price, conf, expo, publish_time, status)
}

/// A Pyth legacy price account whose EMA may differ from spot.
#[allow(clippy::field_reassign_with_default)] // the Pyth type has no constructor
pub fn pyth_price_account_with_ema(price: i64, conf: u64, ema_price: i64, ema_conf: u64, expo: i32, publish_time: i64, status: PriceStatus) -> Vec<u8> {
    let mut account = SolanaPriceAccount::default();
    account.magic = MAGIC;
    account.ver = VERSION_2;
    account.atype = AccountType::Price as u32;
    account.size = std::mem::size_of::<SolanaPriceAccount>() as u32;
    account.expo = expo;
    account.timestamp = publish_time;
    account.agg.price = price;
    account.agg.conf = conf;
    account.agg.status = status;
    account.ema_price.val = ema_price;
    account.ema_conf.val = ema_conf as i64;
    bytemuck::bytes_of(&account).to_vec()
}

/// The Pyth receiver program, owner of PriceUpdateV2 accounts.
pub const PYTH_RECEIVER_PROGRAM_ID: Pubkey = Pubkey::from_str_const("rec5EKMGg6MxZYaMdyBfgwp4d5rB9T1VQH5pJv5LtFJ");

/// One Pyth pull-oracle price message: spot and EMA with their confidence, one exponent.
#[derive(Clone, Copy, Debug)]
pub struct PullPrice {
    pub feed_id: [u8; 32],
    pub price: i64,
    pub conf: u64,
    pub ema_price: i64,
    pub ema_conf: u64,
    pub expo: i32,
    pub publish_time: i64,
}

/// A `PriceUpdateV2` account as the Pyth receiver writes it, built and serialized with
/// `pyth-solana-receiver-sdk`'s own types (`full`: fully verified, else partially with 5 signatures).
pub fn price_update_v2_account(price: PullPrice, full: bool) -> Vec<u8> {
    use anchor_lang::AccountSerialize;
    use pyth_solana_receiver_sdk::price_update::{PriceFeedMessage, PriceUpdateV2, VerificationLevel};
    let update = PriceUpdateV2 {
        write_authority: AnchorPubkey::new_from_array([7; 32]),
        verification_level: if full { VerificationLevel::Full } else { VerificationLevel::Partial { num_signatures: 5 } },
        price_message: PriceFeedMessage {
            feed_id: price.feed_id,
            price: price.price,
            conf: price.conf,
            exponent: price.expo,
            publish_time: price.publish_time,
            prev_publish_time: price.publish_time - 1,
            ema_price: price.ema_price,
            ema_conf: price.ema_conf,
        },
        posted_slot: 1,
    };
    let mut data = Vec::with_capacity(PriceUpdateV2::LEN);
    update.try_serialize(&mut data).expect("serialize PriceUpdateV2");
    data.resize(PriceUpdateV2::LEN, 0);
    data
}

/// Result of a transaction: compute units and, on failure, the program's custom error code.
#[derive(Debug)]
pub struct TxOutcome {
    pub compute_units: u64,
    pub error: Option<String>,
    pub logs: Vec<String>,
}

impl TxOutcome {
    /// The Anchor custom error code, if the transaction failed with one.
    pub fn custom_error(&self) -> Option<u32> {
        let text = self.error.as_ref()?;
        let start = text.find("Custom(")? + "Custom(".len();
        let end = text[start..].find(')')? + start;
        text[start..end].parse().ok()
    }
}

impl TxOutcome {
    /// Whether the transaction emitted an Anchor event of type `E` (by its discriminator in the
    /// "Program data:" log lines).
    pub fn emitted<E: anchor_lang::Discriminator>(&self) -> bool {
        use base64::Engine;
        self.logs.iter().filter_map(|line| line.strip_prefix("Program data: ")).any(|data| {
            base64::engine::general_purpose::STANDARD.decode(data).is_ok_and(|bytes| bytes.starts_with(E::DISCRIMINATOR))
        })
    }
}

/// Anchor numbers a program's errors from 6000 in declaration order.
pub fn error_code(error: solvent::errors::LendingError) -> u32 {
    6000 + error as u32
}

pub struct Harness {
    pub context: ProgramTestContext,
    pub payer: Keypair,
    /// Every address a transaction sent through `send` or `set_account` has touched: the
    /// harness's account index, standing in for an RPC node's `getProgramAccounts` (BanksClient
    /// has no scan).
    pub touched_accounts: std::collections::BTreeSet<Pubkey>,
    /// Signatures sent under the current blockhash.
    sent_signatures: std::collections::HashSet<solana_signature::Signature>,
}

impl Harness {
    pub async fn start() -> Harness {
        Harness::start_with(|_| {}).await
    }

    /// Like `start`, with extra programs (e.g. a native CPI caller) added by `configure`.
    pub async fn start_with(configure: impl FnOnce(&mut ProgramTest)) -> Harness {
        let deploy_dir = std::env::var("SOLVENT_SBF_OUT_DIR")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../target/deploy").to_string());
        assert!(
            std::path::Path::new(&deploy_dir).join("solvent.so").exists(),
            "{deploy_dir}/solvent.so is missing: run scripts/build-sbf.sh first"
        );
        std::env::set_var("SBF_OUT_DIR", &deploy_dir);
        let mut program_test = ProgramTest::default();
        program_test.prefer_bpf(true);
        program_test.add_program("solvent", program_id(), None);
        configure(&mut program_test);
        let context = program_test.start_with_context().await;
        let payer = context.payer.insecure_clone();
        let mut harness = Harness { context, payer, touched_accounts: Default::default(), sent_signatures: Default::default() };
        harness.set_time(START_TIME).await;
        harness
    }

    pub async fn clock(&mut self) -> Clock {
        self.context.banks_client.get_sysvar::<Clock>().await.expect("clock")
    }

    /// Moves to the next slot with the given unix time, so "refreshed this slot" starts over.
    pub async fn set_time(&mut self, unix_timestamp: i64) {
        let mut clock = self.clock().await;
        self.context.warp_to_slot(clock.slot + 1).expect("warp");
        clock = self.clock().await;
        clock.unix_timestamp = unix_timestamp;
        self.context.set_sysvar(&clock);
        self.context.last_blockhash = self.context.get_new_latest_blockhash().await.expect("blockhash");
        self.sent_signatures.clear();
    }

    pub async fn now(&mut self) -> i64 {
        self.clock().await.unix_timestamp
    }

    /// Runs a transaction and reports compute units and the error, if any.
    pub async fn send(&mut self, instructions: &[Instruction], signers: &[&Keypair]) -> TxOutcome {
        let mut all_signers: Vec<&Keypair> = vec![&self.payer];
        for signer in signers {
            if signer.pubkey() != self.payer.pubkey() {
                all_signers.push(signer);
            }
        }
        for instruction in instructions {
            self.touched_accounts.extend(instruction.accounts.iter().map(|meta| meta.pubkey));
        }
        let sign = |blockhash| Transaction::new_signed_with_payer(instructions, Some(&self.payer.pubkey()), &all_signers, blockhash);
        let mut tx = sign(self.context.last_blockhash);
        // The same instructions sent twice under one blockhash would be the same transaction
        // (signatures are deterministic) and be refused as already processed: only then wait
        // for a new blockhash, which takes the bank a tick.
        if !self.sent_signatures.insert(tx.signatures[0]) {
            self.context.last_blockhash = self.context.get_new_latest_blockhash().await.expect("blockhash");
            self.sent_signatures.clear();
            tx = sign(self.context.last_blockhash);
            self.sent_signatures.insert(tx.signatures[0]);
        }
        let mut result = self.context.banks_client.process_transaction_with_metadata(tx).await.expect("banks");
        if result.metadata.is_none() {
            // The blockhash has left the bank's queue (a warp drops it): take the newest and resend.
            self.context.last_blockhash = self.context.get_new_latest_blockhash().await.expect("blockhash");
            self.sent_signatures.clear();
            let tx = sign(self.context.last_blockhash);
            self.sent_signatures.insert(tx.signatures[0]);
            result = self.context.banks_client.process_transaction_with_metadata(tx).await.expect("banks");
        }
        let metadata = result.metadata.unwrap_or_else(|| panic!("no metadata: {:?}", result.result));
        TxOutcome {
            compute_units: metadata.compute_units_consumed,
            error: result.result.err().map(|e| format!("{e:?}")),
            logs: metadata.log_messages,
        }
    }

    /// Runs a transaction that must succeed; returns its compute units.
    pub async fn must_send(&mut self, instructions: &[Instruction], signers: &[&Keypair]) -> u64 {
        let outcome = self.send(instructions, signers).await;
        assert!(outcome.error.is_none(), "transaction failed: {:?}\n{}", outcome.error, outcome.logs.join("\n"));
        outcome.compute_units
    }

    pub async fn account(&mut self, key: &Pubkey) -> Option<Account> {
        self.context.banks_client.get_account(*key).await.expect("get_account")
    }

    /// Accounts owned by `program` whose data starts with `discriminator` and holds `filter_key`
    /// at `filter_offset`, among every address this harness has touched: `getProgramAccounts`
    /// with two memcmp filters.
    pub async fn program_accounts(
        &mut self,
        program: &Pubkey,
        discriminator: &[u8],
        filter_offset: usize,
        filter_key: &Pubkey,
    ) -> Vec<(Pubkey, Account)> {
        let keys: Vec<Pubkey> = self.touched_accounts.iter().copied().collect();
        let mut found = Vec::new();
        for key in keys {
            let Some(account) = self.account(&key).await else { continue };
            let data = &account.data;
            if account.owner == *program
                && data.starts_with(discriminator)
                && data.get(filter_offset..filter_offset + 32) == Some(filter_key.as_ref())
            {
                found.push((key, account));
            }
        }
        found
    }

    pub fn set_account(&mut self, key: &Pubkey, owner: &Pubkey, data: Vec<u8>) {
        self.touched_accounts.insert(*key);
        let account = Account { lamports: 1_000_000_000, data, owner: *owner, executable: false, rent_epoch: 0 };
        self.context.set_account(key, &AccountSharedData::from(account));
    }

    pub async fn fund(&mut self, to: &Pubkey, lamports: u64) {
        let mut data = vec![2, 0, 0, 0];
        data.extend_from_slice(&lamports.to_le_bytes());
        let ix = Instruction {
            program_id: SYSTEM_PROGRAM_ID,
            accounts: vec![AccountMeta::new(self.payer.pubkey(), true), AccountMeta::new(*to, false)],
            data,
        };
        self.must_send(&[ix], &[]).await;
    }

    async fn create_account_ix(&mut self, new: &Pubkey, space: u64, owner: &Pubkey) -> Instruction {
        let rent = self.context.banks_client.get_rent().await.expect("rent");
        let mut data = vec![0, 0, 0, 0];
        data.extend_from_slice(&rent.minimum_balance(space as usize).to_le_bytes());
        data.extend_from_slice(&space.to_le_bytes());
        data.extend_from_slice(owner.as_ref());
        Instruction {
            program_id: SYSTEM_PROGRAM_ID,
            accounts: vec![AccountMeta::new(self.payer.pubkey(), true), AccountMeta::new(*new, true)],
            data,
        }
    }

    /// A new SPL Token mint whose mint authority is the payer.
    pub async fn create_mint(&mut self, decimals: u8) -> Pubkey {
        self.create_mint_at(decimals, Keypair::new()).await
    }

    /// A mint at a given address (tests that need reproducible addresses).
    pub async fn create_mint_at(&mut self, decimals: u8, mint: Keypair) -> Pubkey {
        let create = self.create_account_ix(&mint.pubkey(), MINT_SIZE, &TOKEN_PROGRAM_ID).await;
        let mut data = vec![20, decimals];
        data.extend_from_slice(self.payer.pubkey().as_ref());
        data.push(0);
        let init = Instruction {
            program_id: TOKEN_PROGRAM_ID,
            accounts: vec![AccountMeta::new(mint.pubkey(), false)],
            data,
        };
        self.must_send(&[create, init], &[&mint]).await;
        mint.pubkey()
    }

    pub async fn create_token_account(&mut self, mint: &Pubkey, owner: &Pubkey) -> Pubkey {
        let account = Keypair::new();
        let create = self.create_account_ix(&account.pubkey(), TOKEN_ACCOUNT_SIZE, &TOKEN_PROGRAM_ID).await;
        let mut data = vec![18];
        data.extend_from_slice(owner.as_ref());
        let init = Instruction {
            program_id: TOKEN_PROGRAM_ID,
            accounts: vec![AccountMeta::new(account.pubkey(), false), AccountMeta::new_readonly(*mint, false)],
            data,
        };
        self.must_send(&[create, init], &[&account]).await;
        account.pubkey()
    }

    pub async fn mint_to(&mut self, mint: &Pubkey, account: &Pubkey, amount: u64) {
        let mut data = vec![7];
        data.extend_from_slice(&amount.to_le_bytes());
        let ix = Instruction {
            program_id: TOKEN_PROGRAM_ID,
            accounts: vec![
                AccountMeta::new(*mint, false),
                AccountMeta::new(*account, false),
                AccountMeta::new_readonly(self.payer.pubkey(), true),
            ],
            data,
        };
        self.must_send(&[ix], &[]).await;
    }

    pub async fn token_balance(&mut self, account: &Pubkey) -> u64 {
        let data = self.account(account).await.expect("token account").data;
        u64::from_le_bytes(data[64..72].try_into().unwrap())
    }

    /// Writes a Pyth price account owned by the Pyth program, published now.
    pub async fn set_price(&mut self, oracle: &Pubkey, price: i64, conf: u64, expo: i32) {
        let now = self.now().await;
        self.set_price_at(oracle, price, conf, expo, now, PriceStatus::Trading);
    }

    pub fn set_price_at(&mut self, oracle: &Pubkey, price: i64, conf: u64, expo: i32, time: i64, status: PriceStatus) {
        self.set_account(oracle, &PYTH_PROGRAM_ID, pyth_price_account(price, conf, expo, time, status));
    }

    pub async fn reserve(&mut self, key: &Pubkey) -> Reserve {
        let data = self.account(key).await.expect("reserve").data;
        *bytemuck::from_bytes::<Reserve>(&data[8..8 + std::mem::size_of::<Reserve>()])
    }

    pub async fn obligation(&mut self, key: &Pubkey) -> Obligation {
        let data = self.account(key).await.expect("obligation").data;
        *bytemuck::from_bytes::<Obligation>(&data[8..8 + std::mem::size_of::<Obligation>()])
    }

    pub async fn market(&mut self, key: &Pubkey) -> LendingMarket {
        let data = self.account(key).await.expect("market").data;
        LendingMarket::try_deserialize(&mut data.as_slice()).expect("market data")
    }

    /// Every account's data and lamports, to assert a failed instruction changed nothing.
    pub async fn snapshot(&mut self, keys: &[Pubkey]) -> Vec<Option<(u64, Vec<u8>)>> {
        let mut out = Vec::new();
        for key in keys {
            out.push(self.account(key).await.map(|a| (a.lamports, a.data)));
        }
        out
    }
}

/// Sends `ixs`, asserts it fails with `error`, and that none of `keys` changed.
pub async fn assert_rejected(
    h: &mut Harness,
    ixs: &[Instruction],
    signers: &[&Keypair],
    error: solvent::errors::LendingError,
    keys: &[Pubkey],
) {
    let before = h.snapshot(keys).await;
    let outcome = h.send(ixs, signers).await;
    assert_eq!(
        outcome.custom_error(),
        Some(error_code(error)),
        "expected {error:?}, got {:?}\n{}",
        outcome.error,
        outcome.logs.join("\n")
    );
    assert!(h.snapshot(keys).await == before, "a rejected transaction changed state");
}

/// A market with reserves, as created by `MarketBuilder`.
#[derive(Clone, Debug)]
pub struct TestReserve {
    pub reserve: Pubkey,
    pub mint: Pubkey,
    pub vault: Pubkey,
    pub fee_vault: Pubkey,
    pub collateral_mint: Pubkey,
    pub oracle: Pubkey,
    pub decimals: u8,
}

impl TestReserve {
    /// The reserve of `mint` in `market` and its derived accounts.
    pub fn derived(market: &TestMarket, mint: Pubkey, oracle: Pubkey, decimals: u8) -> TestReserve {
        let reserve = reserve_address(&market.market, &mint);
        TestReserve {
            reserve,
            mint,
            vault: vault_address(&reserve),
            fee_vault: fee_vault_address(&reserve),
            collateral_mint: collateral_mint_address(&reserve),
            oracle,
            decimals,
        }
    }
}

#[derive(Clone, Debug)]
pub struct TestMarket {
    pub market: Pubkey,
    pub authority: Pubkey,
    pub owner: Pubkey,
}

impl Harness {
    pub async fn init_market(&mut self, owner: &Keypair) -> (TestMarket, u64) {
        self.init_market_at(owner, Keypair::new()).await
    }

    /// A market at a given address (tests that need reproducible addresses).
    pub async fn init_market_at(&mut self, owner: &Keypair, market: Keypair) -> (TestMarket, u64) {
        let authority = market_authority(&market.pubkey());
        let mut quote = [0u8; 32];
        quote[..3].copy_from_slice(b"USD");
        let ix = program_ix(
            solvent::accounts::InitLendingMarket {
                owner: to_anchor(&owner.pubkey()),
                lending_market: to_anchor(&market.pubkey()),
                market_authority: to_anchor(&authority),
                system_program: anchor_lang::system_program::ID,
            },
            solvent::instruction::InitLendingMarket { quote_currency: quote, oracle_program: to_anchor(&PYTH_PROGRAM_ID) },
        );
        let units = self.must_send(&[ix], &[owner, &market]).await;
        (TestMarket { market: market.pubkey(), authority, owner: owner.pubkey() }, units)
    }

    /// Creates a mint, its price account, and the reserve.
    pub async fn init_reserve(
        &mut self,
        market: &TestMarket,
        owner: &Keypair,
        decimals: u8,
        price: i64,
        expo: i32,
        config: ReserveConfig,
    ) -> (TestReserve, u64) {
        let mint = self.create_mint(decimals).await;
        self.init_reserve_for_mint(market, owner, mint, price, expo, config).await
    }

    /// Like `init_reserve`, for an existing mint.
    pub async fn init_reserve_for_mint(
        &mut self,
        market: &TestMarket,
        owner: &Keypair,
        mint: Pubkey,
        price: i64,
        expo: i32,
        config: ReserveConfig,
    ) -> (TestReserve, u64) {
        let decimals = self.account(&mint).await.expect("mint").data[44];
        let oracle = Keypair::new().pubkey();
        self.set_price(&oracle, price, 0, expo).await;
        let ix = init_reserve_ix(market, &owner.pubkey(), &mint, &oracle, config);
        let units = self.must_send(&[ix], &[owner]).await;
        (TestReserve::derived(market, mint, oracle, decimals), units)
    }

    /// Writes a PriceUpdateV2 account owned by the Pyth receiver program.
    pub fn set_price_update(&mut self, key: &Pubkey, price: PullPrice, full: bool) {
        self.set_account(key, &PYTH_RECEIVER_PROGRAM_ID, price_update_v2_account(price, full));
    }

    /// Creates a mint, a PriceUpdateV2 account for `price` (published now) and a reserve reading it.
    pub async fn init_reserve_pull(&mut self, market: &TestMarket, owner: &Keypair, decimals: u8, mut price: PullPrice, config: ReserveConfig) -> TestReserve {
        let mint = self.create_mint(decimals).await;
        let oracle = Keypair::new().pubkey();
        price.publish_time = self.now().await;
        self.set_price_update(&oracle, price, true);
        let ix = init_reserve_with_oracle_ix(market, &owner.pubkey(), &mint, &oracle, config, solvent::oracle::ORACLE_SOURCE_PYTH_PULL, price.feed_id);
        self.must_send(&[ix], &[owner]).await;
        TestReserve::derived(market, mint, oracle, decimals)
    }

    pub async fn init_obligation(&mut self, market: &TestMarket, owner: &Keypair) -> Pubkey {
        let obligation = obligation_address(&market.market, &owner.pubkey(), 0);
        let ix = program_ix(
            solvent::accounts::InitObligation {
                lending_market: to_anchor(&market.market),
                owner: to_anchor(&owner.pubkey()),
                obligation: to_anchor(&obligation),
                system_program: anchor_lang::system_program::ID,
            },
            solvent::instruction::InitObligation { obligation_id: 0 },
        );
        self.must_send(&[ix], &[owner]).await;
        obligation
    }
}

pub fn init_reserve_ix(market: &TestMarket, owner: &Pubkey, mint: &Pubkey, oracle: &Pubkey, config: ReserveConfig) -> Instruction {
    init_reserve_with_oracle_ix(market, owner, mint, oracle, config, solvent::oracle::ORACLE_SOURCE_PYTH_LEGACY, [0; 32])
}

pub fn init_reserve_with_oracle_ix(
    market: &TestMarket,
    owner: &Pubkey,
    mint: &Pubkey,
    oracle: &Pubkey,
    config: ReserveConfig,
    oracle_source: u8,
    price_feed_id: [u8; 32],
) -> Instruction {
    let reserve = reserve_address(&market.market, mint);
    program_ix(
        solvent::accounts::InitReserve {
            lending_market: to_anchor(&market.market),
            owner: to_anchor(owner),
            reserve: to_anchor(&reserve),
            liquidity_mint: to_anchor(mint),
            liquidity_vault: to_anchor(&vault_address(&reserve)),
            fee_vault: to_anchor(&fee_vault_address(&reserve)),
            collateral_mint: to_anchor(&collateral_mint_address(&reserve)),
            market_authority: to_anchor(&market.authority),
            oracle: to_anchor(oracle),
            token_program: to_anchor(&TOKEN_PROGRAM_ID),
            system_program: anchor_lang::system_program::ID,
        },
        solvent::instruction::InitReserve { config, oracle_source, price_feed_id },
    )
}

pub fn refresh_reserve_ix(reserve: &TestReserve) -> Instruction {
    program_ix(
        solvent::accounts::RefreshReserve { reserve: to_anchor(&reserve.reserve), oracle: to_anchor(&reserve.oracle) },
        solvent::instruction::RefreshReserve {},
    )
}

/// refresh_obligation with the obligation's reserves (deposits, then borrows) in order.
pub fn refresh_obligation_ix(obligation: &Pubkey, reserves: &[Pubkey]) -> Instruction {
    let mut ix = program_ix(
        solvent::accounts::RefreshObligation { obligation: to_anchor(obligation) },
        solvent::instruction::RefreshObligation {},
    );
    ix.accounts.extend(reserves.iter().map(|r| AccountMeta::new_readonly(*r, false)));
    ix
}

/// The reserves an obligation's refresh needs, read from its current positions.
pub fn obligation_reserves(obligation: &Obligation) -> Vec<Pubkey> {
    let deposits = obligation.deposits[..obligation.deposit_count()].iter().map(|d| from_anchor(&d.deposit_reserve));
    let borrows = obligation.borrows[..obligation.borrow_count()].iter().map(|b| from_anchor(&b.borrow_reserve));
    deposits.chain(borrows).collect()
}

pub fn deposit_ix(market: &TestMarket, reserve: &TestReserve, obligation: &Pubkey, owner: &Pubkey, source: &Pubkey, amount: u64) -> Instruction {
    program_ix(
        solvent::accounts::Deposit {
            lending_market: to_anchor(&market.market),
            reserve: to_anchor(&reserve.reserve),
            obligation: to_anchor(obligation),
            owner: to_anchor(owner),
            liquidity_mint: to_anchor(&reserve.mint),
            liquidity_vault: to_anchor(&reserve.vault),
            source_liquidity: to_anchor(source),
            token_program: to_anchor(&TOKEN_PROGRAM_ID),
        },
        solvent::instruction::Deposit { amount },
    )
}

pub fn withdraw_ix(market: &TestMarket, reserve: &TestReserve, obligation: &Pubkey, owner: &Pubkey, destination: &Pubkey, shares: u64) -> Instruction {
    program_ix(
        solvent::accounts::Withdraw {
            lending_market: to_anchor(&market.market),
            reserve: to_anchor(&reserve.reserve),
            obligation: to_anchor(obligation),
            owner: to_anchor(owner),
            liquidity_mint: to_anchor(&reserve.mint),
            liquidity_vault: to_anchor(&reserve.vault),
            destination_liquidity: to_anchor(destination),
            market_authority: to_anchor(&market.authority),
            token_program: to_anchor(&TOKEN_PROGRAM_ID),
        },
        solvent::instruction::Withdraw { collateral_shares: shares },
    )
}

pub fn borrow_ix(market: &TestMarket, reserve: &TestReserve, obligation: &Pubkey, owner: &Pubkey, destination: &Pubkey, amount: u64) -> Instruction {
    program_ix(
        solvent::accounts::Borrow {
            lending_market: to_anchor(&market.market),
            reserve: to_anchor(&reserve.reserve),
            obligation: to_anchor(obligation),
            owner: to_anchor(owner),
            liquidity_mint: to_anchor(&reserve.mint),
            liquidity_vault: to_anchor(&reserve.vault),
            destination_liquidity: to_anchor(destination),
            market_authority: to_anchor(&market.authority),
            token_program: to_anchor(&TOKEN_PROGRAM_ID),
        },
        solvent::instruction::Borrow { amount },
    )
}

pub fn repay_ix(reserve: &TestReserve, obligation: &Pubkey, repayer: &Pubkey, source: &Pubkey, amount: u64) -> Instruction {
    program_ix(
        solvent::accounts::Repay {
            reserve: to_anchor(&reserve.reserve),
            obligation: to_anchor(obligation),
            repayer: to_anchor(repayer),
            liquidity_mint: to_anchor(&reserve.mint),
            liquidity_vault: to_anchor(&reserve.vault),
            source_liquidity: to_anchor(source),
            token_program: to_anchor(&TOKEN_PROGRAM_ID),
        },
        solvent::instruction::Repay { amount },
    )
}

#[allow(clippy::too_many_arguments)]
pub fn liquidate_ix(
    market: &TestMarket,
    obligation: &Pubkey,
    liquidator: &Pubkey,
    repay: &TestReserve,
    source: &Pubkey,
    withdraw: &TestReserve,
    destination: &Pubkey,
    amount: u64,
) -> Instruction {
    liquidate_with_shares_ix(market, obligation, liquidator, repay, source, withdraw, destination, amount, None)
}

/// `liquidate` with the optional share accounts: `shares_destination` (the liquidator's token
/// account of the withdraw reserve's share mint) takes in share tokens what the withdraw
/// reserve's idle liquidity cannot pay.
#[allow(clippy::too_many_arguments)]
pub fn liquidate_with_shares_ix(
    market: &TestMarket,
    obligation: &Pubkey,
    liquidator: &Pubkey,
    repay: &TestReserve,
    source: &Pubkey,
    withdraw: &TestReserve,
    destination: &Pubkey,
    amount: u64,
    shares_destination: Option<&Pubkey>,
) -> Instruction {
    program_ix(
        solvent::accounts::Liquidate {
            lending_market: to_anchor(&market.market),
            obligation: to_anchor(obligation),
            liquidator: to_anchor(liquidator),
            repay_reserve: to_anchor(&repay.reserve),
            repay_liquidity_mint: to_anchor(&repay.mint),
            repay_liquidity_vault: to_anchor(&repay.vault),
            source_liquidity: to_anchor(source),
            withdraw_reserve: to_anchor(&withdraw.reserve),
            withdraw_liquidity_mint: to_anchor(&withdraw.mint),
            withdraw_liquidity_vault: to_anchor(&withdraw.vault),
            destination_liquidity: to_anchor(destination),
            market_authority: to_anchor(&market.authority),
            repay_token_program: to_anchor(&TOKEN_PROGRAM_ID),
            withdraw_token_program: to_anchor(&TOKEN_PROGRAM_ID),
            instructions_sysvar: solvent::flash_loan::INSTRUCTIONS_SYSVAR_ID,
            withdraw_collateral_mint: shares_destination.map(|_| to_anchor(&withdraw.collateral_mint)),
            destination_collateral: shares_destination.map(to_anchor),
        },
        solvent::instruction::Liquidate { repay_amount: amount },
    )
}

pub fn flash_borrow_ix(market: &TestMarket, reserve: &TestReserve, destination: &Pubkey, amount: u64) -> Instruction {
    program_ix(
        solvent::accounts::FlashBorrow {
            lending_market: to_anchor(&market.market),
            reserve: to_anchor(&reserve.reserve),
            liquidity_mint: to_anchor(&reserve.mint),
            liquidity_vault: to_anchor(&reserve.vault),
            destination_liquidity: to_anchor(destination),
            market_authority: to_anchor(&market.authority),
            instructions_sysvar: solvent::flash_loan::INSTRUCTIONS_SYSVAR_ID,
            token_program: to_anchor(&TOKEN_PROGRAM_ID),
        },
        solvent::instruction::FlashBorrow { amount },
    )
}

pub fn flash_repay_ix(market: &TestMarket, reserve: &TestReserve, source: &Pubkey, repayer: &Pubkey, amount: u64) -> Instruction {
    program_ix(
        solvent::accounts::FlashRepay {
            lending_market: to_anchor(&market.market),
            reserve: to_anchor(&reserve.reserve),
            liquidity_mint: to_anchor(&reserve.mint),
            liquidity_vault: to_anchor(&reserve.vault),
            source_liquidity: to_anchor(source),
            repayer: to_anchor(repayer),
            token_program: to_anchor(&TOKEN_PROGRAM_ID),
        },
        solvent::instruction::FlashRepay { amount },
    )
}

pub fn write_off_bad_debt_ix(market: &TestMarket, reserve: &TestReserve, obligation: &Pubkey) -> Instruction {
    program_ix(
        solvent::accounts::WriteOffBadDebt {
            lending_market: to_anchor(&market.market),
            reserve: to_anchor(&reserve.reserve),
            obligation: to_anchor(obligation),
        },
        solvent::instruction::WriteOffBadDebt {},
    )
}

pub fn set_liquidation_limits_ix(
    market: &TestMarket,
    owner: &Pubkey,
    liquidation_cap_value: u64,
    dust_value: u64,
    protocol_share_bps: u16,
) -> Instruction {
    program_ix(
        solvent::accounts::SetLiquidationLimits { lending_market: to_anchor(&market.market), owner: to_anchor(owner) },
        solvent::instruction::SetLiquidationLimits { liquidation_cap_value, dust_value, protocol_share_bps },
    )
}

pub fn set_paused_ix(market: &TestMarket, owner: &Pubkey, paused: bool) -> Instruction {
    program_ix(
        solvent::accounts::SetMarketPaused { lending_market: to_anchor(&market.market), owner: to_anchor(owner) },
        solvent::instruction::SetMarketPaused { paused },
    )
}

pub fn update_config_ix(market: &TestMarket, owner: &Pubkey, reserve: &TestReserve, config: ReserveConfig) -> Instruction {
    program_ix(
        solvent::accounts::UpdateReserveConfig {
            lending_market: to_anchor(&market.market),
            owner: to_anchor(owner),
            reserve: to_anchor(&reserve.reserve),
            instructions_sysvar: solvent::flash_loan::INSTRUCTIONS_SYSVAR_ID,
        },
        solvent::instruction::UpdateReserveConfig { config },
    )
}

pub fn collect_fees_ix(market: &TestMarket, reserve: &TestReserve) -> Instruction {
    program_ix(
        solvent::accounts::CollectProtocolFees {
            lending_market: to_anchor(&market.market),
            reserve: to_anchor(&reserve.reserve),
            liquidity_mint: to_anchor(&reserve.mint),
            liquidity_vault: to_anchor(&reserve.vault),
            fee_vault: to_anchor(&reserve.fee_vault),
            market_authority: to_anchor(&market.authority),
            token_program: to_anchor(&TOKEN_PROGRAM_ID),
        },
        solvent::instruction::CollectProtocolFees {},
    )
}

pub fn withdraw_fees_ix(market: &TestMarket, owner: &Pubkey, reserve: &TestReserve, destination: &Pubkey, amount: u64) -> Instruction {
    program_ix(
        solvent::accounts::WithdrawProtocolFees {
            lending_market: to_anchor(&market.market),
            owner: to_anchor(owner),
            reserve: to_anchor(&reserve.reserve),
            liquidity_mint: to_anchor(&reserve.mint),
            fee_vault: to_anchor(&reserve.fee_vault),
            destination: to_anchor(destination),
            market_authority: to_anchor(&market.authority),
            token_program: to_anchor(&TOKEN_PROGRAM_ID),
        },
        solvent::instruction::WithdrawProtocolFees { amount },
    )
}

pub fn deposit_reserve_liquidity_ix(
    market: &TestMarket,
    reserve: &TestReserve,
    depositor: &Pubkey,
    source: &Pubkey,
    destination_collateral: &Pubkey,
    amount: u64,
) -> Instruction {
    program_ix(
        solvent::accounts::DepositReserveLiquidity {
            lending_market: to_anchor(&market.market),
            reserve: to_anchor(&reserve.reserve),
            depositor: to_anchor(depositor),
            liquidity_mint: to_anchor(&reserve.mint),
            liquidity_vault: to_anchor(&reserve.vault),
            collateral_mint: to_anchor(&reserve.collateral_mint),
            source_liquidity: to_anchor(source),
            destination_collateral: to_anchor(destination_collateral),
            market_authority: to_anchor(&market.authority),
            token_program: to_anchor(&TOKEN_PROGRAM_ID),
        },
        solvent::instruction::DepositReserveLiquidity { amount },
    )
}

pub fn redeem_reserve_collateral_ix(
    market: &TestMarket,
    reserve: &TestReserve,
    redeemer: &Pubkey,
    source_collateral: &Pubkey,
    destination: &Pubkey,
    shares: u64,
) -> Instruction {
    program_ix(
        solvent::accounts::RedeemReserveCollateral {
            lending_market: to_anchor(&market.market),
            reserve: to_anchor(&reserve.reserve),
            redeemer: to_anchor(redeemer),
            liquidity_mint: to_anchor(&reserve.mint),
            liquidity_vault: to_anchor(&reserve.vault),
            collateral_mint: to_anchor(&reserve.collateral_mint),
            source_collateral: to_anchor(source_collateral),
            destination_liquidity: to_anchor(destination),
            market_authority: to_anchor(&market.authority),
            token_program: to_anchor(&TOKEN_PROGRAM_ID),
        },
        solvent::instruction::RedeemReserveCollateral { shares },
    )
}

/// Supply of an SPL Token mint.
pub fn mint_supply(data: &[u8]) -> u64 {
    u64::from_le_bytes(data[36..44].try_into().unwrap())
}

/// Quote value as a decimal number, for printing only.
pub fn wad_to_f64(value: Wad) -> f64 {
    value.raw() as f64 / WAD as f64
}

/// One row per obligation: deposits, borrows, values and health factor, for people to read.
pub fn format_obligation(name: &str, obligation: &Obligation, reserve_names: &[(Pubkey, &str, u8)]) -> String {
    let label = |key: &AnchorPubkey| {
        reserve_names
            .iter()
            .find(|(k, _, _)| *k == from_anchor(key))
            .map(|(_, n, d)| (n.to_string(), *d))
            .unwrap_or(("?".into(), 0))
    };
    let deposits: Vec<String> = obligation.deposits[..obligation.deposit_count()]
        .iter()
        .map(|d| {
            let (n, _) = label(&d.deposit_reserve);
            format!("{n}: {} shares (${:.2})", d.deposited_shares, wad_to_f64(d.market_value_wad.get()))
        })
        .collect();
    let borrows: Vec<String> = obligation.borrows[..obligation.borrow_count()]
        .iter()
        .map(|b| {
            let (n, decimals) = label(&b.borrow_reserve);
            let amount = wad_to_f64(b.borrowed_amount()) / 10f64.powi(decimals as i32);
            format!("{n}: {amount:.6} (${:.2})", wad_to_f64(b.market_value_wad.get()))
        })
        .collect();
    let values = obligation.values();
    let health = values.health_factor().map(|h| format!("{:.4}", wad_to_f64(h))).unwrap_or_else(|| "-".into());
    format!(
        "{name:<10} | {:<40} | {:<32} | ${:>12.2} | ${:>12.2} | {health:>8}{}",
        deposits.join(", "),
        borrows.join(", "),
        wad_to_f64(values.deposited_value),
        wad_to_f64(values.borrowed_value),
        if values.is_unhealthy() { "  LIQUIDATABLE" } else { "" }
    )
}

pub fn obligation_table_header() -> String {
    format!(
        "{:<10} | {:<40} | {:<32} | {:>13} | {:>13} | {:>8}",
        "obligation", "deposits", "borrows", "deposited", "borrowed", "health"
    )
}

/// A user with a keypair, an obligation and one token account per reserve.
pub struct TestUser {
    pub keypair: Keypair,
    pub obligation: Pubkey,
    pub sol_account: Pubkey,
    pub usdc_account: Pubkey,
}

/// The standard two-asset market: SOL (9 decimals, volatile, Pyth expo -8) and USDC (6 decimals,
/// stable, Pyth expo -6). A lender supplies USDC; a borrower deposits SOL.
pub struct StandardMarket {
    pub owner: Keypair,
    pub market: TestMarket,
    pub sol: TestReserve,
    pub usdc: TestReserve,
    pub lender: TestUser,
    pub borrower: TestUser,
    /// Compute units of the set-up instructions, by name.
    pub compute_units: Vec<(String, u64)>,
}

pub const SOL_PRICE_EXPO: i32 = -8;
pub const USDC_PRICE_EXPO: i32 = -6;
/// $150.00000000 with expo -8.
pub const SOL_PRICE: i64 = 15_000_000_000;
/// $1.000000 with expo -6.
pub const USDC_PRICE: i64 = 1_000_000;
pub const LENDER_USDC_DEPOSIT: u64 = 100_000_000_000; // 100,000 USDC
pub const BORROWER_SOL_DEPOSIT: u64 = 10_000_000_000; // 10 SOL

pub fn sol_config() -> ReserveConfig {
    default_config()
}

pub fn usdc_config() -> ReserveConfig {
    ReserveConfig {
        loan_to_value_bps: 8_500,
        liquidation_threshold_bps: 9_000,
        liquidation_bonus_bps: 400,
        borrow_fee_bps: 10,
        rate_curve: kinked_curve(400, 8_000, 1_500, 15_000),
        ..default_config()
    }
}

impl Harness {
    pub async fn new_user(&mut self, market: &TestMarket, sol: &TestReserve, usdc: &TestReserve) -> TestUser {
        let keypair = Keypair::new();
        self.fund(&keypair.pubkey(), 10_000_000_000).await;
        let obligation = self.init_obligation(market, &keypair).await;
        let sol_account = self.create_token_account(&sol.mint, &keypair.pubkey()).await;
        let usdc_account = self.create_token_account(&usdc.mint, &keypair.pubkey()).await;
        TestUser { keypair, obligation, sol_account, usdc_account }
    }

    pub async fn standard_market(&mut self) -> StandardMarket {
        let owner = Keypair::new();
        self.fund(&owner.pubkey(), 100_000_000_000).await;
        let mut compute_units = Vec::new();
        let (market, units) = self.init_market(&owner).await;
        compute_units.push(("init_lending_market".to_string(), units));
        let (sol, units) = self.init_reserve(&market, &owner, 9, SOL_PRICE, SOL_PRICE_EXPO, sol_config()).await;
        compute_units.push(("init_reserve".to_string(), units));
        let (usdc, _) = self.init_reserve(&market, &owner, 6, USDC_PRICE, USDC_PRICE_EXPO, usdc_config()).await;

        let lender = self.new_user(&market, &sol, &usdc).await;
        self.mint_to(&usdc.mint, &lender.usdc_account, LENDER_USDC_DEPOSIT).await;
        let ix = deposit_ix(&market, &usdc, &lender.obligation, &lender.keypair.pubkey(), &lender.usdc_account, LENDER_USDC_DEPOSIT);
        let units = self.must_send(&[ix], &[&lender.keypair]).await;
        compute_units.push(("deposit".to_string(), units));

        let borrower = self.new_user(&market, &sol, &usdc).await;
        self.mint_to(&sol.mint, &borrower.sol_account, BORROWER_SOL_DEPOSIT).await;
        let ix = deposit_ix(&market, &sol, &borrower.obligation, &borrower.keypair.pubkey(), &borrower.sol_account, BORROWER_SOL_DEPOSIT);
        self.must_send(&[ix], &[&borrower.keypair]).await;
        StandardMarket { owner, market, sol, usdc, lender, borrower, compute_units }
    }

    /// Refreshes every reserve of the obligation and the obligation, in one transaction.
    pub fn refresh_all_ixs(&self, obligation_key: &Pubkey, obligation: &Obligation, reserves: &[&TestReserve]) -> Vec<Instruction> {
        let needed = obligation_reserves(obligation);
        let mut ixs: Vec<Instruction> =
            reserves.iter().filter(|r| needed.contains(&r.reserve)).map(|r| refresh_reserve_ix(r)).collect();
        ixs.push(refresh_obligation_ix(obligation_key, &needed));
        ixs
    }

    /// Refresh instructions followed by `action`, for an obligation as it is on chain now.
    pub async fn with_refresh(&mut self, obligation_key: &Pubkey, reserves: &[&TestReserve], action: Instruction) -> Vec<Instruction> {
        let obligation = self.obligation(obligation_key).await;
        let mut ixs = self.refresh_all_ixs(obligation_key, &obligation, reserves);
        // Reserves the action touches must be fresh too, even if the obligation has no position yet.
        for reserve in reserves {
            if action.accounts.iter().any(|m| m.pubkey == reserve.reserve)
                && !ixs.iter().any(|ix| ix.accounts.first().map(|m| m.pubkey) == Some(reserve.reserve))
            {
                ixs.insert(0, refresh_reserve_ix(reserve));
            }
        }
        ixs.push(with_position_reserves(action, &obligation));
        ixs
    }
}

/// `borrow`, `withdraw` and `liquidate` take the obligation's position reserves (deposits, then
/// borrows) as remaining accounts, to check none changed since refresh_obligation: appends them
/// to such an instruction (any other comes back unchanged).
pub fn with_position_reserves(mut action: Instruction, obligation: &Obligation) -> Instruction {
    use anchor_lang::Discriminator;
    let needs = [solvent::instruction::Borrow::DISCRIMINATOR, solvent::instruction::Withdraw::DISCRIMINATOR, solvent::instruction::Liquidate::DISCRIMINATOR];
    if action.program_id == program_id() && needs.iter().any(|d| action.data.starts_with(d)) {
        action.accounts.extend(obligation_reserves(obligation).into_iter().map(|r| AccountMeta::new_readonly(r, false)));
    }
    action
}

impl TestUser {
    /// The same user again (keypairs do not implement Clone).
    pub fn clone_user(&self) -> TestUser {
        TestUser {
            keypair: self.keypair.insecure_clone(),
            obligation: self.obligation,
            sol_account: self.sol_account,
            usdc_account: self.usdc_account,
        }
    }
}

/// Every measured instruction but the inits has a budget line, and stays within it.
pub fn check_compute_budget(measured: &[(String, u64)]) {
    let text = include_str!("../compute-budget.txt");
    let budget: Vec<(&str, u64)> = text
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let (name, units) = line.rsplit_once(' ').expect("name units");
            (name, units.parse().expect("units"))
        })
        .collect();
    let mut over = Vec::new();
    for (name, units) in measured.iter().filter(|(name, _)| !name.starts_with("init_")) {
        let limit = budget.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no budget for {name}")).1;
        if *units > limit {
            over.push(format!("{name}: {units} CU > budget {limit}"));
        }
    }
    assert!(over.is_empty(), "compute budget exceeded:\n{}", over.join("\n"));
}

/// A market with one reserve per position (each with its own oracle, 6 decimals, $1) and an
/// obligation holding `deposits` collateral positions of $1,000 and `borrows` debts of $700 ×
/// 8 / `borrows`, supplied by a lender: $5,600 of debt against $8,000 × deposits / 8 of collateral.
pub struct LoadedObligation {
    pub owner: Keypair,
    pub market: TestMarket,
    pub collateral: Vec<TestReserve>,
    pub debts: Vec<TestReserve>,
    pub borrower: Keypair,
    pub obligation: Pubkey,
    /// The borrower's token account for each collateral reserve, then each debt reserve.
    pub collateral_accounts: Vec<Pubkey>,
    pub debt_accounts: Vec<Pubkey>,
}

pub const ONE_TOKEN: u64 = 1_000_000;

impl Harness {
    pub async fn loaded_obligation(&mut self, deposits: usize, borrows: usize) -> LoadedObligation {
        let owner = Keypair::new();
        self.fund(&owner.pubkey(), 100_000_000_000).await;
        let (market, _) = self.init_market(&owner).await;
        let mut reserves = Vec::new();
        for _ in 0..deposits + borrows {
            let (reserve, _) = self.init_reserve(&market, &owner, 6, 1_000_000, -6, default_config()).await;
            reserves.push(reserve);
        }
        let debts = reserves.split_off(deposits);
        let collateral = reserves;

        let lender = Keypair::new();
        self.fund(&lender.pubkey(), 10_000_000_000).await;
        let lender_obligation = self.init_obligation(&market, &lender).await;
        for reserve in &debts {
            let source = self.create_token_account(&reserve.mint, &lender.pubkey()).await;
            self.mint_to(&reserve.mint, &source, 10_000 * ONE_TOKEN).await;
            let ix = deposit_ix(&market, reserve, &lender_obligation, &lender.pubkey(), &source, 10_000 * ONE_TOKEN);
            self.must_send(&[ix], &[&lender]).await;
        }
        let borrower = Keypair::new();
        self.fund(&borrower.pubkey(), 10_000_000_000).await;
        let obligation = self.init_obligation(&market, &borrower).await;
        let per_deposit = 8_000 * ONE_TOKEN / deposits as u64;
        let mut collateral_accounts = Vec::new();
        for reserve in &collateral {
            let source = self.create_token_account(&reserve.mint, &borrower.pubkey()).await;
            self.mint_to(&reserve.mint, &source, 2 * per_deposit).await;
            let ix = deposit_ix(&market, reserve, &obligation, &borrower.pubkey(), &source, per_deposit);
            self.must_send(&[ix], &[&borrower]).await;
            collateral_accounts.push(source);
        }
        let per_borrow = 5_600 * ONE_TOKEN / borrows.max(1) as u64;
        let mut debt_accounts = Vec::new();
        for reserve in &debts {
            self.refresh_separately(&obligation, &collateral, &debts).await;
            let destination = self.create_token_account(&reserve.mint, &borrower.pubkey()).await;
            let ix = borrow_ix(&market, reserve, &obligation, &borrower.pubkey(), &destination, per_borrow);
            let state = self.obligation(&obligation).await;
            self.must_send(&[with_position_reserves(ix, &state)], &[&borrower]).await;
            debt_accounts.push(destination);
        }
        LoadedObligation { owner, market, collateral, debts, borrower, obligation, collateral_accounts, debt_accounts }
    }

    /// Refreshes every reserve and then the obligation, each in its own transaction of this slot
    /// (a legacy transaction cannot carry them all for a large obligation).
    pub async fn refresh_separately(&mut self, obligation: &Pubkey, collateral: &[TestReserve], debts: &[TestReserve]) {
        for reserve in collateral.iter().chain(debts) {
            self.must_send(&[refresh_reserve_ix(reserve)], &[]).await;
        }
        let current = self.obligation(obligation).await;
        self.must_send(&[refresh_obligation_ix(obligation, &obligation_reserves(&current))], &[]).await;
    }
}

/// What one transaction costs: compute units, distinct accounts, serialized bytes.
#[derive(Clone, Copy, Debug)]
pub struct Measurement {
    pub compute_units: u64,
    pub accounts: usize,
    pub bytes: usize,
}

impl Harness {
    /// Sends a legacy transaction that must succeed and reports its cost and size.
    pub async fn measure(&mut self, instructions: &[Instruction], signers: &[&Keypair]) -> Measurement {
        let message = solana_message::Message::new(instructions, Some(&self.payer.pubkey()));
        let accounts = message.account_keys.len();
        let bytes = message.serialize().len() + 1 + 64 * message.header.num_required_signatures as usize;
        let compute_units = self.must_send(instructions, signers).await;
        Measurement { compute_units, accounts, bytes }
    }
}

pub const TOKEN_2022_PROGRAM_ID: Pubkey = Pubkey::from_str_const("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb");

/// A Token-2022 mint extension for `Harness::create_mint_2022`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MintExtension {
    TransferFee,
    TransferHook,
    PermanentDelegate,
    NonTransferable,
    ConfidentialTransfer,
    DefaultFrozen,
    CloseAuthority,
    MetadataPointer,
    InterestBearing,
}

/// An instruction from the SPL Token-2022 interface crate, in this harness's types.
fn from_spl(ix: anchor_lang::solana_program::instruction::Instruction) -> Instruction {
    Instruction {
        program_id: Pubkey::new_from_array(ix.program_id.to_bytes()),
        accounts: ix
            .accounts
            .iter()
            .map(|meta| AccountMeta { pubkey: Pubkey::new_from_array(meta.pubkey.to_bytes()), is_signer: meta.is_signer, is_writable: meta.is_writable })
            .collect(),
        data: ix.data,
    }
}

impl Harness {
    /// A real Token-2022 mint with `extension` (or none), created and initialized by the
    /// Token-2022 program itself; the payer is its mint (and freeze) authority.
    pub async fn create_mint_2022(&mut self, decimals: u8, extension: Option<MintExtension>) -> Pubkey {
        use anchor_spl::token_2022::spl_token_2022::{self as t22, extension::ExtensionType, state::Mint};
        let mint = Keypair::new();
        let (program, key, authority) = (to_anchor(&TOKEN_2022_PROGRAM_ID), to_anchor(&mint.pubkey()), to_anchor(&self.payer.pubkey()));
        let kind = extension.map(|e| match e {
            MintExtension::TransferFee => ExtensionType::TransferFeeConfig,
            MintExtension::TransferHook => ExtensionType::TransferHook,
            MintExtension::PermanentDelegate => ExtensionType::PermanentDelegate,
            MintExtension::NonTransferable => ExtensionType::NonTransferable,
            MintExtension::ConfidentialTransfer => ExtensionType::ConfidentialTransferMint,
            MintExtension::DefaultFrozen => ExtensionType::DefaultAccountState,
            MintExtension::CloseAuthority => ExtensionType::MintCloseAuthority,
            MintExtension::MetadataPointer => ExtensionType::MetadataPointer,
            MintExtension::InterestBearing => ExtensionType::InterestBearingConfig,
        });
        let kinds: Vec<ExtensionType> = kind.into_iter().collect();
        let size = ExtensionType::try_calculate_account_len::<Mint>(&kinds).expect("mint size") as u64;
        let mut ixs = vec![self.create_account_ix(&mint.pubkey(), size, &TOKEN_2022_PROGRAM_ID).await];
        let init = match extension {
            None => None,
            Some(MintExtension::TransferFee) => {
                Some(t22::extension::transfer_fee::instruction::initialize_transfer_fee_config(&program, &key, Some(&authority), Some(&authority), 50, 1_000_000))
            }
            Some(MintExtension::TransferHook) => Some(t22::extension::transfer_hook::instruction::initialize(&program, &key, Some(authority), Some(to_anchor(&PYTH_PROGRAM_ID)))),
            Some(MintExtension::PermanentDelegate) => Some(t22::instruction::initialize_permanent_delegate(&program, &key, &authority)),
            Some(MintExtension::NonTransferable) => Some(t22::instruction::initialize_non_transferable_mint(&program, &key)),
            Some(MintExtension::ConfidentialTransfer) => {
                Some(t22::extension::confidential_transfer::instruction::initialize_mint(&program, &key, Some(authority), true, None))
            }
            Some(MintExtension::DefaultFrozen) => Some(t22::extension::default_account_state::instruction::initialize_default_account_state(
                &program,
                &key,
                &t22::state::AccountState::Frozen,
            )),
            Some(MintExtension::CloseAuthority) => Some(t22::instruction::initialize_mint_close_authority(&program, &key, Some(&authority))),
            Some(MintExtension::MetadataPointer) => Some(t22::extension::metadata_pointer::instruction::initialize(&program, &key, Some(authority), Some(key))),
            Some(MintExtension::InterestBearing) => Some(t22::extension::interest_bearing_mint::instruction::initialize(&program, &key, Some(authority), 100)),
        };
        if let Some(init) = init {
            ixs.push(from_spl(init.unwrap_or_else(|e| panic!("{extension:?}: {e:?}"))));
        }
        ixs.push(from_spl(t22::instruction::initialize_mint2(&program, &key, &authority, Some(&authority), decimals).expect("initialize_mint2")));
        self.must_send(&ixs, &[&mint]).await;
        mint.pubkey()
    }
}

/// `init_reserve` for a mint of `token_program` (SPL Token or Token-2022).
pub fn init_reserve_with_token_program_ix(
    market: &TestMarket,
    owner: &Pubkey,
    mint: &Pubkey,
    oracle: &Pubkey,
    config: ReserveConfig,
    token_program: &Pubkey,
) -> Instruction {
    let mut ix = init_reserve_ix(market, owner, mint, oracle, config);
    for meta in ix.accounts.iter_mut().filter(|meta| meta.pubkey == TOKEN_PROGRAM_ID) {
        meta.pubkey = *token_program;
    }
    ix
}

/// SplitMix64: a seeded generator, so randomized tests draw the same cases on every run.
pub struct Rng(pub u64);

impl Rng {
    #[allow(clippy::should_implement_trait)] // an endless generator, not an iterator
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [low, high).
    pub fn between(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }

    /// Uniform in [low, high].
    pub fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A keypair from the seed.
    pub fn keypair(&mut self) -> Keypair {
        let mut seed = [0u8; 32];
        for chunk in seed.chunks_mut(8) {
            chunk.copy_from_slice(&self.next().to_le_bytes());
        }
        Keypair::new_from_array(seed)
    }
}

impl Harness {
    /// The standard market, with the borrower owing `usdc_debt` (base units) against its 10 SOL.
    pub async fn market_with_usdc_debt(usdc_debt: u64) -> (Harness, StandardMarket) {
        let mut h = Harness::start().await;
        let m = h.standard_market().await;
        let b = &m.borrower;
        let ix = borrow_ix(&m.market, &m.usdc, &b.obligation, &b.keypair.pubkey(), &b.usdc_account, usdc_debt);
        let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], ix).await;
        h.must_send(&ixs, &[&b.keypair]).await;
        (h, m)
    }
}
