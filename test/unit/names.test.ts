import { describe, expect, it } from 'vitest';
import { EXIT, UsageError } from '../../src/core/errors.js';
import { validateName } from '../../src/core/names.js';

describe('validateName', () => {
  it('accepts letters, digits, dot, underscore and dash', () => {
    expect(validateName('lease', 'gpu-lease_2.a')).toBe('gpu-lease_2.a');
  });

  for (const bad of ['', 'a b', 'a/b', '$(x)', '..', '.', 'é', 'a;b', 'x'.repeat(129)]) {
    it(`refuses ${JSON.stringify(bad.slice(0, 20))}`, () => {
      try {
        validateName('session', bad);
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(UsageError);
        expect((e as UsageError).exitCode).toBe(EXIT.usage);
        expect((e as UsageError).hint).toMatch(/letters, digits/);
      }
    });
  }
});
