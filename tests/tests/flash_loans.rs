//! Flash loans on the built `.so`: the happy path to the base unit, and each way of breaking the
//! rules (no repay, short repay, repay on another reserve, nesting, CPI, guarded instructions
//! while a loan is open) refused with its own error and no state change.
use solana_account_info::AccountInfo;
use solana_program_error::ProgramResult;
use solvent::errors::LendingError;
use solvent::math::Wad;
use solvent_tests::*;

const LOAN: u64 = 10_000_000_000; // 10,000 USDC

/// A native program standing in for any program that tries to flash-borrow by CPI: it forwards
/// its accounts after the first (the solvent program) and its data to solvent.
fn cpi_caller(_program_id: &solana_pubkey::Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
    let instruction = Instruction {
        program_id: program_id(),
        accounts: accounts[1..]
            .iter()
            .map(|a| AccountMeta { pubkey: *a.key, is_signer: a.is_signer, is_writable: a.is_writable })
            .collect(),
        data: data.to_vec(),
    };
    solana_sysvar::program_stubs::sol_invoke_signed(&instruction, accounts, &[])
}

const CPI_CALLER_ID: Pubkey = Pubkey::from_str_const("CpiCa11er1111111111111111111111111111111111");

struct FlashSetup {
    h: Harness,
    m: StandardMarket,
    /// A trader holding exactly the flash fee in USDC, and a SOL account.
    trader: Keypair,
    usdc: Pubkey,
    sol: Pubkey,
}

async fn setup() -> FlashSetup {
    let mut h = Harness::start_with(|program_test| {
        program_test.add_builtin_program("cpi_caller", CPI_CALLER_ID, processor!(cpi_caller).expect("builtin"));
    })
    .await;
    let m = h.standard_market().await;
    let trader = Keypair::new();
    h.fund(&trader.pubkey(), 1_000_000_000).await;
    let usdc = h.create_token_account(&m.usdc.mint, &trader.pubkey()).await;
    let sol = h.create_token_account(&m.sol.mint, &trader.pubkey()).await;
    let fee = h.reserve(&m.usdc.reserve).await.flash_loan_fee(LOAN).expect("fee");
    h.mint_to(&m.usdc.mint, &usdc, fee).await;
    FlashSetup { h, m, trader, usdc, sol }
}

fn watched(s: &FlashSetup) -> Vec<Pubkey> {
    vec![s.m.usdc.reserve, s.m.sol.reserve, s.m.usdc.vault, s.m.sol.vault, s.usdc, s.sol, s.m.borrower.obligation]
}

#[tokio::test]
async fn flash_loan_round_trip_pays_the_fee_to_depositors_and_protocol() {
    let mut s = setup().await;
    let (m, trader) = (&s.m, &s.trader);
    let before = s.h.reserve(&m.usdc.reserve).await;
    let vault_before = s.h.token_balance(&m.usdc.vault).await;
    let fee = before.flash_loan_fee(LOAN).unwrap();
    // 9 bps of 10,000 USDC, rounded up.
    assert_eq!(fee, 9_000_000);
    let ixs = [
        flash_borrow_ix(&m.market, &m.usdc, &s.usdc, LOAN),
        flash_repay_ix(&m.market, &m.usdc, &s.usdc, &trader.pubkey(), LOAN),
    ];
    let measured = s.h.measure(&ixs, &[trader]).await;
    println!(
        "flash_borrow + flash_repay: {} CU, {} accounts, {} bytes",
        measured.compute_units, measured.accounts, measured.bytes
    );
    check_compute_budget(&[("flash_borrow + flash_repay".to_string(), measured.compute_units)]);

    let after = s.h.reserve(&m.usdc.reserve).await;
    assert_eq!(s.h.token_balance(&s.usdc).await, 0, "the trader paid exactly the fee");
    assert_eq!(s.h.token_balance(&m.usdc.vault).await, vault_before + fee);
    assert_eq!(after.available_amount, before.available_amount + fee);
    assert_eq!(after.flash_loan_amount, 0);
    // The protocol takes its interest share (10%) of the fee, rounded down; depositors the rest.
    let protocol_share = fee * 1_000 / 10_000;
    assert_eq!(
        after.accumulated_protocol_fees(),
        before.accumulated_protocol_fees().checked_add(Wad::from_u64(protocol_share)).unwrap()
    );
    assert_eq!(
        after.total_liquidity().unwrap(),
        before.total_liquidity().unwrap().checked_add(Wad::from_u64(fee - protocol_share)).unwrap()
    );
}

#[tokio::test]
async fn the_share_price_does_not_move_while_a_loan_is_out() {
    let mut s = setup().await;
    let (m, trader) = (&s.m, &s.trader);
    // A lend-only deposit in the middle of a flash loan gets the same shares as one without.
    let depositor = Keypair::new();
    s.h.fund(&depositor.pubkey(), 1_000_000_000).await;
    let source = s.h.create_token_account(&m.usdc.mint, &depositor.pubkey()).await;
    let shares_account = s.h.create_token_account(&m.usdc.collateral_mint, &depositor.pubkey()).await;
    s.h.mint_to(&m.usdc.mint, &source, 1_000_000_000).await;
    let reserve = s.h.reserve(&m.usdc.reserve).await;
    let expected_shares = reserve.collateral_shares_for_deposit(1_000_000_000).unwrap();
    let deposit = deposit_reserve_liquidity_ix(&m.market, &m.usdc, &depositor.pubkey(), &source, &shares_account, 1_000_000_000);
    let ixs = [
        flash_borrow_ix(&m.market, &m.usdc, &s.usdc, LOAN),
        deposit,
        flash_repay_ix(&m.market, &m.usdc, &s.usdc, &trader.pubkey(), LOAN),
    ];
    s.h.must_send(&ixs, &[trader, &depositor]).await;
    assert_eq!(s.h.token_balance(&shares_account).await, expected_shares);
}

#[tokio::test]
async fn broken_flash_loans_are_refused() {
    let mut s = setup().await;
    let keys = watched(&s);
    let (m, trader) = (&s.m, s.trader.insecure_clone());
    let (usdc, sol) = (s.usdc, s.sol);
    let h = &mut s.h;

    // No repay at all.
    let ixs = [flash_borrow_ix(&m.market, &m.usdc, &usdc, LOAN)];
    assert_rejected(h, &ixs, &[], LendingError::FlashRepayMissing, &keys).await;

    // Repay of one unit less.
    let ixs = [
        flash_borrow_ix(&m.market, &m.usdc, &usdc, LOAN),
        flash_repay_ix(&m.market, &m.usdc, &usdc, &trader.pubkey(), LOAN - 1),
    ];
    assert_rejected(h, &ixs, &[&trader], LendingError::FlashRepayAmountMismatch, &keys).await;

    // Repay aimed at another reserve.
    let ixs = [
        flash_borrow_ix(&m.market, &m.usdc, &usdc, LOAN),
        flash_repay_ix(&m.market, &m.sol, &sol, &trader.pubkey(), LOAN),
    ];
    assert_rejected(h, &ixs, &[&trader], LendingError::FlashRepayReserveMismatch, &keys).await;

    // Nested: a second loan (another reserve, then the same one) inside the first.
    let ixs = [
        flash_borrow_ix(&m.market, &m.usdc, &usdc, LOAN),
        flash_borrow_ix(&m.market, &m.sol, &sol, 1_000_000_000),
        flash_repay_ix(&m.market, &m.sol, &sol, &trader.pubkey(), 1_000_000_000),
        flash_repay_ix(&m.market, &m.usdc, &usdc, &trader.pubkey(), LOAN),
    ];
    assert_rejected(h, &ixs, &[&trader], LendingError::FlashLoanNested, &keys).await;
    let ixs = [
        flash_borrow_ix(&m.market, &m.usdc, &usdc, LOAN),
        flash_borrow_ix(&m.market, &m.usdc, &usdc, 1),
        flash_repay_ix(&m.market, &m.usdc, &usdc, &trader.pubkey(), 1),
        flash_repay_ix(&m.market, &m.usdc, &usdc, &trader.pubkey(), LOAN),
    ];
    assert_rejected(h, &ixs, &[&trader], LendingError::FlashLoanNested, &keys).await;

    // A repay with nothing borrowed.
    let ixs = [flash_repay_ix(&m.market, &m.usdc, &usdc, &trader.pubkey(), LOAN)];
    assert_rejected(h, &ixs, &[&trader], LendingError::FlashRepayWithoutBorrow, &keys).await;

    // More than the reserve holds.
    let available = h.reserve(&m.usdc.reserve).await.available_amount;
    let ixs = [
        flash_borrow_ix(&m.market, &m.usdc, &usdc, available + 1),
        flash_repay_ix(&m.market, &m.usdc, &usdc, &trader.pubkey(), available + 1),
    ];
    assert_rejected(h, &ixs, &[&trader], LendingError::InsufficientLiquidity, &keys).await;

    // Zero.
    let ixs = [flash_borrow_ix(&m.market, &m.usdc, &usdc, 0), flash_repay_ix(&m.market, &m.usdc, &usdc, &trader.pubkey(), 0)];
    assert_rejected(h, &ixs, &[&trader], LendingError::ZeroAmount, &keys).await;

    // A destination of another mint, and an account that is not a token account at all.
    let ixs = [flash_borrow_ix(&m.market, &m.usdc, &sol, LOAN), flash_repay_ix(&m.market, &m.usdc, &usdc, &trader.pubkey(), LOAN)];
    assert_rejected(h, &ixs, &[&trader], LendingError::InvalidLiquidityMint, &keys).await;
    let ixs = [flash_borrow_ix(&m.market, &m.usdc, &usdc, LOAN), flash_repay_ix(&m.market, &m.usdc, &trader.pubkey(), &trader.pubkey(), LOAN)];
    assert_rejected(h, &ixs, &[&trader], LendingError::InvalidLiquidityMint, &keys).await;

    // A substituted instructions sysvar.
    let mut borrow = flash_borrow_ix(&m.market, &m.usdc, &usdc, LOAN);
    borrow.accounts[6].pubkey = Pubkey::new_unique();
    let ixs = [borrow, flash_repay_ix(&m.market, &m.usdc, &usdc, &trader.pubkey(), LOAN)];
    assert_rejected(h, &ixs, &[&trader], LendingError::InvalidInstructionsSysvar, &keys).await;

    // By CPI, even with the repay where the sysvar would show it.
    let borrow = flash_borrow_ix(&m.market, &m.usdc, &usdc, LOAN);
    let mut accounts = vec![AccountMeta::new_readonly(program_id(), false)];
    accounts.extend(borrow.accounts.clone());
    let via_cpi = Instruction { program_id: CPI_CALLER_ID, accounts, data: borrow.data.clone() };
    let ixs = [via_cpi, flash_repay_ix(&m.market, &m.usdc, &usdc, &trader.pubkey(), LOAN)];
    assert_rejected(h, &ixs, &[&trader], LendingError::FlashLoanCpi, &keys).await;

    // Paused market: no new loans.
    h.must_send(&[set_paused_ix(&m.market, &m.owner.pubkey(), true)], &[&m.owner]).await;
    let ixs = [
        flash_borrow_ix(&m.market, &m.usdc, &usdc, LOAN),
        flash_repay_ix(&m.market, &m.usdc, &usdc, &trader.pubkey(), LOAN),
    ];
    assert_rejected(h, &ixs, &[&trader], LendingError::MarketPaused, &keys).await;
}

#[tokio::test]
async fn guarded_instructions_refuse_to_run_inside_a_flash_loan() {
    let mut s = setup().await;
    let keys = watched(&s);
    let (m, trader) = (&s.m, s.trader.insecure_clone());
    let usdc = s.usdc;
    let h = &mut s.h;
    let borrow = || flash_borrow_ix(&m.market, &m.usdc, &usdc, LOAN);
    let repay = || flash_repay_ix(&m.market, &m.usdc, &usdc, &trader.pubkey(), LOAN);

    // Reserve config cannot change while the loan is out...
    let update = update_config_ix(&m.market, &m.owner.pubkey(), &m.sol, sol_config());
    let ixs = [borrow(), update.clone(), repay()];
    assert_rejected(h, &ixs, &[&trader, &m.owner], LendingError::FlashLoanActive, &keys).await;
    // ...nor can an obligation's collateral change hands by liquidation.
    let sol_destination = h.create_token_account(&m.sol.mint, &trader.pubkey()).await;
    let liquidate = liquidate_ix(&m.market, &m.borrower.obligation, &trader.pubkey(), &m.usdc, &usdc, &m.sol, &sol_destination, 1);
    let ixs = [borrow(), liquidate, repay()];
    assert_rejected(h, &ixs, &[&trader], LendingError::FlashLoanActive, &keys).await;

    // Once the loan is repaid, the same transaction may go on to change config.
    h.must_send(&[borrow(), repay(), update], &[&trader, &m.owner]).await;
}
