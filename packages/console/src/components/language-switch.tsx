/** The language picker: a labelled <select>, saved in localStorage by the i18n context. */
import { useId } from 'preact/hooks';
import { useI18n } from '../i18n/i18n-context.js';
import { isLanguage, LANGUAGES, type Language } from '../i18n/language.js';

/** Each language names itself, so someone who cannot read the current one still finds theirs. */
const NATIVE_NAMES: Record<Language, string> = { en: 'English', ja: '日本語' };

export function LanguageSwitch() {
  const { language, setLanguage, t } = useI18n();
  const id = useId();
  return (
    <div class="language-switch">
      <label for={id}>{t('language.label')}</label>
      <select
        id={id}
        value={language}
        data-testid="language"
        onChange={(event) => {
          const next = event.currentTarget.value;
          if (isLanguage(next)) setLanguage(next);
        }}
      >
        {LANGUAGES.map((lang) => (
          <option key={lang} value={lang} lang={lang}>
            {NATIVE_NAMES[lang]}
          </option>
        ))}
      </select>
    </div>
  );
}
