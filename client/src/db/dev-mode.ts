import type { RxPlugin, RxStorage } from 'rxdb';
import { disableWarnings, RxDBDevModePlugin } from 'rxdb/plugins/dev-mode';
import { wrappedValidateAjvStorage } from 'rxdb/plugins/validate-ajv';

/**
 * RxDB dev-mode with a schema validator, for development and tests only: in browsers dev-mode
 * injects a remote iframe, so the app must import this module behind `import.meta.env.DEV`
 * (client/vite.config.ts fails a production build that bundles it).
 */
export interface DevModeKit {
  plugin: RxPlugin;
  wrapStorage<S extends RxStorage<any, any>>(storage: S): RxStorage<any, any>;
}

export const devModeKit: DevModeKit = {
  plugin: RxDBDevModePlugin,
  wrapStorage: (storage) => wrappedValidateAjvStorage({ storage }),
};

/** The console notice dev-mode prints on start; tests silence it. */
export { disableWarnings as silenceDevModeWarnings };
