/**
 * Remembered window bounds: a small JSON file in userData. Reading tolerates a missing or corrupt file (defaults),
 * and bounds are clamped so a window never opens off-screen or absurdly small. Electron-free.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';

export interface WindowBounds {
  x?: number;
  y?: number;
  width: number;
  height: number;
  maximized: boolean;
}

export const DEFAULT_BOUNDS: WindowBounds = Object.freeze({ width: 1100, height: 720, maximized: false });
export const MIN_WIDTH = 720;
export const MIN_HEIGHT = 480;

const boundsSchema = z.object({
  x: z.number().int().optional(),
  y: z.number().int().optional(),
  width: z.number().int().min(MIN_WIDTH).max(20000),
  height: z.number().int().min(MIN_HEIGHT).max(20000),
  maximized: z.boolean(),
});

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Loads saved bounds; keeps the position only if the window's top-left area is on one of `displays`. */
export function loadBounds(file: string, displays: Rect[]): WindowBounds {
  let saved: WindowBounds;
  try {
    const parsed = boundsSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (!parsed.success) return { ...DEFAULT_BOUNDS };
    saved = parsed.data;
  } catch {
    return { ...DEFAULT_BOUNDS };
  }
  if (saved.x === undefined || saved.y === undefined) return { width: saved.width, height: saved.height, maximized: saved.maximized };
  const { x, y } = saved;
  const visible = displays.some((d) => x + 100 > d.x && x + 100 < d.x + d.width && y + 20 > d.y && y + 20 < d.y + d.height);
  return visible ? saved : { width: saved.width, height: saved.height, maximized: saved.maximized };
}

export function saveBounds(file: string, b: WindowBounds): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify(b));
  renameSync(tmp, file);
}
