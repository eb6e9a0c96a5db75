/**
 * Loads native addons (better-sqlite3 here; keytar and better-sqlite3-multiple-ciphers in the app's core) through one
 * function that turns the cryptic ABI-mismatch failure ("was compiled against a different Node.js version ...
 * NODE_MODULE_VERSION") into a NativeModuleError naming the module, the runtime's ABI and the fix. Shared by the relay
 * and the Electron-free core (which imports it from here), so an embedded relay under Electron explains itself too.
 */
import { createRequire } from 'node:module';


const nodeRequire = createRequire(import.meta.url);

export class NativeModuleError extends Error {
  readonly code = 'NATIVE_MODULE' as const;
  constructor(
    readonly moduleName: string,
    readonly reason: 'abi-mismatch' | 'missing' | 'load-failed',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'NativeModuleError';
  }
}

export interface RuntimeInfo {
  runtime: 'electron' | 'node';
  version: string;
  /** process.versions.modules: the ABI (NODE_MODULE_VERSION) this runtime loads. */
  abi: string;
}

export function runtimeInfo(versions: NodeJS.ProcessVersions = process.versions): RuntimeInfo {
  const electron = (versions as NodeJS.ProcessVersions & { electron?: string }).electron;
  return electron
    ? { runtime: 'electron', version: electron, abi: versions.modules }
    : { runtime: 'node', version: versions.node, abi: versions.modules };
}

const ABI_RE = /NODE_MODULE_VERSION|was compiled against a different Node\.js version|invalid ELF header|Could not locate the bindings file|Module did not self-register/;

/**
 * Turns a load failure into a NativeModuleError (or returns the error unchanged when it is unrelated).
 * Exported so tests can feed it an error shaped exactly as Node throws it.
 */
export function explainNativeLoadError(name: string, err: unknown, info: RuntimeInfo = runtimeInfo()): Error {
  const msg = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  const runtimeLabel = `${info.runtime === 'electron' ? 'Electron' : 'Node'} ${info.version} (ABI ${info.abi})`;
  if (ABI_RE.test(msg)) {
    const built = /NODE_MODULE_VERSION (\d+)\. This version of Node\.js requires\s+NODE_MODULE_VERSION (\d+)/.exec(msg);
    const builtFor = built ? ` was built for ABI ${built[1]}, but` : ' cannot load:';
    return new NativeModuleError(
      name,
      'abi-mismatch',
      `native module "${name}"${builtFor} this runtime is ${runtimeLabel}; its binary was compiled for another runtime. ` +
        `Fix: run \`node scripts/native-abi.mjs ${info.runtime}\` (rebuilds the native modules for ${info.runtime === 'electron' ? 'Electron' : 'Node'}).`,
      { cause: err },
    );
  }
  if (code === 'MODULE_NOT_FOUND' && msg.includes(name)) {
    return new NativeModuleError(name, 'missing', `native module "${name}" is not installed; run \`npm install\`.`, { cause: err });
  }
  if (/\.node\b|dlopen|cannot open shared object/i.test(msg)) {
    return new NativeModuleError(
      name,
      'load-failed',
      `native module "${name}" failed to load under ${runtimeLabel}: ${msg}. ` +
        `Try \`node scripts/native-abi.mjs ${info.runtime}\`.`,
      { cause: err },
    );
  }
  return err instanceof Error ? err : new Error(msg);
}

const cache = new Map<string, unknown>();

/**
 * Loads a native module by name. Throws NativeModuleError on ABI mismatch / missing / dlopen failure.
 * `requireFn` is injectable for tests; it defaults to the real require.
 */
export function loadNative<T = unknown>(name: string, requireFn: (id: string) => unknown = nodeRequire): T {
  if (requireFn === nodeRequire && cache.has(name)) return cache.get(name) as T;
  let mod: unknown;
  try {
    mod = requireFn(name);
  } catch (e) {
    throw explainNativeLoadError(name, e);
  }
  if (requireFn === nodeRequire) cache.set(name, mod);
  return mod as T;
}
