/** Blob store limits (part of RelayLimits, set with `limits` / `--limits` like the others). */
import { z } from 'zod';

export interface BlobLimits {
  /** Largest blob (ciphertext bytes). The default fits a 100 MiB file (its blob is 100 MiB + 25 607 bytes). */
  maxBlobBytes: number;
  /** Bytes of blobs (in progress or complete, not yet deleted) one uploader may hold. */
  blobQuotaBytes: number;
  /** Blobs one uploader may hold. */
  blobQuotaCount: number;
  /** Bytes of blobs the relay holds in total. */
  blobTotalBytes: number;
  /** A blob is deleted this long after its upload began (in progress) or completed, downloaded or not. */
  blobTtlMs: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_BLOB_LIMITS: Readonly<BlobLimits> = Object.freeze({
  maxBlobBytes: 100 * MiB + 64 * 1024,
  blobQuotaBytes: 1024 * MiB,
  blobQuotaCount: 1_000,
  blobTotalBytes: 20 * 1024 * MiB,
  blobTtlMs: 30 * 24 * 3600 * 1000,
});

const pos = z.number().int().positive();
export const blobLimitsShape = {
  maxBlobBytes: pos,
  blobQuotaBytes: pos,
  blobQuotaCount: pos,
  blobTotalBytes: pos,
  blobTtlMs: pos,
};
