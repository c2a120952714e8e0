/**
 * Builds the temporal stage for a config mode, filling unset tuning fields with the defaults
 * measured by `npm run bench:quality` (docs/temporal.md).
 */
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../paths.js';
import { TEMPORAL_MODES, type TemporalConfig } from './temporalConfig.js';
import { TemporalConfigError, type TemporalStage } from './temporalStage.js';
import { EmaTemporal, PassThroughTemporal } from './stages/simple.js';
import { AttentionTemporal, type AttentionGeometryIn } from './stages/attention.js';
import { FusionHead, type FusionHeadJson } from './stages/fusionHead.js';
import { FineAttentionTemporal } from './stages/fineAttention.js';

/** Measured defaults (docs/temporal.md): tuning values not set in the config take these. */
export const TEMPORAL_DEFAULTS = Object.freeze({
  radius: 3,
  topK: 8,
  temperature: 0.05,
  memoryWeight: 0.75,
  emaAlpha: 0.5,
  implementation: 'auto' as const,
  fineWeight: 0.9,
  fineCostScale: 8,
  fineSearchRadius: 3,
  finePatchRadius: 1,
  fineMemoryClamp: 8,
  fineHysteresis: 0.5,
});

export function defaultHeadPath(): string {
  return path.join(projectRoot(), 'models', 'temporal-fusion.json');
}

/** The checks that need no model: mode and ring size. */
export function validateTemporalConfig(config: TemporalConfig): void {
  if (!(TEMPORAL_MODES as readonly string[]).includes(config.mode)) throw new TemporalConfigError(`unknown temporal mode "${String(config.mode)}" (known: ${TEMPORAL_MODES.join(', ')})`);
  if (!Number.isInteger(config.ringSize) || config.ringSize < 1 || config.ringSize > 64) throw new TemporalConfigError(`temporal ringSize must be an integer in [1, 64], got ${config.ringSize}`);
}

export function createTemporalStage(config: TemporalConfig, geometry: AttentionGeometryIn, backend: string): TemporalStage {
  validateTemporalConfig(config);
  const d = TEMPORAL_DEFAULTS;
  switch (config.mode) {
    case 'none':
      return new PassThroughTemporal();
    case 'ema':
      return new EmaTemporal(geometry.maskHeight, geometry.maskWidth, config.emaAlpha ?? d.emaAlpha);
    case 'attention-fine':
      return new FineAttentionTemporal(geometry.maskHeight, geometry.maskWidth, {
        weight: config.fineWeight ?? d.fineWeight,
        costScale: config.fineCostScale ?? d.fineCostScale,
        searchRadius: config.fineSearchRadius ?? d.fineSearchRadius,
        patchRadius: config.finePatchRadius ?? d.finePatchRadius,
        memoryClamp: config.fineMemoryClamp ?? d.fineMemoryClamp,
        hysteresis: config.fineHysteresis ?? d.fineHysteresis,
      });
    case 'attention':
    case 'attention-learned': {
      const head = config.mode === 'attention-learned' ? loadHead(config.headPath ?? defaultHeadPath()) : undefined;
      try {
        return new AttentionTemporal(geometry, {
          params: { radius: config.radius ?? d.radius, topK: config.topK ?? d.topK, temperature: config.temperature ?? d.temperature },
          ringSize: config.ringSize,
          memoryWeight: config.memoryWeight ?? d.memoryWeight,
          implementation: config.implementation ?? d.implementation,
          ...(head ? { head } : {}),
        }, backend);
      } catch (e) {
        head?.dispose();
        throw e;
      }
    }
    default:
      throw new TemporalConfigError(`unknown temporal mode "${String((config as { mode: unknown }).mode)}"`);
  }
}

function loadHead(file: string): FusionHead {
  if (!existsSync(file)) throw new TemporalConfigError(`attention-learned needs its trained weights at ${file}; run \`npm run train\` or pick --temporal attention`);
  let json: FusionHeadJson;
  try {
    json = JSON.parse(readFileSync(file, 'utf8')) as FusionHeadJson;
  } catch (e) {
    throw new TemporalConfigError(`cannot read the fusion head ${file}: ${(e as Error).message}`);
  }
  return FusionHead.fromJson(json);
}
