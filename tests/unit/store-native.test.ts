import { describe, expect, it } from 'vitest';
import {
  NativeModuleError,
  explainNativeLoadError,
  loadKeytar,
  loadNative,
  loadSqlite,
  runtimeInfo,
} from '../../electron/core/native.js';

/** The error exactly as Node's process.dlopen throws it for a binary built for another ABI. */
function abiError(): Error {
  const e = new Error(
    "The module '/app/node_modules/better-sqlite3-multiple-ciphers/build/Release/better_sqlite3.node'\n" +
      'was compiled against a different Node.js version using\n' +
      'NODE_MODULE_VERSION 139. This version of Node.js requires\n' +
      'NODE_MODULE_VERSION 115. Please try re-compiling or re-installing\n' +
      'the module (for instance, using `npm rebuild` or `npm install`).',
  );
  (e as NodeJS.ErrnoException).code = 'ERR_DLOPEN_FAILED';
  return e;
}

describe('native module loading', () => {
  it('turns an ABI mismatch into a NativeModuleError naming module, runtime ABI and the fix (node)', () => {
    const err = explainNativeLoadError('better-sqlite3-multiple-ciphers', abiError(), {
      runtime: 'node',
      version: '20.19.0',
      abi: '115',
    });
    expect(err).toBeInstanceOf(NativeModuleError);
    const n = err as NativeModuleError;
    expect(n.reason).toBe('abi-mismatch');
    expect(n.moduleName).toBe('better-sqlite3-multiple-ciphers');
    expect(n.message).toContain('"better-sqlite3-multiple-ciphers"');
    expect(n.message).toContain('built for ABI 139');
    expect(n.message).toContain('Node 20.19.0 (ABI 115)');
    expect(n.message).toContain('node scripts/native-abi.mjs node');
    expect(n.cause).toBeInstanceOf(Error);
  });

  it('names Electron and the electron fix when running under Electron', () => {
    const info = runtimeInfo({ ...process.versions, electron: '45.5.0', modules: '139' } as NodeJS.ProcessVersions);
    expect(info).toEqual({ runtime: 'electron', version: '45.5.0', abi: '139' });
    const err = explainNativeLoadError('keytar', abiError(), info);
    expect(err).toBeInstanceOf(NativeModuleError);
    expect(err.message).toContain('Electron 45.5.0 (ABI 139)');
    expect(err.message).toContain('node scripts/native-abi.mjs electron');
  });

  it('loadNative wraps what the require function throws', () => {
    const thrower = () => {
      throw abiError();
    };
    expect(() => loadNative('keytar', thrower)).toThrow(NativeModuleError);
    expect(() => loadNative('keytar', thrower)).toThrow(`ABI ${process.versions.modules}`);
  });

  it('reports a missing module as missing, and passes unrelated errors through unchanged', () => {
    let thrown: unknown;
    try {
      loadNative('no-such-native-module-parley');
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(NativeModuleError);
    expect((thrown as NativeModuleError).reason).toBe('missing');
    const plain = new TypeError('something else');
    expect(explainNativeLoadError('keytar', plain)).toBe(plain);
  });

  it('really loads better-sqlite3-multiple-ciphers and keytar under this runtime', () => {
    const Database = loadSqlite();
    const db = new Database(':memory:');
    expect(db.prepare('select 1 + 1 as x').get()).toEqual({ x: 2 });
    db.close();
    const keytar = loadKeytar();
    expect(typeof keytar.getPassword).toBe('function');
    expect(loadSqlite()).toBe(Database); // cached
  });
});
