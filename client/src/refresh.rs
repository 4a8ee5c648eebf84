//! The refresh sequence, written once: what must precede an action on an obligation in the
//! same transaction, and the position reserves `borrow`, `withdraw` and `liquidate` take.
use crate::instructions::{refresh_obligation_ix, refresh_reserve_ix, AccountMeta, Instruction};
use crate::keys::{from_anchor, program_id, Pubkey, ReserveKeys};
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
    let needs = [
        solvent::instruction::Borrow::DISCRIMINATOR,
        solvent::instruction::Withdraw::DISCRIMINATOR,
        solvent::instruction::Liquidate::DISCRIMINATOR,
        solvent::instruction::SetObligationEmode::DISCRIMINATOR,
    ];
    ix.program_id == program_id() && needs.iter().any(|d| ix.data.starts_with(d))
}

/// `borrow`, `withdraw`, `liquidate` and `set_obligation_emode` take the obligation's position reserves (deposits, then
/// borrows) as remaining accounts, to check none changed since refresh_obligation: appends them
/// to such an instruction (any other comes back unchanged).
pub fn with_position_reserves(mut action: Instruction, obligation: &Obligation) -> Instruction {
    if takes_position_reserves(&action) {
        action.accounts.extend(obligation_reserves(obligation).into_iter().map(|r| AccountMeta::new_readonly(r, false)));
    }
    action
}

/// refresh_reserve for every reserve of the obligation's positions (from `reserves`, which
/// must hold them) and refresh_obligation.
pub fn refresh_obligation_sequence(obligation_key: &Pubkey, obligation: &Obligation, reserves: &[&ReserveKeys]) -> Vec<Instruction> {
    let needed = obligation_reserves(obligation);
    let mut ixs: Vec<Instruction> = reserves.iter().filter(|r| needed.contains(&r.reserve)).map(|r| refresh_reserve_ix(r)).collect();
    ixs.push(refresh_obligation_ix(&from_anchor(&obligation.lending_market), obligation_key, &needed));
    ixs
}

/// The refresh sequence and then `action`, for `obligation` as it is now: every position
/// reserve and every reserve of `reserves` the action names is refreshed, then the
/// obligation, then the action (with the position reserves where it takes them).
pub fn refresh_then(obligation_key: &Pubkey, obligation: &Obligation, reserves: &[&ReserveKeys], action: Instruction) -> Vec<Instruction> {
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
