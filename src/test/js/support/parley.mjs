// The library under test, loaded from where it ships (see esm-hooks.mjs).
import { register } from 'node:module';

register('./esm-hooks.mjs', import.meta.url);
const parley = await import('../../../main/resources/web/parley.js');

export const { ParleyClient, ParleyError, WebSocketClient } = parley;
export default parley.default;
