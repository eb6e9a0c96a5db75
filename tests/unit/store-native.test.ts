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

  it('says exactly what went wrong and how to fix it, for each runtime and each kind of failure', () => {
    const node = { runtime: 'node', version: '20.19.0', abi: '115' } as const;
    const electron = { runtime: 'electron', version: '45.5.0', abi: '139' } as const;
    const abi = explainNativeLoadError('keytar', abiError(), node);
    expect(abi.name).toBe('NativeModuleError');
    expect(abi.message).toBe(
      'native module "keytar" was built for ABI 139, but this runtime is Node 20.19.0 (ABI 115); its binary was compiled ' +
        'for another runtime. Fix: run `node scripts/native-abi.mjs node` (rebuilds the native modules for Node).',
    );
    expect(explainNativeLoadError('keytar', abiError(), electron).message).toBe(
      'native module "keytar" was built for ABI 139, but this runtime is Electron 45.5.0 (ABI 139); its binary was compiled ' +
        'for another runtime. Fix: run `node scripts/native-abi.mjs electron` (rebuilds the native modules for Electron).',
    );
    // Windows line endings between the two sentences still name the ABI the binary was built for
    const crlf = new Error(abiError().message.replaceAll('\n', '\r\n'));
    expect(explainNativeLoadError('keytar', crlf, node).message).toContain('was built for ABI 139, but');
    // a mismatch Node words differently: no ABI to name, the rest of the explanation stands
    const selfRegister = explainNativeLoadError('keytar', new Error('Module did not self-register: keytar.node.'), node);
    expect(selfRegister).toMatchObject({ reason: 'abi-mismatch' });
    expect(selfRegister.message).toMatch(/^native module "keytar" cannot load: this runtime is Node 20\.19\.0 \(ABI 115\); its binary/);

    const missing = Object.assign(new Error("Cannot find module 'keytar'"), { code: 'MODULE_NOT_FOUND' });
    const gone = explainNativeLoadError('keytar', missing, node);
    expect(gone).toMatchObject({ reason: 'missing', message: 'native module "keytar" is not installed; run `npm install`.', cause: missing });

    const dlopen = new Error('libsecret-1.so.0: cannot open shared object file: No such file or directory');
    const failed = explainNativeLoadError('keytar', dlopen, electron);
    expect(failed).toMatchObject({
      reason: 'load-failed',
      moduleName: 'keytar',
      message:
        'native module "keytar" failed to load under Electron 45.5.0 (ABI 139): ' +
        'libsecret-1.so.0: cannot open shared object file: No such file or directory. Try `node scripts/native-abi.mjs electron`.',
      cause: dlopen,
    });
  });

  it("a dependency missing inside a module is not that module missing; thrown non-errors become errors", () => {
    const inner = Object.assign(new Error("Cannot find module 'bindings'"), { code: 'MODULE_NOT_FOUND' });
    expect(explainNativeLoadError('keytar', inner)).toBe(inner);
    const namesIt = new TypeError('keytar.getPassword is not a function'); // names the module, but is no load failure
    expect(explainNativeLoadError('keytar', namesIt)).toBe(namesIt);
    expect(explainNativeLoadError('keytar', null)).toEqual(new Error('null'));
    expect(explainNativeLoadError('keytar', 'a thrown string')).toEqual(new Error('a thrown string'));
    expect(runtimeInfo({ ...process.versions, node: '20.1.2', modules: '115' })).toEqual({ runtime: 'node', version: '20.1.2', abi: '115' });
  });

  it('caches only what the real require loaded: an injected require is always called, and never fills the cache', () => {
    const real = loadSqlite(); // cached now
    expect(() => loadNative('better-sqlite3-multiple-ciphers', () => {
      throw abiError();
    })).toThrow(NativeModuleError);
    const fake = { fake: true };
    expect(loadNative('parley-injected-only', () => fake)).toBe(fake);
    expect(() => loadNative('parley-injected-only')).toThrow(NativeModuleError); // the real require has no such module
    expect(loadSqlite()).toBe(real);
  });
});
