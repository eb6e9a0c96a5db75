/**
 * A QR code drawn as inline SVG from the `qrcode` library's module matrix. No data: URL and no canvas: the
 * renderer's Content-Security-Policy allows images from 'self' only. Always black on white with a quiet zone, in
 * both themes, so any phone camera reads it.
 */
import { useMemo } from 'react';
import type { ReactNode } from 'react';
import QRCode from 'qrcode';

const QUIET = 2;

/** The SVG path of the dark modules: one unit square per module ("M x y h1 v1 h-1 z"). */
export function qrPath(text: string): { size: number; d: string } {
  const { modules } = QRCode.create(text, { errorCorrectionLevel: 'M' });
  let d = '';
  for (let y = 0; y < modules.size; y++) {
    for (let x = 0; x < modules.size; x++) if (modules.get(y, x)) d += `M${x} ${y}h1v1h-1z`;
  }
  return { size: modules.size, d };
}

export function QrCode({ text, label, px = 200, testId }: { text: string; label: string; px?: number; testId?: string }): ReactNode {
  const { size, d } = useMemo(() => qrPath(text), [text]);
  const box = size + 2 * QUIET;
  return (
    <svg role="img" aria-label={label} viewBox={`${-QUIET} ${-QUIET} ${box} ${box}`} width={px} height={px} shapeRendering="crispEdges" data-testid={testId} className="qr-svg">
      <rect x={-QUIET} y={-QUIET} width={box} height={box} fill="#ffffff" />
      <path d={d} fill="#000000" />
    </svg>
  );
}
