import { notMeasured, type Bench } from './lib/common.js';
export const rendererBench: Bench = async () => notMeasured('renderer', 'Renderer in Chromium', 'pending');
