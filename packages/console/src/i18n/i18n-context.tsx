/**
 * The console's language as Preact context: `t(key, params)` for messages,
 * number and date formatting in the chosen locale, and `setLanguage`, which also
 * saves the choice and updates <html lang> (screen readers pick the voice from it).
 */
import { type ComponentChildren, createContext } from 'preact';
import { useContext, useEffect, useMemo, useState } from 'preact/hooks';
import type { KeyValueStorage } from '../lib/token-store.js';
import { type Language, saveLanguage } from './language.js';
import { MESSAGES, type MessageKey } from './messages.js';
import { format, type Params } from './translate.js';

export interface I18n {
  language: Language;
  t: (key: MessageKey, params?: Params) => string;
  formatNumber: (value: number) => string;
  /** An ISO-8601 time as a local date and time, or "—" for null. */
  formatTime: (iso: string | null) => string;
  setLanguage: (language: Language) => void;
}

const I18nContext = createContext<I18n | null>(null);

export function I18nProvider(props: {
  initial: Language;
  storage: KeyValueStorage;
  children: ComponentChildren;
}) {
  const [language, setLanguage] = useState<Language>(props.initial);
  useEffect(() => {
    document.documentElement.lang = language;
  }, [language]);
  const value = useMemo<I18n>(() => {
    const messages = MESSAGES[language];
    const numbers = new Intl.NumberFormat(language);
    const times = new Intl.DateTimeFormat(language, { dateStyle: 'medium', timeStyle: 'medium' });
    return {
      language,
      t: (key, params) => format(messages[key], params),
      formatNumber: (n) => numbers.format(n),
      formatTime: (iso) => {
        if (iso === null) return '—';
        const date = new Date(iso);
        return Number.isNaN(date.getTime()) ? iso : times.format(date);
      },
      setLanguage: (next) => {
        saveLanguage(props.storage, next);
        setLanguage(next);
      },
    };
  }, [language, props.storage]);
  return <I18nContext.Provider value={value}>{props.children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const i18n = useContext(I18nContext);
  if (i18n === null) throw new Error('useI18n outside I18nProvider');
  return i18n;
}
