/** Every language's messages, keyed by language. The keys are English's (en.ts). */
import { en, type MessageKey } from './en.js';
import { ja } from './ja.js';
import type { Language } from './language.js';

export type { MessageKey };

export const MESSAGES: Readonly<Record<Language, Readonly<Record<MessageKey, string>>>> = {
  en,
  ja,
};
