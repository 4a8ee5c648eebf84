//! The embedded bank: a `solana-program-test` context running the built `solvent.so`, with
//! transaction sending, account reads and writes, the clock, and cost measurement.
use crate::*;
use anchor_lang::AccountDeserialize;
use solana_account::{Account, AccountSharedData};
use solana_clock::Clock;
use solana_transaction::Transaction;
use solvent::state::{LendingMarket, Obligation, Reserve};

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
        solvent_client::errors::custom_error_code(self.error.as_ref()?)
    }

    /// The program error, if the transaction failed with one of the program's.
    pub fn lending_error(&self) -> Option<solvent::errors::LendingError> {
        solvent_client::errors::lending_error(self.custom_error()?)
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
    /// A transaction identical to one already sent under this blockhash gets a compute-unit
    /// limit instruction appended (a different limit each time) instead of waiting for a new
    /// blockhash: for long runs on `advance_clock`, where the bank's blockhash never changes.
    pub unique_by_nonce: bool,
    nonce: u32,
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
        let mut harness = Harness { context, payer, touched_accounts: Default::default(), sent_signatures: Default::default(), unique_by_nonce: false, nonce: 0 };
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

    /// Moves the clock the program reads (`Clock`) to the next slot and `unix_timestamp` without
    /// warping the bank: no new bank, no new blockhash, so it costs nothing; the program sees a
    /// new slot ("refreshed this slot" starts over) and the new time. Pair with
    /// `unique_by_nonce`, since the blockhash stays the same.
    pub async fn advance_clock(&mut self, unix_timestamp: i64) {
        let mut clock = self.clock().await;
        clock.slot += 1;
        clock.unix_timestamp = unix_timestamp;
        self.context.set_sysvar(&clock);
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
        let mut with_nonce;
        let mut instructions = instructions;
        if self.unique_by_nonce {
            let probe = Transaction::new_signed_with_payer(instructions, Some(&self.payer.pubkey()), &all_signers, self.context.last_blockhash);
            if self.sent_signatures.contains(&probe.signatures[0]) {
                self.nonce += 1;
                let mut data = vec![2];
                data.extend_from_slice(&(1_400_000 - self.nonce % 1_000_000).to_le_bytes());
                with_nonce = instructions.to_vec();
                with_nonce.push(Instruction { program_id: Pubkey::from_str_const("ComputeBudget111111111111111111111111111111"), accounts: vec![], data });
                instructions = &with_nonce;
            }
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

    pub(crate) async fn create_account_ix(&mut self, new: &Pubkey, space: u64, owner: &Pubkey) -> Instruction {
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
}

impl Harness {
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
