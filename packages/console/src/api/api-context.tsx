/** The signed-in session's API, as Preact context: pages call `useApi()`. */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { LockboxApi } from './lockbox-api.js';

export const ApiContext = createContext<LockboxApi | null>(null);

export function useApi(): LockboxApi {
  const api = useContext(ApiContext);
  if (api === null) throw new Error('useApi outside a signed-in session');
  return api;
}
