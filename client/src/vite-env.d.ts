/// <reference types="vite/client" />
/// <reference types="vite-plugin-pwa/react" />

interface ImportMetaEnv {
  /** Base URL of the sync server (REST + Socket.io); another origin in production. */
  readonly VITE_API_URL?: string;
  /** Bytes per upload request, where a proxy limits request bodies; unset sends each file in one request. */
  readonly VITE_UPLOAD_CHUNK_BYTES?: string;
  /** Identifies the deployment; set at build time by vite.config.ts. */
  readonly VITE_APP_BUILD?: string;
}
