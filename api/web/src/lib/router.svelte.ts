// Pages by path, with the History API: links inside the app change the page without
// reloading; back and forward work; the server answers every page path with the app.

export const route = $state({ path: location.pathname, search: location.search });

export function params(): URLSearchParams {
  return new URLSearchParams(route.search);
}

/** Opens `href` (a path inside the app). */
export function go(href: string, replace = false) {
  const url = new URL(href, location.origin);
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  route.path = url.pathname;
  route.search = url.search;
  if (!replace) window.scrollTo(0, 0);
}

addEventListener('popstate', () => {
  route.path = location.pathname;
  route.search = location.search;
});

// plain left clicks on same-origin links stay in the app
addEventListener('click', (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const link = (event.target as Element | null)?.closest?.('a');
  if (!link || link.target || link.hasAttribute('download') || link.origin !== location.origin) return;
  if (link.pathname.startsWith('/v1/') || link.pathname.startsWith('/docs') || link.pathname.endsWith('.json')) return;
  event.preventDefault();
  go(link.pathname + link.search);
});
