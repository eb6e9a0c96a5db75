/**
 * Packaging hardening: electron-builder.yml sets the Electron fuses. The config is read and validated with
 * electron-builder's own loader and JSON schema (FuseOptionsV1 allows no unknown keys, so a misspelt fuse fails
 * here, not silently at packaging time), then each fuse is checked. Packaging itself needs the Electron binary and
 * cannot run in this sandbox.
 */
import path from 'node:path';
import { DebugLogger } from 'builder-util';
import { getConfig, validateConfiguration } from 'app-builder-lib/out/util/config/config.js';
import { describe, expect, test } from 'vitest';

const ROOT = path.resolve(__dirname, '../..');

describe('electron-builder config', () => {
  test('is valid for electron-builder and flips the hardening fuses', async () => {
    const config = await getConfig(ROOT, path.join(ROOT, 'electron-builder.yml'), null);
    await validateConfiguration(config, new DebugLogger(false));
    expect(config.electronFuses).toEqual({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableCookieEncryption: true,
      onlyLoadAppFromAsar: true,
      enableEmbeddedAsarIntegrityValidation: true,
    });
    // The app code is in the asar (onlyLoadAppFromAsar would otherwise find nothing to load).
    expect(config.asar).toBe(true);
  });

  test('a misspelt fuse is refused by the schema (the check above can fail)', async () => {
    const config = await getConfig(ROOT, path.join(ROOT, 'electron-builder.yml'), null);
    const bad = { ...config, electronFuses: { ...config.electronFuses, runAsNodeX: false } } as typeof config;
    await expect(validateConfiguration(bad, new DebugLogger(false))).rejects.toThrow(/Invalid configuration object.*electronFuses/s);
  });
});
