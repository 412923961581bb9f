/** Entry point: mounts the console with the browser's storage and language preferences. */
import { render } from 'preact';
import { App } from './app.js';
import { I18nProvider } from './i18n/i18n-context.js';
import { initialLanguage } from './i18n/language.js';
import { TokenStore } from './lib/token-store.js';
import './styles.css';

const root = document.getElementById('app');
if (root === null) throw new Error('index.html lacks #app');

render(
  <I18nProvider initial={initialLanguage(localStorage, navigator.languages)} storage={localStorage}>
    <App tokens={new TokenStore(sessionStorage)} />
  </I18nProvider>,
  root,
);
