// The TypeScript valuation weighs positions as the program's `Emode::risk_params`: a member of
// the obligation's enabled group at the group's parameters (debt at 100%), anything else at its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emodeGroupOf, emodeRiskParams } from '../src/index.ts';
import { reserveConfig } from '../src/scenario.ts';

test('a member of the active e-mode group takes the group parameters', () => {
  const config = { ...reserveConfig({ loanToValueBps: 7_000, liquidationThresholdBps: 7_500, borrowWeightBps: 12_000 }), emodeGroups: 0b10 };
  const group = { loanToValueBps: 9_000, liquidationThresholdBps: 9_300, liquidationBonusBps: 200, maxLiquidationBonusBps: 400 };
  const reserve = { config, dynamicConfig: { flags: 0 }, dynamic: { initialized: 0 } } as unknown as Parameters<typeof emodeRiskParams>[1];
  const riskParams = (_: unknown, emodeGroup: number, params: typeof group) => emodeRiskParams({ group: emodeGroup, params }, reserve);
  const own = riskParams(config, 0, group);
  assert.deepEqual([own.loanToValueBps, own.liquidationThresholdBps, own.borrowWeightBps], [7_000, 7_500, 12_000]);
  const member = riskParams(config, 2, group);
  assert.deepEqual(member, { loanToValueBps: 9_000, liquidationThresholdBps: 9_300, borrowWeightBps: 10_000, liquidationBonusBps: 200, maxLiquidationBonusBps: 400, liquidationBonusRampSecs: config.liquidationBonusRampSecs });
  // Another group, or a disabled one: the reserve's own.
  assert.deepEqual(riskParams(config, 1, group), own);
  assert.deepEqual(riskParams(config, 2, { loanToValueBps: 0, liquidationThresholdBps: 0, liquidationBonusBps: 0, maxLiquidationBonusBps: 0 }), own);
});

test('a market stores each group as four little-endian u16s', () => {
  const emodeGroups = new Uint8Array(64);
  emodeGroups.set([0x28, 0x23, 0x54, 0x24, 0xc8, 0x00, 0x90, 0x01], 8);
  assert.deepEqual(emodeGroupOf({ emodeGroups }, 2), { loanToValueBps: 9_000, liquidationThresholdBps: 9_300, liquidationBonusBps: 200, maxLiquidationBonusBps: 400 });
  assert.deepEqual(emodeGroupOf({ emodeGroups }, 1), { loanToValueBps: 0, liquidationThresholdBps: 0, liquidationBonusBps: 0, maxLiquidationBonusBps: 0 });
  assert.throws(() => emodeGroupOf({ emodeGroups }, 9));
});
