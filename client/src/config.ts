/** Where the sync server lives. Production serves the app and the API from different origins. */
export const API_URL: string = (import.meta.env.VITE_API_URL || 'http://localhost:10000').replace(/\/+$/, '');
