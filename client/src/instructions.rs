//! An instruction builder for every instruction of the program, with the accounts resolved
//! from the market's and reserves' keys (mint, vault, oracle, authority, token program).
//! `borrow`, `withdraw`, `liquidate` and `set_obligation_emode` also take the obligation's
//! position reserves as remaining accounts: `refresh::with_position_reserves` appends them.
use crate::keys::*;
use anchor_lang::{InstructionData, ToAccountMetas};
pub use solana_instruction::{AccountMeta, Instruction};
use solvent::state::{DynamicMarginConfig, EmodeGroup, MarketPolicy, OrderParams, PendingChange, ReserveConfig, SoftZoneConfig};

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

/// `init_lending_market` for a new market account `market` (which signs), quoting in USD,
/// without crisis controls (`MarketPolicy::OFF`, no guardian): for tests and devnets.
pub fn init_lending_market_ix(owner: &Pubkey, market: &Pubkey, oracle_program: &Pubkey) -> Instruction {
    init_lending_market_with_policy_ix(owner, market, oracle_program, &MarketPolicy::OFF, &Pubkey::default())
}

/// `init_lending_market` with a `policy` (`MarketPolicy::RECOMMENDED` for a real market) and a
/// `guardian` (the default key: none).
pub fn init_lending_market_with_policy_ix(owner: &Pubkey, market: &Pubkey, oracle_program: &Pubkey, policy: &MarketPolicy, guardian: &Pubkey) -> Instruction {
    let mut quote = [0u8; 32];
    quote[..3].copy_from_slice(b"USD");
    program_ix(
        solvent::accounts::InitLendingMarket {
            owner: to_anchor(owner),
            lending_market: to_anchor(market),
            market_authority: to_anchor(&market_authority(market)),
            system_program: anchor_lang::system_program::ID,
        },
        solvent::instruction::InitLendingMarket {
            quote_currency: quote,
            oracle_program: to_anchor(oracle_program),
            policy: *policy,
            guardian: to_anchor(guardian),
        },
    )
}

/// `init_obligation` number `id` of `owner` in `market`.
pub fn init_obligation_ix(market: &Pubkey, owner: &Pubkey, id: u8) -> Instruction {
    program_ix(
        solvent::accounts::InitObligation {
            lending_market: to_anchor(market),
            owner: to_anchor(owner),
            obligation: to_anchor(&obligation_address(market, owner, id)),
            system_program: anchor_lang::system_program::ID,
        },
        solvent::instruction::InitObligation { obligation_id: id },
    )
}

pub fn init_reserve_ix(market: &MarketKeys, owner: &Pubkey, mint: &Pubkey, oracle: &Pubkey, config: ReserveConfig) -> Instruction {
    init_reserve_with_oracle_ix(market, owner, mint, oracle, config, solvent::oracle::ORACLE_SOURCE_PYTH_LEGACY, [0; 32])
}

pub fn init_reserve_with_oracle_ix(
    market: &MarketKeys,
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

pub fn refresh_reserve_ix(reserve: &ReserveKeys) -> Instruction {
    program_ix(
        solvent::accounts::RefreshReserve { reserve: to_anchor(&reserve.reserve), oracle: to_anchor(&reserve.oracle) },
        solvent::instruction::RefreshReserve {},
    )
}

/// refresh_obligation of an obligation of `market`, with its reserves (deposits, then borrows)
/// in order.
pub fn refresh_obligation_ix(market: &Pubkey, obligation: &Pubkey, reserves: &[Pubkey]) -> Instruction {
    let mut ix = program_ix(
        solvent::accounts::RefreshObligation { obligation: to_anchor(obligation), lending_market: to_anchor(market) },
        solvent::instruction::RefreshObligation {},
    );
    ix.accounts.extend(reserves.iter().map(|r| AccountMeta::new_readonly(*r, false)));
    ix
}

pub fn deposit_ix(market: &MarketKeys, reserve: &ReserveKeys, obligation: &Pubkey, owner: &Pubkey, source: &Pubkey, amount: u64) -> Instruction {
    program_ix(
        solvent::accounts::Deposit {
            lending_market: to_anchor(&market.market),
            reserve: to_anchor(&reserve.reserve),
            obligation: to_anchor(obligation),
            owner: to_anchor(owner),
            liquidity_mint: to_anchor(&reserve.mint),
            liquidity_vault: to_anchor(&reserve.vault),
            source_liquidity: to_anchor(source),
            token_program: to_anchor(&reserve.token_program),
        },
        solvent::instruction::Deposit { amount },
    )
}

pub fn withdraw_ix(market: &MarketKeys, reserve: &ReserveKeys, obligation: &Pubkey, owner: &Pubkey, destination: &Pubkey, shares: u64) -> Instruction {
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
            token_program: to_anchor(&reserve.token_program),
        },
        solvent::instruction::Withdraw { collateral_shares: shares },
    )
}

pub fn borrow_ix(market: &MarketKeys, reserve: &ReserveKeys, obligation: &Pubkey, owner: &Pubkey, destination: &Pubkey, amount: u64) -> Instruction {
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
            token_program: to_anchor(&reserve.token_program),
        },
        solvent::instruction::Borrow { amount },
    )
}

pub fn repay_ix(reserve: &ReserveKeys, obligation: &Pubkey, repayer: &Pubkey, source: &Pubkey, amount: u64) -> Instruction {
    program_ix(
        solvent::accounts::Repay {
            reserve: to_anchor(&reserve.reserve),
            obligation: to_anchor(obligation),
            repayer: to_anchor(repayer),
            liquidity_mint: to_anchor(&reserve.mint),
            liquidity_vault: to_anchor(&reserve.vault),
            source_liquidity: to_anchor(source),
            token_program: to_anchor(&reserve.token_program),
        },
        solvent::instruction::Repay { amount },
    )
}

#[allow(clippy::too_many_arguments)]
pub fn liquidate_ix(
    market: &MarketKeys,
    obligation: &Pubkey,
    liquidator: &Pubkey,
    repay: &ReserveKeys,
    source: &Pubkey,
    withdraw: &ReserveKeys,
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
    market: &MarketKeys,
    obligation: &Pubkey,
    liquidator: &Pubkey,
    repay: &ReserveKeys,
    source: &Pubkey,
    withdraw: &ReserveKeys,
    destination: &Pubkey,
    amount: u64,
    shares_destination: Option<&Pubkey>,
) -> Instruction {
    deleverage_ix(market, obligation, liquidator, repay, source, withdraw, destination, shares_destination, solvent::instruction::Liquidate { repay_amount: amount })
}

/// `execute_obligation_order`: the owner's order `index` on `obligation`, triggered at this
/// slot's refresh, executed by `executor` (the liquidation's accounts; `shares_destination` as
/// for `liquidate_with_shares_ix`).
#[allow(clippy::too_many_arguments)]
pub fn execute_obligation_order_ix(
    market: &MarketKeys,
    obligation: &Pubkey,
    executor: &Pubkey,
    repay: &ReserveKeys,
    source: &Pubkey,
    withdraw: &ReserveKeys,
    destination: &Pubkey,
    index: u8,
    amount: u64,
    shares_destination: Option<&Pubkey>,
) -> Instruction {
    let data = solvent::instruction::ExecuteObligationOrder { index, repay_amount: amount };
    deleverage_ix(market, obligation, executor, repay, source, withdraw, destination, shares_destination, data)
}

/// `soft_deleverage`: a small deleverage of `obligation` in `withdraw`'s soft zone.
#[allow(clippy::too_many_arguments)]
pub fn soft_deleverage_ix(
    market: &MarketKeys,
    obligation: &Pubkey,
    executor: &Pubkey,
    repay: &ReserveKeys,
    source: &Pubkey,
    withdraw: &ReserveKeys,
    destination: &Pubkey,
    amount: u64,
    shares_destination: Option<&Pubkey>,
) -> Instruction {
    let data = solvent::instruction::SoftDeleverage { repay_amount: amount };
    deleverage_ix(market, obligation, executor, repay, source, withdraw, destination, shares_destination, data)
}

/// The accounts `liquidate`, `execute_obligation_order` and `soft_deleverage` share, with `data`.
#[allow(clippy::too_many_arguments)]
fn deleverage_ix(
    market: &MarketKeys,
    obligation: &Pubkey,
    liquidator: &Pubkey,
    repay: &ReserveKeys,
    source: &Pubkey,
    withdraw: &ReserveKeys,
    destination: &Pubkey,
    shares_destination: Option<&Pubkey>,
    data: impl InstructionData,
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
            repay_token_program: to_anchor(&repay.token_program),
            withdraw_token_program: to_anchor(&withdraw.token_program),
            instructions_sysvar: solvent::flash_loan::INSTRUCTIONS_SYSVAR_ID,
            withdraw_collateral_mint: shares_destination.map(|_| to_anchor(&withdraw.collateral_mint)),
            destination_collateral: shares_destination.map(to_anchor),
        },
        data,
    )
}

/// `set_obligation_order`: order `index` (0 or 1) of `obligation`, repaying the debt in
/// `repay_reserve` with the collateral of `withdraw_reserve`.
pub fn set_obligation_order_ix(obligation: &Pubkey, owner: &Pubkey, repay_reserve: &Pubkey, withdraw_reserve: &Pubkey, index: u8, params: OrderParams) -> Instruction {
    program_ix(
        solvent::accounts::SetObligationOrder {
            obligation: to_anchor(obligation),
            owner: to_anchor(owner),
            repay_reserve: to_anchor(repay_reserve),
            withdraw_reserve: to_anchor(withdraw_reserve),
        },
        solvent::instruction::SetObligationOrder { index, params },
    )
}

/// `cancel_obligation_order`: clears order `index`.
pub fn cancel_obligation_order_ix(obligation: &Pubkey, owner: &Pubkey, index: u8) -> Instruction {
    program_ix(
        solvent::accounts::CancelObligationOrder { obligation: to_anchor(obligation), owner: to_anchor(owner) },
        solvent::instruction::CancelObligationOrder { index },
    )
}

/// `set_soft_zone`: the reserve's soft-liquidation zone (all zero: off).
pub fn set_soft_zone_ix(market: &MarketKeys, owner: &Pubkey, reserve: &ReserveKeys, config: SoftZoneConfig) -> Instruction {
    program_ix(risk_settings_accounts(market, owner, reserve), solvent::instruction::SetSoftZone { config })
}

/// The accounts of a reserve's risk settings (`set_dynamic_margin`, `set_soft_zone`).
fn risk_settings_accounts(market: &MarketKeys, owner: &Pubkey, reserve: &ReserveKeys) -> solvent::accounts::SetDynamicMargin {
    solvent::accounts::SetDynamicMargin {
        lending_market: to_anchor(&market.market),
        owner: to_anchor(owner),
        reserve: to_anchor(&reserve.reserve),
        instructions_sysvar: solvent::flash_loan::INSTRUCTIONS_SYSVAR_ID,
    }
}

pub fn flash_borrow_ix(market: &MarketKeys, reserve: &ReserveKeys, destination: &Pubkey, amount: u64) -> Instruction {
    program_ix(
        solvent::accounts::FlashBorrow {
            lending_market: to_anchor(&market.market),
            reserve: to_anchor(&reserve.reserve),
            liquidity_mint: to_anchor(&reserve.mint),
            liquidity_vault: to_anchor(&reserve.vault),
            destination_liquidity: to_anchor(destination),
            market_authority: to_anchor(&market.authority),
            instructions_sysvar: solvent::flash_loan::INSTRUCTIONS_SYSVAR_ID,
            token_program: to_anchor(&reserve.token_program),
        },
        solvent::instruction::FlashBorrow { amount },
    )
}

pub fn flash_repay_ix(market: &MarketKeys, reserve: &ReserveKeys, source: &Pubkey, repayer: &Pubkey, amount: u64) -> Instruction {
    program_ix(
        solvent::accounts::FlashRepay {
            lending_market: to_anchor(&market.market),
            reserve: to_anchor(&reserve.reserve),
            liquidity_mint: to_anchor(&reserve.mint),
            liquidity_vault: to_anchor(&reserve.vault),
            source_liquidity: to_anchor(source),
            repayer: to_anchor(repayer),
            token_program: to_anchor(&reserve.token_program),
        },
        solvent::instruction::FlashRepay { amount },
    )
}

/// `write_off_bad_debt`, with the reserve's insurance fund path when it has a fund
/// (`ReserveKeys::insurance`).
pub fn write_off_bad_debt_ix(market: &MarketKeys, reserve: &ReserveKeys, obligation: &Pubkey) -> Instruction {
    let fund = reserve.insurance;
    program_ix(
        solvent::accounts::WriteOffBadDebt {
            lending_market: to_anchor(&market.market),
            reserve: to_anchor(&reserve.reserve),
            obligation: to_anchor(obligation),
            insurance_fund: fund.map(|(fund, _)| to_anchor(&fund)),
        },
        solvent::instruction::WriteOffBadDebt {},
    )
}

/// `settle_insurance`: what the reserve's fund owes for written-off debt into the liquidity
/// vault (the reserve must have a fund: `ReserveKeys::insurance`).
pub fn settle_insurance_ix(market: &MarketKeys, reserve: &ReserveKeys) -> Instruction {
    let (fund, vault) = reserve.insurance.unwrap_or((insurance_fund_address(&reserve.reserve), insurance_vault_address(&reserve.reserve)));
    program_ix(
        solvent::accounts::SettleInsurance {
            lending_market: to_anchor(&market.market),
            reserve: to_anchor(&reserve.reserve),
            insurance_fund: to_anchor(&fund),
            insurance_vault: to_anchor(&vault),
            liquidity_vault: to_anchor(&reserve.vault),
            liquidity_mint: to_anchor(&reserve.mint),
            market_authority: to_anchor(&market.authority),
            token_program: to_anchor(&reserve.token_program),
        },
        solvent::instruction::SettleInsurance {},
    )
}

/// `init_insurance_fund`: the reserve's insurance fund and vault (market owner).
pub fn init_insurance_fund_ix(market: &MarketKeys, owner: &Pubkey, reserve: &ReserveKeys, unstake_cooldown_secs: u32, max_slash_bps: u16) -> Instruction {
    program_ix(
        solvent::accounts::InitInsuranceFund {
            lending_market: to_anchor(&market.market),
            owner: to_anchor(owner),
            reserve: to_anchor(&reserve.reserve),
            liquidity_mint: to_anchor(&reserve.mint),
            insurance_fund: to_anchor(&insurance_fund_address(&reserve.reserve)),
            insurance_vault: to_anchor(&insurance_vault_address(&reserve.reserve)),
            market_authority: to_anchor(&market.authority),
            token_program: to_anchor(&reserve.token_program),
            system_program: anchor_lang::system_program::ID,
        },
        solvent::instruction::InitInsuranceFund { unstake_cooldown_secs, max_slash_bps },
    )
}

/// `stake_insurance`: `amount` of the reserve's liquidity from `source` into its fund.
pub fn stake_insurance_ix(reserve: &ReserveKeys, owner: &Pubkey, source: &Pubkey, amount: u64) -> Instruction {
    let fund = insurance_fund_address(&reserve.reserve);
    program_ix(
        solvent::accounts::StakeInsurance {
            insurance_fund: to_anchor(&fund),
            reserve: to_anchor(&reserve.reserve),
            liquidity_mint: to_anchor(&reserve.mint),
            insurance_vault: to_anchor(&insurance_vault_address(&reserve.reserve)),
            stake: to_anchor(&insurance_stake_address(&fund, owner)),
            owner: to_anchor(owner),
            source_liquidity: to_anchor(source),
            token_program: to_anchor(&reserve.token_program),
            system_program: anchor_lang::system_program::ID,
        },
        solvent::instruction::StakeInsurance { amount },
    )
}

/// `request_unstake`: ask to take out `shares` after the fund's cooldown.
pub fn request_unstake_ix(reserve: &ReserveKeys, owner: &Pubkey, shares: u64) -> Instruction {
    let fund = insurance_fund_address(&reserve.reserve);
    program_ix(
        solvent::accounts::RequestUnstake {
            insurance_fund: to_anchor(&fund),
            stake: to_anchor(&insurance_stake_address(&fund, owner)),
            owner: to_anchor(owner),
        },
        solvent::instruction::RequestUnstake { shares },
    )
}

/// `unstake`: the requested shares' value to `destination`, after the cooldown.
pub fn unstake_ix(market: &MarketKeys, reserve: &ReserveKeys, owner: &Pubkey, destination: &Pubkey) -> Instruction {
    let fund = insurance_fund_address(&reserve.reserve);
    program_ix(
        solvent::accounts::Unstake {
            lending_market: to_anchor(&market.market),
            insurance_fund: to_anchor(&fund),
            reserve: to_anchor(&reserve.reserve),
            liquidity_mint: to_anchor(&reserve.mint),
            insurance_vault: to_anchor(&insurance_vault_address(&reserve.reserve)),
            stake: to_anchor(&insurance_stake_address(&fund, owner)),
            owner: to_anchor(owner),
            destination_liquidity: to_anchor(destination),
            market_authority: to_anchor(&market.authority),
            token_program: to_anchor(&reserve.token_program),
        },
        solvent::instruction::Unstake {},
    )
}

pub fn set_liquidation_limits_ix(
    market: &MarketKeys,
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

/// `set_emode_group`: group `group` (1..=8) of the market gets `params` (all zero: disabled).
/// `set_emode_group`: group `group` gets `params` and a debt cap of `debt_cap_value` whole quote
/// units (0: none); the owner pays for the group's debt account the first time.
pub fn set_emode_group_ix(market: &MarketKeys, owner: &Pubkey, group: u8, params: EmodeGroup, debt_cap_value: u64) -> Instruction {
    program_ix(
        solvent::accounts::SetEmodeGroup {
            lending_market: to_anchor(&market.market),
            emode_group_debt: to_anchor(&emode_group_debt_address(&market.market, group)),
            owner: to_anchor(owner),
            system_program: anchor_lang::system_program::ID,
        },
        solvent::instruction::SetEmodeGroup { group, params, debt_cap_value },
    )
}

/// `set_obligation_emode`: the obligation enters group `group` (0: leaves e-mode). Send it after
/// the refresh sequence (`refresh::refresh_then` appends the position reserves it takes).
pub fn set_obligation_emode_ix(market: &MarketKeys, obligation: &Pubkey, owner: &Pubkey, group: u8) -> Instruction {
    program_ix(
        solvent::accounts::SetObligationEmode {
            lending_market: to_anchor(&market.market),
            obligation: to_anchor(obligation),
            owner: to_anchor(owner),
        },
        solvent::instruction::SetObligationEmode { group },
    )
}

pub fn set_paused_ix(market: &MarketKeys, owner: &Pubkey, paused: bool) -> Instruction {
    program_ix(
        solvent::accounts::SetMarketPaused { lending_market: to_anchor(&market.market), owner: to_anchor(owner) },
        solvent::instruction::SetMarketPaused { paused },
    )
}

/// `update_reserve_config`, signed by `authority`: the owner, or the guardian for a change that
/// only tightens.
pub fn update_config_ix(market: &MarketKeys, authority: &Pubkey, reserve: &ReserveKeys, config: ReserveConfig) -> Instruction {
    program_ix(
        solvent::accounts::UpdateReserveConfig {
            lending_market: to_anchor(&market.market),
            authority: to_anchor(authority),
            reserve: to_anchor(&reserve.reserve),
            instructions_sysvar: solvent::flash_loan::INSTRUCTIONS_SYSVAR_ID,
        },
        solvent::instruction::UpdateReserveConfig { config },
    )
}

/// `set_dynamic_margin`: the reserve's dynamic-margin settings (all zero: static margin).
pub fn set_dynamic_margin_ix(market: &MarketKeys, owner: &Pubkey, reserve: &ReserveKeys, config: DynamicMarginConfig) -> Instruction {
    program_ix(risk_settings_accounts(market, owner, reserve), solvent::instruction::SetDynamicMargin { config })
}

pub fn collect_fees_ix(market: &MarketKeys, reserve: &ReserveKeys) -> Instruction {
    program_ix(
        solvent::accounts::CollectProtocolFees {
            lending_market: to_anchor(&market.market),
            reserve: to_anchor(&reserve.reserve),
            liquidity_mint: to_anchor(&reserve.mint),
            liquidity_vault: to_anchor(&reserve.vault),
            fee_vault: to_anchor(&reserve.fee_vault),
            market_authority: to_anchor(&market.authority),
            token_program: to_anchor(&reserve.token_program),
            insurance_fund: reserve.insurance.map(|(fund, _)| to_anchor(&fund)),
            insurance_vault: reserve.insurance.map(|(_, vault)| to_anchor(&vault)),
        },
        solvent::instruction::CollectProtocolFees {},
    )
}

pub fn withdraw_fees_ix(market: &MarketKeys, owner: &Pubkey, reserve: &ReserveKeys, destination: &Pubkey, amount: u64) -> Instruction {
    program_ix(
        solvent::accounts::WithdrawProtocolFees {
            lending_market: to_anchor(&market.market),
            owner: to_anchor(owner),
            reserve: to_anchor(&reserve.reserve),
            liquidity_mint: to_anchor(&reserve.mint),
            fee_vault: to_anchor(&reserve.fee_vault),
            destination: to_anchor(destination),
            market_authority: to_anchor(&market.authority),
            token_program: to_anchor(&reserve.token_program),
        },
        solvent::instruction::WithdrawProtocolFees { amount },
    )
}

pub fn deposit_reserve_liquidity_ix(
    market: &MarketKeys,
    reserve: &ReserveKeys,
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
            token_program: to_anchor(&reserve.token_program),
        },
        solvent::instruction::DepositReserveLiquidity { amount },
    )
}

pub fn redeem_reserve_collateral_ix(
    market: &MarketKeys,
    reserve: &ReserveKeys,
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
            token_program: to_anchor(&reserve.token_program),
        },
        solvent::instruction::RedeemReserveCollateral { shares },
    )
}

/// `init_reserve` for a mint of `token_program` (SPL Token or Token-2022).
pub fn init_reserve_with_token_program_ix(
    market: &MarketKeys,
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

/// `set_reserve_pause`: `authority` (owner or guardian) pauses `actions` (`ACTION_*` bits).
pub fn set_reserve_pause_ix(market: &MarketKeys, authority: &Pubkey, reserve: &ReserveKeys, actions: u8) -> Instruction {
    program_ix(
        solvent::accounts::SetReservePause {
            lending_market: to_anchor(&market.market),
            authority: to_anchor(authority),
            reserve: to_anchor(&reserve.reserve),
        },
        solvent::instruction::SetReservePause { actions },
    )
}

/// `set_market_policy`: a policy that only tightens, at once.
pub fn set_market_policy_ix(market: &MarketKeys, owner: &Pubkey, policy: MarketPolicy) -> Instruction {
    program_ix(
        solvent::accounts::SetMarketPolicy { lending_market: to_anchor(&market.market), owner: to_anchor(owner) },
        solvent::instruction::SetMarketPolicy { policy },
    )
}

/// `queue_change` as change number `id` (the market's `next_change_id`); `reserve` for a
/// change that acts on one (`PendingChange::targets_reserve`).
pub fn queue_change_ix(market: &MarketKeys, owner: &Pubkey, id: u64, change: PendingChange, reserve: Option<&ReserveKeys>) -> Instruction {
    program_ix(
        solvent::accounts::QueueChange {
            lending_market: to_anchor(&market.market),
            owner: to_anchor(owner),
            queued_change: to_anchor(&queued_change_address(&market.market, id)),
            reserve: reserve.map(|reserve| to_anchor(&reserve.reserve)),
            system_program: anchor_lang::system_program::ID,
        },
        solvent::instruction::QueueChange { change },
    )
}

/// `execute_change` of change `id`, signed by anyone (`executor`); `queued_by` receives the
/// rent back. The accounts the change needs: its reserve, or its e-mode group's debt account.
pub fn execute_change_ix(market: &MarketKeys, executor: &Pubkey, id: u64, queued_by: &Pubkey, change: &PendingChange, reserve: Option<&ReserveKeys>) -> Instruction {
    let emode_group_debt = match change {
        PendingChange::EmodeGroup { group, .. } => Some(to_anchor(&emode_group_debt_address(&market.market, *group))),
        _ => None,
    };
    program_ix(
        solvent::accounts::ExecuteChange {
            lending_market: to_anchor(&market.market),
            queued_change: to_anchor(&queued_change_address(&market.market, id)),
            queued_by: to_anchor(queued_by),
            reserve: reserve.map(|reserve| to_anchor(&reserve.reserve)),
            emode_group_debt,
            instructions_sysvar: solvent::flash_loan::INSTRUCTIONS_SYSVAR_ID,
            executor: to_anchor(executor),
        },
        solvent::instruction::ExecuteChange {},
    )
}

/// `cancel_change` of change `id` by the owner; `queued_by` receives the rent back.
pub fn cancel_change_ix(market: &MarketKeys, owner: &Pubkey, id: u64, queued_by: &Pubkey) -> Instruction {
    program_ix(
        solvent::accounts::CancelChange {
            lending_market: to_anchor(&market.market),
            owner: to_anchor(owner),
            queued_change: to_anchor(&queued_change_address(&market.market, id)),
            queued_by: to_anchor(queued_by),
        },
        solvent::instruction::CancelChange {},
    )
}

/// `accept_ownership`, signed by the pending owner.
pub fn accept_ownership_ix(market: &MarketKeys, new_owner: &Pubkey) -> Instruction {
    program_ix(
        solvent::accounts::AcceptOwnership { lending_market: to_anchor(&market.market), new_owner: to_anchor(new_owner) },
        solvent::instruction::AcceptOwnership {},
    )
}
