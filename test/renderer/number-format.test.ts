// Numbers as the app shows them: thousands separators, a few decimals, tiny values kept, and the plain form that
// input fields need (it must parse back).
import { describe, expect, it } from 'vitest';
import { plain, trim } from '../../renderer/viewer/units';

describe('number formatting', () => {
  it('separates thousands in every number shown', () => {
    expect(trim(1234)).toBe('1,234');
    expect(trim(8_152_735.14)).toBe('8,152,735.1');
    expect(trim(-1500)).toBe('-1,500');
    expect(trim(999)).toBe('999');
  });

  it('keeps 1 decimal from 100, 2 from 1 and 3 below, without trailing zeros', () => {
    expect(trim(123.456)).toBe('123.5');
    expect(trim(12.3456)).toBe('12.35');
    expect(trim(0.12345)).toBe('0.123');
    expect(trim(2.5)).toBe('2.5');
    expect(trim(0.015234, 4)).toBe('0.0152');
  });

  it('keeps the significant digits of tiny values and shows non-finite values as a dash', () => {
    expect(trim(0.00012)).toBe('0.00012');
    expect(trim(Number.NaN)).toBe('—');
    expect(trim(0)).toBe('0');
  });

  it('gives input fields the number without separators', () => {
    expect(plain(1234.5)).toBe('1234.5');
    expect(Number(plain(98765.4321))).toBeCloseTo(98765.4, 1);
  });
});
