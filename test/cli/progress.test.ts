import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { byteProgress, humanBytes, streamProgress } from '../../src/cli/progress.js';

/** Standard error as a terminal, its writes captured (escape codes removed). */
let written = '';
const wasTTY = process.stderr.isTTY;
beforeEach(() => {
  written = '';
  Object.defineProperty(process.stderr, 'isTTY', { value: true, configurable: true });
  vi.spyOn(process.stderr, 'write').mockImplementation((b: string | Uint8Array) => ((written += String(b)), true));
});
afterEach(() => {
  vi.restoreAllMocks();
  Object.defineProperty(process.stderr, 'isTTY', { value: wasTTY, configurable: true });
});
// eslint-disable-next-line no-control-regex
const text = () => written.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, '|');

describe('the one progress renderer', () => {
  it('streamProgress: bytes, vnodes and rate for a stream of unknown length; clear() removes the line, the next update draws it again', () => {
    const p = streamProgress('redump', true);
    p.update(3 * 1024 * 1024, 7, 2);
    expect(text()).toContain('redump: 3.0 MiB, 7 vnodes, 1.6 MB/s');
    written = '';
    p.update(4 * 1024 * 1024, 8, 2); // within 200 ms: not drawn
    expect(written).toBe('');
    p.clear();
    expect(written).not.toBe('');
    expect(text()).not.toContain('redump:');
    written = '';
    p.update(5 * 1024 * 1024, 9, 5);
    expect(text()).toContain('redump: 5.0 MiB, 9 vnodes, 1.0 MB/s');
    p.clear();
  });

  it('byteProgress: a bar over a known total, drawn at once; stop() clears it', () => {
    const p = byteProgress(10 * 1024 * 1024, 'verify');
    expect(text()).toMatch(/^\|+verify \[░{40}\] 0% \| 0 B of 10\.0 MiB \| 0s left\|$/);
    written = '';
    p.stop();
    expect(written).not.toBe('');
    expect(text()).not.toContain('verify');
  });

  it('nothing when disabled or not a terminal', () => {
    streamProgress('redump', false).update(1, 1, 1);
    byteProgress(100, 'verify', false).update(50);
    Object.defineProperty(process.stderr, 'isTTY', { value: false, configurable: true });
    streamProgress('redump', true).update(1, 1, 1);
    byteProgress(100, 'verify').update(50);
    expect(written).toBe('');
  });

  it('humanBytes', () => {
    expect([humanBytes(0), humanBytes(1023), humanBytes(1536), humanBytes(5 * 2 ** 40)]).toEqual(['0 B', '1023 B', '1.5 KiB', '5.0 TiB']);
  });
});
