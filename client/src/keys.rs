//! Program ids, PDAs, and the addresses of a market and its reserves.
//!
//! Anchor 1.2 builds 3.x pubkey and instruction types while the Solana 4.x client crates (RPC,
//! transactions, the test bank) take 4.x ones; `to_anchor` / `from_anchor` convert by bytes.
pub use solana_pubkey::Pubkey;
use solvent::state::{
    Reserve, COLLATERAL_MINT_SEED, EMODE_DEBT_SEED, FEE_VAULT_SEED, INSURANCE_FUND_SEED, INSURANCE_STAKE_SEED, INSURANCE_VAULT_SEED, LIQUIDITY_VAULT_SEED, MARKET_AUTHORITY_SEED, OBLIGATION_SEED, RESERVE_SEED,
};

pub type AnchorPubkey = anchor_lang::prelude::Pubkey;

pub const TOKEN_PROGRAM_ID: Pubkey = Pubkey::from_str_const("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA");
pub const TOKEN_2022_PROGRAM_ID: Pubkey = Pubkey::from_str_const("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb");
pub const SYSTEM_PROGRAM_ID: Pubkey = Pubkey::from_str_const("11111111111111111111111111111111");
pub const CLOCK_SYSVAR_ID: Pubkey = Pubkey::from_str_const("SysvarC1ock11111111111111111111111111111111");
/// Pyth's legacy oracle program on mainnet.
pub const PYTH_PROGRAM_ID: Pubkey = Pubkey::from_str_const("FsJ3A3u2vn5cTVofAjvy6y5kwABJAqYWpe4975bi9epH");
/// The Pyth pull-oracle receiver program, owner of PriceUpdateV2 accounts (the program's own constant).
pub const PYTH_RECEIVER_PROGRAM_ID: Pubkey = Pubkey::new_from_array(solvent::oracle::PYTH_RECEIVER_PROGRAM_ID.to_bytes());

pub fn program_id() -> Pubkey {
    Pubkey::new_from_array(solvent::ID.to_bytes())
}

pub fn to_anchor(key: &Pubkey) -> AnchorPubkey {
    AnchorPubkey::new_from_array(key.to_bytes())
}

pub fn from_anchor(key: &AnchorPubkey) -> Pubkey {
    Pubkey::new_from_array(key.to_bytes())
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

pub fn insurance_fund_address(reserve: &Pubkey) -> Pubkey {
    pda(&[INSURANCE_FUND_SEED, reserve.as_ref()])
}

pub fn insurance_vault_address(reserve: &Pubkey) -> Pubkey {
    pda(&[INSURANCE_VAULT_SEED, reserve.as_ref()])
}

pub fn insurance_stake_address(fund: &Pubkey, owner: &Pubkey) -> Pubkey {
    pda(&[INSURANCE_STAKE_SEED, fund.as_ref(), owner.as_ref()])
}

pub fn collateral_mint_address(reserve: &Pubkey) -> Pubkey {
    pda(&[COLLATERAL_MINT_SEED, reserve.as_ref()])
}

/// The debt account of e-mode group `group` (1..=8) of `market`.
pub fn emode_group_debt_address(market: &Pubkey, group: u8) -> Pubkey {
    pda(&[EMODE_DEBT_SEED, market.as_ref(), &[group]])
}

/// The timelock's queued change number `id` of `market` (`LendingMarket::next_change_id` at
/// queueing).
pub fn queued_change_address(market: &Pubkey, id: u64) -> Pubkey {
    pda(&[solvent::state::QUEUED_CHANGE_SEED, market.as_ref(), &id.to_le_bytes()])
}

pub fn obligation_address(market: &Pubkey, owner: &Pubkey, id: u8) -> Pubkey {
    pda(&[OBLIGATION_SEED, market.as_ref(), owner.as_ref(), &[id]])
}

/// A lending market's address and the accounts instructions name with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarketKeys {
    pub market: Pubkey,
    pub authority: Pubkey,
    pub owner: Pubkey,
}

impl MarketKeys {
    /// The keys of a market from its account.
    pub fn from_state(market: Pubkey, state: &solvent::state::LendingMarket) -> MarketKeys {
        MarketKeys { market, authority: from_anchor(&state.authority), owner: from_anchor(&state.owner) }
    }
}

/// A reserve's address and every account instructions on it name: resolved once, from the
/// reserve account or from the market and mint, so no caller assembles them by hand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReserveKeys {
    pub reserve: Pubkey,
    pub mint: Pubkey,
    pub vault: Pubkey,
    pub fee_vault: Pubkey,
    pub collateral_mint: Pubkey,
    pub oracle: Pubkey,
    pub decimals: u8,
    /// The token program of the mint (SPL Token or Token-2022).
    pub token_program: Pubkey,
    /// The reserve's insurance fund and its vault, once `init_insurance_fund` created them.
    pub insurance: Option<(Pubkey, Pubkey)>,
}

impl ReserveKeys {
    /// The reserve of `mint` in `market` and its derived accounts (an SPL Token mint).
    pub fn derived(market: &MarketKeys, mint: Pubkey, oracle: Pubkey, decimals: u8) -> ReserveKeys {
        let reserve = reserve_address(&market.market, &mint);
        ReserveKeys {
            reserve,
            mint,
            vault: vault_address(&reserve),
            fee_vault: fee_vault_address(&reserve),
            collateral_mint: collateral_mint_address(&reserve),
            oracle,
            decimals,
            token_program: TOKEN_PROGRAM_ID,
            insurance: None,
        }
    }

    /// The keys recorded on a reserve account.
    pub fn from_state(reserve: Pubkey, state: &Reserve) -> ReserveKeys {
        ReserveKeys {
            reserve,
            mint: from_anchor(&state.liquidity_mint),
            vault: from_anchor(&state.liquidity_vault),
            fee_vault: from_anchor(&state.fee_vault),
            collateral_mint: from_anchor(&state.collateral_mint),
            oracle: from_anchor(&state.oracle),
            decimals: state.liquidity_decimals,
            token_program: from_anchor(&state.token_program),
            insurance: (state.insurance_fund != anchor_lang::prelude::Pubkey::default())
                .then(|| (from_anchor(&state.insurance_fund), insurance_vault_address(&reserve))),
        }
    }
}
