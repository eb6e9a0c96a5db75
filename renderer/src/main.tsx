import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import './i18n/index.js';
import { App } from './App.js';
import { createRuntime } from './runtime/index.js';
import './styles.css';
import './screens/chat/actions/actions.css';

const runtime = createRuntime();
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App runtime={runtime} />
  </StrictMode>,
);
