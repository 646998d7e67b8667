import { join } from 'node:path';

/**
 * The demo's ぴったりサービス (`onestop/` beside this file): its catalogue and four municipalities'
 * registrations (三条市, 新宿区, 大阪市, 横浜市). `renkei start` names it in the portal's config; a
 * deployment names its own, or none.
 */
export const DEMO_ONESTOP_DIR = join(import.meta.dirname, 'onestop');
