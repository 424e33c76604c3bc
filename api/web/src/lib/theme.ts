// Light, dark, or the system's choice (the default), remembered in this browser.
export type Theme = 'light' | 'dark' | 'system';

export function theme(): Theme {
  const saved = localStorage.getItem('kronos-theme');
  return saved === 'light' || saved === 'dark' ? saved : 'system';
}

export function applyTheme(choice: Theme = theme()) {
  localStorage.setItem('kronos-theme', choice);
  const dark = choice === 'dark' || (choice === 'system' && matchMedia('(prefers-color-scheme: dark)').matches);
  document.documentElement.dataset.theme = dark ? 'dark' : 'light';
}

export const isDark = () => document.documentElement.dataset.theme === 'dark';
