//! The few calls off-chain tools make, as a trait: the keeper, the leverage builder and the
//! demo run the same logic on a JSON-RPC endpoint (`RpcChain`) and on the test harness's
//! embedded bank (`solvent_tests::InProcessChain`).
use crate::accounts::{clock_from_sysvar, decode_market, decode_obligation, decode_reserve, token_amount, LENDING_MARKET_OFFSET};
use crate::keys::{program_id, CLOCK_SYSVAR_ID};
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_pubkey::Pubkey;
use solana_signer::Signer;
use solvent::state::{LendingMarket, Obligation, Reserve};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainError(pub String);

impl fmt::Display for ChainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ChainError {}

/// What happened to one transaction.
#[derive(Debug, Clone, Default)]
pub struct Sent {
    /// Known in process; over RPC only from the transaction's metadata, not fetched.
    pub compute_units: Option<u64>,
    /// The error, with the program's custom code when there is one; None on success.
    pub error: Option<String>,
}

impl Sent {
    /// The program's custom error code, when the transaction failed with one.
    pub fn custom_error(&self) -> Option<u32> {
        crate::errors::custom_error_code(self.error.as_ref()?)
    }

    /// The program error, when the transaction failed with one of the program's.
    pub fn lending_error(&self) -> Option<solvent::errors::LendingError> {
        crate::errors::lending_error(self.custom_error()?)
    }
}

/// The calls every tool needs.
#[allow(async_fn_in_trait)]
pub trait Chain {
    /// Program accounts that start with `discriminator` and belong to `market`.
    async fn program_accounts(&mut self, discriminator: &[u8], market: &Pubkey) -> Result<Vec<(Pubkey, Vec<u8>)>, ChainError>;
    async fn account_data(&mut self, key: &Pubkey) -> Result<Option<Vec<u8>>, ChainError>;
    /// Current slot and unix time.
    async fn clock(&mut self) -> Result<(u64, i64), ChainError>;
    /// Signs with `signers` and sends; over RPC the first signer pays the fees.
    async fn send(&mut self, instructions: &[Instruction], signers: &[&Keypair]) -> Result<Sent, ChainError>;

    async fn reserve(&mut self, key: &Pubkey) -> Result<Reserve, ChainError> {
        let data = self.account_data(key).await?.ok_or_else(|| ChainError(format!("no reserve account {key}")))?;
        decode_reserve(&data).ok_or_else(|| ChainError(format!("{key} is not a reserve")))
    }

    async fn obligation(&mut self, key: &Pubkey) -> Result<Obligation, ChainError> {
        let data = self.account_data(key).await?.ok_or_else(|| ChainError(format!("no obligation account {key}")))?;
        decode_obligation(&data).ok_or_else(|| ChainError(format!("{key} is not an obligation")))
    }

    async fn market(&mut self, key: &Pubkey) -> Result<LendingMarket, ChainError> {
        let data = self.account_data(key).await?.ok_or_else(|| ChainError(format!("no market account {key}")))?;
        decode_market(&data).ok_or_else(|| ChainError(format!("{key} is not a lending market")))
    }

    /// A token account's balance (0 when it does not exist).
    async fn token_balance(&mut self, key: &Pubkey) -> Result<u64, ChainError> {
        Ok(self.account_data(key).await?.and_then(|data| token_amount(&data)).unwrap_or(0))
    }
}

/// A JSON-RPC endpoint (solana-test-validator, Surfpool, devnet), at confirmed commitment.
pub struct RpcChain {
    pub client: solana_rpc_client::nonblocking::rpc_client::RpcClient,
}

impl RpcChain {
    pub fn new(url: &str) -> RpcChain {
        let commitment = solana_commitment_config::CommitmentConfig::confirmed();
        RpcChain { client: solana_rpc_client::nonblocking::rpc_client::RpcClient::new_with_commitment(url.to_string(), commitment) }
    }
}

fn rpc_error(error: impl fmt::Display) -> ChainError {
    ChainError(error.to_string())
}

impl Chain for RpcChain {
    async fn program_accounts(&mut self, discriminator: &[u8], market: &Pubkey) -> Result<Vec<(Pubkey, Vec<u8>)>, ChainError> {
        use solana_account_decoder_client_types::UiAccountEncoding;
        use solana_rpc_client_types::config::{RpcAccountInfoConfig, RpcProgramAccountsConfig};
        use solana_rpc_client_types::filter::{Memcmp, RpcFilterType};
        let config = RpcProgramAccountsConfig {
            filters: Some(vec![
                RpcFilterType::Memcmp(Memcmp::new_raw_bytes(0, discriminator.to_vec())),
                RpcFilterType::Memcmp(Memcmp::new_raw_bytes(LENDING_MARKET_OFFSET, market.to_bytes().to_vec())),
            ]),
            account_config: RpcAccountInfoConfig { encoding: Some(UiAccountEncoding::Base64), ..Default::default() },
            ..Default::default()
        };
        let accounts = self.client.get_program_ui_accounts_with_config(&program_id(), config).await.map_err(rpc_error)?;
        accounts
            .into_iter()
            .map(|(key, account)| account.data.decode().map(|data| (key, data)).ok_or_else(|| ChainError(format!("{key}: undecodable data"))))
            .collect()
    }

    async fn account_data(&mut self, key: &Pubkey) -> Result<Option<Vec<u8>>, ChainError> {
        let response = self.client.get_account_with_commitment(key, self.client.commitment()).await.map_err(rpc_error)?;
        Ok(response.value.map(|account| account.data))
    }

    async fn clock(&mut self) -> Result<(u64, i64), ChainError> {
        let data = self.account_data(&CLOCK_SYSVAR_ID).await?.ok_or_else(|| ChainError("no clock sysvar".into()))?;
        clock_from_sysvar(&data).ok_or_else(|| ChainError("short clock sysvar".into()))
    }

    async fn send(&mut self, instructions: &[Instruction], signers: &[&Keypair]) -> Result<Sent, ChainError> {
        let payer = signers.first().ok_or_else(|| ChainError("no signer to pay the fees".into()))?;
        let blockhash = self.client.get_latest_blockhash().await.map_err(rpc_error)?;
        let tx = solana_transaction::Transaction::new_signed_with_payer(instructions, Some(&payer.pubkey()), signers, blockhash);
        match self.client.send_and_confirm_transaction(&tx).await {
            Ok(_) => Ok(Sent::default()),
            Err(error) => Ok(Sent { compute_units: None, error: Some(error.to_string()) }),
        }
    }
}
