// The program's error classification, exported from Rust (LendingError::class) by the IDL tool.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IDL, errorClass, programError } from '../src/index.ts';

test('every program error has a class, as the Rust client gives it', () => {
  for (const error of IDL.errors) {
    assert.ok(errorClass(error.code), `${error.name} has no class`);
  }
  const byName = (name: string) => IDL.errors.find((error) => error.name === name)!.code;
  assert.equal(programError(byName('ReserveChangedSinceRefresh'))?.errorClass, 'refreshAndRetry');
  assert.equal(programError(byName('ObligationStale'))?.errorClass, 'refreshAndRetry');
  assert.equal(programError(byName('BorrowTooLarge'))?.errorClass, 'userError');
  assert.equal(programError(byName('InsufficientLiquidity'))?.errorClass, 'marketCondition');
  assert.equal(programError(byName('MathOverflow'))?.errorClass, 'fatal');
  assert.equal(programError(byName('EmodeGroupChangedSinceRefresh'))?.errorClass, 'refreshAndRetry');
  assert.equal(programError(byName('NotInEmodeGroup'))?.errorClass, 'userError');
  assert.equal(errorClass(5_999), undefined);
  assert.equal(programError(6_000 + IDL.errors.length), undefined);
});
