//! The refresh sequence, written once: what must precede an action on an obligation in the
//! same transaction, and the position reserves `borrow`, `withdraw` and `liquidate` take.
use crate::instructions::{refresh_obligation_ix, refresh_reserve_ix, AccountMeta, Instruction};
use crate::keys::{emode_group_debt_address, from_anchor, program_id, Pubkey, ReserveKeys};
use solvent::state::Obligation;

/// The reserves of an obligation's positions, deposits then borrows, in the order
/// refresh_obligation takes them.
pub fn obligation_reserves(obligation: &Obligation) -> Vec<Pubkey> {
    let deposits = obligation.deposits[..obligation.deposit_count()].iter().map(|d| from_anchor(&d.deposit_reserve));
    let borrows = obligation.borrows[..obligation.borrow_count()].iter().map(|b| from_anchor(&b.borrow_reserve));
    deposits.chain(borrows).collect()
}

/// Whether an instruction is one of those that check the obligation's position reserves.
pub fn takes_position_reserves(ix: &Instruction) -> bool {
    use anchor_lang::Discriminator;
    is_one_of(
        ix,
        &[
            solvent::instruction::Borrow::DISCRIMINATOR,
            solvent::instruction::Withdraw::DISCRIMINATOR,
            solvent::instruction::Liquidate::DISCRIMINATOR,
            solvent::instruction::ExecuteObligationOrder::DISCRIMINATOR,
            solvent::instruction::SoftDeleverage::DISCRIMINATOR,
            solvent::instruction::SetObligationEmode::DISCRIMINATOR,
        ],
    )
}

/// Whether `ix` is one of this program's instructions with one of `discriminators`.
fn is_one_of(ix: &Instruction, discriminators: &[&[u8]]) -> bool {
    ix.program_id == program_id() && discriminators.iter().any(|d| ix.data.starts_with(d))
}

/// Whether an instruction changes debt charged against an isolation debt ceiling or an e-mode
/// group's debt cap, and so takes those counters writable.
fn updates_isolated_debt(ix: &Instruction) -> bool {
    use anchor_lang::Discriminator;
    is_one_of(
        ix,
        &[
            solvent::instruction::Borrow::DISCRIMINATOR,
            solvent::instruction::Repay::DISCRIMINATOR,
            solvent::instruction::Liquidate::DISCRIMINATOR,
            solvent::instruction::ExecuteObligationOrder::DISCRIMINATOR,
            solvent::instruction::SoftDeleverage::DISCRIMINATOR,
            solvent::instruction::WriteOffBadDebt::DISCRIMINATOR,
        ],
    )
}

/// The isolated collateral reserve an instruction on `obligation` must pass writable: the one
/// its charges are held against, or for a new charge the isolated collateral it holds.
pub fn isolation_reserve(obligation: &Obligation) -> Option<Pubkey> {
    if obligation.isolation_charges.iter().any(|c| *c != 0) {
        Some(from_anchor(&obligation.isolation_reserve))
    } else if obligation.is_isolated() {
        Some(from_anchor(&obligation.deposits[0].deposit_reserve))
    } else {
        None
    }
}

/// The e-mode group debt accounts an instruction on `obligation` must pass writable: its group's
/// for what changes debt; for `set_obligation_emode`, the group left and the group entered.
fn emode_group_debts(action: &Instruction, obligation: &Obligation) -> Vec<Pubkey> {
    use anchor_lang::Discriminator;
    let market = from_anchor(&obligation.lending_market);
    let current = obligation.emode_group;
    let groups: Vec<u8> = if is_one_of(action, &[solvent::instruction::SetObligationEmode::DISCRIMINATOR]) {
        let entering = action.data.get(8).copied().unwrap_or(0);
        [current, entering].into_iter().filter(|g| *g != 0 && current != entering).collect()
    } else if updates_isolated_debt(action) && current != 0 {
        vec![current]
    } else {
        Vec::new()
    };
    groups.into_iter().map(|g| emode_group_debt_address(&market, g)).collect()
}

/// `borrow`, `withdraw`, `liquidate` and `set_obligation_emode` take the obligation's position
/// reserves (deposits, then borrows) as remaining accounts, to check none changed since
/// refresh_obligation. `borrow`, `repay`, `liquidate` and `write_off_bad_debt` take the debt
/// counters writable: the isolated collateral reserve when the obligation's debt is charged
/// against one (among the positions when it is one, else appended) and its e-mode group's debt
/// account (appended); `set_obligation_emode` the debt accounts of the groups left and entered.
/// Appends them to such an instruction (any other comes back unchanged).
pub fn with_position_reserves(mut action: Instruction, obligation: &Obligation) -> Instruction {
    let isolated = if updates_isolated_debt(&action) { isolation_reserve(obligation) } else { None };
    let mut isolated_passed = false;
    if takes_position_reserves(&action) {
        for reserve in obligation_reserves(obligation) {
            if Some(reserve) == isolated {
                isolated_passed = true;
                action.accounts.push(AccountMeta::new(reserve, false));
            } else {
                action.accounts.push(AccountMeta::new_readonly(reserve, false));
            }
        }
    }
    append_counters(action, obligation, isolated_passed)
}

/// Appends the debt counters `action` updates (see `with_position_reserves`): the isolated
/// collateral reserve unless `isolated_passed` (already among the accounts, writable) and the
/// e-mode group debt accounts.
fn append_counters(mut action: Instruction, obligation: &Obligation, isolated_passed: bool) -> Instruction {
    let isolated = if updates_isolated_debt(&action) { isolation_reserve(obligation) } else { None };
    if let (Some(reserve), false) = (isolated, isolated_passed) {
        action.accounts.push(AccountMeta::new(reserve, false));
    }
    for debt in emode_group_debts(&action, obligation) {
        action.accounts.push(AccountMeta::new(debt, false));
    }
    action
}

/// Whether an instruction can revalue its obligation inline (`borrow`, `withdraw`: the program's
/// `refresh_obligation::revalues_inline`), needing no refresh instruction before it.
pub fn revalues_inline(ix: &Instruction) -> bool {
    use anchor_lang::Discriminator;
    is_one_of(ix, &[solvent::instruction::Borrow::DISCRIMINATOR, solvent::instruction::Withdraw::DISCRIMINATOR])
}

/// `action` (`borrow` or `withdraw`) in the layout that revalues the obligation inline: each
/// position's reserve (writable) followed by its oracle, in the obligation's order; for a borrow
/// from a reserve that is no position yet, that reserve's oracle; then the debt counters. The
/// oracles come from `reserves`; None when one of the reserves needed is not among them (or
/// `action` is neither instruction).
pub fn with_inline_refresh(mut action: Instruction, obligation: &Obligation, reserves: &[&ReserveKeys]) -> Option<Instruction> {
    if !revalues_inline(&action) {
        return None;
    }
    let keys_of = |key: &Pubkey| reserves.iter().find(|r| r.reserve == *key).copied();
    let positions = obligation_reserves(obligation);
    for reserve in &positions {
        let keys = keys_of(reserve)?;
        action.accounts.push(AccountMeta::new(keys.reserve, false));
        action.accounts.push(AccountMeta::new_readonly(keys.oracle, false));
    }
    // The action's reserve is its second account (after the market), for borrow and withdraw.
    let acted_on = action.accounts.get(1)?.pubkey;
    if !positions.contains(&acted_on) {
        action.accounts.push(AccountMeta::new_readonly(keys_of(&acted_on)?.oracle, false));
    }
    let isolated_passed = isolation_reserve(obligation).is_some_and(|r| positions.contains(&r));
    Some(append_counters(action, obligation, isolated_passed))
}

/// refresh_reserve for every reserve of the obligation's positions (from `reserves`, which
/// must hold them) and refresh_obligation.
pub fn refresh_obligation_sequence(obligation_key: &Pubkey, obligation: &Obligation, reserves: &[&ReserveKeys]) -> Vec<Instruction> {
    let needed = obligation_reserves(obligation);
    let mut ixs: Vec<Instruction> = reserves.iter().filter(|r| needed.contains(&r.reserve)).map(|r| refresh_reserve_ix(r)).collect();
    ixs.push(refresh_obligation_ix(&from_anchor(&obligation.lending_market), obligation_key, &needed));
    ixs
}

/// What must precede `action` and `action` itself, for `obligation` as it is now. `borrow` and
/// `withdraw` revalue inline (`with_inline_refresh`: one instruction, no refresh before it; a
/// withdraw from an obligation without debt needs none at all). Any other action gets the
/// refresh sequence: every position reserve and every reserve of `reserves` the action names
/// is refreshed, then the obligation, then the action (with the position reserves where it
/// takes them). `refresh_then_separately` always builds the sequence.
pub fn refresh_then(obligation_key: &Pubkey, obligation: &Obligation, reserves: &[&ReserveKeys], action: Instruction) -> Vec<Instruction> {
    use anchor_lang::Discriminator;
    if is_one_of(&action, &[solvent::instruction::Withdraw::DISCRIMINATOR]) && !obligation.has_borrows() {
        return vec![action];
    }
    match with_inline_refresh(action.clone(), obligation, reserves) {
        Some(inline) => vec![inline],
        None => refresh_then_separately(obligation_key, obligation, reserves, action),
    }
}

/// The refresh sequence and then `action`: refresh_reserve for every position reserve and every
/// reserve of `reserves` the action names, refresh_obligation, then the action (with the
/// position reserves where it takes them). For keepers batching refreshes, and the actions that
/// cannot revalue inline.
pub fn refresh_then_separately(obligation_key: &Pubkey, obligation: &Obligation, reserves: &[&ReserveKeys], action: Instruction) -> Vec<Instruction> {
    let mut ixs = refresh_obligation_sequence(obligation_key, obligation, reserves);
    // Reserves the action touches must be fresh too, even if the obligation has no position yet.
    for reserve in reserves {
        if action.accounts.iter().any(|m| m.pubkey == reserve.reserve)
            && !ixs.iter().any(|ix| ix.accounts.first().map(|m| m.pubkey) == Some(reserve.reserve))
        {
            ixs.insert(0, refresh_reserve_ix(reserve));
        }
    }
    ixs.push(with_position_reserves(action, obligation));
    ixs
}
