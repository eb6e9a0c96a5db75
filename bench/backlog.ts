import { notMeasured, type Bench } from './lib/common.js';
export const backlogBench: Bench = async () => notMeasured('backlog', 'Backlog catch-up', 'pending');
