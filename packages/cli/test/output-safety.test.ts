/** Terminal escapes planted in the database are shown, never executed. */
import { describe, expect, it } from 'vitest';
import { formatTable, jsonSafe, terminalSafe } from '../src/output.js';

const CLEAR_AND_FAKE = '\u001b[2J\u001b[H\rlockbox: all keys ok\u009b31m\u202e';

describe('output escaping', () => {
  it('shows control characters as visible escapes and keeps newlines in text', () => {
    expect(terminalSafe(`a${CLEAR_AND_FAKE}\nb`)).toBe(
      'a\\x1b[2J\\x1b[H\\x0dlockbox: all keys ok\\x9b31m\\u202e\nb',
    );
    expect(terminalSafe('line\nbreak', true)).toBe('line\\x0abreak');
  });

  it('keeps table cells on one line', () => {
    expect(formatTable(['name'], [['x\nfake row'], [CLEAR_AND_FAKE]])).toEqual([
      'name',
      'x\\x0afake row',
      '\\x1b[2J\\x1b[H\\x0dlockbox: all keys ok\\x9b31m\\u202e',
    ]);
  });

  it('escapes in JSON what JSON.stringify leaves raw, and stays the same JSON value', () => {
    const json = jsonSafe(JSON.stringify({ name: CLEAR_AND_FAKE }));
    expect(json).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e]/);
    expect(JSON.parse(json)).toEqual({ name: CLEAR_AND_FAKE });
  });
});
